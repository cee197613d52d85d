"""A STAND-IN for the `postgresql` provider plugin, for this machine only: the real one cannot be built here.

pulumi-postgresql's provider (github.com/pulumi/pulumi-postgresql/provider/v3) and the Terraform provider it
wraps (cyrilgdn/terraform-provider-postgresql) are not served by the Go module proxy this machine reaches,
so the real plugin cannot be had (docs/toolchain.md). So that the real Pulumi engine can
still run this program end to end, this plugin speaks Pulumi's provider protocol for the two resources the
program uses, and runs the SQL the real provider runs:
  - `postgresql:index/grant:Grant` on `object_type: database` (resource_postgresql_grant.go): lock the role
    and the database, REVOKE ALL then GRANT in one transaction; REVOKE ALL on delete; read back through
    aclexplode(datacl);
  - `postgresql:index/role:Role` (resource_postgresql_role.go, helpers.go): CREATE ROLE ... WITH <attributes>,
    read from pg_roles, ALTER ROLE per changed attribute, and on delete REASSIGN OWNED, DROP OWNED, DROP ROLE.
It reports the version the pulumi_postgresql package asks for, so the engine takes it for that plugin.

Users never run this: with internet access the Pulumi CLI installs the real plugin itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from devtools.plugin_process import installer, serve_forever

PLUGIN_NAME = "pulumi-resource-postgresql"
GRANT_TYPE = "postgresql:index/grant:Grant"
ROLE_TYPE = "postgresql:index/role:Role"
# The real resource forces replacement when any of these change (ForceNew in resourcePostgreSQLGrant's schema);
# privileges are updated in place.
REPLACE_ON_CHANGE = ("database", "role", "schema", "objectType", "withGrantOption")
# resourcePostgreSQLGrant's schema: with_grant_option is Optional with Default false (pulumi_postgresql's Grant:
# "Defaults to false"). The bridge's Check does NOT put Terraform schema defaults into the inputs: it converts them
# with makeTerraformInputsWithoutTFDefaults (pulumi-terraform-bridge pkg/tfbridge/provider.go, Check), whose
# applyDefaults fills only the ProviderInfo defaults and records their keys in `__defaults` (pkg/tfbridge/schema.go,
# defaultsKey): none for the Grant, so its inputs are `__defaults: []` and what the program gave. Terraform applies
# the default in its plan, so withGrantOption is in the outputs (the state Terraform returns) only.
GRANT_DEFAULTS: dict[str, Any] = {"withGrantOption": False}
DEFAULTS_KEY = "__defaults"
PRIVILEGES_READ = """
SELECT array_agg(privilege_type ORDER BY privilege_type)
  FROM (SELECT (aclexplode(datacl)).* FROM pg_database WHERE datname = %s) AS privileges
 WHERE grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)
