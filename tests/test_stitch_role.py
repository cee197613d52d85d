"""Stitch's own role on a real server: the SQL the postgresql provider runs for it (replayed by
devtools/postgresql_standin.py from resource_postgresql_role.go), what the role can and cannot do, the
least-privilege check, the handover of Stitch's schemas, and the guard's read-only questions.
Everything runs as the database owner, which is not a superuser (it has CREATEROLE, as source url needs).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from pulumi.runtime import rpc
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url
from stitch_heroku.source_guard import SourceGuardProvider, credential_refusal, heroku_credential_refusal, ownership_refusal
from stitch_heroku.stitch_role import (
    CONNECTION_LIMIT,
    PASSWORD_LENGTH,
    StitchPasswordProvider,
    hand_over,
    left_by_an_interrupted_create,
    new_password,
    role_url,
)

from devtools import postgresql_standin as standin
from devtools.local_postgres import Cluster, provision_stitch_database

_names = itertools.count(1)


@dataclass
class Database:
    cluster: Cluster
    owner_url: str
    owner: str
    database: str
    role: str
    password: str

    def as_owner(self) -> psycopg.Connection:
        return psycopg.connect(parse_database_url(self.owner_url).conninfo(connect_timeout=5), autocommit=True)

    @property
    def role_url(self) -> str:
        return role_url(self.owner_url, self.role, self.password)

    def as_role(self) -> psycopg.Connection:
        return psycopg.connect(parse_database_url(self.role_url).conninfo(connect_timeout=5), autocommit=True)

    def role_props(self, **changes: object) -> dict:
        """The Role's inputs as the program declares them, with the schema's defaults the bridge fills in."""
        return {**standin.ROLE_DEFAULTS, "name": self.role, "login": True, "password": self.password,
                "connectionLimit": CONNECTION_LIMIT, **changes}  # fmt: skip


@pytest.fixture
def db(ssl_server) -> Database:
    n = next(_names)
    cluster = ssl_server.cluster
    made = provision_stitch_database(cluster, database=f"role_{n}", owner=f"role_owner_{n}", stitch_role=f"role_unused_{n}")
    owner = f"role_owner_{n}"
    with cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(owner)))
    return Database(cluster, made.owner_url, owner, f"role_{n}", f"role_stitch_{n}", new_password())


@pytest.fixture
def made(db) -> Database:
    """The role made and granted as `pulumi up` makes it: the provider's Role, then its Grant."""
    with db.as_owner() as conn:
        standin.create_role(conn, db.role_props())
        standin.grant(conn, db.database, db.role, ["CONNECT", "CREATE", "TEMPORARY"])
    return db


def attributes(db: Database) -> dict:
    with db.as_owner() as conn:
        row = (
            conn.cursor(row_factory=psycopg.rows.dict_row)
            .execute(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolconnlimit "
                "FROM pg_roles WHERE rolname = %s",
                (db.role,),
            )
            .fetchone()
        )
    assert row is not None, f"role {db.role} does not exist"
    return row


def test_the_providers_create_role_statement_is_the_upstream_one(db):
    statement = standin.create_role_statement(db.role_props()).as_string(None)
    assert statement == (
        f"CREATE ROLE \"{db.role}\" WITH ENCRYPTED PASSWORD '{db.password}' VALID UNTIL 'infinity' CONNECTION LIMIT 10 "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT LOGIN NOBYPASSRLS NOREPLICATION"
    )


def test_the_role_logs_in_with_no_power_beyond_the_database(made):
    assert attributes(made) == {
        "rolcanlogin": True, "rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
        "rolreplication": False, "rolbypassrls": False, "rolconnlimit": CONNECTION_LIMIT,
    }  # fmt: skip
    with made.as_role() as conn:
        held = conn.execute(
            "SELECT has_database_privilege(current_database(), 'CONNECT'), has_database_privilege(current_database(), 'CREATE'), "
            "has_database_privilege(current_database(), 'TEMPORARY')"
        ).fetchone()
    assert held == (True, True, True)


