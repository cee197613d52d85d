"""Proof of the Grant choice on a real server: replay the SQL the postgresql provider runs.

The statements are those of cyrilgdn/terraform-provider-postgresql (resource_postgresql_grant.go,
helpers.go), which pulumi-postgresql wraps: create/update lock the role and the database, then
REVOKE ALL PRIVILEGES ON DATABASE and GRANT in one transaction; delete runs the REVOKE ALL; read
compares aclexplode(datacl) for the role with the configured privileges. They are kept once, in
devtools/postgresql_standin.py, which also runs them for the real engine where the plugin is missing. They run here as the
owner credential, which is not a superuser, as on Heroku.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from stitch_heroku.connection import parse_database_url
from stitch_heroku.postgres_sql import DATABASE_PRIVILEGES

from devtools import postgresql_standin


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(parse_database_url(url).conninfo(connect_timeout=5), autocommit=True)


def provider_create(conn: psycopg.Connection, database: str, role: str, privileges: tuple[str, ...]) -> None:
    postgresql_standin.grant(conn, database, role, privileges)


def provider_revoke(conn: psycopg.Connection, database: str, role: str) -> None:
    postgresql_standin.revoke(conn, database, role)


def own_privileges(conn: psycopg.Connection, database: str, role: str) -> set[str]:
    """What the role holds on the database in its own name, as the provider reads it."""
    return postgresql_standin.read_privileges(conn, database, role) or set()


def effective(conn: psycopg.Connection, role: str) -> dict[str, bool]:
    return {
        p: conn.execute("SELECT has_database_privilege(%s, current_database(), %s)", (role, p)).fetchone()[0] for p in DATABASE_PRIVILEGES
    }


@pytest.fixture
def fresh_database(ssl_server):
    """A new database owned by the owner credential, made as Heroku makes it."""
    name = f"grant_{id(object()) % 100000}"
    ssl_server.cluster.create_database(name, "heroku_owner")
    owner_url = ssl_server.owner_url.rsplit("/", 1)[0] + f"/{name}"
    yield name, owner_url
    with ssl_server.cluster.superuser() as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_naive_create_only_grant_would_take_the_owners_connect_and_temporary(fresh_database):
    database, owner_url = fresh_database
    with connect(owner_url) as conn:
        provider_create(conn, database, "heroku_owner", ("CREATE",))
        assert own_privileges(conn, database, "heroku_owner") == {"CREATE"}, "this is the harm the program avoids"


def test_our_grant_leaves_the_owner_every_privilege_and_reads_back_without_drift(fresh_database):
    database, owner_url = fresh_database
    with connect(owner_url) as conn:
        before = effective(conn, "heroku_owner")
        provider_create(conn, database, "heroku_owner", DATABASE_PRIVILEGES)
        assert own_privileges(conn, database, "heroku_owner") == set(DATABASE_PRIVILEGES)
        assert effective(conn, "heroku_owner") == before == {p: True for p in DATABASE_PRIVILEGES}
        # Applying it again (an update) changes nothing.
        provider_create(conn, database, "heroku_owner", DATABASE_PRIVILEGES)
        assert own_privileges(conn, database, "heroku_owner") == set(DATABASE_PRIVILEGES)


def test_our_grant_gives_a_separate_stitch_credential_create(fresh_database):
    database, owner_url = fresh_database
    with connect(owner_url) as conn:
        assert effective(conn, "stitch_loader")["CREATE"] is False
        provider_create(conn, database, "stitch_loader", DATABASE_PRIVILEGES)
        assert effective(conn, "stitch_loader") == {p: True for p in DATABASE_PRIVILEGES}
        assert effective(conn, "heroku_owner")["CREATE"], "granting to another role must not touch the owner"


def test_provider_delete_would_revoke_create_which_is_why_the_grant_is_retained(fresh_database):
    database, owner_url = fresh_database
    with connect(owner_url) as conn:
        provider_create(conn, database, "stitch_loader", DATABASE_PRIVILEGES)
        provider_revoke(conn, database, "stitch_loader")
        assert effective(conn, "stitch_loader")["CREATE"] is False
        provider_create(conn, database, "heroku_owner", DATABASE_PRIVILEGES)
        provider_revoke(conn, database, "heroku_owner")
        assert own_privileges(conn, database, "heroku_owner") == set()
        assert effective(conn, "heroku_owner")["CREATE"] is False, "a destroy would leave the owner unable to create schemas"
