"""Least privilege judged by what the server allows: PostgreSQL's built-in roles, memberships usable only through
SET ROLE, nested memberships, each with the REVOKE that removes it; on a real PostgreSQL 15, no mock."""

from __future__ import annotations

import io
import itertools
import json

import psycopg
import pytest
from psycopg import sql
from stitch_heroku import postgres_sql as pg
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url
from stitch_heroku.verify import EXIT_NOT_READY, main

_names = itertools.count(1)


def _login(cluster, stem: str, database: str = "stitch") -> tuple[str, str]:
    """A login with CREATE on the database, as a user would make one for Stitch: its name and URL."""
    role = f"{stem}_{next(_names)}"
    with cluster.superuser() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'member-pw'").format(sql.Identifier(role)))
    with cluster.superuser(database) as conn:
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role)))
    return role, cluster.url(role, "member-pw", database)


def _as_superuser(cluster, *statements: sql.Composable | str, database: str = "stitch") -> None:
    with cluster.superuser(database) as conn:
        for statement in statements:
            conn.execute(statement)


def _group(cluster, name: str, *options: str) -> str:
    """A NOLOGIN role made afresh (the cluster lives for the whole session)."""
    role = f"{name}_{next(_names)}"
    _as_superuser(cluster, sql.SQL("CREATE ROLE {} NOLOGIN " + " ".join(options)).format(sql.Identifier(role)))
    return role


def _grant(cluster, granted: str, member: str) -> None:
    _as_superuser(cluster, sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(member)))


def least_privilege(url: str, credential: str | None = "dedicated"):
    return {c.name: c for c in verify(parse_database_url(url), credential=credential).checks}["least privilege"]


def fails_with(url: str, *words: str, revoke: str):
    """The least-privilege check of a role this stack made: a failure naming `words`, whose fix holds `revoke`."""
    check = least_privilege(url)
    assert check.status == "fail" and all(word in check.detail for word in words), check
    assert revoke in (check.fix or ""), check.fix
    return check


def _run_fix(cluster, fix: str) -> None:
    """The statements of a fix ("...: REVOKE ...; REVOKE ...;"), run as a superuser."""
    statements = [s.strip() for s in fix.split(": ", 1)[1].split(";") if s.strip().startswith(("REVOKE", "ALTER"))]
    assert statements, fix
    _as_superuser(cluster, *statements)


def test_a_login_with_create_and_no_membership_passes(ssl_server):
    _, url = _login(ssl_server.cluster, "plain_loader")
    check = least_privilege(url)
    assert check.status == "pass", check
    assert "member of no role that gives more" in check.detail


def test_a_member_of_pg_read_all_data_reads_the_apps_tables_and_fails_with_the_revoke(ssl_server):
    cluster = ssl_server.cluster
    role, url = _login(cluster, "reader_loader")
    _as_superuser(cluster, "CREATE TABLE IF NOT EXISTS public.cards (number text)", "INSERT INTO public.cards VALUES ('4111')")
    _grant(cluster, "pg_read_all_data", role)
    with psycopg.connect(parse_database_url(url).conninfo(connect_timeout=5)) as conn:  # the power is real
        assert conn.execute("SELECT number FROM public.cards").fetchone() == ("4111",)
    check = least_privilege(url)
    assert check.status == "fail", check
    assert "pg_read_all_data" in check.detail and "reads every table" in check.detail
    assert f'REVOKE pg_read_all_data FROM "{role}";' in (check.fix or ""), check.fix
    assert "ALTER ROLE" not in (check.fix or ""), "no attribute of its own to take away"
    warn = least_privilege(url, credential=None)
    assert warn.status == "warn" and f'REVOKE pg_read_all_data FROM "{role}";' in (warn.fix or ""), warn
    _run_fix(cluster, check.fix or "")
    assert least_privilege(url).status == "pass", "the printed REVOKE clears it"


@pytest.mark.parametrize(
    ("builtin", "words"),
    [
        ("pg_write_all_data", "every table"),
        ("pg_execute_server_program", "shell commands"),
        ("pg_read_server_files", "file"),
        ("pg_write_server_files", "file"),
        ("pg_signal_backend", "sessions"),
        ("pg_read_all_settings", "setting"),
        ("pg_read_all_stats", "query text"),
    ],
)
def test_every_built_in_role_with_power_fails(ssl_server, builtin, words):
    role, url = _login(ssl_server.cluster, "builtin_loader")
    _grant(ssl_server.cluster, builtin, role)
    fails_with(url, builtin, words, revoke=f'REVOKE {builtin} FROM "{role}";')


