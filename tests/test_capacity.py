"""The capacity check, the write-access check and Heroku's enforcement, against real PostgreSQL servers.

Each test makes a database of its own on the session's SSL server, fills it as Stitch would (a schema per
integration, tables with `_sdc_` columns), and replays what Heroku does over plan capacity as the server's
superuser: REVOKE CREATE on the database and INSERT on the tables (Dev Center, "Heroku Postgres Over Plan
Capacity"; "postgres-advanced-quotas": CREATE and INSERT revoked).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql
from stitch_heroku import capacity as cap
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url
from stitch_heroku.heroku_plans import GB, PLANS, larger_plan, plan_limits

from devtools.local_postgres import provision_stitch_database

_names = itertools.count()
TEN_MB = 0.01  # storage_limit_gb: a fresh PostgreSQL 15 database already takes about 7.5 MB


@pytest.fixture
def database(ssl_server):
    """A database of this test's own: (owner URL, Stitch's URL, its name, the owner, Stitch's role)."""
    n = next(_names)
    name, owner, loader = f"capacity_{n}", f"capacity_owner_{n}", f"capacity_loader_{n}"
    db = provision_stitch_database(ssl_server.cluster, database=name, owner=owner, stitch_role=loader)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(loader)))
    yield db.owner_url, db.stitch_url, name, owner, loader
    with ssl_server.cluster.superuser() as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        for role in (owner, loader):
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def load_as_stitch(url: str, schema: str = "shop", tables: int = 1, rows: int = 0) -> None:
    """What a Stitch load leaves: a schema of its own, tables with _sdc_ columns, rows."""
    settings = parse_database_url(url)
    with verify_connection(settings) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for t in range(tables):
            table = sql.Identifier(schema, f"orders_{t}" if t else "orders")
            conn.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, body text, _sdc_batched_at timestamptz)").format(table))
            if rows:
                conn.execute(
                    sql.SQL("INSERT INTO {} SELECT g, repeat(md5(g::text), 32), now() FROM generate_series(1, %s) AS g").format(table),
                    (rows,),
                )


def verify_connection(settings):
    import psycopg

    return psycopg.connect(settings.conninfo(connect_timeout=5), autocommit=True)


def by_name(report):
    return {check.name: check for check in report.checks}


def heroku_limits(plan: str, gb: float | None = TEN_MB, source: str = "heroku") -> cap.CapacityLimits:
    return cap.limits_for(source, plan, gb)


# -- the plan table and the limits ------------------------------------------------------------------------


def test_the_plan_table_holds_heroku_dev_centers_figures():
    assert plan_limits("essential-0") == plan_limits("heroku-postgresql:essential-0")
    assert (PLANS["essential-0"].storage_bytes, PLANS["essential-1"].storage_bytes, PLANS["essential-2"].storage_bytes) == (
        1 * GB, 10 * GB, 32 * GB
    )  # fmt: skip
    assert {PLANS[p].tables for p in ("essential-0", "essential-1", "essential-2")} == {4000}
    assert PLANS["standard-0"].storage_bytes == PLANS["premium-0"].storage_bytes == 64 * GB
    assert PLANS["standard-7"].storage_bytes == 2000 * GB and PLANS["premium-7"].tables is None
    assert (larger_plan("essential-0"), larger_plan("essential-2"), larger_plan("standard-0"), larger_plan("premium-7")) == (
        "essential-1", "standard-0", "standard-2", None
    )  # fmt: skip


def test_limits_come_from_the_plan_or_storage_limit_gb_and_say_why_when_unknown():
    assert cap.limits_for("heroku", "essential-0", None) == cap.CapacityLimits(
        GB, 4000, "essential-0", "heroku", "plan essential-0 (https://devcenter.heroku.com/articles/heroku-postgres-plans)"
    )
    override = cap.limits_for("heroku-existing", "essential-1", 2.5)
    assert (override.storage_bytes, override.table_limit, override.origin) == (2_500_000_000, 4000, "storage_limit_gb 2.5")
    url = cap.limits_for("url", None, None)
    assert url.storage_bytes is None and "source url has no plan: set storage_limit_gb" in url.origin
    unknown = cap.limits_for("heroku", "standard-9", None)
    assert unknown.storage_bytes is None and "plan standard-9 is not in the table" in unknown.origin
    assert cap.limits_for("url", None, 0.5).plan is None, "a url database is not Heroku's: Heroku enforces nothing there"


