"""The Heroku API key and the Stitch token for our dynamic providers: from the stack's configuration and the
environment of the run at hand, never from the provider's saved state.

pulumi.dynamic hands `read()` the outputs an earlier run saved (pulumi/pulumi#19561), so a key kept in the
state goes stale when it is rotated, or when the person whose `heroku login` saved it leaves. Instead the SDK
calls `ResourceProvider.configure()` once per provider process with the stack's whole configuration, keys
with their namespace (pulumi/pulumi#17673; pulumi 3.272 pulumi/dynamic/__main__.py get_provider), and that
process inherits the CLI's environment (HEROKU_API_KEY, STITCH_ACCESS_TOKEN, the netrc's location).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi
from pulumi.dynamic import ConfigureRequest

from .config import HEROKU_KEY, HEROKU_URL_KEY, STITCH_TOKEN_KEY, find_stitch_token

# Inputs that earlier versions saved in the state: an existing stack's next `up` drops them with an update.
LEGACY_CREDENTIALS = ("api_key", "access_token")
# A credential a Destination's caller handed it as an input (heroku_api_key, stitch_access_token), which the
# providers' configure() cannot see in a program of another project or language: kept in the resource's inputs,
# secret, and used before the run's own configuration and environment (docs/component.md, "Credentials"): it is the
# caller's choice for that one Destination, so Destinations of two Stitch accounts, or a CI that exports a token,
# each talk to the right account. A rotated one reaches the resource as a changed input (an update that calls
# nobody). Our own program never hands one (it is read from the stack's config).
GIVEN_HEROKU_KEY, GIVEN_STITCH_TOKEN = "given_api_key", "given_access_token"


def configured(req: ConfigureRequest, *keys: str) -> dict[str, str]:
    """The named keys of the stack's configuration that are set, as plain strings."""
    values = {key: req.config.get(key) for key in keys}
    return {key: str(value) for key, value in values.items() if value not in (None, "")}


def heroku_config(req: ConfigureRequest) -> dict[str, str]:
    """What the heroku provider's own lookup of its key reads from config (components.heroku_credential.heroku_api_key)."""
    return configured(req, HEROKU_KEY, HEROKU_URL_KEY)


def configured_stitch_token(req: ConfigureRequest, environ: Mapping[str, str] = os.environ) -> str | None:
    """stitch:accessToken, else STITCH_ACCESS_TOKEN, as the program's config reads it."""
    return find_stitch_token(configured(req, STITCH_TOKEN_KEY), environ)


def given_first(props: Mapping[str, object], given: str, from_run: str | None) -> str | None:
    """The credential the Destination's caller gave (props[given]), else the run's own, else None."""
    saved = props.get(given)
    return str(saved) if saved else from_run


def given_credential(key: str, value: object) -> dict[str, object]:
    """The props entry for a credential the caller gave, as a secret; nothing when none was given."""
    return {} if value is None else {key: pulumi.Output.secret(value)}


def without_credentials(props: Mapping[str, object]) -> dict[str, object]:
    """props without any credential an earlier version kept there."""
    return {key: value for key, value in props.items() if key not in LEGACY_CREDENTIALS}
