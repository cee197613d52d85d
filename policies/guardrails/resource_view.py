"""Reading what CrossGuard hands a policy: property values (plain, secret or not yet known), the
stack a URN belongs to, a policy's config, and a short label that names a resource in a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyConfigSchema, Secret, proxy
from pulumi_policy.proxy import UnknownValueError

# The engine's placeholders for values a preview cannot know yet. The SDK's proxy raises on them,
# but not inside a secret (see secret_marks), so a policy has to recognise them there itself.
_UNKNOWN_SENTINELS = frozenset(
    value for name, value in vars(proxy).items() if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
)


def is_unknown(value: Any) -> bool:
    """True for the engine's placeholder of a value a preview cannot know yet."""
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def reveal(value: Any) -> Any:
    """The value inside a secret marker (or the value itself): policies judge values, never print them."""
    return value.value if isinstance(value, Secret) else value


def read(props: Mapping[str, Any], *names: str) -> Any:
    """The value of the first of `names` the resource sets, out of any secret; None when it sets none.

    Several names, because the same input reaches a policy as the schema's camelCase (`objectType`,
    what every current SDK sends) or, from older SDKs without name tables, as snake_case.
    Raises UnknownValueError while a preview cannot know the value, as the SDK does for plain values:
    the SDK then reports that the policy could not run, rather than a policy guessing.
    """
    for name in names:
        if name in props:
            value = reveal(props[name])
            if is_unknown(value):
                raise UnknownValueError(value, [name])
            if isinstance(value, Sequence) and not isinstance(value, str):
                for index, item in enumerate(value):
                    if is_unknown(reveal(item)):
                        raise UnknownValueError(reveal(item), [name, str(index)])
            return value
    return None


def shown(props: Mapping[str, Any], *names: str) -> str | None:
    """A string input worth naming in a message: None when it is unknown yet, not a string, or secret
    (a message must never print what the program marked secret)."""
    for name in names:
        try:
            if name not in props:
                continue
            value = props[name]
        except UnknownValueError:
            return None
        return value if isinstance(value, str) and not is_unknown(value) else None
    return None


def stack_of(urn: str) -> str:
    """The stack name in a URN: urn:pulumi:<stack>::<project>::<type>::<name>."""
    head = urn.split("::", 1)[0]
    parts = head.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "urn" and parts[1] == "pulumi" else ""


def config_strings(config: Mapping[str, Any], key: str, default: Sequence[str]) -> list[str]:
    """A list-of-strings config property, or its default. The CLI has already checked it against the
    policy's config schema, so anything else here means the policy was called without the CLI."""
    value = config.get(key)
    if value is None:
        return list(default)
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"policy config {key!r} must be a list of strings, got {value!r}")
    return list(value)


def strings_config(key: str, description: str, default: Sequence[str]) -> PolicyConfigSchema:
    """A policy's config: one list-of-strings property, with the JSON schema the CLI validates it by."""
    schema = {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}
    return PolicyConfigSchema(properties={key: schema})


def violation(what: str, why: str, fix: str) -> str:
    """A guardrail's message, in the one shape every guardrail uses: what is wrong. Why: it matters. Fix: what to write."""
    return f"{what}. Why: {why}. Fix: {fix}."


def label(kind: str, name: str) -> str:
    """How a message names a resource: its SDK class and its Pulumi name, e.g. postgresql.Grant "stitch"."""
    return f'{kind} "{name}"'
