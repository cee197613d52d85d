"""The baseline of tests/benchmarks/bench_up.py, run as a project's __main__.py: what least privilege needs on a
`source: url` stack, and nothing more. A postgresql provider signed in as the owner (config `database_url`), a
login Role for Stitch (config `stitch_role_name`) with a connection limit and a password, and its Grant on the
database; the password comes from one no-op dynamic resource (no effect outside the state), so the program has
the same plugin processes as ours. No config validation, no checks, no outputs.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pulumi
import pulumi_postgresql as postgresql
from psycopg.conninfo import conninfo_to_dict
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider


class _PasswordProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs={"password": secrets.token_hex(20)})

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False)


class _Password(pulumi.dynamic.Resource, module="bench", name="Password"):
    password: pulumi.Output[str]

    def __init__(self, name: str) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(_PasswordProvider(), name, {"password": None}, secret)


config = pulumi.Config("stitch-heroku")
owner = conninfo_to_dict(config.require("database_url"))
signed_in = {"host": owner["host"], "port": int(owner["port"]), "username": owner["user"], "database": owner["dbname"]}
provider = postgresql.Provider("owner", password=pulumi.Output.secret(owner["password"]), sslmode="require", superuser=False, **signed_in)
kept = pulumi.ResourceOptions(provider=provider, retain_on_delete=True)
role = postgresql.Role(
    "role", name=config.require("stitch_role_name"), login=True, connection_limit=10, password=_Password("password").password, opts=kept
)
privileges = ["CONNECT", "CREATE", "TEMPORARY"]
postgresql.Grant("create-on-database", database=owner["dbname"], role=role.name, object_type="database", privileges=privileges, opts=kept)
