"""The reconcile's verdict on the real engine: it judges least privilege as the stack's Verification does (and so does
`components.verify --stack`), and a verify_on_every_up re-run, which changes the Verification on purpose every time,
is no drift. Heroku API double behind the heroku stand-in, real PostgreSQL (tests/test_reconcile.py has the harness)."""

from __future__ import annotations

import json
import subprocess
import sys

from psycopg import sql

from tests.support.real_engine import new_app_name, throwaway_stack
from tests.test_real_engine_heroku import data_host
from tests.test_reconcile import configure, report_of, run_reconcile, summaries


def least_privilege(report: dict) -> dict:
    return next(c for c in report["verification"]["checks"] if c["name"] == "least privilege")


def test_a_dedicated_credential_later_given_createrole_fails_the_reconcile_and_verify_stack(toolchain, tmp_path, heroku, ssl_server):
    app_name = new_app_name("lp")
    with throwaway_stack(tmp_path, "dev-rec-lp", env=data_host(heroku)) as stack:
        configure(stack, heroku, app_name, plan="standard-0")
        stack.up()
        (addon,) = heroku.addons
        role = heroku.role_name(addon, "stitch")
        assert stack.outputs()["username"].value == role, "Stitch loads as Heroku's credential stitch, made for it"
        done = run_reconcile(stack, "--json")
        assert done.returncode == 0 and report_of(done)["status"] == "in-sync", done.stdout + done.stderr[-3000:]

        # Someone gives Stitch's own credential a power loading never needs.
        with ssl_server.cluster.superuser(heroku.database_name(addon)) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(role)))
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 1 and report["status"] == "failing", report
        check = least_privilege(report)
        assert check["status"] == "fail" and "the role this stack made for Stitch" in check["detail"], check
        assert "NOCREATEROLE" in check["fix"]

        verified = subprocess.run(
            [sys.executable, "-m", "components.verify", "--stack", stack.stack.name],
            cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert verified.returncode == 1, verified.stdout + verified.stderr
        assert "[FAIL] least privilege" in verified.stdout, verified.stdout


def test_verify_on_every_up_is_in_sync_when_nothing_drifted_and_still_sees_a_rotation(toolchain, tmp_path, heroku):
    app_name = new_app_name("every")
    with throwaway_stack(tmp_path, "dev-rec-every") as stack:
        configure(stack, heroku, app_name, verify_on_every_up="true")
        stack.up()
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync" and report["changes"] == [], report
        done = run_reconcile(stack, "--json", "--preview-only")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync", report

        # Only the intended re-run is ignored: a rotation is still drift, and named as one.
        (addon,) = heroku.addons
        heroku.rotate_credentials(addon)
        done = run_reconcile(stack, "--json", "--preview-only")
        report = report_of(done)
        assert done.returncode == 3 and report["status"] == "drift", report
        assert "Heroku rotated the Stitch credential's password" in summaries(report), summaries(report)


def test_every_warning_of_the_checklist_reaches_the_reconcile_and_verify_stack(toolchain, tmp_path, ssl_server):
    """26.3: the user's own Stitch credential (stitch_url) that may create roles is a `[warn] least privilege`; the
    reconcile said `in-sync ... READY` with `"warnings": []`."""
    from devtools.local_postgres import provision_stitch_database

    cluster = ssl_server.cluster
    db = provision_stitch_database(cluster, database="warned", owner="warned_owner", stitch_role="warned_loader")
    with cluster.superuser("warned") as conn:
        conn.execute("ALTER ROLE warned_loader CREATEROLE")
    with throwaway_stack(tmp_path, "dev-rec-warn") as stack:
        stack.set_config({"stitch-heroku:source": "url", "stitch-heroku:verify_timeout": "20"},
                         secrets={"stitch-heroku:database_url": db.owner_url, "stitch-heroku:stitch_url": db.stitch_url})  # fmt: skip
        stack.up()
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync", report
        assert least_privilege(report)["status"] == "warn", least_privilege(report)
        assert [w["what"].split(":")[0] for w in report["warnings"]] == ["least privilege"], report["warnings"]
        assert report["stacks"][0]["destinations"][0]["warnings"] == report["warnings"]

        line, *rest = run_reconcile(stack).stdout.splitlines()
        assert line.startswith("dev-rec-warn: in-sync: ") and "; warning: least privilege: " in line, line
        assert rest[0].startswith("  warning: least privilege: ") and rest[1].startswith("  fix: "), rest

        verified = subprocess.run(
            [sys.executable, "-m", "components.verify", "--stack", stack.stack.name, "--json"],
            cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert [w["what"].split(":")[0] for w in json.loads(verified.stdout)["warnings"]] == ["least privilege"]