"""


def plugin_version() -> str:
    """What the pulumi_postgresql package asks the engine for; the engine matches it exactly."""
    meta = json.loads(resources.files("pulumi_postgresql").joinpath("pulumi-plugin.json").read_text())
    return str(meta["version"])


# -- the provider's SQL (resource_postgresql_grant.go, helpers.go) --------------------------------------


def lock_role_and_database(conn: psycopg.Connection, database: str, role: str) -> None:
    """pgLockRole and pgLockDatabase: transaction-scoped advisory locks against concurrent grants."""
    conn.execute("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = %s", (role,))
    conn.execute(
        "SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members JOIN pg_roles ON roleid = pg_roles.oid WHERE rolname = %s",
        (role,),
    )
    conn.execute("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_database WHERE datname = %s", (database,))


def revoke_all(conn: psycopg.Connection, database: str, role: str) -> None:
    conn.execute(sql.SQL("REVOKE ALL PRIVILEGES ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))


def grant(conn: psycopg.Connection, database: str, role: str, privileges: list[str] | tuple[str, ...]) -> None:
    """Create and update: in one transaction, REVOKE ALL then GRANT exactly the listed privileges."""
    with conn.transaction():
        conn.execute("SET LOCAL statement_timeout = 0")
        lock_role_and_database(conn, database, role)
        revoke_all(conn, database, role)
        if privileges:
            conn.execute(
                sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p.upper()) for p in privileges), sql.Identifier(database), sql.Identifier(role)
                )
            )


def revoke(conn: psycopg.Connection, database: str, role: str) -> None:
    """Delete: the role loses everything it holds on the database in its own name."""
    with conn.transaction():
        lock_role_and_database(conn, database, role)
        revoke_all(conn, database, role)


def read_privileges(conn: psycopg.Connection, database: str, role: str) -> set[str] | None:
    """What the role holds on the database in its own name; None when the role or database is gone."""
    exists = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) AND EXISTS (SELECT 1 FROM pg_database WHERE datname = %s)",
        (role, database),
    ).fetchone()
    if not (exists and exists[0]):
        return None
    row = conn.execute(PRIVILEGES_READ, (database, role)).fetchone()
    return set(row[0] or []) if row else set()


# -- the Role's SQL (cyrilgdn/terraform-provider-postgresql postgresql/resource_postgresql_role.go) ----------

# The schema's defaults (resourcePostgreSQLRole), which the bridge fills in at Check, by their Pulumi names.
ROLE_DEFAULTS: dict[str, Any] = {
    "encryptedPassword": True,
    "validUntil": "infinity",
    "connectionLimit": -1,
    "superuser": False,
    "createDatabase": False,
    "createRole": False,
    "inherit": True,
    "login": False,
    "replication": False,
    "bypassRowLevelSecurity": False,
    "skipDropRole": False,
    "skipReassignOwned": False,
}
# resourcePostgreSQLRoleCreate's boolOpts, in its order (BYPASSRLS and REPLICATION appended, as on any
# server new enough for featureRLS and featureReplication), and the ALTER ROLE of each setRole* in Update.
ROLE_FLAGS = (
    ("superuser", "SUPERUSER", "NOSUPERUSER"),
    ("createDatabase", "CREATEDB", "NOCREATEDB"),
    ("createRole", "CREATEROLE", "NOCREATEROLE"),
    ("inherit", "INHERIT", "NOINHERIT"),
    ("login", "LOGIN", "NOLOGIN"),
    ("bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS"),
    ("replication", "REPLICATION", "NOREPLICATION"),
)
# resourcePostgreSQLRoleUpdate calls the setRole* functions in this order.
ROLE_UPDATE_ORDER = ("bypassRowLevelSecurity", "connectionLimit", "createDatabase", "createRole", "inherit", "login",
                     "replication", "superuser", "validUntil")  # fmt: skip
# resourcePostgreSQLRoleReadImpl's query (featureReplication and featureRLS columns included).
ROLE_READ = """
SELECT ARRAY(SELECT pg_get_userbyid(roleid) FROM pg_catalog.pg_auth_members members WHERE member = pg_roles.oid),
       rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit,
       COALESCE(rolvaliduntil::TEXT, 'infinity'), rolconfig, rolreplication, rolbypassrls
  FROM pg_catalog.pg_roles WHERE rolname = %s
"""


def _literal(value: str) -> sql.Composable:
    return sql.Literal(value)


def grant_value(props: dict[str, Any], key: str) -> Any:
    """A Grant attribute as the schema sees it: its default when unset, so inputs without it (Check's) against
    outputs with it, or a state written with it in the inputs (this stand-in's older answers), are no change."""
    return props.get(key, GRANT_DEFAULTS.get(key))


def grant_outputs(props: dict[str, Any]) -> dict[str, Any]:
    """The Grant's state as Terraform returns it: the schema's defaults filled in, the bridge's `__defaults`
    (an inputs-only key, pkg/tfbridge/schema.go) left out."""
    return {**GRANT_DEFAULTS, **{key: value for key, value in props.items() if key != DEFAULTS_KEY}}


def role_value(props: dict[str, Any], key: str) -> Any:
    """An attribute as the schema sees it: its default when unset; an unset set or list is empty."""
    if key in ("roles", "searchPaths"):
        return sorted(props.get(key) or []) if key == "roles" else list(props.get(key) or [])
    return props.get(key, ROLE_DEFAULTS.get(key))


def lock_role(conn: psycopg.Connection, role: str) -> None:
    """pgLockRole (helpers.go): no statement timeout, then advisory locks on the role and its members."""
    conn.execute("SET statement_timeout = 0")
    conn.execute("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = %s", (role,))
    conn.execute(
        "SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members JOIN pg_roles ON roleid = pg_roles.oid WHERE rolname = %s",
        (role,),
    )


def create_role_statement(props: dict[str, Any]) -> sql.Composed:
    """CREATE ROLE name WITH [ENCRYPTED] PASSWORD '...' VALID UNTIL '...' CONNECTION LIMIT n <flags>, as Create builds it."""
    options: list[sql.Composable] = []
    password = props.get("password") or ""
    if password:
        if password.upper() == "NULL":
            options.append(sql.SQL("PASSWORD NULL"))
        else:
            options.append(sql.SQL("ENCRYPTED" if props.get("encryptedPassword", True) else "UNENCRYPTED"))
            options.append(sql.SQL("PASSWORD {}").format(_literal(password)))
    valid_until = props.get("validUntil") or "infinity"
    options.append(sql.SQL("VALID UNTIL {}").format(_literal("infinity" if valid_until.lower() == "infinity" else valid_until)))
    options.append(sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(int(props.get("connectionLimit", -1)))))
    options += [sql.SQL(on if props.get(key) else off) for key, on, off in ROLE_FLAGS]
    return sql.SQL("CREATE ROLE {} WITH {}").format(sql.Identifier(props["name"]), sql.SQL(" ").join(options))


def alter_search_path(conn: psycopg.Connection, props: dict[str, Any]) -> None:
    """alterSearchPath: run on every create and update; an empty list sets DEFAULT."""
    paths = props.get("searchPaths") or []
    target = sql.SQL(", ").join(sql.Identifier(p) for p in paths) if paths else sql.SQL("DEFAULT")
    conn.execute(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(sql.Identifier(props["name"]), target))


def create_role(conn: psycopg.Connection, props: dict[str, Any]) -> None:
    """resourcePostgreSQLRoleCreate: one transaction; the role's `roles` granted; the search path set."""
    with conn.transaction():
        conn.execute(create_role_statement(props))
        for granted in props.get("roles") or []:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(props["name"])))
        alter_search_path(conn, props)


