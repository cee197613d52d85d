"""A dynamic provider configured as the SDK's provider host does it: configure() with the stack's config."""

from __future__ import annotations

from typing import TypeVar

from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from stitch_heroku.ops.workspace import PROJECT

P = TypeVar("P", bound=ResourceProvider)


def configured(provider: P, config: dict[str, str]) -> P:
    """provider after configure() with these full keys (e.g. "heroku:apiKey"), as pulumi/dynamic/__main__.py calls it."""
    provider.configure(ConfigureRequest(Config(raw_config=dict(config), project_name=PROJECT)))
    return provider
