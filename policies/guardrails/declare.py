"""One way to declare a guardrail: a validator, and the policy it becomes.

Each policy's description and fix are its validator's docstring, so what a reader sees in `pulumi preview`
and what a maintainer reads above the code are the same sentences, written once.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)


def guardrail(
    name: str, *, mandatory: bool, severity: Severity, config: PolicyConfigSchema | None = None
) -> Callable[[Callable[..., Any]], Policy]:
    """The policy a validator declares: a stack policy when it takes StackValidationArgs, else a resource
    policy; mandatory ones block a preview or update, the others warn. The docstring's last paragraph,
    starting "Fix: ", is the remediation the CLI prints; the paragraphs before it are the description."""

    def declare(validate: Callable[..., Any]) -> Policy:
        description, _, fix = inspect.cleandoc(validate.__doc__ or "").rpartition("\n\nFix: ")
        if not description or not fix:
            raise TypeError(f"guardrail {name!r}: its validator's docstring needs a description and a last paragraph 'Fix: ...'")
        kind = StackValidationPolicy if typing.get_type_hints(validate).get("args") is StackValidationArgs else ResourceValidationPolicy
        return kind(
            name=name,
            description=" ".join(description.split()),
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY,
            severity=severity,
            config_schema=config,
            remediation_steps=" ".join(fix.split()),
        )

    return declare
