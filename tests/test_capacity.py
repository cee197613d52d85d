"""The capacity check, the write-access check and Heroku's enforcement, against real PostgreSQL servers.

Each test makes a database of its own on the session's SSL server, fills it as Stitch would (a schema per
integration, tables with `_sdc_` columns), and replays what Heroku does over plan capacity as the server's
superuser: REVOKE CREATE on the database and INSERT on the tables (Dev Center, "Heroku Postgres Over Plan
Capacity"; "postgres-advanced-quotas": CREATE and INSERT revoked).
"""

from __future__ import annotations

import dataclasses
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


def heroku_limits(plan: str, gb: float | None = None, source: str = "heroku") -> cap.CapacityLimits:
    return cap.limits_for(source, plan, gb)


def plan_of_ten_mb(plan: str, source: str = "heroku") -> cap.CapacityLimits:
    """The plan's limits as the stack finds them, with its storage scaled down to 10 MB: filling a real plan's
    gigabytes would take a test minutes; everything else (tier, table limit, source) is the plan's own."""
    return dataclasses.replace(cap.limits_for(source, plan, None), plan_bytes=int(TEN_MB * GB))


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
    own = cap.limits_for("heroku-existing", "essential-1", 2.5)
    assert (own.storage_bytes, own.table_limit, own.storage_from()) == (2_500_000_000, 4000, "storage_limit_gb 2.5")
    url = cap.limits_for("url", None, None)
    assert url.storage_bytes is None and "source url has no plan: set storage_limit_gb" in url.origin
    unknown = cap.limits_for("heroku", "standard-9", None)
    assert unknown.storage_bytes is None and "plan standard-9 is not in the table" in unknown.origin
    assert cap.limits_for("url", None, 0.5).plan is None, "a url database is not Heroku's: Heroku enforces nothing there"


def test_storage_limit_gb_is_the_users_own_and_the_plans_limit_stays_heroku_s():
    own = cap.limits_for("heroku-existing", "essential-1", 2.5)
    assert (own.plan_bytes, own.user_bytes, own.plan) == (10 * GB, 2_500_000_000, "essential-1"), "both limits, kept apart"
    above = cap.limits_for("heroku", "essential-1", 20)
    assert above.storage_bytes == 10 * GB and above.storage_from().startswith("plan essential-1"), "the plan's is reached first"
    # The Verification's input keeps the shape existing stacks hold, so their next up sees no change; and it comes back.
    assert own.to_props() == {"storage_bytes": 2_500_000_000, "table_limit": 4000, "plan": "essential-1", "source": "heroku-existing",
                              "origin": "storage_limit_gb 2.5"}  # fmt: skip
    others = (cap.limits_for("heroku", "essential-0", None), cap.limits_for("url", None, 0.5), cap.limits_for("url", None, None))
    for limits in (own, above, *others):
        assert cap.CapacityLimits.from_props(limits.to_props()) == limits, limits
        report = {k: v for k, v in cap.assess(cap.Usage(1, 0), limits).data.items() if v is not None}  # Pulumi drops nulls
        assert cap.limits_from_report(report) == limits, "verify --stack and the reconcile measure against the same limits"
    # A report written before the two were told apart: limit_bytes was storage_limit_gb's where limit_from says so.
    old = {"used_bytes": 1, "limit_bytes": 10**7, "table_limit": 4000, "plan": "essential-0", "source": "heroku",
           "limit_from": "storage_limit_gb 0.01"}  # fmt: skip
    read = cap.limits_from_report(old)
    assert read is not None and (read.plan_bytes, read.user_bytes) == (GB, 10**7)
    assert cap.over_plan({**old, "used_bytes": 2 * 10**7}) is False, "past storage_limit_gb, far under the plan's 1 GB"
    assert cap.over_plan({**old, "limit_from": "plan essential-0", "used_bytes": 2 * 10**7}) is True, "the plan's own limit"
    assert cap.over_plan({"used_bytes": 5, "tables": 1, "limit_bytes": 1, "plan": None, "limit_from": "storage_limit_gb 1e-09"}) is None


# -- days_to_full: growth over whole days, from measurements kept hourly for a day and daily for a week -----------

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MB = 10**6


