"""A Stitch destination should not be given the database owner's credential (advisory).

Stitch is a third party. The postgresql provider signs in as the database owner to grant (it must: only
the owner may GRANT on its database), so a Stitch destination whose properties name the provider's own
user on the same host and database holds the owner's rights: it may read, change and drop every table,
the app's too. Only a stack policy sees both resources. Values a preview cannot know yet are skipped;
`pulumi up` checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .declare import guardrail
from .resource_view import is_unknown, label, reveal, violation

PROVIDER_TYPE = "pulumi:providers:postgresql"
DESTINATION_TYPE = "pulumi-python:dynamic/stitch:Destination"


def _field(props: Any, name: str) -> str | None:
    """A plain string out of a (maybe secret) mapping; None when unset or not known yet."""
    try:
        value = reveal(reveal(props)[name]) if isinstance(reveal(props), Mapping) and name in reveal(props) else None
    except UnknownValueError:
        return None
    return None if value is None or is_unknown(value) else str(value)


def _signs_in_as(props: Any) -> tuple[str, str, str, str] | None:
    """(host, port, database, user) of a provider or a destination's properties, when all are known."""
    found = tuple(_field(props, name) for name in ("host", "port", "database", "username"))
    return None if None in found else found  # type: ignore[return-value]


@guardrail("stitch-destination-not-the-owners-credential", mandatory=False, severity=Severity.MEDIUM)
def stitch_not_given_the_owners_credential(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A Stitch destination should get a credential of its own, not the database owner's the provider signs in
    with.

    Fix: Give Stitch a role of its own (stitch_credential dedicated, or stitch_url); see docs/least-privilege.md.
    """
    owners = {}
    for resource in args.resources:
        if resource.resource_type == PROVIDER_TYPE:
            signed_in = _signs_in_as(resource.props)
            if signed_in:
                owners[signed_in] = resource.name
    for resource in args.resources:
        if resource.resource_type != DESTINATION_TYPE:
            continue
        given = _signs_in_as(_properties(resource.props))
        provider = owners.get(given) if given else None
        if provider is None:
            continue
        host, _port, database, user = given  # type: ignore[misc]
        what = (
            f'Stitch destination "{resource.name}" is given the credential the {label("postgresql.Provider", provider)} '
            f'signs in with (user "{user}" on {host}/{database}): the database owner\'s'
        )
        why = (
            "Stitch is a third party, and with the owner's credential it may read, change and drop every table of the "
            "database, the app's too, where it needs only CONNECT, CREATE and TEMPORARY"
        )
        fix = (
            "give Stitch a role of its own: for source url pulumi config rm stitch_credential (the stack makes one), on "
            "Heroku Standard plans and up a dedicated credential, or a role made by hand in stitch_url (docs/least-privilege.md)"
        )
        report_violation(violation(what, why, fix), resource.urn)


def _properties(props: Any) -> Any:
    try:
        return reveal(props["properties"]) if "properties" in props else None
    except UnknownValueError:
        return None