def test_the_role_cannot_read_or_change_the_apps_tables(made):
    with made.as_owner() as conn:
        conn.execute("CREATE TABLE public.customers (id bigint PRIMARY KEY, email text)")
        conn.execute("INSERT INTO public.customers VALUES (1, 'a@example.com')")
    with made.as_role() as conn:
        for statement in ("SELECT * FROM public.customers", "DELETE FROM public.customers", "DROP TABLE public.customers"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_role_cannot_create_roles_or_databases(made):
    with made.as_role() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to create role"):
            conn.execute("CREATE ROLE intruder LOGIN")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to create database"):
            conn.execute("CREATE DATABASE intruder")


def test_the_role_loads_as_stitch_does(made):
    report = verify(parse_database_url(made.role_url), credential="dedicated")
    assert report.ready, report.render()


def test_least_privilege_passes_for_the_role(made):
    check = {c.name: c for c in verify(parse_database_url(made.role_url), credential="dedicated").checks}["least privilege"]
    assert check.status == "pass", check
    assert made.owner in check.detail and "no SUPERUSER, CREATEROLE, CREATEDB" in check.detail


def test_least_privilege_warns_for_the_owner_with_the_reason(made):
    reason = "essential plans have one credential; standard-0 and up allow a dedicated one"
    report = verify(parse_database_url(made.owner_url), credential="owner", owner_reason=reason)
    check = {c.name: c for c in report.checks}["least privilege"]
    assert report.ready and check.status == "warn", report.render()
    assert "is the database owner" in check.detail and reason in check.detail
    assert "[warn] least privilege" in report.render()


def test_least_privilege_fails_for_a_dedicated_role_that_became_a_member_of_the_owner(made):
    with made.cluster.superuser() as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(made.owner), sql.Identifier(made.role)))
    report = verify(parse_database_url(made.role_url), credential="dedicated")
    check = {c.name: c for c in report.checks}["least privilege"]
    assert check.status == "fail" and not report.ready
    assert "member of the database owner" in check.detail
    assert f'REVOKE "{made.owner}" FROM "{made.role}"' in (check.fix or "")


def test_least_privilege_sees_an_indirect_membership_and_role_powers_of_a_users_own_credential(made):
    middle = f"{made.role}_middle"
    with made.cluster.superuser() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(middle)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(made.owner), sql.Identifier(middle)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(middle), sql.Identifier(made.role)))
        conn.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(made.role)))
    check = {c.name: c for c in verify(parse_database_url(made.role_url)).checks}["least privilege"]
    assert check.status == "warn", check
    assert "member of the database owner" in check.detail and "CREATEDB" in check.detail


def least_privilege_of(db: Database, credential: str | None = "dedicated"):
    return {c.name: c for c in verify(parse_database_url(db.role_url), credential=credential).checks}["least privilege"]


def test_least_privilege_fails_for_a_dedicated_role_that_may_read_change_or_empty_the_apps_tables(made):
    """ "cannot read, change or drop the app's tables": a grant on one of them is a failure naming the exact REVOKE."""
    with made.as_owner() as conn:
        conn.execute("CREATE TABLE public.orders (id bigint, total numeric)")
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id bigint)")
        conn.execute("CREATE TABLE billing.cards (id bigint, number text)")
        conn.execute(sql.SQL("GRANT SELECT, UPDATE, DELETE, TRUNCATE ON public.orders TO {}").format(sql.Identifier(made.role)))
        conn.execute("GRANT REFERENCES, TRIGGER ON billing.invoices TO PUBLIC")
        conn.execute(sql.SQL("GRANT INSERT (number) ON billing.cards TO {}").format(sql.Identifier(made.role)))
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA billing TO {}").format(sql.Identifier(made.role)))
    check = least_privilege_of(made)
    assert check.status == "fail", check
    assert "DELETE, SELECT, TRUNCATE, UPDATE public.orders" in check.detail and "CREATE, USAGE in schema billing" in check.detail
    role = f'"{made.role}"'
    for revoke in (
        f'REVOKE DELETE, SELECT, TRUNCATE, UPDATE ON TABLE "public"."orders" FROM {role};',
        'REVOKE REFERENCES, TRIGGER ON TABLE "billing"."invoices" FROM PUBLIC;',
        f'REVOKE INSERT ON TABLE "billing"."cards" FROM {role};',
        f'REVOKE CREATE, USAGE ON SCHEMA "billing" FROM {role};',
    ):
        assert revoke in (check.fix or ""), check.fix
    assert "ALTER ROLE" not in (check.fix or ""), "no role attribute to take away"
    with made.as_owner() as conn:  # the printed fix, run as the owner, clears it
        for statement in (check.fix or "").split(": ", 1)[1].split(";"):
            if statement.strip():
                conn.execute(statement)
    assert least_privilege_of(made).status == "pass", least_privilege_of(made)


