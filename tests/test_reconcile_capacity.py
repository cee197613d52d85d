"""The reconcile and `up` against a database over its Heroku plan, through the real engine: Heroku's enforcement
is replayed on the Heroku double's real database as the server's superuser (REVOKE CREATE on the database and
INSERT on Stitch's table: Dev Center, "Heroku Postgres Over Plan Capacity" and "postgres-advanced-quotas"), and
no run may grant back what it took; near the limit the run warns with the figures, and the growth rate's
measurement, kept in the state on refresh, never makes a run `healed`.

The plan is essential-0 (Stitch loads as the owner) with storage_limit_gb 0.01: a fresh database takes about
7.5 MB, so 5 MB of Stitch rows put it over its 10 MB.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.real_engine import new_app_name, real_stack
from tests.test_reconcile import configure, has_create, report_of, run_reconcile, summaries

VERIFICATION = "pulumi-python:dynamic/stitch:Verification"


@pytest.fixture
def app_name() -> str:
    return new_app_name("cap")


def load_rows(owner_url: str, rows: int) -> None:
    """What Stitch's loads leave: its schema, a table with _sdc_ columns, rows."""
    with psycopg.connect(owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS shop")
        conn.execute("CREATE TABLE IF NOT EXISTS shop.orders (id bigint PRIMARY KEY, body text, _sdc_batched_at timestamptz)")
        conn.execute("INSERT INTO shop.orders SELECT g, repeat(md5(g::text), 32), now() FROM generate_series(1, %s) AS g", (rows,))


def backdate_samples(stack, used_bytes: int) -> None:
    """Make the kept measurement two hours old (and smaller), as an hourly schedule would have left it."""
    deployment = stack.stack.export_stack()
    for resource in deployment.deployment["resources"]:
        if resource["type"] == VERIFICATION:
            resource["outputs"]["report"]["capacity"]["samples"] = [{"at": "2020-01-01T00:00:00Z", "used_bytes": used_bytes}]
    stack.stack.import_stack(deployment)


def test_over_plan_capacity_fails_every_run_and_nothing_grants_back_what_heroku_took(toolchain, tmp_path, heroku, app_name, ssl_server):
    cluster = ssl_server.cluster
    with real_stack(tmp_path, "dev-capacity") as stack:
        configure(stack, heroku, app_name, storage_limit_gb="0.01")
        try:
            stack.up()
            (addon,) = heroku.addons
            database, role = heroku.database_name(addon), heroku.role_name(addon)
            owner_url = heroku.config_vars(app_name)["DATABASE_URL"]
            verification = stack.outputs()["verification"].value
            assert verification["capacity"]["limit_bytes"] == 10**7 and verification["capacity"]["table_limit"] == 4000
            assert verification["capacity"]["plan"] == "essential-0"

            # Stitch fills it past the limit; Heroku has not acted yet (its grace period): failing, with the ways out.
            load_rows(owner_url, 5000)
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            assert report["capacity"]["used_bytes"] >= 10**7 and report["capacity"]["percent"] >= 100
            assert report["capacity"]["days_to_full"] is None, "null until two measurements an hour apart"
            first = report["problems"][0]
            assert first["what"].startswith("over plan capacity: ") and "on plan essential-0" in first["what"], first
            assert "pulumi config set plan essential-1, then pulumi up" in first["fix"] and "delete data" in first["fix"]

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
            assert line.startswith("dev-capacity: failing (over plan capacity: ") and "capacity " in line and " of 10 MB (1" in line, line
            assert "fix create: Heroku took CREATE on the database because the database is over plan capacity" in done.stdout

            # A plain `pulumi up` does not grant it back either.
            stack.up()
            assert not has_create(cluster, role, database), "pulumi up fought Heroku: it granted CREATE back"

            # Usage drops under the limit (here: a larger limit) and Heroku gives the privileges back.
            used = report["capacity"]["used_bytes"]
            with cluster.superuser(database) as conn:
                conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role)))
                conn.execute(sql.SQL("GRANT INSERT ON shop.orders TO {}").format(sql.Identifier(role)))
            configure(stack, heroku, app_name, storage_limit_gb=f"{used / 0.9 / 10**9:.6f}")
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "healed", report  # the new limit re-runs the verification
            said = summaries(report)
            assert said.startswith("the capacity limits changed (from storage_limit_gb 0.01 to storage_limit_gb 0.0"), said
            assert "rotated" not in said, said

            # Near the limit: in sync, and warned with the figures.
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "in-sync", report
            capacity_check = {c["name"]: c for c in report["verification"]["checks"]}["capacity"]
            assert capacity_check["status"] == "warn" and "near the limit" in capacity_check["detail"], capacity_check

            # An hour later (the kept measurement backdated): the refresh keeps a new one, which is no change,
            # and the estimate appears.
            backdate_samples(stack, used - 10**6)
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "in-sync" and report["changes"] == [], report
            assert report["capacity"]["days_to_full"] is not None and report["capacity"]["days_to_full"] > 0, report["capacity"]
            kept = stack.outputs()["verification"].value["capacity"]["samples"]
            assert len(kept) == 2 and kept[0]["at"] == "2020-01-01T00:00:00Z", "the refresh kept a new measurement in the state"
            done = run_reconcile(stack)
            assert "full in about" in done.stdout.splitlines()[0], done.stdout
        finally:
            stack.destroy()