def update_role(conn: psycopg.Connection, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """resourcePostgreSQLRoleUpdate: lock, rename, then one ALTER ROLE for each attribute that changed."""
    role = sql.Identifier(news["name"])
    with conn.transaction():
        lock_role(conn, olds["name"])
        if olds["name"] != news["name"]:
            conn.execute(sql.SQL("ALTER ROLE {} RENAME TO {}").format(sql.Identifier(olds["name"]), role))
        # setRolePassword: a rename resets an md5 password, so it is set again then too.
        if olds.get("password") != news.get("password") or olds["name"] != news["name"]:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, _literal(news.get("password") or "")))
        flags = {key: (on, off) for key, on, off in ROLE_FLAGS}
        for key in ROLE_UPDATE_ORDER:
            if olds.get(key, ROLE_DEFAULTS[key]) == news.get(key, ROLE_DEFAULTS[key]):
                continue
            if key == "connectionLimit":
                conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(role, sql.Literal(int(news[key]))))
            elif key == "validUntil":
                if news.get(key):
                    until = "infinity" if str(news[key]).lower() == "infinity" else str(news[key])
                    conn.execute(sql.SQL("ALTER ROLE {} VALID UNTIL {}").format(role, _literal(until)))
            else:
                on, off = flags[key]
                conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(role, sql.SQL(on if news.get(key) else off)))
        # revokeRoles then grantRoles: the role leaves every role it is a member of, then joins the listed ones.
        granted = conn.execute(
            "SELECT pg_get_userbyid(roleid) FROM pg_catalog.pg_auth_members members "
            "JOIN pg_catalog.pg_roles ON members.member = pg_roles.oid WHERE rolname = %s",
            (news["name"],),
        ).fetchall()
        for (member_of,) in granted:
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(member_of), role))
        for member_of in news.get("roles") or []:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), role))
        alter_search_path(conn, news)


def read_role(conn: psycopg.Connection, name: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """resourcePostgreSQLRoleReadImpl; the password comes from the state (readRolePassword with superuser=false).

    `roles` are the role's direct memberships, ARRAY(SELECT pg_get_userbyid(roleid) FROM pg_auth_members WHERE member =
    pg_roles.oid) as upstream reads them: one granted by hand shows as a diff against the declared (none for Stitch's
    role), and the update's revokeRoles takes it back (tests/test_real_engine_role_memberships.py)."""
    row = conn.execute(ROLE_READ, (name,)).fetchone()
    if row is None:
        return None
    roles, rolname, superuser, inherit, createrole, createdb, login, connlimit, valid_until, config, replication, bypassrls = row
    search_path = next((c.split("=", 1)[1] for c in config or [] if c.startswith("search_path=")), None)
    return {
        **state,
        "name": rolname,
        "connectionLimit": connlimit,
        "createDatabase": createdb,
        "createRole": createrole,
        "encryptedPassword": True,
        "inherit": inherit,
        "login": login,
        "superuser": superuser,
        "validUntil": valid_until,
        "replication": replication,
        "bypassRowLevelSecurity": bypassrls,
        "roles": sorted(roles or []),
        "searchPaths": [p.strip().strip('"') for p in search_path.split(", ")] if search_path else [],
        "password": state.get("password"),
    }


def delete_role(conn: psycopg.Connection, props: dict[str, Any], current_user: str) -> None:
    """resourcePostgreSQLRoleDelete: REASSIGN OWNED BY the role TO the provider's user, DROP OWNED, DROP ROLE.

    withRolesGranted (helpers.go) first makes the provider's user a member of the role when it is not a
    superuser, and takes that membership back afterwards. (This program keeps its role: retain_on_delete.)
    """
    role = sql.Identifier(props["name"])
    with conn.transaction():
        lock_role(conn, props["name"])
        if not props.get("skipReassignOwned"):
            row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
            member = conn.execute(
                "SELECT 1 FROM pg_auth_members WHERE pg_get_userbyid(roleid) = %s AND pg_get_userbyid(member) = current_user",
                (props["name"],),
            ).fetchone()
            granted = not (row and row[0]) and member is None
            if granted:
                conn.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(current_user)))
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, sql.Identifier(current_user)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
            if granted:
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(role, sql.Identifier(current_user)))
        if not props.get("skipDropRole"):
            conn.execute(sql.SQL("DROP ROLE {}").format(role))


