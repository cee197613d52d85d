"""Refuse a change of `source` that would make Pulumi delete the Heroku database this stack created, and a
change of Stitch's credential that the owner cannot carry out.

With `source: heroku` the stack owns the app and its Postgres add-on. Switching to `heroku-existing` or
`url` drops them from the program, and Pulumi then deletes them (or, on a protected stack, fails with an
opaque "resource is protected"). The guard remembers the source in Pulumi's state; its `check`, which the
engine runs in preview and before any step of `up`, sees the switch and stops the run with what would
happen and the exact commands for either way out. The update fails before the program finishes, and
Pulumi never deletes anything from a run that failed.

It also remembers which credential Stitch used (`stitch_credential`: dedicated, owner, or own for a URL the
user named) and the role. When Stitch is to get a role of its own, check() asks the server, as the owner and
read-only, whether the owner may create roles, whether a role of that name exists already (not made by this
stack), and whether the owner can act for the role Stitch loaded as before; if not, the run stops before any
change, with the ways out. A stack made before this setting existed used the owner's credential (unless it
named its own): its switch to `dedicated` is carried out by components/stitch_role.py's handover. On
Heroku no handover is possible, so a Heroku stack whose Stitch already loaded as the owner stops instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pulumi
from psycopg.rows import dict_row
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from components import postgres_sql as pg
from components.connection import parse_database_url

# The diff watches these: a change is recorded, so the next run compares with what Stitch used last.
RECORDED = ("source", "app_name", "app_urn", "stitch_credential", "stitch_role")


def switch_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why this change of source is refused, with the way out; None when nothing would be deleted."""
    if olds.get("source") != "heroku" or news.get("source") == "heroku":
        return None
    app, app_urn = olds.get("app_name") or "the app", olds.get("app_urn") or "<the app's URN: pulumi stack --show-urns>"
    return (
        f'source: this stack created the Heroku app "{app}" and its Postgres database (source heroku). With source '
        f'"{news.get("source")}" the next `pulumi up` would delete them, database included (a protected stack would fail '
        "on protect instead). Nothing was changed. To keep the app and the database and let this stack forget them, run\n"
        f"    pulumi state delete --force --target-dependents '{app_urn}'\n"
        "then `pulumi up` again: the grant and the verification are made again from the new source, and a Stitch destination "
        "is found by its name and the adopt command printed. To delete the app and the database on purpose instead: "
        "pulumi config set source heroku, then pulumi destroy, then switch."
    )


OwnerFacts = Callable[[str, str, str | None, int], dict[str, Any] | None]


def owner_facts(owner_url: str, role: str, previous: str | None, connect_timeout: int) -> dict[str, Any] | None:
    """What the owner may do about Stitch's role, read-only; None when the server cannot be asked now."""
    try:
        settings = parse_database_url(owner_url, name="the database URL")
        conninfo = settings.conninfo(connect_timeout=connect_timeout, application_name="stitch-heroku-guard")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            return conn.cursor(row_factory=dict_row).execute(pg.OWNER_FACTS_QUERY, {"role": role, "previous": previous}).fetchone()
    except (psycopg.Error, OSError, ValueError):
        return None  # the verification reports a database it cannot reach, with the server's words


def credential_refusal(olds: dict[str, Any], news: dict[str, Any], facts: OwnerFacts = owner_facts) -> str | None:
    """Why Stitch cannot get its own role on this run, with the ways out; None when it can (or nothing changes).

    Source url only: there the owner makes the role. On Heroku, Heroku makes the credential (pg:credentials).
    """
    if news.get("stitch_credential") != "dedicated" or news.get("source") != "url":
        return None
    owner_url, role = rpc.unwrap_rpc_secret(news.get("owner_url")), news.get("stitch_role")
    if not isinstance(owner_url, str) or owner_url == rpc.UNKNOWN or not isinstance(role, str) or role == rpc.UNKNOWN:
        return None  # known only during the update (a Heroku database not made yet): the provider's error then says it
    made_here = olds.get("stitch_credential") == "dedicated" and olds.get("stitch_role") == role
    previous = olds.get("stitch_role") if olds.get("stitch_credential") == "own" else None
    found = facts(owner_url, role, previous, int(news.get("connect_timeout") or 10))
    if found is None:
        return None
    owner = pg.quote_identifier(str(found["owner"]))
    if not found["may_create_roles"] and not made_here:
        return (
            f"stitch_credential: Stitch is to get a role of its own ({role}), but the database owner {owner} may not "
            "create roles (it has neither CREATEROLE nor SUPERUSER). Nothing was changed. Either let the owner create "
            f"roles (as a superuser: ALTER ROLE {owner} CREATEROLE;), or keep Stitch on the owner's credential "
            "(pulumi config set stitch_credential owner), or give Stitch a role made by hand with CONNECT, CREATE and "
            "TEMPORARY on the database (pulumi config set --secret stitch_url)."
        )
    if found["role_exists"] and not made_here:
        return f"stitch_role_name: {pg.role_exists_fix(role)}. Nothing was changed."
    if found["previous_out_of_reach"]:
        old = pg.quote_identifier(str(previous))
        return (
            f"stitch_credential: Stitch loaded as {old} (stitch_url) and its schemas belong to that role; the owner "
            f"{owner} cannot act for it, so it cannot give them to the new role {role} and Stitch would be locked out "
            f"of its own tables. Nothing was changed. Either keep {old} (pulumi config set --secret stitch_url), or "
            f"as a superuser run GRANT {old} TO {owner}; and `pulumi up` again: Stitch's schemas (those whose tables "
            f"have _sdc_ columns) are then given to {role}."
        )
    return None


