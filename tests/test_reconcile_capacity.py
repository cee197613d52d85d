"""The reconcile and `up` against a database over its Heroku plan, and past the user's own storage_limit_gb,
through the real engine.

Over the plan: Heroku's enforcement is replayed on the Heroku double's real database as the server's superuser
(REVOKE CREATE on the database and INSERT on Stitch's table: Dev Center, "Heroku Postgres Over Plan Capacity"
and "postgres-advanced-quotas"), and no run may grant back what it took. The plan is essential-0 (Stitch loads
as the owner), and the database reaches the plan's own limit by its 4,000 tables (filling its 1 GB would take a
test minutes). Past storage_limit_gb (0.01: a fresh database takes about 7.5 MB, so 5 MB of Stitch rows put it
over its 10 MB) the run fails in the user's words, Heroku is not said to restrict anything, and a revoked CREATE
is granted back as always; near it the run warns with the figures, and the growth rate's measurement, kept in
the state on refresh, never makes a run `healed`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from tests.support.real_engine import new_app_name, real_stack
from tests.test_reconcile import configure, has_create, report_of, run_reconcile, summaries

VERIFICATION = "pulumi-python:dynamic/stitch:Verification"
PLAN_TABLES = 4000  # essential-0's table limit (components/heroku_plans.py)


@pytest.fixture
def app_name() -> str:
    return new_app_name("cap")


def load_rows(owner_url: str, rows: int) -> None:
    """What Stitch's loads leave: its schema, a table with _sdc_ columns, rows."""
    with psycopg.connect(owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS shop")
        conn.execute("CREATE TABLE IF NOT EXISTS shop.orders (id bigint PRIMARY KEY, body text, _sdc_batched_at timestamptz)")
        conn.execute("INSERT INTO shop.orders SELECT g, repeat(md5(g::text), 32), now() FROM generate_series(1, %s) AS g", (rows,))


def make_tables(owner_url: str, schema: str, count: int) -> None:
    """An integration with many streams: `count` tables in a schema of its own, a hundred a transaction (one
    transaction would need a lock for each)."""
    with psycopg.connect(owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for first in range(0, count, 100):
            with conn.transaction():
                for n in range(first, min(first + 100, count)):
                    conn.execute(sql.SQL("CREATE TABLE {} (id bigint)").format(sql.Identifier(schema, f"stream_{n}")))


def backdate_samples(stack, used_bytes: int, at: str) -> None:
    """Make the kept measurement older (and smaller), as an hourly schedule would have left it."""
    deployment = stack.stack.export_stack()
    for resource in deployment.deployment["resources"]:
        if resource["type"] == VERIFICATION:
            resource["outputs"]["report"]["capacity"]["samples"] = [{"at": at, "used_bytes": used_bytes}]
    stack.stack.import_stack(deployment)


def first_up(stack, heroku, app_name: str) -> tuple[str, str, str, dict]:
    """`pulumi up`: the add-on's database, its role (Stitch's on Essential), the owner's URL, the capacity measured."""
    stack.up()
    (addon,) = heroku.addons
    owner_url = heroku.config_vars(app_name)["DATABASE_URL"]
    return heroku.database_name(addon), heroku.role_name(addon), owner_url, stack.outputs()["verification"].value["capacity"]


def test_over_plan_capacity_fails_every_run_and_nothing_grants_back_what_heroku_took(toolchain, tmp_path, heroku, app_name, ssl_server):
    cluster = ssl_server.cluster
    with real_stack(tmp_path, "dev-capacity") as stack:
        configure(stack, heroku, app_name)
        try:
            database, role, owner_url, capacity = first_up(stack, heroku, app_name)
            assert (capacity["limit_bytes"], capacity["plan_limit_bytes"], capacity.get("user_limit_bytes")) == (10**9, 10**9, None)
            assert capacity["table_limit"] == PLAN_TABLES and capacity["plan"] == "essential-0"

            # Stitch's loads make as many tables as the plan holds; Heroku has not acted yet: failing, with the ways out.
            load_rows(owner_url, 10)
            make_tables(owner_url, "crm", PLAN_TABLES - 1)
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            assert report["capacity"]["tables"] >= PLAN_TABLES
            first = report["problems"][0]
            assert first["what"].startswith("over plan capacity: ") and "on plan essential-0" in first["what"], first
            assert f"{PLAN_TABLES:,} of {PLAN_TABLES:,} tables" in first["what"], first
            assert "pulumi config set plan essential-1, then `pulumi up`" in first["fix"] and "delete data" in first["fix"]

            # Heroku restricts the database: CREATE and INSERT taken from its credential (Stitch's, on Essential).
            with cluster.superuser(database) as conn:
                conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))
                conn.execute(sql.SQL("REVOKE INSERT ON shop.orders FROM {}").format(sql.Identifier(role)))

            # --preview-only reports it as failing (exit 1), not as drift to heal; nothing granted.
            done = run_reconcile(stack, "--json", "--preview-only")
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            assert not has_create(cluster, role, database), "a preview granted CREATE"

            # The real run: failing, exit 1, never healed; CREATE is not granted back, and each check says why.
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            assert not has_create(cluster, role, database), "the reconcile fought Heroku: it granted CREATE back"
            said = summaries(report)
            assert "not granted again: the database is over plan capacity" in said and "granted again;" not in said, said
            checks = {c["name"]: c for c in report["verification"]["checks"]}
            for name in ("create", "write access", "capacity"):
                assert checks[name]["status"] == "fail" and checks[name]["detail"].startswith("over plan capacity"), checks[name]
            assert "shop.orders lacks INSERT" in checks["write access"]["detail"]
            assert "Heroku took CREATE on the database" in checks["create"]["fix"] and "which grants it" not in checks["create"]["fix"]

            # For people: one line with the figures, the checklist and each problem's fix.
            done = run_reconcile(stack)
            assert done.returncode == 1, done.stdout + done.stderr[-3000:]
            line = done.stdout.splitlines()[0]
            assert line.startswith("dev-capacity: failing (over plan capacity: ") and f"{PLAN_TABLES:,} of {PLAN_TABLES:,} tables" in line
            assert "fix create: Heroku took CREATE on the database because the database is over plan capacity" in done.stdout

            # A plain `pulumi up` does not grant it back either.
            stack.up()
            assert not has_create(cluster, role, database), "pulumi up fought Heroku: it granted CREATE back"
        finally:
            stack.destroy()