def is_unknown(value: Any) -> bool:
    """A value a preview does not know yet, or a list holding one."""
    from pulumi.output import Unknown

    return isinstance(value, Unknown) or (isinstance(value, list) and any(is_unknown(v) for v in value))


def role_diff(olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The Role's changed attributes, and none replaced: no attribute forces a replacement (no ForceNew in its
    schema), a rename is an ALTER. An unknown one is a change, as for the Grant (grant_diff)."""
    keys = sorted((set(news) | set(olds)) & (set(ROLE_DEFAULTS) | {"name", "password", "roles", "searchPaths"}))
    return [key for key in keys if is_unknown(news.get(key)) or role_value(olds, key) != role_value(news, key)], []


def grant_diff(olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The Grant's changed attributes and those that force its replacement (REPLACE_ON_CHANGE).

    An attribute a preview does not know yet is a change, never compared: the bridge hands Terraform an unknown
    input as TerraformUnknownVariableValue (pulumi-terraform-bridge pkg/tfbridge/schema.go), and Terraform's plan
    marks such an attribute NewComputed, a planned update (a replacement where the attribute is ForceNew)."""
    if not is_unknown(news.get("privileges")) and sorted(olds.get("privileges") or []) == sorted(news.get("privileges") or []):
        news = {**news, "privileges": olds.get("privileges")}  # a set in the real schema: order is no change
    keys = ("database", "role", "schema", "objectType", "privileges", "withGrantOption")
    changed = [key for key in keys if is_unknown(news.get(key)) or grant_value(olds, key) != grant_value(news, key)]
    return changed, [key for key in changed if key in REPLACE_ON_CHANGE]


# -- the provider protocol --------------------------------------------------------------------------------