# -- days_to_full: two measurements at least an hour apart ---------------------------------------------------


def test_days_to_full_needs_a_measurement_an_hour_old_and_keeps_at_most_two():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first = cap.next_samples([], 100 * 10**6, t0)
    assert cap.days_to_full(first, 100 * 10**6, GB, t0 + timedelta(minutes=59)) is None, "less than an hour: unknown"
    later = cap.next_samples(first, 101 * 10**6, t0 + timedelta(minutes=30))
    assert later == first, "a run within the hour keeps what it found: nothing kept changes"
    # 10 MB a day: 900 MB left at 100 MB used after one day of growth from 90 MB.
    assert cap.days_to_full([{"at": "2026-01-01T00:00:00Z", "used_bytes": 90 * 10**6}], 100 * 10**6, GB, t0 + timedelta(days=1)) == 90.0
    two = cap.next_samples(first, 110 * 10**6, t0 + timedelta(hours=2))
    assert [s["used_bytes"] for s in two] == [100 * 10**6, 110 * 10**6]
    three = cap.next_samples(two, 120 * 10**6, t0 + timedelta(hours=4))
    assert [s["used_bytes"] for s in three] == [110 * 10**6, 120 * 10**6], "the oldest goes: two are kept"
    assert cap.days_to_full(three, 120 * 10**6, GB, t0 + timedelta(hours=4, minutes=30)) is not None, "the older one anchors"
    assert cap.days_to_full(three, 100 * 10**6, GB, t0 + timedelta(hours=6)) is None, "shrinking: never full"
    assert cap.valid_samples([{"at": "garbage"}, "x", {"at": "2026-01-01T00:00:00Z", "used_bytes": "5"}]) == [
        {"at": "2026-01-01T00:00:00Z", "used_bytes": 5}
    ]


def test_the_line_a_person_reads():
    data = {"used_bytes": 812 * 10**6, "limit_bytes": GB, "tables": 4012, "table_limit": 4000, "days_to_full": 4.0}
    assert cap.capacity_line(data) == "812 MB of 1 GB (81%), 4,012 of 4,000 tables; full in about 4 days"
    assert cap.capacity_line({"used_bytes": 7_654_321, "limit_bytes": None, "tables": 3}) == "7.65 MB, 3 tables"
    assert cap.size_text(1_500 * GB) == "1.5 TB"


# -- the check on real servers -----------------------------------------------------------------------------------


def test_a_fresh_database_passes_well_under_a_plan_and_reports_the_figures(database):
    _owner, stitch, *_ = database
    report = verify(parse_database_url(stitch), limits=heroku_limits("essential-0", None))
    check = by_name(report)["capacity"]
    assert check.status == "pass", check
    assert report.capacity is not None
    assert {"used_bytes", "limit_bytes", "percent", "tables", "table_limit", "days_to_full"} <= set(report.capacity)
    assert report.capacity["limit_bytes"] == GB and report.capacity["table_limit"] == 4000
    assert report.capacity["days_to_full"] is None, "null until two measurements an hour apart"
    assert report.to_dict()["capacity"] == report.capacity
    assert " of 1 GB (0%), 0 of 4,000 tables" in check.detail


def test_no_known_limit_is_a_skip_that_says_why(database):
    _owner, stitch, *_ = database
    report = verify(parse_database_url(stitch), limits=cap.limits_for("url", None, None))
    check = by_name(report)["capacity"]
    assert check.status == "skip" and "set storage_limit_gb" in check.detail
    assert report.ready, "a skipped capacity check does not stop Stitch"
    assert report.capacity["used_bytes"] > 0 and report.capacity["limit_bytes"] is None


