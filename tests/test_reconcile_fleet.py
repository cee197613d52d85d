"""A fleet in one run on the real engine: two stacks of this repository, each with its own Heroku database (the Heroku
double) and its destination in one Stitch account (the Stitch double, which enforces the jobs endpoints' rate limit,
stitchdata/docs _data/connect/rate-limits/jobs.yml). Stitch's loads are read once a run for the account, not once a
stack; a failing load of the second stack's source fails the run, naming that stack and its Destination.
"""

from __future__ import annotations

import subprocess
import sys

from psycopg import sql
from pulumi import automation as auto

from tests.doubles.fake_stitch import CLIENT_ID, FakeStitch, StitchServer, connects_for_real, load_error
from tests.support.real_engine import RealStack, new_app_name, real_stack
from tests.test_reconcile import configure, report_of


def test_two_stacks_in_one_run_read_the_accounts_loads_once_and_the_second_stacks_failing_load_fails_the_run(
    toolchain, tmp_path, heroku, ssl_server
):
    cluster = ssl_server.cluster
    # Two reads of the loads' pages would exceed this budget: a run that read once a stack gets a 429.
    with StitchServer(FakeStitch(check_outcome=connects_for_real, jobs_limit=2)) as stitch, real_stack(tmp_path, "dev-fleet-a") as first:
        second = RealStack(
            auto.Stack.create("dev-fleet-b", first.stack.workspace), first.workspace_dir, first.state_dir, first.pulumi, first.env
        )
        stacks = [first, second]
        try:
            for n, stack in enumerate(stacks, start=1):
                configure(stack, heroku, new_app_name(f"fleet{n}"), stitch)
                stack.up()
            databases = [heroku.database_name(addon) for addon in heroku.addons]
            roles = [heroku.role_name(addon) for addon in heroku.addons]
            for n, (database, role) in enumerate(zip(databases, roles, strict=True), start=1):
                with cluster.superuser(database) as conn:  # what Stitch made of each stack's source
                    conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(f"heroku_{n}"), sql.Identifier(role)))
            for n in (1, 2):
                for stream in range(60):  # 120 loads: two pages for the account
                    stitch.add_load(f"heroku_{n}", f"stream_{stream:03d}", loaded_at="2026-11-28T10:00:00Z")
            stitch.jobs_calls.clear()

            command = [sys.executable, "-m", "ops.reconcile", "--stack", "dev-fleet-a", "--stack", "dev-fleet-b", "--json"]
            done = subprocess.run(command, cwd=first.workspace_dir, env=first.env, capture_output=True, text=True, timeout=900, check=False)
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "in-sync", report
            assert [entry["stack"] for entry in report["stacks"]] == ["dev-fleet-a", "dev-fleet-b"]
            for n, entry in enumerate(report["stacks"], start=1):
                (destination,) = entry["destinations"]
                assert destination["status"] == "in-sync" and destination["name"] == "stitch-heroku", destination
                assert destination["urn"].endswith("::stitch-heroku:index:Destination::stitch-heroku")
                assert [s["source"] for s in destination["loads"]["sources"]] == [f"heroku_{n}"], destination["loads"]
            loads_calls = [c for c in stitch.calls() if "/loads" in c]
            assert loads_calls == [f"GET /v4/{CLIENT_ID}/loads", f"GET /v4/{CLIENT_ID}/loads?page=2"], "the account's pages, once a run"

            # The second stack's source fails to load: the run fails, naming that stack and its cause; the first stays in-sync.
            stitch.add_load(
                "heroku_2", "orders", error=load_error("Encountered error while loading", "ERROR: disk full", sql_state="53100")
            )
            stitch.jobs_calls.clear()
            command = [sys.executable, "-m", "ops.reconcile", "--stack", "dev-fleet-a", "--stack", "dev-fleet-b"]
            done = subprocess.run(command, cwd=first.workspace_dir, env=first.env, capture_output=True, text=True, timeout=900, check=False)
            assert done.returncode == 1, done.stdout + done.stderr[-3000:]
            lines = done.stdout.splitlines()
            assert lines[0].startswith("dev-fleet-a: in-sync: "), lines
            failing = next(line for line in lines if line.startswith("dev-fleet-b: "))
            assert failing.startswith("dev-fleet-b: failing (Stitch's last load of heroku_2.orders failed"), failing
        finally:
            for stack in stacks:
                stack.destroy()
            second.stack.workspace.remove_stack("dev-fleet-b", force=True)