def daily_step(at: datetime) -> int:
    """A database that grows 40 MB once a day, at 03:00 (a nightly batch), from 500 MB."""
    hours = (at - T0).total_seconds() / 3600
    return 500 * MB + 40 * MB * int((hours + 21) // 24)


def hourly_runs(days: float, start: datetime = T0, minutes: int = 60):
    """(now, used, samples as the run found them) for a run every `minutes`, as a schedule runs the reconcile."""
    samples: list = []
    now = start
    while now < start + timedelta(days=days):
        used = daily_step(now)
        yield now, used, samples
        samples = cap.next_samples(samples, used, now)
        now += timedelta(minutes=minutes)


def test_a_daily_40_mb_step_gives_a_steady_forecast_at_every_hour_of_the_day():
    runs = [(now, used, list(samples)) for now, used, samples in hourly_runs(10) if now >= T0 + timedelta(days=9)]  # a day, a week in
    days = [cap.days_to_full(samples, used, 10 * GB, now) for now, used, samples in runs]
    assert None not in days, "an estimate at every hour"
    assert max(days) <= min(days) * 1.05, f"the estimate swings over the day: {min(days)} to {max(days)} days"
    seen = [cap.forecast(samples, used, 10 * GB, now) for now, used, samples in runs]
    rates = {f.bytes_per_day for f in seen}
    assert all(abs(rate - 40 * MB) <= 2 * MB for rate in rates), rates
    assert all(f.span_hours is not None and f.span_hours >= 6 * 24 for f in seen), "measured over about a week"


def test_the_forecast_holds_from_the_first_day_on_also_with_runs_that_drift():
    for minutes in (60, 67):  # exactly hourly, and a schedule whose runs come 7 minutes later each time
        by_day: dict[int, list[float]] = {}
        for now, used, samples in hourly_runs(8, minutes=minutes):
            found = cap.forecast(samples, used, 10 * GB, now)
            if found.days is not None:
                by_day.setdefault((now - T0).days, []).append(found.bytes_per_day / MB)
        assert sorted(by_day) == list(range(1, 8)), f"an estimate from the first day on: {sorted(by_day)}"
        for day, rates in by_day.items():
            assert min(rates) >= 36 and max(rates) <= 44, f"day {day}, runs every {minutes} min: {min(rates)}..{max(rates)} MB a day"


def test_no_forecast_before_a_day_and_the_report_says_why_and_over_what_span():
    runs = list(hourly_runs(1.5))
    for now, used, samples in runs:
        found = cap.forecast(samples, used, 10 * GB, now)
        if now - T0 < timedelta(days=1):
            assert found.days is None and found.note.startswith("no forecast yet: the measurements span"), found
        else:
            assert found.days is not None and found.span_hours is not None and found.span_hours >= 24, found
    now, used, samples = runs[-1]
    data = cap.assess(cap.Usage(used, 3), cap.limits_for("heroku", "essential-1", None), samples, now).data
    assert data["forecast_span_hours"] >= 24 and data["growth_bytes_per_day"] == 40 * MB and data["days_to_full"] > 200
    assert data["forecast_note"] == f"40 MB a day over {data['forecast_span_hours']:g} h"
    first = cap.assess(cap.Usage(used, 3), cap.limits_for("heroku", "essential-1", None), [], now).data
    assert first["days_to_full"] is None and first["forecast_span_hours"] is None and "no forecast yet" in first["forecast_note"]
    flat = [{"at": "2026-01-01T00:00:00Z", "used_bytes": used}]
    assert cap.forecast(flat, used, GB, T0 + timedelta(days=2)).note == "not growing over 48 h"


def test_the_kept_measurements_stay_few_hourly_for_a_day_then_daily():
    *_, (last, used, samples) = hourly_runs(30, minutes=20)
    now = last + timedelta(hours=1)  # a run that keeps a new one, and thins
    kept = cap.next_samples(samples, used, now)
    ages = [(now - datetime.fromisoformat(s["at"].replace("Z", "+00:00"))).total_seconds() / 3600 for s in kept]
    assert len(kept) <= 33, len(kept)
    assert sum(1 for age in ages if age > 25) == cap.DAILY_KEPT and max(ages) <= 25 + cap.DAILY_KEPT * 24, ages
    older = sorted(age for age in ages if age > 25)
    assert all(round(b - a, 6) >= 24 for a, b in itertools.pairwise(older)), older
    assert sum(1 for age in ages if age <= 25) >= 24, "one an hour for the last day"
    assert cap.next_samples(kept, used, now + timedelta(minutes=30)) == kept, "a run within the hour keeps what it found"


def test_measurements_kept_by_an_earlier_version_still_count():
    """Before, a stack kept at most two measurements, an hour apart: they parse, stay and start the window."""
    earlier = [{"at": "2026-01-01T00:00:00Z", "used_bytes": 500 * MB}, {"at": "2026-01-01T01:00:00Z", "used_bytes": 500 * MB}]
    later = cap.next_samples(earlier, 540 * MB, T0 + timedelta(hours=2))
    assert later[:2] == earlier and len(later) == 3
    assert cap.forecast(earlier, 540 * MB, GB, T0 + timedelta(days=1)).bytes_per_day == 40 * MB
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
    assert report.capacity["days_to_full"] is None and "no forecast yet" in report.capacity["forecast_note"], "null for a day"
    assert (report.capacity["plan_limit_bytes"], report.capacity["user_limit_bytes"]) == (GB, None)
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
    assert "near your storage_limit_gb" in check.detail and "your own limit" in check.detail
    assert check.fix.startswith("Before it fills: free space") and "raise storage_limit_gb" in check.fix
    assert "pg:info" not in check.fix and "heroku" not in check.fix.lower(), "a url database is no Heroku one"
    assert report.ready


def test_a_database_filled_past_storage_limit_gb_fails(database):
    _owner, stitch, *_ = database
    load_as_stitch(stitch, rows=4000)  # about 4.5 MB on top of the 7.5 MB of a fresh database
    report = verify(parse_database_url(stitch), limits=cap.limits_for("url", None, TEN_MB))
    check = by_name(report)["capacity"]
    assert check.status == "fail", check
    assert report.capacity["percent"] >= 100 and report.capacity["used_bytes"] >= 10**7
    assert "of 10 MB (1" in check.detail and "over your storage_limit_gb 0.01 GB (your own limit)" in check.detail
    assert OVER_PLAN_NOT_SAID(check.detail), "a url database is not on a Heroku plan"
    assert check.fix.startswith("Free space (drop the tables") and check.fix.endswith("or raise storage_limit_gb.")
    assert "pg:info" not in check.fix and "plan" not in check.fix, "no Heroku command, no plan, on a url stack"
    assert not report.ready and "capacity" in report.render()
    assert report.capacity["user_limit_bytes"] == 10**7 and report.capacity["plan_limit_bytes"] is None


def test_past_storage_limit_gb_under_the_plan_is_the_users_limit_not_herokus(database, ssl_server):
    """essential-1 holds 10 GB; a user who set storage_limit_gb to be warned early (here 10 MB, as 2 GB would be) is
    past it: the check fails in the user's words, and a CREATE someone revoked is no enforcement of Heroku's."""
    from stitch_heroku.postgres_sql import DATABASE_PRIVILEGES
    from stitch_heroku.stack_capacity import held_when_over_plan

    owner, _stitch, name, owner_role, _loader = database
    load_as_stitch(owner, rows=4000)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    limits = heroku_limits("essential-1", TEN_MB)
    report = verify(parse_database_url(owner), source="heroku", limits=limits)
    checks = by_name(report)
    capacity = checks["capacity"]
    assert capacity.status == "fail" and not report.ready, capacity
    assert "over your storage_limit_gb 0.01 GB (your own limit; plan essential-1 holds 10 GB)" in capacity.detail
    for said in (capacity.detail, capacity.fix, checks["create"].detail, checks["create"].fix):
        assert cap.OVER_PLAN not in said and "Heroku restricts" not in said and "larger plan" not in said, said
    assert capacity.fix == f"Free space ({cap.FREE_SPACE}), or raise storage_limit_gb up to the plan's 10 GB."
    assert "which grants it" in checks["create"].fix, "someone revoked it: pulumi up grants it again"
    assert (report.capacity["limit_bytes"], report.capacity["plan_limit_bytes"], report.capacity["user_limit_bytes"]) == (
        10**7, 10 * GB, 10**7
    )  # fmt: skip
    assert report.capacity["limit_from"] == "storage_limit_gb 0.01" and report.capacity["plan_limit_from"].startswith("plan essential-1")
    assert cap.over_plan(report.capacity) is False and cap.problem(report.capacity) is None, "the reconcile heals it as always"
    assert held_when_over_plan(owner, owner_role, limits, 5) == list(DATABASE_PRIVILEGES), "the grant gives CREATE back"


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
    report = verify(parse_database_url(owner), source="heroku", limits=plan_of_ten_mb(plan))
    checks = by_name(report)
    assert not report.ready
    for name_ in ("create", "write access", "capacity"):
        assert checks[name_].status == "fail" and checks[name_].detail.startswith(cap.OVER_PLAN), checks[name_]
    for name_ in ("create", "write access"):
        fix = checks[name_].fix
        assert "this stack does not grant it back" in fix
        assert f"pulumi config set plan {bigger}, then `pulumi up`" in fix and "in place" in fix and "AddOnUpdate" in fix
        assert "delete data" in fix
        assert "GRANT" not in fix and "which grants it" not in fix, "never fight Heroku"
    assert "Heroku took CREATE on the database" in checks["create"].fix
    assert "shop.orders lacks INSERT" in checks["write access"].detail


def test_over_plan_on_heroku_existing_names_heroku_addons_upgrade(database, ssl_server):
    owner, _stitch, name, owner_role, _loader = database
    load_as_stitch(owner, rows=4000)
    with ssl_server.cluster.superuser(name) as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    report = verify(parse_database_url(owner), limits=plan_of_ten_mb("essential-1", source="heroku-existing"))
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
    limits = plan_of_ten_mb("essential-0")
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
    assert updated["report"]["capacity"]["days_to_full"] is not None, "growth since a measurement years old: an estimate"
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
    limits = plan_of_ten_mb(reported, source="heroku-existing")
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