def test_near_the_limit_warns_with_the_figures(database):
    _owner, stitch, *_ = database
    used = verify(parse_database_url(stitch)).capacity["used_bytes"]
    report = verify(parse_database_url(stitch), limits=cap.limits_for("url", None, used / 0.85 / GB))
    check = by_name(report)["capacity"]
    assert check.status == "warn", check
    assert "(84%)" in check.detail or "(85%)" in check.detail
    assert "Before it fills" in check.fix and "delete data" in check.fix
    assert report.ready


def test_a_database_filled_past_storage_limit_gb_fails(database):
    _owner, stitch, *_ = database
    load_as_stitch(stitch, rows=4000)  # about 4.5 MB on top of the 7.5 MB of a fresh database
    report = verify(parse_database_url(stitch), limits=cap.limits_for("url", None, TEN_MB))
    check = by_name(report)["capacity"]
    assert check.status == "fail", check
    assert report.capacity["percent"] >= 100 and report.capacity["used_bytes"] >= 10**7
    assert "of 10 MB (1" in check.detail and "at or over the storage limit (storage_limit_gb 0.01)" in check.detail
    assert OVER_PLAN_NOT_SAID(check.detail), "a url database is not on a Heroku plan"
    assert "more storage for the database" in check.fix
    assert not report.ready and "capacity" in report.render()


def OVER_PLAN_NOT_SAID(text: str) -> bool:
    return cap.OVER_PLAN not in text


def test_the_table_limit_counts_every_table(database):
    _owner, stitch, *_ = database
    load_as_stitch(stitch, tables=3)
    limits = cap.CapacityLimits(10 * GB, 3, "essential-0", "heroku", "test")
    report = verify(parse_database_url(stitch), limits=limits)
    check = by_name(report)["capacity"]
    assert check.status == "fail" and "3 of 3 tables" in check.detail and "table limit" in check.detail


# -- write access to what Stitch loaded -------------------------------------------------------------------------


def test_write_access_passes_on_stitchs_own_tables(database):
    _owner, stitch, *_ = database
    load_as_stitch(stitch, tables=2)
    check = by_name(verify(parse_database_url(stitch)))["write access"]
    assert check.status == "pass" and "all 2 tables of Stitch's 1 schema(s)" in check.detail


def test_a_revoked_insert_fails_naming_the_table_the_privilege_and_the_grant(database, ssl_server):
    _owner, stitch, name, _owner_role, loader = database
    load_as_stitch(stitch)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE INSERT ON shop.orders FROM {}").format(sql.Identifier(loader)))
    report = verify(parse_database_url(stitch))
    check = by_name(report)["write access"]
    assert check.status == "fail" and not report.ready
    assert "shop.orders lacks INSERT" in check.detail
    assert check.fix == f'As the tables\' owner ("{loader}") or a superuser, run: GRANT INSERT ON "shop"."orders" TO "{loader}";'
    assert by_name(report)["dry-run load"].status == "pass", "the dry-run load alone would have said all is well"


def test_many_tables_without_update_and_delete_get_the_schema_wide_grant(database, ssl_server):
    _owner, stitch, name, _owner_role, loader = database
    load_as_stitch(stitch, tables=7)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE UPDATE, DELETE ON ALL TABLES IN SCHEMA shop FROM {}").format(sql.Identifier(loader)))
    check = by_name(verify(parse_database_url(stitch)))["write access"]
    assert check.status == "fail" and "7 of 7 tables" in check.detail and "(and 2 more tables)" in check.detail
    assert "lacks UPDATE, DELETE" in check.detail
    assert f'GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "shop" TO "{loader}";' in check.fix


def test_the_apps_own_tables_are_not_stitchs(database):
    owner, _stitch, *_ = database
    with verify_connection(parse_database_url(owner)) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TABLE app.users (id int)")  # no _sdc_ column: the app's, not Stitch's
        conn.execute("REVOKE INSERT ON app.users FROM CURRENT_USER")
    check = by_name(verify(parse_database_url(owner)))["write access"]
    assert check.status == "pass" and "no tables loaded by Stitch yet" in check.detail


