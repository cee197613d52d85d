"""A STAND-IN for the `postgresql` provider plugin, for this machine only: the real one cannot be built here.

pulumi-postgresql's provider (github.com/pulumi/pulumi-postgresql/provider/v3) and the Terraform provider it
wraps (cyrilgdn/terraform-provider-postgresql) are not served by the Go module proxy this machine reaches,
so the real plugin cannot be had (docs/toolchain.md). So that the real Pulumi engine can
still run this program end to end, this plugin speaks Pulumi's provider protocol for the one resource the
program uses, `postgresql:index/grant:Grant` on `object_type: database`, and runs the SQL the real
provider runs (resource_postgresql_grant.go): lock the role and the database, REVOKE ALL then GRANT in one
transaction; REVOKE ALL on delete; read back through aclexplode(datacl). It reports the version the
pulumi_postgresql package asks for, so the engine takes it for that plugin.

Users never run this: with internet access the Pulumi CLI installs the real plugin itself.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devtools.plugin_process import install_script, serve_forever

PLUGIN_NAME = "pulumi-resource-postgresql"
GRANT_TYPE = "postgresql:index/grant:Grant"
# The real resource forces replacement when any of these change; privileges are updated in place.
REPLACE_ON_CHANGE = ("database", "role", "schema", "objectType")
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
            news = unwrap(request.news)
            failures = []
            if request.urn and GRANT_TYPE not in request.urn:
                failures.append(proto.CheckFailure(property="", reason=f"this stand-in only implements {GRANT_TYPE}"))
            if news.get("objectType") not in (None, "database") and not rpc.is_rpc_secret(news.get("objectType")):
                failures.append(proto.CheckFailure(property="objectType", reason="this stand-in only implements object_type database"))
            return proto.CheckResponse(inputs=request.news, failures=failures)

        def Diff(self, request: Any, context: Any) -> Any:
            olds, news = unwrap(request.olds), unwrap(request.news)
            if sorted(olds.get("privileges") or []) == sorted(news.get("privileges") or []):
                news["privileges"] = olds.get("privileges")  # a set in the real schema: order is no change
            keys = ("database", "role", "schema", "objectType", "privileges", "withGrantOption")
            changed = [key for key in keys if olds.get(key) != news.get(key)]
            replaces = [key for key in changed if key in REPLACE_ON_CHANGE]
            kind = proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE
            return proto.DiffResponse(changes=kind, replaces=replaces, diffs=changed, deleteBeforeReplace=bool(replaces))

        def Create(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties)
            with self.connect() as conn:
                grant(conn, props["database"], props["role"], list(props.get("privileges") or []))
            resource_id = f"{props['role']}_{props['database']}_database"
            return proto.CreateResponse(id=resource_id, properties=to_struct(props))

        def Update(self, request: Any, context: Any) -> Any:
            news = unwrap(request.news)
            with self.connect() as conn:
                grant(conn, news["database"], news["role"], list(news.get("privileges") or []))
            return proto.UpdateResponse(properties=to_struct(news))

        def Read(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties) or unwrap(request.inputs)
            with self.connect() as conn:
                held = read_privileges(conn, props["database"], props["role"])
            if held is None:
                return proto.ReadResponse(id="")
            wanted = [str(p).upper() for p in props.get("privileges") or []]
            props["privileges"] = props.get("privileges") if set(wanted) == held else sorted(held)
            return proto.ReadResponse(id=request.id, properties=to_struct(props), inputs=to_struct(props))

        def Delete(self, request: Any, context: Any) -> Any:
            props = unwrap(request.properties)
            with self.connect() as conn:
                revoke(conn, props["database"], props["role"])
            return empty_pb2.Empty()

        def Cancel(self, request: Any, context: Any) -> Any:
            return empty_pb2.Empty()

    serve_forever(provider_pb2_grpc.add_ResourceProviderServicer_to_server, Provider())


def install(bin_dir: Path, python: str = sys.executable) -> Path:
    """Write the plugin's executable into bin_dir (to go first on PATH), running this module with `python`."""
    return install_script(bin_dir, PLUGIN_NAME, "devtools.postgresql_standin", python)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    serve()
