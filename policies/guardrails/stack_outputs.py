"""Stack outputs must not hold a password or a database URL in plain text (advisory).

CrossGuard sees stack outputs as the outputs of the root `pulumi:pulumi:Stack` resource, which the
engine passes to stack policies after it has set the final outputs (pulumi/pulumi
pkg/resource/deploy/deployment_executor.go finalizes them before AnalyzeResources). Whether an output
is secret is visible only through secret_marks; without it this policy declares itself not applicable.
During a preview most outputs are not known yet: those are skipped, and `pulumi up` checks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import ReportViolation, Secret, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from . import secret_marks
from .declare import guardrail
from .resource_view import config_strings, is_unknown, stack_of, strings_config, violation

STACK_TYPE = "pulumi:pulumi:Stack"
ALLOWED_OUTPUTS_KEY = "allowedOutputs"
ALLOWED_OUTPUTS_HELP = "Output names (or dotted paths inside an output) that look like credentials but are not."
NO_PLAINTEXT_CREDENTIALS_CONFIG = strings_config(ALLOWED_OUTPUTS_KEY, ALLOWED_OUTPUTS_HELP, [])

DATABASE_URL_SCHEMES = ("postgres", "postgresql")
# Output names (lower-case, letters and digits only) that say "this is a password".
_PASSWORD_NAME = re.compile(r"passw(or)?d|^pwd$")
# libpq's keyword/value connection strings: "host=... password=...".
_KEYWORD_PASSWORD = re.compile(r"(^|\s)password\s*=", re.IGNORECASE)


def _is_password_name(name: str) -> bool:
    return bool(_PASSWORD_NAME.search(re.sub(r"[^a-z0-9]", "", name.lower())))


def _credential_in_text(text: str) -> str | None:
    """What kind of credential a plain string is, if it is one."""
    try:
        url = urlsplit(text.strip())
        password = url.password
    except ValueError:  # not a URL at all (e.g. an unbalanced "[" in the host part)
        url, password = None, None
    if url is not None and url.scheme.lower() in DATABASE_URL_SCHEMES and url.netloc:
        return "a database URL"
    if password:
        return "a URL with a password"
    if _KEYWORD_PASSWORD.search(text):
        return "a connection string with a password"
    return None


Path = tuple[str | int, ...]


def plaintext_credentials(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, kind) for every password or database URL in a value that is not marked secret; a path is
    the keys and list indexes leading to it. Secret values are skipped whole, and so are values a
    preview does not know yet."""
    if isinstance(value, Secret) or is_unknown(value):
        return
    if isinstance(value, str):
        kind = _credential_in_text(value)
        if kind:
            yield path, kind
    elif isinstance(value, Mapping):
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                continue
            if _is_password_name(str(key)) and isinstance(item, str) and item and not is_unknown(item):
                yield (*path, str(key)), "a password"
            else:
                yield from plaintext_credentials(item, (*path, str(key)))
    elif isinstance(value, Sequence):
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                continue
            yield from plaintext_credentials(item, (*path, index))


def dotted(path: Path) -> str:
    """stitch_destination.properties.password, urls[1]."""
    return "".join(f"[{part}]" if isinstance(part, int) else (f".{part}" if i else part) for i, part in enumerate(path))


def _allowed(path: str, allowed: list[str]) -> bool:
    return any(path == name or path.startswith((f"{name}.", f"{name}[")) for name in allowed)


@guardrail("stack-outputs-no-plaintext-credentials", mandatory=False, severity=Severity.HIGH, config=NO_PLAINTEXT_CREDENTIALS_CONFIG)
def no_plaintext_credentials(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Stack outputs should not hold a password or a database URL in plain text: export them as secrets.

    Fix: Export the value with pulumi.Output.secret(...).
    """
    if not secret_marks.installed():
        args.not_applicable(
            "this pulumi-policy version hands policies secret values unmarked (pulumi/pulumi-policy#241), "
            "so a secret output cannot be told from a plain one"
        )
    allowed = config_strings(args.get_config(), ALLOWED_OUTPUTS_KEY, [])
    for resource in args.resources:
        if resource.resource_type != STACK_TYPE:
            continue
        stack = stack_of(resource.urn)
        # All outputs as one mapping, so an output named like a password is judged by its name too.
        for path, kind in plaintext_credentials(resource.props):
            where = dotted(path)
            if _allowed(where, allowed):
                continue
            output = str(path[0])
            at = "" if len(path) == 1 else f" at {where}"
            why = (
                "plain outputs are stored unencrypted in the stack's state and printed by `pulumi stack output` "
                "and in update summaries, so everyone who can read the stack can read the credential"
            )
            fix = (
                f'pulumi.export("{output}", pulumi.Output.secret(...)) around the value '
                f"(or list it in {ALLOWED_OUTPUTS_KEY} if it holds no real credential)"
            )
            what = f'Stack output "{output}" of stack "{stack}" holds {kind} in plain text{at}'
            report_violation(violation(what, why, fix), resource.urn)
