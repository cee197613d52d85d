"""The Destination as a stack's state holds it (`pulumi stack export --show-secrets`), for the day-two commands in
a project of another name, whose program (any language) need not export the outputs this repository's does.

Plain JSON, no Pulumi import: `python -m components.verify` stays fast.
"""

from __future__ import annotations

import json
import re
from typing import Any

DESTINATION_TYPE = "stitch-heroku:index:Destination"
# How `pulumi stack export --show-secrets` marks a secret value (pulumi sdk/go/common/resource/properties.go SecretSig).
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def destination_outputs(deployment: dict[str, Any]) -> dict[str, tuple[Any, bool]] | None:
    """The one Destination's outputs as (value, secret), snake_case; None unless the state holds exactly one."""
    found = [resource for resource in deployment.get("resources") or [] if resource.get("type") == DESTINATION_TYPE]
    if len(found) != 1:
        return None
    outputs: dict[str, tuple[Any, bool]] = {}
    for key, value in (found[0].get("outputs") or {}).items():
        secret = isinstance(value, dict) and SECRET_SIG in value
        outputs[snake(key)] = (json.loads(value["plaintext"]), True) if secret else (value, False)
    return outputs
