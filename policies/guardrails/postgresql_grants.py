"""postgresql Grants on a database: the REVOKE ALL trap (mandatory) and the revoke on delete (advisory).

What the provider does, from cyrilgdn/terraform-provider-postgresql resource_postgresql_grant.go,
replayed on a real server in tests/test_grant_sql.py: create and update run, in one transaction,
REVOKE ALL PRIVILEGES ON DATABASE <db> FROM <role> and then GRANT <privileges>; delete runs the
REVOKE ALL alone. A Grant is therefore the role's whole set of database privileges, not an addition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .declare import guardrail
from .resource_view import config_strings, label, read, reveal, shown, strings_config, violation

GRANT_TYPE = "postgresql:index/grant:Grant"
RETAINED_GRANTS_KEY = "retainedGrants"
RETAINED_GRANTS_HELP = "Names (or URNs) of database Grants you have checked are declared with retain_on_delete."
RETAINED_ON_DELETE_CONFIG = strings_config(RETAINED_GRANTS_KEY, RETAINED_GRANTS_HELP, [])

# Every privilege PostgreSQL has on a database, in the order the fix lists them.
DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")

# Spellings PostgreSQL accepts for the same privileges.
_SYNONYMS = {"TEMP": ("TEMPORARY",), "ALL": DATABASE_PRIVILEGES, "ALL PRIVILEGES": DATABASE_PRIVILEGES}


def database_privileges(args: ResourceValidationArgs) -> list[str] | None:
    """The privileges a Grant gives on a database, upper-case with synonyms expanded; None for any
    other resource, including Grants on schemas, tables and the rest."""
    if args.resource_type != GRANT_TYPE:
        return None
    object_type = read(args.props, "objectType", "object_type")
    if not isinstance(object_type, str) or object_type.strip().lower() != "database":
        return None
    privileges: list[str] = []
    for item in read(args.props, "privileges") or []:
        name = " ".join(str(reveal(item)).upper().split())
        for privilege in _SYNONYMS.get(name, (name,)):
            if privilege not in privileges:
                privileges.append(privilege)
    return privileges


def _target(props: Mapping[str, Any]) -> str:
    """'on database "x" to role "y"', with whatever of the two is known and not secret."""
    database, role = shown(props, "database"), shown(props, "role")
    text = f'on database "{database}"' if database else "on its database"
    return f'{text} to role "{role}"' if role else text


@guardrail("postgresql-database-grant-keeps-connect-temporary", mandatory=True, severity=Severity.HIGH)
def keeps_connect_and_temporary(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A postgresql Grant on a database that lists CREATE must also list CONNECT and TEMPORARY: the provider
    revokes every database privilege of the role before it grants.

    Fix: List every database privilege the role keeps: privileges=["CONNECT", "CREATE", "TEMPORARY"].
    """
    privileges = database_privileges(args)
    if privileges is None or "CREATE" not in privileges:
        return
    missing = [privilege for privilege in ("CONNECT", "TEMPORARY") if privilege not in privileges]
    if not missing:
        return
    fixed = [privilege for privilege in DATABASE_PRIVILEGES if privilege in privileges or privilege in missing]
    fixed += [privilege for privilege in privileges if privilege not in fixed]
    what = f"{label('postgresql.Grant', args.name)} grants CREATE {_target(args.props)} without {' and '.join(missing)}"
    why = (
        "the postgresql provider runs REVOKE ALL PRIVILEGES ON DATABASE for the role before every GRANT "
        "(and again when the Grant is deleted), so the role loses every database privilege this list leaves out; "
        "Heroku's default credential owns its database, and a CREATE-only Grant to it strips its own CONNECT and TEMPORARY"
    )
    report_violation(violation(what, why, f"privileges={json.dumps(fixed)}"), None)


@guardrail("postgresql-database-grant-retain-on-delete", mandatory=False, severity=Severity.MEDIUM, config=RETAINED_ON_DELETE_CONFIG)
def retained_on_delete(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A postgresql Grant on a database should be declared with retain_on_delete: deleting it revokes every
    database privilege of its role. Policies cannot see retain_on_delete, so this is a reminder until the Grant
    is listed in retainedGrants.

    Fix: Declare the Grant with opts=pulumi.ResourceOptions(retain_on_delete=True), then list it in retainedGrants.
    """
    if database_privileges(args) is None:
        return
    if {args.name, args.urn} & set(config_strings(args.get_config(), RETAINED_GRANTS_KEY, [])):
        return
    what = (
        f"{label('postgresql.Grant', args.name)} {_target(args.props)}: check that it is declared with retain_on_delete. "
        "This policy cannot see that option: Pulumi's analyzer protocol gives policies protect, ignore_changes, "
        "delete_before_replace, aliases, custom_timeouts, additional_secret_outputs and parent, not retain_on_delete"
    )
    why = (
        "deleting a database Grant (pulumi destroy, removing it from the program, or a replacement) runs "
        "REVOKE ALL PRIVILEGES ON DATABASE for its role: a loader loses CREATE and Stitch's loads fail; an owner also loses "
        "CONNECT and TEMPORARY"
    )
    fix = (
        f'opts=pulumi.ResourceOptions(retain_on_delete=True), then add "{args.name}" to this policy\'s '
        f"{RETAINED_GRANTS_KEY} config to record that it is set"
    )
    report_violation(violation(what, why, fix), None)
