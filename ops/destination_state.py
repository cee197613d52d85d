"""What a day-two command knows of a stack's Destinations, from its state: each found by type, with its settings,
outputs and the Stitch token it was given (components/state_record.py).

A project of another name (any language) declares Destinations in its own program, with its own config: the
settings each component was given, and its outputs, are then read from the stack's state (`pulumi stack export
--show-secrets`, the user's own right, which the Automation API's export_stack runs), where the Destination records
them (components/destination.py `day_two`). This repository's program is a Destination like any other, found the
same way; only its settings come from the stack's config, which is what the program hands its Destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pulumi import automation as auto
from stitch_heroku import config as stack_config
from stitch_heroku import state_record
from stitch_heroku.state_record import project_of, token_fix

__all__ = ["project_of", "token_fix"]

DAY_TWO = "day_two"


@dataclass(frozen=True)
class StateDestination:
    """One Destination of the stack: the state's record, and its outputs as the Automation API types them."""

    record: state_record.DestinationRecord

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def urn(self) -> str:
        return self.record.urn

    @property
    def outputs(self) -> dict[str, auto.OutputValue]:
        return {key: auto.OutputValue(value, secret) for key, (value, secret) in self.record.outputs.items()}

    @property
    def managed_in_stitch(self) -> bool:
        return self.record.managed_in_stitch


def destinations_of(deployment: Mapping[str, Any]) -> list[StateDestination]:
    return [StateDestination(record) for record in state_record.destinations(deployment)]


def recorded_settings(outputs: Mapping[str, auto.OutputValue]) -> dict[str, Any] | None:
    """The settings the Destination was given, as it recorded them (no secret among them)."""
    record = outputs.get(DAY_TWO)
    return record.value if record is not None and isinstance(record.value, dict) else None


def run_token(config: Mapping[str, auto.ConfigValue], environ: Mapping[str, str]) -> str | None:
    """The run's own Stitch token: the stack's stitch:accessToken (as the providers' configure() reads it), else
    STITCH_ACCESS_TOKEN (components/provider_credentials.py)."""
    value = config.get(stack_config.STITCH_TOKEN_KEY)
    return stack_config.find_stitch_token({stack_config.STITCH_TOKEN_KEY: value.value} if value else {}, environ)


def settings_of(destination: StateDestination, stack: str, token: str | None) -> stack_config.StackConfig:
    """The settings a Destination of another project was given, as it recorded them, with the token at hand.

    Raises ConfigError when the state holds no record (a Destination from before 0.2.0) or the record does not validate."""
    recorded = recorded_settings(destination.outputs)
    if recorded is None:
        raise stack_config.ConfigError(
            stack, [f"Destination {destination.name!r} of stack {stack!r} has no day-two record: run pulumi up --stack {stack} once"]
        )
    raw: dict[str, str | stack_config.Deferred | None] = dict(recorded.get("settings") or {})
    # Secret inputs are only named in the record: present, and never needed here (the outputs carry the credential).
    raw |= {key: stack_config.Deferred(None) for key in recorded.get("secrets") or () if key in stack_config.PROJECT_KEYS}
    # Validated with a token in any case, so the Stitch settings parse; without one there is no Stitch client.
    cfg = stack_config.validate(stack, raw, secret_keys=set(stack_config.SECRET_KEYS), heroku_key="env", stitch_token=("env", token or "-"))
    return cfg if token else replace(cfg, stitch=None)
