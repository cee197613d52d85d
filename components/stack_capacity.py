"""The program's side of capacity: the stack's limits, and a grant that never fights Heroku's enforcement.

The limits are the Heroku plan's (the configured one for `heroku`, the add-on's as Heroku reports it for
`heroku-existing`: one read-only Platform API lookup, the one the credential choice makes) and the user's own
`storage_limit_gb`, which Heroku knows nothing of. Over the plan's own limit (never the user's), Heroku takes
CREATE (and INSERT) from the database's credentials and gives them back once usage drops (Dev Center, "Heroku
Postgres Over Plan Capacity"); the grant then asks for only what the role still holds, so neither `up` nor the
reconcile grants back what Heroku took.
"""

from __future__ import annotations

import logging

import psycopg
import pulumi
from psycopg.rows import dict_row

from . import capacity as cap
from . import heroku_credential
from . import postgres_sql as pg
from .config import StackConfig
from .connection import InvalidDatabaseUrl, connect_as
from .database_source import CredentialPlan

log = logging.getLogger(__name__)


def stack_limits(cfg: StackConfig, credential: CredentialPlan) -> cap.CapacityLimits:
    """The storage and table limits the verification's capacity check measures against."""
    plan: str | None = None
    if cfg.source == "heroku":
        plan = cfg.plan
    elif cfg.source == "heroku-existing":
        plan = credential.choice.addon.plan if credential.choice.addon is not None else _existing_plan(cfg, credential)
    return cap.limits_for(cfg.source, plan, cfg.storage_limit_gb)


def _existing_plan(cfg: StackConfig, credential: CredentialPlan) -> str | None:
    """The add-on's plan behind the app's database config var; None (the check then says so) when Heroku does not say."""
    access = credential.heroku
    if access is None or not access.api_key or not cfg.app_name:
        return None
    try:
        http = heroku_credential.HerokuHttp(access.api_url, access.api_key)
        return heroku_credential.find_database_addon(http, cfg.app_name, cfg.database_config_var).plan
    except heroku_credential.HerokuCredentialError as error:
        pulumi.log.warn(f"capacity: the add-on's plan could not be read, so its limits are unknown: {error}")
        return None


def privileges_to_grant(
    owner_url: pulumi.Input[str], grantee: pulumi.Input[str], limits: cap.CapacityLimits, connect_timeout: int
) -> pulumi.Output[list[str]]:
    """The database privileges the grant asks for: all of pg.DATABASE_PRIVILEGES, except on a Heroku plan at or
    over its own limit, where only those the grantee holds now (so the provider's REVOKE ALL and GRANT change nothing,
    and what Heroku took stays taken). Past the user's storage_limit_gb alone a revoked privilege is granted back:
    Heroku took nothing. Read-only, as the owner; when the database cannot be asked, all of them."""
    if limits.plan is None or (limits.plan_bytes is None and limits.table_limit is None):
        return pulumi.Output.from_input(list(pg.DATABASE_PRIVILEGES))
    held = pulumi.Output.all(owner_url, grantee).apply(lambda a: held_when_over_plan(str(a[0]), str(a[1]), limits, connect_timeout))
    # Privilege names are no secret: the owner's URL would make them one, and the grant would see a change.
    return pulumi.Output.unsecret(held)


def held_when_over_plan(owner_url: str, grantee: str, limits: cap.CapacityLimits, connect_timeout: int) -> list[str]:
    wanted = list(pg.DATABASE_PRIVILEGES)
    try:
        with connect_as(owner_url, connect_timeout=connect_timeout, application_name="stitch-heroku-capacity") as conn:
            usage = cap.measure(conn)
            if not limits.over_plan(usage):
                return wanted
            row = conn.cursor(row_factory=dict_row).execute(pg.HELD_PRIVILEGES_QUERY, {"privileges": wanted, "role": grantee}).fetchone()
    except (psycopg.Error, OSError, InvalidDatabaseUrl):
        return wanted  # the grant's own connection reports what is wrong
    held = [p for p in wanted if p in set(row["held"] if row else [])]
    if held != wanted:
        pulumi.log.warn(
            f"capacity: the database is {cap.OVER_PLAN} on plan {limits.plan} and Heroku took "
            f"{', '.join(p for p in wanted if p not in held)} from {grantee}; it is not granted again (see the verification)"
        )
    return held