def test_past_storage_limit_gb_fails_in_the_users_words_and_a_revoked_create_comes_back(toolchain, tmp_path, heroku, app_name, ssl_server):
    cluster = ssl_server.cluster
    with real_stack(tmp_path, "dev-own-limit") as stack:
        configure(stack, heroku, app_name, storage_limit_gb="0.01")
        try:
            database, role, owner_url, capacity = first_up(stack, heroku, app_name)
            assert (capacity["limit_bytes"], capacity["plan_limit_bytes"], capacity["user_limit_bytes"]) == (10**7, 10**9, 10**7)
            assert capacity["limit_from"] == "storage_limit_gb 0.01" and capacity["plan"] == "essential-0"

            # Stitch fills it past the user's own limit, far under the plan's 1 GB; someone revokes CREATE.
            load_rows(owner_url, 5000)
            with cluster.superuser(database) as conn:
                conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            assert has_create(cluster, role, database), "past storage_limit_gb Heroku took nothing: the grant gives CREATE back"
            assert "granted again" in summaries(report) and "over plan capacity" not in summaries(report), summaries(report)
            checks = {c["name"]: c for c in report["verification"]["checks"]}
            assert checks["capacity"]["status"] == "fail", checks["capacity"]
            assert "over your storage_limit_gb 0.01 GB (your own limit; plan essential-0 holds 1 GB)" in checks["capacity"]["detail"]
            assert checks["capacity"]["fix"].startswith("Free space") and "raise storage_limit_gb" in checks["capacity"]["fix"]
            said = json.dumps([report["problems"], report["verification"]["checks"]])
            for words in ("over plan capacity", "Heroku restricts", "larger plan", "pulumi config set plan"):
                assert words not in said, f"the user's own limit called Heroku's: {words!r} in {said}"
            assert report["capacity"]["user_limit_bytes"] == 10**7 and report["capacity"]["days_to_full"] is None
            assert report["capacity"]["forecast_note"].startswith("no forecast yet"), report["capacity"]

            # The user raises the limit: the verification runs again with it, and warns near it.
            used = report["capacity"]["used_bytes"]
            configure(stack, heroku, app_name, storage_limit_gb=f"{used / 0.9 / 10**9:.6f}")
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "healed", report
            said = summaries(report)
            assert said.startswith("the capacity limits changed (from storage_limit_gb 0.01 to storage_limit_gb 0.0"), said
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "in-sync", report
            capacity_check = {c["name"]: c for c in report["verification"]["checks"]}["capacity"]
            assert capacity_check["status"] == "warn" and "near your storage_limit_gb" in capacity_check["detail"], capacity_check

            # A day later (the kept measurement backdated): the refresh keeps a new one, which is no change, and the
            # forecast appears, measured over the day.
            a_day_ago = (datetime.now(UTC) - timedelta(days=1, minutes=5)).isoformat(timespec="seconds").replace("+00:00", "Z")
            backdate_samples(stack, used - 10**6, a_day_ago)
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "in-sync" and report["changes"] == [], report
            capacity = report["capacity"]
            assert capacity["days_to_full"] is not None and capacity["days_to_full"] > 0, capacity
            assert 24 <= capacity["forecast_span_hours"] < 25 and capacity["growth_bytes_per_day"] > 0, capacity
            kept = stack.outputs()["verification"].value["capacity"]["samples"]
            assert len(kept) == 2 and kept[0]["at"] == a_day_ago, "the refresh kept a new measurement in the state"
            done = run_reconcile(stack)
            assert "full in about" in done.stdout.splitlines()[0], done.stdout
        finally:
            stack.destroy()