def test_least_privilege_counts_privileges_held_through_another_role_and_warns_for_a_users_own(made):
    readers = f"{made.role}_readers"
    with made.as_owner() as conn:
        conn.execute("CREATE TABLE public.customers (id bigint)")
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(readers)))
        conn.execute(sql.SQL("GRANT SELECT ON public.customers TO {}").format(sql.Identifier(readers)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(readers), sql.Identifier(made.role)))
    fail = least_privilege_of(made)
    assert fail.status == "fail" and f'REVOKE "{readers}" FROM "{made.role}";' in (fail.fix or ""), fail
    warn = least_privilege_of(made, credential=None)
    assert warn.status == "warn" and "SELECT public.customers" in warn.detail and f'REVOKE "{readers}"' in (warn.fix or "")


def test_least_privilege_ignores_stitchs_own_schemas_and_tables_and_publics_usage_of_public(made):
    with made.as_owner() as conn:
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")  # PostgreSQL's default: it reaches no table by itself
        conn.execute("CREATE TABLE public.app_users (id bigint)")
    with made.cluster.superuser(made.database) as conn:  # as Heroku installs it: its view is PUBLIC's to read
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    with made.as_role() as conn:
        conn.execute("CREATE SCHEMA salesforce")
        conn.execute("CREATE TABLE salesforce.accounts (id bigint, _sdc_batched_at timestamptz)")
    check = least_privilege_of(made)
    assert check.status == "pass", check
    assert "no privilege on tables or schemas outside its own" in check.detail


def test_least_privilege_fails_where_public_may_create_in_schema_public_as_postgresql_14_grants(made):
    """PostgreSQL 14 and older grant CREATE on schema public to PUBLIC; 15 does not, so it is granted here as 14 has it."""
    with made.as_owner() as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    check = least_privilege_of(made)
    assert check.status == "fail" and "CREATE in schema public" in check.detail, check
    assert 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in (check.fix or "")
    with made.as_owner() as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    assert least_privilege_of(made).status == "pass"


def test_a_role_exactly_as_the_providers_create_left_it_is_recognised_and_nothing_else(db):
    """What a kill after CREATE ROLE committed leaves: the role, owning and holding nothing. Once the Grant ran, or
    with other attributes, or as another server's role, it is not that."""
    assert left_by_an_interrupted_create(db.owner_url, db.role, 5) is False, "no role yet"
    with db.as_owner() as conn:
        standin.create_role(conn, db.role_props())
    assert left_by_an_interrupted_create(db.owner_url, db.role, 5) is True
    assert left_by_an_interrupted_create(None, db.role, 5) is False
    assert left_by_an_interrupted_create("postgres://x@127.0.0.1:1/d", db.role, 1) is False, "no server: no look"
    with db.as_owner() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 3").format(sql.Identifier(db.role)))
    assert left_by_an_interrupted_create(db.owner_url, db.role, 5) is False, "not the attributes our create sets"
    with db.as_owner() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(sql.Identifier(db.role), sql.Literal(CONNECTION_LIMIT)))
        standin.grant(conn, db.database, db.role, ["CONNECT", "CREATE", "TEMPORARY"])
    assert left_by_an_interrupted_create(db.owner_url, db.role, 5) is False, "the Grant ran: the state has the Role"


def test_an_update_alters_only_what_changed_and_a_new_password_works(made):
    rotated = new_password()
    olds, news = made.role_props(), made.role_props(password=rotated)
    with made.as_owner() as conn:
        standin.update_role(conn, olds, news)
        read = standin.read_role(conn, made.role, news)
    assert read is not None and read["password"] == rotated and read["connectionLimit"] == CONNECTION_LIMIT
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        made.as_role().close()
    made.password = rotated
    made.as_role().close()


def test_the_providers_delete_would_take_stitchs_tables_which_is_why_the_role_is_retained(made):
    """resourcePostgreSQLRoleDelete: REASSIGN OWNED BY the role TO the owner, DROP OWNED, DROP ROLE."""
    with made.as_role() as conn:
        conn.execute("CREATE SCHEMA hubspot")
        conn.execute("CREATE TABLE hubspot.deals (id bigint, _sdc_batched_at timestamptz)")
    with made.as_owner() as conn:
        standin.delete_role(conn, made.role_props(), made.owner)
        owner = conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'hubspot.deals'::regclass").fetchone()
        gone = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (made.role,)).fetchone()
    assert owner == (made.owner,) and gone == (True,)