def serve() -> None:  # pragma: no cover - runs as the engine's plugin process, exercised by tests/test_real_engine.py
    from google.protobuf import empty_pb2
    from pulumi.runtime import proto, rpc
    from pulumi.runtime.proto import provider_pb2_grpc

    def unwrap(struct: Any) -> dict[str, Any]:
        values = rpc.deserialize_properties(struct, keep_unknowns=True)
        return {key: rpc.unwrap_rpc_secret(value) for key, value in values.items()}

    def to_struct(values: dict[str, Any]) -> Any:
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(rpc.serialize_properties(values, {}))
        finally:
            loop.close()

    class Provider(provider_pb2_grpc.ResourceProviderServicer):
        def __init__(self) -> None:
            self.config: dict[str, Any] = {}

        @contextmanager
        def connect(self) -> Iterator[psycopg.Connection]:
            c = self.config
            with psycopg.connect(
                host=c.get("host", "localhost"),
                port=int(c.get("port", 5432)),
                user=c.get("username", "postgres"),
                password=c.get("password", ""),
                dbname=c.get("database", "postgres"),
                sslmode=c.get("sslmode", "require"),
                connect_timeout=int(c.get("connectTimeout", 180)),
                autocommit=True,
            ) as conn:
                yield conn

        def GetPluginInfo(self, request: Any, context: Any) -> Any:
            return proto.PluginInfo(version=plugin_version())

        def CheckConfig(self, request: Any, context: Any) -> Any:
            return proto.CheckResponse(inputs=request.news)

        def DiffConfig(self, request: Any, context: Any) -> Any:
            olds, news = unwrap(request.olds), unwrap(request.news)
            changed = sorted(key for key in set(olds) | set(news) if olds.get(key) != news.get(key))
            kind = proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE
            return proto.DiffResponse(changes=kind, diffs=changed)

        def Configure(self, request: Any, context: Any) -> Any:
            self.config = unwrap(request.args)
            return proto.ConfigureResponse(acceptSecrets=False, supportsPreview=False)

        def Check(self, request: Any, context: Any) -> Any:
            if ROLE_TYPE in request.urn:
                # The bridge fills in the schema's defaults; secrets stay marked (the password).
                raw = rpc.deserialize_properties(request.news, keep_unknowns=True)
                return proto.CheckResponse(inputs=to_struct({**ROLE_DEFAULTS, **raw}))
            news = unwrap(request.news)
            failures = []
            if request.urn and GRANT_TYPE not in request.urn:
                failures.append(proto.CheckFailure(property="", reason=f"this stand-in only implements {GRANT_TYPE} and {ROLE_TYPE}"))
            if news.get("objectType") not in (None, "database") and not rpc.is_rpc_secret(news.get("objectType")):
                failures.append(proto.CheckFailure(property="objectType", reason="this stand-in only implements object_type database"))
            if failures:
                return proto.CheckResponse(inputs=request.news, failures=failures)
            raw = rpc.deserialize_properties(request.news, keep_unknowns=True)
            return proto.CheckResponse(inputs=to_struct({**raw, DEFAULTS_KEY: []}))

        def Diff(self, request: Any, context: Any) -> Any:
            olds, news = unwrap(request.olds), unwrap(request.news)
            changed, replaces = (role_diff if ROLE_TYPE in request.urn else grant_diff)(olds, news)
            kind = proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE
            return proto.DiffResponse(changes=kind, replaces=replaces, diffs=changed, deleteBeforeReplace=bool(replaces))

        def Create(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties)
            if ROLE_TYPE in request.urn:
                with self.connect() as conn:
                    create_role(conn, props)
                    read = read_role(conn, props["name"], props)
                return proto.CreateResponse(id=props["name"], properties=to_struct(read or props))
            with self.connect() as conn:
                grant(conn, props["database"], props["role"], list(props.get("privileges") or []))
            resource_id = f"{props['role']}_{props['database']}_database"
            return proto.CreateResponse(id=resource_id, properties=to_struct(grant_outputs(props)))

        def Update(self, request: Any, context: Any) -> Any:
            news = unwrap(request.news)
            if ROLE_TYPE in request.urn:
                with self.connect() as conn:
                    update_role(conn, unwrap(request.olds), news)
                    read = read_role(conn, news["name"], news)
                return proto.UpdateResponse(properties=to_struct(read or news))
            with self.connect() as conn:
                grant(conn, news["database"], news["role"], list(news.get("privileges") or []))
            return proto.UpdateResponse(properties=to_struct(grant_outputs(news)))

        def Read(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties) or unwrap(request.inputs)
            if ROLE_TYPE in request.urn:
                with self.connect() as conn:
                    read = read_role(conn, request.id, props)
                if read is None:
                    return proto.ReadResponse(id="")
                return proto.ReadResponse(id=request.id, properties=to_struct(read), inputs=to_struct(unwrap(request.inputs) or read))
            with self.connect() as conn:
                held = read_privileges(conn, props["database"], props["role"])
            if held is None:
                return proto.ReadResponse(id="")
            wanted = [str(p).upper() for p in props.get("privileges") or []]
            props["privileges"] = props.get("privileges") if set(wanted) == held else sorted(held)
            # The inputs read back leave out what equals the schema's default, as Check never put it there.
            inputs = {key: value for key, value in props.items() if GRANT_DEFAULTS.get(key, ...) != value} | {DEFAULTS_KEY: []}
            return proto.ReadResponse(id=request.id, properties=to_struct(grant_outputs(props)), inputs=to_struct(inputs))

        def Delete(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties)
            if ROLE_TYPE in request.urn:
                with self.connect() as conn:
                    delete_role(conn, props, self.config.get("username", "postgres"))
                return empty_pb2.Empty()
            with self.connect() as conn:
                revoke(conn, props["database"], props["role"])
            return empty_pb2.Empty()

        def Cancel(self, request: Any, context: Any) -> Any:
            return empty_pb2.Empty()

    serve_forever(provider_pb2_grpc.add_ResourceProviderServicer_to_server, Provider())


install = installer(PLUGIN_NAME, "devtools.postgresql_standin")


if __name__ == "__main__":
    serve()  # unbuffered: the script runs `python -u`