def test_pg_monitor_fails_through_the_settings_and_stats_it_holds_and_its_own_membership_is_revoked(ssl_server):
    role, url = _login(ssl_server.cluster, "monitor_loader")
    _grant(ssl_server.cluster, "pg_monitor", role)
    check = least_privilege(url)
    assert check.status == "fail", check
    assert "pg_read_all_settings" in check.detail and "pg_read_all_stats" in check.detail and "pg_monitor" in check.detail
    assert f'REVOKE pg_monitor FROM "{role}";' in (check.fix or "")
    assert "REVOKE pg_read_all_stats" not in (check.fix or ""), "the login holds pg_monitor, not pg_read_all_stats itself"


def test_a_noinherit_membership_usable_through_set_role_fails(ssl_server):
    cluster = ssl_server.cluster
    role, url = _login(cluster, "noinherit_loader")
    _as_superuser(cluster, sql.SQL("ALTER ROLE {} NOINHERIT").format(sql.Identifier(role)),
                  "CREATE TABLE IF NOT EXISTS public.cards (number text)")  # fmt: skip
    _grant(cluster, "pg_read_all_data", role)
    with psycopg.connect(parse_database_url(url).conninfo(connect_timeout=5), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM public.cards")
        conn.execute("SET ROLE pg_read_all_data")  # ... and yet the power is one statement away
        conn.execute("SELECT * FROM public.cards")
    fails_with(url, "pg_read_all_data", "SET ROLE", revoke=f'REVOKE pg_read_all_data FROM "{role}";')


def test_a_noinherit_membership_in_a_role_granted_an_apps_table_fails(ssl_server):
    cluster = ssl_server.cluster
    role, url = _login(cluster, "noinherit_acl_loader")
    readers = _group(cluster, "card_readers")
    _as_superuser(cluster, sql.SQL("ALTER ROLE {} NOINHERIT").format(sql.Identifier(role)),
                  "CREATE TABLE IF NOT EXISTS public.cards (number text)",
                  sql.SQL("GRANT SELECT ON public.cards TO {}").format(sql.Identifier(readers)))  # fmt: skip
    _grant(cluster, readers, role)
    fails_with(url, "SELECT public.cards", revoke=f'REVOKE "{readers}" FROM "{role}";')


@pytest.mark.parametrize(("granted", "words"), [("pg_read_all_data", "pg_read_all_data"), ("heroku_owner", "member of the database owner")])
def test_a_nested_membership_fails_and_the_fix_revokes_the_direct_one(ssl_server, granted, words):
    cluster = ssl_server.cluster
    role, url = _login(cluster, "nested_loader")
    middle = _group(cluster, "middle")
    _grant(cluster, granted, middle)
    _grant(cluster, middle, role)
    check = fails_with(url, words, middle, revoke=f'REVOKE "{middle}" FROM "{role}";')
    assert f"REVOKE {granted}" not in (check.fix or "") and f'REVOKE "{granted}"' not in (check.fix or ""), "no direct membership"
    _run_fix(cluster, check.fix or "")
    assert least_privilege(url).status == "pass"


def _superuser_group(cluster) -> tuple[str, str]:
    """A role with SUPERUSER: SET ROLE to it makes the session a superuser (attributes are never inherited)."""
    return _group(cluster, "admins", "SUPERUSER"), "SUPERUSER"


def _owning_group(cluster) -> tuple[str, str]:
    """A role that owns another app's database: its members may drop it."""
    owners = _group(cluster, "other_app")
    database = f"other_app_db_{next(_names)}"
    _as_superuser(cluster, sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owners)),
                  database="postgres")  # fmt: skip
    return owners, "owns"