def test_the_handover_gives_only_stitchs_schemas_and_keeps_loads_working(made):
    with made.as_owner() as conn:
        conn.execute("CREATE SCHEMA zendesk")
        conn.execute("CREATE TABLE zendesk.tickets (id bigint PRIMARY KEY, _sdc_batched_at timestamptz)")
        conn.execute("CREATE TABLE zendesk.users (id bigint PRIMARY KEY, _sdc_received_at timestamptz)")
        conn.execute("CREATE SCHEMA mixed")  # the app's table next to a Stitch-like one: not Stitch's schema
        conn.execute("CREATE TABLE mixed.stitchy (id bigint, _sdc_batched_at timestamptz)")
        conn.execute("CREATE TABLE mixed.billing (id bigint)")
        conn.execute("CREATE TABLE public.events (id bigint, _sdc_batched_at timestamptz)")  # never public
    assert hand_over(made.owner_url, made.role, 5) == ["zendesk"]
    with made.as_owner() as conn:
        owners = dict(
            conn.execute(
                "SELECT c.oid::regclass::text, pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid IN "
                "('zendesk.tickets'::regclass, 'zendesk.users'::regclass, 'mixed.stitchy'::regclass, 'public.events'::regclass)"
            ).fetchall()
        )
        schema_owner = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'zendesk'").fetchone()
        conn.execute("INSERT INTO zendesk.tickets VALUES (1, now())")  # the owner, now a member of Stitch's role, still loads
    # regclass shows public.events as "events"
    assert owners == {"zendesk.tickets": made.role, "zendesk.users": made.role, "mixed.stitchy": made.owner, "events": made.owner}
    assert schema_owner == (made.role,)
    with made.as_role() as conn:
        conn.execute("ALTER TABLE zendesk.tickets ADD COLUMN _sdc_sequence bigint")
        conn.execute("INSERT INTO zendesk.tickets (id) VALUES (2)")
    assert hand_over(made.owner_url, made.role, 5) == [], "a second handover found something left to give"


def test_the_guard_stops_an_owner_that_may_not_create_roles(db):
    with db.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(db.owner)))
    news = {"source": "url", "stitch_credential": "dedicated", "stitch_role": db.role, "owner_url": db.owner_url}
    refusal = credential_refusal({}, news)
    assert refusal and "may not create roles" in refusal
    assert f'ALTER ROLE "{db.owner}" CREATEROLE;' in refusal and "pulumi config set stitch_credential owner" in refusal
    assert parse_database_url(db.owner_url).password not in refusal
    assert credential_refusal({}, {**news, "stitch_credential": "owner"}) is None
    assert credential_refusal({}, {**news, "source": "heroku"}) is None, "on Heroku, Heroku makes the credential"


def test_the_guard_stops_a_role_name_taken_by_a_role_this_stack_did_not_make(made):
    news = {"source": "url", "stitch_credential": "dedicated", "stitch_role": made.role, "owner_url": made.owner_url}
    refusal = credential_refusal({}, news)
    assert refusal and refusal.startswith("stitch_role_name:") and "already exists" in refusal
    assert credential_refusal({"stitch_credential": "dedicated", "stitch_role": made.role}, news) is None, "its own role"


def test_the_guard_stops_a_switch_from_a_users_own_role_the_owner_cannot_act_for(db):
    own = f"{db.role}_own"
    db.cluster.create_role(own, "own-pw")
    olds = {"stitch_credential": "own", "stitch_role": own}
    news = {"source": "url", "stitch_credential": "dedicated", "stitch_role": db.role, "owner_url": db.owner_url}
    refusal = credential_refusal(olds, news)
    assert refusal and f'GRANT "{own}" TO "{db.owner}";' in refusal
    with db.cluster.superuser() as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(own), sql.Identifier(db.owner)))
    assert credential_refusal(olds, news) is None


def test_the_guard_stops_a_login_that_neither_owns_the_database_nor_acts_for_its_owner(db):
    """A database_url whose login may create roles but is not the owner: the Grant would only raise warnings."""
    other, password = f"{db.role}_other", new_password()
    db.cluster.create_role(other, password)
    with db.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(other)))
    url = db.cluster.url(other, password, db.database)
    news = {"source": "url", "stitch_credential": "dedicated", "stitch_role": db.role, "owner_url": url}
    refusal = ownership_refusal(news)
    assert refusal and refusal.startswith("database_url:"), refusal
    assert f'its owner is "{db.owner}"' in refusal and f'GRANT "{db.owner}" TO "{other}";' in refusal
    assert "pulumi config set --secret database_url" in refusal and password not in refusal
    failures = SourceGuardProvider().check({}, news).failures
    assert [f.property for f in failures] == ["database_url"], "the guard's check stops it before any step"
    heroku = ownership_refusal({**news, "source": "heroku-existing"})
    assert heroku and heroku.startswith("database_config_var:") and "DATABASE_URL" in heroku
    assert ownership_refusal({**news, "owner_url": db.owner_url}) is None, "the owner itself"
    with db.cluster.superuser() as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(db.owner), sql.Identifier(other)))
    assert ownership_refusal(news) is None, "a member of the owner (with INHERIT) grants as the owner"
    with db.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(other)))
    refusal = credential_refusal({}, news)
    assert refusal and f'the stack\'s login "{other}" (acting for the database owner "{db.owner}")' in refusal, refusal


