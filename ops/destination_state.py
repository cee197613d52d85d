"""What a day-two command knows of a stack whose program is not this repository's: its Destination, from the state.

A project of another name (any language) declares a Destination in its own program, with its own config: the
settings the component was given, and its outputs, are then read from the stack's state (`pulumi stack export
--show-secrets`, the user's own right), where the Destination records them (components/destination.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from stitch_heroku import state_record

DAY_TWO = "day_two"


def project_of(folder: Path) -> tuple[str, str]:
    """(name, runtime) from the folder's Pulumi.yaml, read with the two top-level keys' plain YAML forms."""
    text = (folder / "Pulumi.yaml").read_text()
    name = re.search(r"^name:\s*['\"]?([^'\"\s#]+)", text, re.MULTILINE)
    runtime = re.search(r"^runtime:[ \t]*(?:\n[ \t]+name:[ \t]*)?['\"]?([a-z]+)", text, re.MULTILINE)
    return (name.group(1) if name else ""), (runtime.group(1) if runtime else "")


def destination_outputs(stack: auto.Stack) -> dict[str, auto.OutputValue] | None:
    """The one Destination's outputs in the stack's state (snake_case, secrets marked), or None without exactly one."""
    found = state_record.destination_outputs(stack.export_stack().deployment)
    return None if found is None else {key: auto.OutputValue(value, secret) for key, (value, secret) in found.items()}


def recorded_settings(outputs: Mapping[str, auto.OutputValue]) -> dict[str, Any] | None:
    """The settings the Destination was given, as it recorded them (no secret among them)."""
    record = outputs.get(DAY_TWO)
    return record.value if record is not None and isinstance(record.value, dict) else None