def _owning_here_group(cluster) -> tuple[str, str]:
    """A role that owns a schema and a table of this database: its members may change and drop them (the ACLs
    show the owner's default privileges, so the finding names the schema and the table)."""
    owners = _group(cluster, "app_schema_owner")
    schema = f"{owners}_data"
    _as_superuser(cluster, sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema), sql.Identifier(owners)),
                  sql.SQL("CREATE TABLE {}.orders (id bigint)").format(sql.Identifier(schema)),
                  sql.SQL("ALTER TABLE {}.orders OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(owners)))  # fmt: skip
    return owners, f"in schema {schema}"


@pytest.mark.parametrize("make", [_superuser_group, _owning_group, _owning_here_group])
def test_a_member_of_a_role_with_an_attribute_or_objects_fails(ssl_server, make):
    role, url = _login(ssl_server.cluster, "powerful_member")
    group, words = make(ssl_server.cluster)
    _grant(ssl_server.cluster, group, role)
    fails_with(url, group, words, revoke=f'REVOKE "{group}" FROM "{role}";')


def test_memberships_that_give_nothing_dangerous_pass(ssl_server):
    """pg_checkpoint only forces a checkpoint; a role holding nothing gives nothing (docs/least-privilege.md)."""
    cluster = ssl_server.cluster
    role, url = _login(cluster, "harmless_loader")
    empty = _group(cluster, "empty")
    _grant(cluster, "pg_checkpoint", role)
    _grant(cluster, empty, role)
    check = least_privilege(url)
    assert check.status == "pass", check


# The catalogs hidden: the checks that need them fail with their cause, never a traceback.


def _verify_json(url: str, capsys) -> tuple[int, dict]:
    code = main(["--database-url", "-", "--json"], environ={}, stdin=io.StringIO(url + "\n"))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, json.loads(out.out)


@pytest.mark.parametrize("who", ["owner", "loader"])
def test_hidden_catalogs_are_failing_checks_with_their_cause_never_a_crash(ssl_server, capsys, who):
    """The loader's least privilege needs pg_namespace and pg_class (its object privileges): it fails naming the
    server's words. The owner's needs neither (the owner reaches everything anyway): its warn stands."""
    cluster = ssl_server.cluster
    url = ssl_server.hidden_catalog_url if who == "owner" else _login(cluster, "hidden_loader", database="hidden")[1]
    code, report = _verify_json(url, capsys)
    assert code == EXIT_NOT_READY
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["catalogs"]["status"] == "fail" and "permission denied" in checks["catalogs"]["detail"]
    check = checks["least privilege"]
    if who == "owner":
        assert check["status"] == "warn" and "is the database owner" in check["detail"], check
        return
    assert check["status"] == "fail", check
    assert "permission denied for table pg_" in check["detail"], check
    assert "PUBLIC" in check["fix"], check


# PostgreSQL 16's per-grant options, on the PostgreSQL 15 we have: the query for 16 reads pg_auth_members
# unqualified, so a table of that name in a schema searched before pg_catalog stands in for 16's catalog.


def test_postgresql_16_grant_options_decide_what_a_membership_gives(ssl_server):
    cluster = ssl_server.cluster
    role, url = _login(cluster, "pg16_loader")
    r = {name: _group(cluster, f"pg16_{name}") for name in ("set_only", "inherit_first", "then_set", "set_first", "then_inherit", "admin")}
    edges = [  # member, granted, inherit_option, set_option, admin_option
        (role, "pg_read_all_data", False, False, False),  # gives nothing: neither inherited nor SET ROLE, no ADMIN
        (role, r["set_only"], False, True, False),  # SET ROLE only
        (role, r["inherit_first"], True, False, False),  # inherited ...
        (r["inherit_first"], r["then_set"], False, True, False),  # ... then SET: SET ROLE is the login's, so nothing
        (role, r["set_first"], False, True, False),  # SET ROLE to it ...
        (r["set_first"], r["then_inherit"], True, False, False),  # ... which inherits this: usable
        (role, r["admin"], False, False, True),  # ADMIN OPTION: the login may grant it to itself
    ]
    schema = f"pg16_{next(_names)}"
    _as_superuser(
        cluster,
        sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)),
        sql.SQL("CREATE TABLE {}.pg_auth_members (member oid, roleid oid, inherit_option bool, set_option bool, admin_option bool)")
        .format(sql.Identifier(schema)),
        sql.SQL("GRANT USAGE ON SCHEMA {0} TO PUBLIC; GRANT SELECT ON {0}.pg_auth_members TO PUBLIC").format(sql.Identifier(schema)),
    )
    with cluster.superuser("stitch") as conn:
        for member, granted, inherit, settable, admin in edges:
            conn.execute(
                sql.SQL("INSERT INTO {}.pg_auth_members SELECT m.oid, g.oid, %s, %s, %s FROM pg_roles m, pg_roles g "
                        "WHERE m.rolname = %s AND g.rolname = %s").format(sql.Identifier(schema)),
                (inherit, settable, admin, member, granted),
            )  # fmt: skip
    with psycopg.connect(parse_database_url(url).conninfo(connect_timeout=5), autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path = {}, pg_catalog").format(sql.Identifier(schema)))
        facts = conn.cursor(row_factory=psycopg.rows.dict_row).execute(pg.facts_query(160000)).fetchone()
    usable = {m["role"]: (m["via"], m["inherited"]) for m in facts["memberships"]}
    assert usable == {
        r["set_only"]: ([r["set_only"]], False),
        r["inherit_first"]: ([r["inherit_first"]], True),
        r["set_first"]: ([r["set_first"]], False),
        r["then_inherit"]: ([r["set_first"]], False),
        r["admin"]: ([r["admin"]], False),
    }, usable


@pytest.mark.parametrize("attribute", ["SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"])
def test_each_attribute_of_the_login_itself_fails_with_the_alter_role(ssl_server, attribute):
    role, url = _login(ssl_server.cluster, f"{attribute.lower()}_loader")
    _as_superuser(ssl_server.cluster, sql.SQL("ALTER ROLE {} " + attribute).format(sql.Identifier(role)))
    alter = f'ALTER ROLE "{role}" NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;'
    check = fails_with(url, f"has {attribute}", revoke=alter)
    _run_fix(ssl_server.cluster, check.fix or "")
    assert least_privilege(url).status == "pass"
