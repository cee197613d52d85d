"""A login role of Stitch's own (source url), so a third party never holds the database owner's credential.

Three children, made through the postgresql provider signed in as the owner:
  - StitchPassword: a random password kept only in Pulumi's state (secret); `stitch_password_version`
    makes a new one. No pulumi-random plugin can be had offline, so a small dynamic resource uses
    `secrets`, which is what pulumi-random's RandomPassword does with crypto/rand.
  - pulumi_postgresql.Role: LOGIN, and nothing more (no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION,
    BYPASSRLS). retain_on_delete: the role owns every schema and table Stitch loaded, so `pulumi destroy`
    forgets it instead of dropping it (the provider's delete would REASSIGN OWNED BY it to the owner and
    DROP OWNED, i.e. move or drop Stitch's data).
  - StitchHandover: schemas Stitch created while it loaded as the owner (or as a role the owner acts for)
    are given to the new role in one transaction, so the switch never locks Stitch out of its own tables.
The Grant (components/stitch_grant.py) then gives the role CONNECT, CREATE and TEMPORARY on the database.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
import pulumi
import pulumi_postgresql as postgresql
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from . import postgres_sql as pg
from .connection import connect_as, parse_database_url
from .moved import part_of, with_args

# 40 characters from 62 letters and digits: about 238 bits. Letters and digits only, so the password
# needs no quoting in a URL, a conninfo or Stitch's form.
PASSWORD_LENGTH = 40
PASSWORD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# Stitch holds one connection per loading integration and one for its connection check; it does not publish
# how many integrations it loads at once. 10 leaves room for several parallel loads and a check while
# capping what a runaway third party can take from the app (Heroku's smallest plans allow 20 connections
# in all); the verification's `connections` check warns when fewer than 5 of them are free.
CONNECTION_LIMIT = 10


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


class StitchPasswordProvider(ResourceProvider):
    """A password made once per `version`; nothing outside Pulumi's state is touched."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs={"version": props["version"], "password": new_password()})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("version") != news.get("version"), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={"version": news["version"], "password": new_password()})


class StitchPassword(pulumi.dynamic.Resource, module="stitch", name="StitchPassword"):
    """The dedicated role's password: secret in the state, never an input anyone typed."""

    password: pulumi.Output[str]

    def __init__(self, name: str, version: int, opts: pulumi.ResourceOptions | None = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(StitchPasswordProvider(), name, {"version": version, "password": None}, pulumi.ResourceOptions.merge(opts, secret))


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value)


def _known(value: Any) -> bool:
    return isinstance(value, str) and value != rpc.UNKNOWN


def stitch_schemas(conn: psycopg.Connection, role: str) -> list[tuple[str, list[str]]]:
    """Stitch's schemas (every table has `_sdc_` columns) that the owner may give to `role`, with the tables to give."""
    rows = conn.execute(pg.STITCH_SCHEMAS_QUERY, {"role": role}).fetchall()
    return [(schema, list(tables or [])) for schema, _owner, tables in rows]


def hand_over(owner_url: str, role: str, connect_timeout: int) -> list[str]:
    """As the owner, in one transaction: make the owner a member of `role`, then give it Stitch's schemas.

    Returns the schemas given."""
    session = connect_as(owner_url, connect_timeout=connect_timeout, application_name="stitch-heroku-handover", autocommit=False)
    with session as conn, conn.transaction():
        conn.execute(pg.HANDOVER_LOCK_TIMEOUT)
        schemas = stitch_schemas(conn, role)
        # The GRANT runs even with nothing to hand over: the owner then reads what Stitch loads, and can
        # carry Stitch's loads on if the stack is switched back to the owner's credential.
        for statement in pg.handover_statements(role, schemas):
            conn.execute(statement)
    return [schema for schema, _ in schemas]


def left_by_an_interrupted_create(owner_url: str | None, role: str, connect_timeout: int) -> bool:
    """Whether `role` is on the server exactly as the provider's create leaves it, owning and holding nothing
    (pg.JUST_CREATED_ROLE_QUERY): what a `pulumi up` killed after CREATE ROLE committed, before the engine wrote
    the Role into the state, leaves. Asked read-only as the owner while the program runs; False when it cannot ask.

    The Role is then imported (adopted by its name) instead of created again, which would fail with "role ...
    already exists". For a Role the state holds already, the import is a no-op (the engine imports only when the
    state has no resource of that id). A role of that name this stack never made is stopped by the source guard
    before any step (credential_refusal: its state records which role the stack made)."""
    if not owner_url:
        return False
    try:
        session = connect_as(owner_url, connect_timeout=min(connect_timeout, 5), application_name="stitch-heroku-role")
        with session as conn:
            row = conn.execute(pg.JUST_CREATED_ROLE_QUERY, {"role": role, "connection_limit": CONNECTION_LIMIT}).fetchone()
    except (psycopg.Error, OSError, ValueError):
        return False
    return bool(row and row[0])