# -- Heroku's enforcement, replayed as the server's superuser, on plans of each tier -----------------------------


@pytest.mark.parametrize(("plan", "bigger"), [("essential-0", "essential-1"), ("standard-0", "standard-2"), ("premium-2", "premium-3")])
def test_over_plan_capacity_names_what_heroku_took_and_the_two_ways_out(database, ssl_server, plan, bigger):
    owner, _stitch, name, owner_role, _loader = database
    load_as_stitch(owner, rows=4000)  # Essential: Stitch loads as the owner
    with ssl_server.cluster.superuser(name) as conn:  # what Heroku does to a database over its plan
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
        conn.execute(sql.SQL("REVOKE INSERT ON ALL TABLES IN SCHEMA shop FROM {}").format(sql.Identifier(owner_role)))
    report = verify(parse_database_url(owner), source="heroku", limits=heroku_limits(plan))
    checks = by_name(report)
    assert not report.ready
    for name_ in ("create", "write access", "capacity"):
        assert checks[name_].status == "fail" and checks[name_].detail.startswith(cap.OVER_PLAN), checks[name_]
    for name_ in ("create", "write access"):
        fix = checks[name_].fix
        assert "this stack does not grant it back" in fix
        assert f"pulumi config set plan {bigger}, then pulumi up" in fix and "in place" in fix and "AddOnUpdate" in fix
        assert "delete data" in fix
        assert "GRANT" not in fix and "which grants it" not in fix, "never fight Heroku"
    assert "Heroku took CREATE on the database" in checks["create"].fix
    assert "shop.orders lacks INSERT" in checks["write access"].detail


def test_over_plan_on_heroku_existing_names_heroku_addons_upgrade(database, ssl_server):
    owner, _stitch, name, owner_role, _loader = database
    load_as_stitch(owner, rows=4000)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    report = verify(parse_database_url(owner), limits=heroku_limits("essential-1", source="heroku-existing"))
    fix = by_name(report)["create"].fix
    assert "heroku addons:upgrade <the add-on> heroku-postgresql:essential-2" in fix and "pulumi config set plan" not in fix


def test_a_revoked_create_under_the_limit_keeps_the_grant_fix(database, ssl_server):
    """Not over capacity: someone revoked it, and `pulumi up` may grant it again (as before)."""
    owner, _stitch, name, owner_role, _loader = database
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    report = verify(parse_database_url(owner), source="heroku", limits=heroku_limits("essential-0", None))
    create = by_name(report)["create"]
    assert create.status == "fail" and not create.detail.startswith(cap.OVER_PLAN)
    assert "which grants it" in create.fix


# -- the grant keeps what Heroku left; the verification keeps its measurements ------------------------------------


def test_over_plan_the_grant_asks_only_for_what_the_owner_still_holds(database, ssl_server):
    from stitch_heroku.postgres_sql import DATABASE_PRIVILEGES
    from stitch_heroku.stack_capacity import held_when_over_plan

    owner, _stitch, name, owner_role, _loader = database
    limits = heroku_limits("essential-0")
    assert held_when_over_plan(owner, owner_role, limits, 5) == list(DATABASE_PRIVILEGES), "under the limit: all of them"
    load_as_stitch(owner, rows=4000)
    assert held_when_over_plan(owner, owner_role, limits, 5) == list(DATABASE_PRIVILEGES), "over it, nothing taken yet: all"
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    assert held_when_over_plan(owner, owner_role, limits, 5) == ["CONNECT", "TEMPORARY"], "CREATE stays with Heroku"
    url = cap.limits_for("url", None, TEN_MB)
    assert held_when_over_plan(owner, owner_role, url, 5) == list(DATABASE_PRIVILEGES), "not Heroku's: a revoke is healed"