def test_the_guard_asks_nothing_while_the_owners_url_is_unknown():
    from pulumi.runtime import rpc

    asked = []
    news = {"source": "url", "stitch_credential": "dedicated", "stitch_role": "stitch", "owner_url": rpc.UNKNOWN}
    assert credential_refusal({}, news, facts=lambda *args: asked.append(args)) is None
    assert asked == []


def test_a_password_is_made_per_version():
    provider = StitchPasswordProvider()
    made = provider.create({"version": 1, "password": None})
    first = made.outs["password"]
    assert len(first) == PASSWORD_LENGTH >= 32 and first.isalnum()
    assert not provider.diff(made.id, made.outs, {"version": 1}).changes
    assert provider.diff(made.id, made.outs, {"version": 2}).changes
    second = provider.update(made.id, made.outs, {"version": 2}).outs["password"]
    assert second != first and len(second) == PASSWORD_LENGTH


def test_with_nothing_to_hand_over_the_owner_still_becomes_a_member_of_stitchs_role(made):
    """So the owner reads what Stitch loads, and a switch back to the owner's credential keeps loads working."""
    assert hand_over(made.owner_url, made.role, 5) == []
    with made.as_role() as conn:
        conn.execute("CREATE SCHEMA intercom")
        conn.execute("CREATE TABLE intercom.contacts (id bigint, _sdc_batched_at timestamptz)")
    with made.as_owner() as conn:
        member = conn.execute("SELECT pg_has_role(current_user, %s, 'USAGE')", (made.role,)).fetchone()
        conn.execute("ALTER TABLE intercom.contacts ADD COLUMN _sdc_received_at timestamptz")
        conn.execute("INSERT INTO intercom.contacts VALUES (1, now(), now())")
    assert member == (True,)
    check = {c.name: c for c in verify(parse_database_url(made.role_url), credential="dedicated").checks}["least privilege"]
    assert check.status == "pass", "the owner's membership in Stitch's role must not count against Stitch"


def test_the_guard_stops_a_heroku_stack_whose_stitch_loaded_as_the_owner_from_switching(db):
    # On Heroku the owner is no member of another credential's role, so Stitch's schemas cannot be handed over.
    news = {"source": "heroku", "stitch_credential": "dedicated", "stitch_role": rpc.UNKNOWN, "owner_url": db.owner_url}
    before_the_setting = {"source": "heroku", "app_name": "acme-stitch-prod"}
    assert heroku_credential_refusal(before_the_setting, news) is None, "nothing loaded yet: nothing to lose"
    with db.as_owner() as conn:
        conn.execute("CREATE SCHEMA shopify")
        conn.execute("CREATE TABLE shopify.orders (id bigint, _sdc_batched_at timestamptz)")
        conn.execute("CREATE TABLE public.app_users (id bigint)")
    refusal = heroku_credential_refusal(before_the_setting, news)
    assert refusal and refusal.startswith("stitch_credential:") and "(shopify)" in refusal
    assert "pulumi config set stitch_credential owner" in refusal and "Nothing was changed" in refusal
    assert parse_database_url(db.owner_url).password not in refusal
    assert heroku_credential_refusal({**before_the_setting, "stitch_credential": "owner"}, news) == refusal
    assert heroku_credential_refusal({}, news) is None, "a new stack"
    assert heroku_credential_refusal({**before_the_setting, "stitch_credential": "dedicated"}, news) is None, "already its own"
    assert heroku_credential_refusal(before_the_setting, {**news, "stitch_credential": "owner"}) is None
    assert heroku_credential_refusal(before_the_setting, {**news, "owner_url": rpc.UNKNOWN}) is None, "not known in preview"


def test_the_guard_refuses_the_heroku_switch_in_check_before_any_step(db):
    with db.as_owner() as conn:
        conn.execute("CREATE SCHEMA hubspot")
        conn.execute("CREATE TABLE hubspot.deals (id bigint, _sdc_received_at timestamptz)")
    news = {"source": "heroku", "stitch_credential": "dedicated", "stitch_role": "stitch", "owner_url": db.owner_url}
    result = SourceGuardProvider().check({"source": "heroku", "stitch_credential": "owner"}, news)
    assert [failure.property for failure in result.failures] == ["stitch_credential"]
    assert "(hubspot)" in result.failures[0].reason