class StitchHandoverProvider(ResourceProvider):
    """Gives Stitch's existing schemas to its role; shows them in preview (check) before any change."""

    def check(self, _olds: Any, news: Any) -> CheckResult:
        news = dict(news or {})
        owner_url, role = _plain(news.get("owner_url")), news.get("role")
        if _known(owner_url) and _known(role):
            try:
                timeout = int(news.get("connect_timeout") or 10)
                with connect_as(owner_url, connect_timeout=timeout, application_name="stitch-heroku-handover") as conn:
                    news["schemas"] = [schema for schema, _ in stitch_schemas(conn, role)]
            except (psycopg.Error, OSError, ValueError):
                pass  # not reachable now: create finds them itself, and the verification reports the connection
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        moved = hand_over(_plain(props["owner_url"]), props["role"], int(props.get("connect_timeout") or 10))
        return CreateResult(id_=uuid.uuid4().hex, outs={**props, "schemas": moved})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # New schemas of Stitch's that the role does not own (found by check) are a change to converge.
        changed = olds.get("role") != news.get("role") or bool(news.get("schemas"))
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        moved = hand_over(_plain(news["owner_url"]), news["role"], int(news.get("connect_timeout") or 10))
        return UpdateResult(outs={**news, "schemas": moved})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: what was handed over stays with Stitch's role, which is kept too."""


class StitchHandover(pulumi.dynamic.Resource, module="stitch", name="StitchHandover"):
    """Stitch's schemas, made while it loaded as another role, handed to its own role (see StitchHandoverProvider)."""

    schemas: pulumi.Output[list[str] | None]

    def __init__(self, name: str, args: StitchRoleArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "owner_url": pulumi.Output.secret(args.owner_url),
            "role": args.name,
            "connect_timeout": args.connect_timeout,
            "schemas": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["owner_url"])
        super().__init__(StitchHandoverProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


@dataclass
class StitchRoleArgs:
    name: str
    """The role's name (stitch_role_name)."""
    password_version: int
    """Raise it to rotate the password (stitch_password_version)."""
    owner_url: pulumi.Input[str]
    """The owner's URL (secret): the handover runs as the owner."""
    connect_timeout: int = 10
    """Seconds one connection attempt may take."""
    known_owner_url: str | None = None
    """The owner's URL when the program knows it as it starts (source url), to look for a role an interrupted
    `up` created but never recorded; None: no look."""


class StitchRole(pulumi.ComponentResource):
    """Stitch's own login role and its password; the role is kept on delete, since it owns Stitch's data."""

    name: pulumi.Output[str]
    password: pulumi.Output[str]
    url: pulumi.Output[str]
    """What Stitch connects with: the owner's host, port and database, the role's name and password (secret)."""

    def __init__(self, name: str, args: StitchRoleArgs, provider: pulumi.ProviderResource, opts: pulumi.ResourceOptions | None = None):
        super().__init__("stitch:postgres:StitchRole", name, None, opts)
        secret = StitchPassword(*with_args(part_of(self, name, "password"), args.password_version))
        # A role an interrupted `up` made (docs/crash-recovery.md) is adopted by name. The provider reads no password
        # back (superuser false: readRolePassword keeps the state's, which an import has not), so the import must not
        # compare it; the role already has this password (the create set it), and the next `up` writes it into the state.
        adopt = left_by_an_interrupted_create(args.known_owner_url, args.name, args.connect_timeout)
        role_name, role_opts = part_of(
            self,
            name,
            "role",
            # Kept by `pulumi destroy`: it owns what Stitch loaded (docs/least-privilege.md, "Destroy").
            pulumi.ResourceOptions(
                provider=provider,
                retain_on_delete=True,
                import_=args.name if adopt else None,
                ignore_changes=["password"] if adopt else None,
            ),
        )
        self.role = postgresql.Role(
            role_name,
            name=args.name,
            login=True,
            password=secret.password,
            superuser=False,
            create_database=False,
            create_role=False,
            replication=False,
            bypass_row_level_security=False,
            connection_limit=CONNECTION_LIMIT,
            opts=role_opts,
        )
        self.handover = StitchHandover(*with_args(part_of(self, name, "handover", pulumi.ResourceOptions(depends_on=[self.role])), args))
        self.name = self.role.name
        self.password = pulumi.Output.secret(secret.password)
        # Through the handover's outputs, so nothing uses the URL before Stitch's schemas are the role's.
        self.url = pulumi.Output.secret(
            pulumi.Output.all(args.owner_url, self.name, self.password, self.handover.id).apply(lambda v: role_url(v[0], v[1], v[2]))
        )
        self.register_outputs({"name": self.name})


def role_url(owner_url: str, role: str, password: str) -> str:
    """The URL Stitch uses: the owner's host, port and database, with the role's name and password."""
    owner = parse_database_url(owner_url, name="the database URL")
    host = f"[{owner.host}]" if ":" in owner.host else owner.host
    return f"postgres://{quote(role, safe='')}:{quote(password, safe='')}@{host}:{owner.port}/{quote(owner.database, safe='')}"