SchemasOf = Callable[[str, int], list[str] | None]


def owner_era_schemas(owner_url: str, connect_timeout: int) -> list[str] | None:
    """Stitch's schemas (every table has `_sdc_` columns) the owner may act for, read-only; None when the
    server cannot be asked now."""
    try:
        settings = parse_database_url(owner_url, name="the database URL")
        conninfo = settings.conninfo(connect_timeout=connect_timeout, application_name="stitch-heroku-guard")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            # No role is excluded: every Stitch schema the owner's side holds counts.
            return [row[0] for row in conn.execute(pg.STITCH_SCHEMAS_QUERY, {"role": ""}).fetchall()]
    except (psycopg.Error, OSError, ValueError):
        return None


def heroku_credential_refusal(olds: dict[str, Any], news: dict[str, Any], schemas: SchemasOf = owner_era_schemas) -> str | None:
    """Why an existing Heroku stack may not move Stitch from the owner's credential to one of its own now.

    Stitch's schemas and tables belong to the role that loaded them. On Heroku the owner is no member of
    another credential's role, so unlike source url (components/stitch_role.py's handover) it cannot give
    them away with ALTER ... OWNER TO, and Stitch, on the new credential, would be locked out of every
    table it loads into. A new stack, or one whose Stitch already had its own credential, has nothing to move.
    """
    if news.get("source") not in ("heroku", "heroku-existing") or news.get("stitch_credential") != "dedicated":
        return None
    if not olds.get("source") or olds.get("stitch_credential") in ("dedicated", "own"):
        return None
    owner_url = rpc.unwrap_rpc_secret(news.get("owner_url"))
    if not isinstance(owner_url, str) or owner_url == rpc.UNKNOWN:
        return None
    found = schemas(owner_url, int(news.get("connect_timeout") or 10))
    if not found:
        return None
    return (
        "stitch_credential: this stack now gives Stitch a Heroku credential of its own (dedicated, the default on "
        f"standard-0 and up), but Stitch has been loading as the database owner, whose role owns Stitch's schemas "
        f"({', '.join(found)}). On Heroku the owner cannot hand them to another credential's role, so Stitch would "
        "be locked out of its own tables. Nothing was changed. Keep Stitch on the owner's credential: "
        "pulumi config set stitch_credential owner (the verification warns). Or start Stitch afresh on its own "
        "credential on purpose: drop or rename those schemas as the owner, reset the integrations in Stitch so they "
        "load their history again, then pulumi up."
    )


class SourceGuardProvider(ResourceProvider):
    """State, and read-only questions to the server as the owner: nothing outside Pulumi is created or deleted."""

    def check(self, olds: Any, news: Any) -> CheckResult:
        olds, news = dict(olds or {}), dict(news or {})
        failures = []
        refusal = switch_refusal(olds, news)
        if refusal:
            failures.append(CheckFailure("source", refusal))
        else:
            credential = credential_refusal(olds, news) or heroku_credential_refusal(olds, news)
            if credential:
                failures.append(CheckFailure(credential.partition(":")[0], credential))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != news.get(key) for key in RECORDED)
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


@dataclass
class SourceGuardArgs:
    source: str
    """The stack's `source` this run."""
    app_name: pulumi.Input[str] | None = None
    """The Heroku app the stack created (source heroku)."""
    app: pulumi.Resource | None = None
    """The created app: its URN goes into the way-out command, and `--target-dependents` then takes the guard too."""
    owned: list[pulumi.Resource] = field(default_factory=list)
    """Everything the stack created on Heroku; the guard depends on it."""
    stitch_credential: str | None = None
    """`dedicated`, `owner`, or `own` (a URL the user named)."""
    stitch_role: pulumi.Input[str] | None = None
    """The role Stitch loads as this run."""
    owner_url: pulumi.Input[str] | None = None
    """The owner's URL (secret), for check()'s read-only questions."""
    connect_timeout: int = 10
    """Seconds check() waits for the server before leaving the question to the update."""


class SourceGuard(pulumi.dynamic.Resource, module="stitch", name="SourceGuard"):
    """Remembers the source; refuses a switch that would delete a database this stack created."""

    def __init__(self, name: str, args: SourceGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "source": args.source,
            "app_name": args.app_name,
            "app_urn": args.app.urn if args.app is not None else None,
            "stitch_credential": args.stitch_credential,
            "stitch_role": args.stitch_role,
            "owner_url": pulumi.Output.secret(args.owner_url) if args.owner_url is not None else None,
            "connect_timeout": args.connect_timeout,
        }
        owned = pulumi.ResourceOptions(depends_on=list(args.owned), additional_secret_outputs=["owner_url"])
        super().__init__(SourceGuardProvider(), name, props, pulumi.ResourceOptions.merge(opts, owned))