def test_the_verification_keeps_one_measurement_an_hour_and_a_refresh_changes_nothing_else(database, ssl_server):
    from stitch_heroku.verification import VerificationProvider, kept_samples

    _owner, stitch, name, _owner_role, loader = database
    limits = cap.limits_for("url", None, 1).to_props()
    props = {"database_url": stitch, "connect_timeout": 5, "wait_seconds": 0, "source": "url", "stitch_credential": None,
             "owner_reason": None, "run_token": "", "capacity_limits": limits, "report": None}  # fmt: skip
    provider = VerificationProvider()
    created = provider.create(props).outs
    (first,) = kept_samples(created)
    assert created["report"]["capacity"]["limit_bytes"] == GB
    read = provider.read("id", created).outs
    assert read == created, "a refresh within the hour changes nothing"
    hour_ago = dict(created, report={**created["report"], "capacity": {**created["report"]["capacity"], "samples": [
        {"at": "2020-01-01T00:00:00Z", "used_bytes": first["used_bytes"] - 10**6}]}})  # fmt: skip
    refreshed = provider.read("id", hour_ago).outs
    older, _newer = kept_samples(refreshed)
    assert older["at"] == "2020-01-01T00:00:00Z"
    assert {k: v for k, v in refreshed.items() if k != "report"} == {k: v for k, v in hour_ago.items() if k != "report"}
    assert not provider.diff("id", refreshed, props).changes, "a new measurement is no reason to verify again"
    updated = provider.update("id", hour_ago, props).outs
    assert updated["report"]["capacity"]["days_to_full"] is not None, "growth since a measurement an hour old: an estimate"
    broken = dict(created, database_url=ssl_server.cluster.url(loader, "not-the-password", name))
    assert provider.read("id", broken).outs == broken, "a refresh never fails for a measurement"


@pytest.mark.parametrize(("plan", "bigger"), [("essential-0", "essential-1"), ("standard-0", "standard-2"), ("premium-0", "premium-2")])
def test_heroku_enforcement_on_the_heroku_doubles_database_with_the_plan_heroku_reports(heroku, ssl_server, plan, bigger):
    """heroku-existing: the plan comes from the Platform API (the double), the database is the add-on's own, and
    Stitch loads as its own credential where the plan has one (standard, premium) or as the owner (essential)."""
    from stitch_heroku.heroku_credential import HerokuHttp, find_database_addon

    app = f"acme-cap-{plan}"
    heroku.create_app(app)
    addon = heroku.provision_addon(app, plan)["id"]
    database, owner_role = heroku.database_name(addon), heroku.role_name(addon)
    owner_url = heroku.config_vars(app)["DATABASE_URL"]
    stitch_url, stitch_role = owner_url, owner_role
    if not plan.startswith("essential"):
        var = heroku.attach_credential(addon)  # Stitch's own credential, as the stack makes it on these plans
        stitch_url = heroku.config_vars(app)[var]
        stitch_role = heroku.role_name(addon, "stitch")
        with ssl_server.cluster.superuser(database) as conn:  # what StitchGrant gives it
            conn.execute(sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(stitch_role)))  # fmt: skip
    reported = find_database_addon(HerokuHttp(heroku.url, heroku.api_key), app, "DATABASE_URL").plan
    assert reported == plan
    limits = cap.limits_for("heroku-existing", reported, TEN_MB)
    load_as_stitch(stitch_url, rows=4000)
    with ssl_server.cluster.superuser(database) as conn:  # Heroku restricts the database over its plan
        for role in {owner_role, stitch_role}:
            conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))
            conn.execute(sql.SQL("REVOKE INSERT ON ALL TABLES IN SCHEMA shop FROM {}").format(sql.Identifier(role)))
    report = verify(parse_database_url(stitch_url), source="heroku-existing", limits=limits)
    checks = by_name(report)
    assert not report.ready and report.capacity["plan"] == plan and report.capacity["table_limit"] == PLANS[plan].tables
    for name in ("create", "write access", "capacity"):
        assert checks[name].status == "fail" and checks[name].detail.startswith(cap.OVER_PLAN), checks[name]
    assert f"heroku addons:upgrade <the add-on> heroku-postgresql:{bigger}" in checks["create"].fix
    assert "GRANT" not in checks["write access"].fix
