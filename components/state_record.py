"""The Destinations as a stack's state holds them (`pulumi stack export --show-secrets`), for the day-two commands:
each found by its type, never by output names, with its outputs, the token its caller gave it and its children.

Plain JSON, no Pulumi import: `python -m components.verify` stays fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DESTINATION_TYPE = "stitch-heroku:index:Destination"
# The Destination's Stitch child (components/stitch_destination.py: module stitch, name Destination), whose inputs
# keep the token a caller handed the component (components/provider_credentials.py GIVEN_STITCH_TOKEN), secret.
STITCH_DESTINATION_TYPE = "pulumi-python:dynamic/stitch:Destination"
GIVEN_STITCH_TOKEN = "given_access_token"
# How `pulumi stack export --show-secrets` marks a secret value (pulumi sdk/go/common/resource/properties.go SecretSig).
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class DestinationRecord:
    """One Destination of the state: its URN and name, its outputs as (value, secret) in snake_case, the token its
    caller gave it (None when none was, or the export kept secrets encrypted) and every resource below it."""

    urn: str
    name: str
    outputs: dict[str, tuple[Any, bool]]
    given_token: str | None = None
    resources: list[dict[str, Any]] = field(default_factory=list)

    def plain_outputs(self) -> dict[str, Any]:
        return {key: value for key, (value, _secret) in self.outputs.items()}

    @property
    def managed_in_stitch(self) -> bool:
        """Whether the Destination holds a destination in Stitch (not released): it then needs a token on day two."""
        found = self.outputs.get("stitch_destination_id", (None, False))[0]
        status = self.outputs.get("stitch_status", (None, False))[0]
        return bool(found) and found != "released" and status != "released"


def destinations(deployment: Mapping[str, Any]) -> list[DestinationRecord]:
    """Every Destination of the state, by name: the state holds them as their steps finished, which differs from one
    `up` to the next for Destinations made together, and day two names the first that fails."""
    resources = [r for r in deployment.get("resources") or [] if isinstance(r, dict)]
    found = []
    for resource in resources:
        if resource.get("type") != DESTINATION_TYPE or resource.get("delete"):
            continue
        urn = str(resource.get("urn"))
        below = descendants(resources, urn)
        token = next(
            (_revealed(r.get("inputs", {}).get(GIVEN_STITCH_TOKEN)) for r in below if r.get("type") == STITCH_DESTINATION_TYPE), None
        )
        outputs = {snake(key): _value(value) for key, value in (resource.get("outputs") or {}).items()}
        found.append(DestinationRecord(urn, urn.rsplit("::", 1)[-1], outputs, token if isinstance(token, str) and token else None, below))
    return sorted(found, key=lambda record: record.name)


def descendants(resources: list[dict[str, Any]], urn: str) -> list[dict[str, Any]]:
    """The resources whose parent chain reaches urn (its children, theirs, and so on), in the state's order."""
    parent = {str(r.get("urn")): r.get("parent") for r in resources}

    def under(candidate: str) -> bool:
        seen: set[str] = set()
        up = parent.get(candidate)
        while up and up not in seen:
            if up == urn:
                return True
            seen.add(up)
            up = parent.get(up)
        return False

    return [r for r in resources if under(str(r.get("urn")))]


def project_of(folder: Path) -> tuple[str, str]:
    """(name, runtime) from the folder's Pulumi.yaml, read with the two top-level keys' plain YAML forms."""
    text = (folder / "Pulumi.yaml").read_text()
    name = re.search(r"^name:\s*['\"]?([^'\"\s#]+)", text, re.MULTILINE)
    runtime = re.search(r"^runtime:[ \t]*(?:\n[ \t]+name:[ \t]*)?['\"]?([a-z]+)", text, re.MULTILINE)
    return (name.group(1) if name else ""), (runtime.group(1) if runtime else "")


def token_fix(stack: str, *, own_program: bool) -> str:
    """How to give a Destination managed in Stitch its token, in the terms of the program at hand (this repository's
    reads stitch:accessToken; another program hands its Destination the input stitchAccessToken)."""
    if own_program:
        return f"pulumi config set --secret stitch:accessToken --stack {stack} (it asks for the token), or export STITCH_ACCESS_TOKEN"
    return (
        "give the Destination its token: the input stitchAccessToken (stitch_access_token in Python) from a secret of your "
        f"program's config, then pulumi up --stack {stack}; or export STITCH_ACCESS_TOKEN for this run"
    )


def _value(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict) and SECRET_SIG in value:
        return (json.loads(value["plaintext"]) if "plaintext" in value else None), True
    return value, False


def _revealed(value: Any) -> Any:
    """A secret input as --show-secrets gives it (its plaintext); an encrypted one (no plaintext) is None."""
    return _value(value)[0]
