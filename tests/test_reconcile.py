"""`python -m ops.reconcile` driven as a schedule runs it: a subprocess in the project folder (a copy), with the
backend, passphrase and PATH of the real-engine harness, against the Heroku API double (tests/doubles/fake_heroku.py,
behind the heroku stand-in), the Stitch Connect API double (tests/doubles/fake_stitch.py) and the real PostgreSQL.

Each scenario costs a real `up` or several, so one scenario holds several checks in the order a user meets them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql
from stitch_heroku.ops.workspace import has_language_host
from stitch_heroku.stitch_loads import PASSWORD_SENT_FIX

from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real, load_error
from tests.support.real_engine import RealStack, new_app_name, real_stack


@pytest.fixture
def app_name() -> str:
    return new_app_name("rec")


def configure(stack: RealStack, heroku, app_name: str, stitch: FakeStitch | None = None, **extra: str) -> None:
    values = {
        "stitch-heroku:app_name": app_name,
        "stitch-heroku:verify_timeout": "20",
        "heroku:url": heroku.url,
        "heroku:delays": '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}',
        **{f"stitch-heroku:{k}": v for k, v in extra.items()},
    }
    secrets = {"heroku:apiKey": heroku.api_key}
    if stitch is not None:
        values |= {"stitch-heroku:stitch_api_url": stitch.url, "stitch-heroku:stitch_check_timeout": "30"}
        secrets["stitch:accessToken"] = stitch.token
    stack.set_config(values, secrets=secrets)


def run_reconcile(stack: RealStack, *args: str, name: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user's schedule runs it, in the project folder, with the stack's backend and CLI."""
    command = [sys.executable, "-m", "ops.reconcile", "--stack", name or stack.stack.name, *args]
    return subprocess.run(command, cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, timeout=600, check=False)


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Exactly one JSON object on stdout."""
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"stdout is not one JSON object:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}") from None


def summaries(report: dict[str, Any]) -> str:
    return "\n".join(change["summary"] for change in report["changes"])


def password_of(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["password"])


def has_create(cluster, role: str, database: str) -> bool:
    with cluster.superuser(database) as conn:
        row = conn.execute("SELECT has_database_privilege(%s, current_database(), 'CREATE')", (role,)).fetchone()
    return bool(row and row[0])


def assert_no_secret(done: subprocess.CompletedProcess[str], *secrets: str) -> None:
    for secret in secrets:
        assert secret not in done.stdout and secret not in done.stderr, "a secret is in the reconcile's output"


def first_up(stack: RealStack, heroku, stitch: FakeStitch) -> tuple[str, int, str, str]:
    """The stack's first up: its add-on, its destination in Stitch, the database and Stitch's login role."""
    stack.up()
    (addon,) = heroku.addons
    (destination_id,) = stitch.destinations
    return addon, destination_id, heroku.database_name(addon), heroku.role_name(addon)


@contextmanager
def stack_after_its_first_up(tmp_path, name: str, heroku, app_name: str) -> Iterator[tuple[RealStack, FakeStitch, str, int, str, str]]:
    """A stack on the Heroku and Stitch doubles (Stitch's connection check connects for real) after its first up:
    (stack, stitch, add-on, destination id, database, role); destroyed afterwards, whatever the test found."""
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch, real_stack(tmp_path, name) as stack:
        configure(stack, heroku, app_name, stitch)
        try:
            yield (stack, stitch, *first_up(stack, heroku, stitch))
        finally:
            stack.destroy()


def writes(stitch: FakeStitch) -> list[str]:
    return [call for call in stitch.calls() if not call.startswith("GET ")]


def test_reconcile_reports_in_sync_previews_then_heals_a_rotation_a_revoked_create_and_a_stale_stitch_password(
    toolchain, tmp_path, heroku, app_name, ssl_server
):
    cluster = ssl_server.cluster
    with stack_after_its_first_up(tmp_path, "dev-reconcile", heroku, app_name) as made:
        stack, stitch, addon, destination_id, database, role = made
        # Nothing drifted: in-sync, exit 0, and Stitch's view read from its documented fields.
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync", report
        assert report["changes"] == [] and report["verification"]["ready"] is True
        assert report["stitch"]["destination_id"] == str(destination_id)
        assert report["stitch"]["report_card_step"] == "fully_configured"
        assert report["stitch"]["paused_at"] is None and report["stitch"]["deleted_at"] is None
        # Inline only where the CLI has no Python language host (ops.workspace): said on stderr then, and only then.
        inline_said = "running __main__.py in this process" in done.stderr
        assert inline_said is not has_language_host(stack.pulumi.parent), done.stderr[-2000:]

        # Heroku maintenance rotates the default credential, and someone revokes CREATE.
        old_password = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
        heroku.rotate_credentials(addon)
        new_password = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
        with cluster.superuser(database) as conn:
            conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))
        writes_before = writes(stitch)

        # --preview-only: drift, exit 3, and nothing changed anywhere (no refresh written: a plain refresh
        # would have failed on the rotated owner password).
        done = run_reconcile(stack, "--json", "--preview-only")
        report = report_of(done)
        assert done.returncode == 3 and report["status"] == "drift", report
        said = summaries(report)
        assert "Heroku rotated the Stitch credential's password" in said and "up would" in said, said
        assert f'CREATE on database "{database}" had been revoked from {role}; up would grant it again' in said, said
        assert writes(stitch) == writes_before, "a preview wrote to Stitch"
        assert not has_create(cluster, role, database), "a preview granted CREATE"
        assert stack.outputs()["password"].value == old_password, "a preview wrote the state"
        assert_no_secret(done, old_password, new_password, stitch.token, heroku.api_key)

        # The real run heals both, verifies as the Stitch role and puts the new password into Stitch.
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "healed", report
        said = summaries(report)
        assert "Heroku rotated the Stitch credential's password" in said and "Stitch updated" in said, said
        assert f'CREATE on database "{database}" had been revoked from {role}; granted again' in said, said
        assert has_create(cluster, role, database)
        assert stitch.destinations[destination_id]["properties"]["password"] == new_password
        assert report["verification"]["ready"] is True
        assert {c["name"]: c["status"] for c in report["verification"]["checks"]}["create"] == "pass"
        assert report["stitch"]["report_card_step"] == "fully_configured"
        assert_no_secret(done, old_password, new_password, stitch.token, heroku.api_key)

        # Stitch holds an old password (typed into its UI): its next check fails and the card goes back.
        stitch.destinations[destination_id]["properties"]["password"] = old_password
        outcome, message = connects_for_real(stitch.destinations[destination_id]["properties"])
        assert outcome == "failed", "the old password must really be refused by the server"
        stitch.fail_check_now(destination_id, message or "password authentication failed")
        done = run_reconcile(stack)  # for people: one line
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        line, *warned = done.stdout.strip().splitlines()
        assert line.startswith("dev-reconcile: healed: Stitch's connection check of destination"), line
        # Every warning of the run follows its line (26.3), each with its fix; the line names the first.
        assert all(w.startswith(("  warning: ", "  fix: ")) for w in warned), warned
        assert ("; warning: " in line) is bool(warned), line
        assert "sent the current settings again" in line and "verification READY" in line, line
        assert stitch.destinations[destination_id]["properties"]["password"] == new_password
        assert_no_secret(done, old_password, new_password, stitch.token)

        # Healed means in sync: the next run changes nothing.
        again = report_of(run_reconcile(stack, "--json"))
        assert again["status"] == "in-sync" and again["changes"] == [], again


def test_reconcile_heals_a_rotated_stitch_config_var_then_reports_a_paused_or_deleted_destination_and_creates_nothing(
    toolchain, tmp_path, heroku, app_name, ssl_server
):
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch, real_stack(tmp_path, "dev-reconcile-var") as stack:
        configure(stack, heroku, app_name)
        try:
            stack.up()
            (addon,) = heroku.addons
            var = heroku.attach_credential(addon, "stitch", "STITCH_DATABASE")
            configure(stack, heroku, app_name, stitch, stitch_config_var=var)
            stack.up()
            (destination_id,) = stitch.destinations

            heroku.rotate_credentials(addon, "stitch")
            rotated = password_of(heroku.config_vars(app_name)[var])
            done = run_reconcile(stack, "--json")
            report = report_of(done)
            assert done.returncode == 0 and report["status"] == "healed", report
            assert f"Heroku rotated the Stitch credential ({var})'s password" in summaries(report), summaries(report)
            assert stitch.destinations[destination_id]["properties"]["password"] == rotated
            assert_no_secret(done, rotated, stitch.token)

            # Paused by a user in Stitch: reported with the fix, exit 1, nothing written, even with a rotation pending.
            writes_before, posts_before = writes(stitch), stitch.calls("POST")
            stitch.pause(destination_id, at="2026-11-28T09:00:00Z")
            heroku.rotate_credentials(addon, "stitch")
            done = run_reconcile(stack)
            assert done.returncode == 1, done.stdout + done.stderr[-3000:]
            assert "dev-reconcile-var: failing" in done.stdout
            assert "paused in Stitch by a user at 2026-11-28T09:00:00Z" in done.stdout and "resume the destination in Stitch" in done.stdout
            assert writes(stitch) == writes_before, "the reconcile wrote to a paused destination"

            # Paused by Stitch itself, most likely because it never got that rotation (and CREATE was revoked too):
            # the database side is healed and the current settings are sent (a PUT does not resume a destination,
            # update-a-destination-v4.md), and the pause is still reported, exit 1.
            stitch.resume(destination_id)
            stitch.pause(destination_id, by_system=True, at="2026-11-28T10:00:00Z")
            database, role = heroku.database_name(addon), heroku.role_name(addon, "stitch")
            with ssl_server.cluster.superuser(database) as conn:
                conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(sql.Identifier(database), sql.Identifier(role)))
            rotated = password_of(heroku.config_vars(app_name)[var])
            report = report_of(done := run_reconcile(stack, "--json"))
            assert done.returncode == 1 and report["status"] == "failing", report
            assert report["stitch"]["system_paused_at"] == "2026-11-28T10:00:00Z"
            paused = [p for p in report["problems"] if "Stitch paused destination" in p["what"]]
            assert len(paused) == 1 and "no Connect API call resumes a destination" in paused[0]["fix"], report["problems"]
            assert has_create(ssl_server.cluster, role, database), "the database side was not healed"
            assert stitch.destinations[destination_id]["properties"]["password"] == rotated, "Stitch did not get the rotation"
            assert stitch.destinations[destination_id]["system_paused_at"] == "2026-11-28T10:00:00Z", "still paused"
            assert writes(stitch)[len(writes_before) :] == [f"PUT /v4/destinations/{destination_id}"]
            writes_before = writes(stitch)
            assert_no_secret(done, rotated, stitch.token)

            # Then deleted in Stitch (still listed with deleted_at), then gone from the list.

            stitch.soft_delete = True  # deleted in Stitch's UI, and still listed with its deleted_at
            stitch.delete_in_ui(destination_id)
            report = report_of(done := run_reconcile(stack, "--json"))
            assert done.returncode == 1 and report["stitch"]["deleted_at"] == stitch.destinations[destination_id]["deleted_at"], report
            assert any("was deleted in Stitch" in p["what"] for p in report["problems"]), report["problems"]

            del stitch.destinations[destination_id]
            report = report_of(done := run_reconcile(stack, "--json"))
            assert done.returncode == 1 and report["status"] == "failing" and report["stitch"]["found"] is False, report
            assert "never re-creates" in json.dumps(report["problems"])
            assert writes(stitch) == writes_before, f"the reconcile wrote to Stitch: {writes(stitch)[len(writes_before) :]}"
            assert stitch.calls("POST") == posts_before == ["POST /v4/destinations"], "the reconcile created a destination"
            assert not stitch.destinations, "a destination was created"
            assert_no_secret(done, rotated, stitch.token)
        finally:
            stack.destroy()


def server_words(url: str, statement: str | None) -> tuple[str, str]:
    """What the real server answers Stitch's role: (message, SQLSTATE), for a statement or for the connection itself."""
    try:
        with psycopg.connect(url, sslmode="require", autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement or "SELECT 1")
    except psycopg.Error as error:
        return str(error).strip(), error.sqlstate or ""
    raise AssertionError(f"the server accepted {statement!r}")


def test_reconcile_reads_stitchs_loads_blames_ours_only_and_names_the_first_failing_cause(
    toolchain, tmp_path, heroku, app_name, ssl_server
):
    cluster = ssl_server.cluster
    with stack_after_its_first_up(tmp_path, "dev-reconcile-loads", heroku, app_name) as made:
        stack, stitch, addon, destination_id, database, role = made
        url = heroku.config_vars(app_name)["DATABASE_URL"]
        # What Stitch made: schema heroku_1 with a table orders, owned by Stitch's login (the owner on Essential).
        with cluster.superuser(database) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA heroku_1 AUTHORIZATION {}").format(sql.Identifier(role)))
            conn.execute("CREATE TABLE heroku_1.orders (id int PRIMARY KEY, _sdc_batched_at timestamptz)")
            conn.execute(sql.SQL("ALTER TABLE heroku_1.orders OWNER TO {}").format(sql.Identifier(role)))
        # The account also holds another team's destination, whose source fails.
        stitch.add_destination("another team", {"host": "elsewhere.example.com"})
        stitch.add_load("recurly", "accounts", error=load_error("establish a connection to your data warehouse", "Open Session Error."))
        for n in range(120):  # two pages of loads: heroku_1's and another of our sources' many streams
            stitch.add_load("heroku_1", f"stream_{n:03d}", loaded_at="2026-11-28T10:00:00Z")
        stitch.add_load("heroku_1", "orders", loaded_at="2026-11-28T10:05:00Z")

        # Healthy: in-sync, with each of our sources' last batch, and the other destination's failure not ours.
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync", report
        assert report["loads"]["sources"] == [
            {"source": "heroku_1", "streams": 121, "failing": 0, "last_batch_loaded_at": "2026-11-28T10:05:00Z", "attributed": "schema"}
        ], report["loads"]
        assert report["loads"]["other_destinations_loads"] == 1 and report["problems"] == []
        assert [c for c in stitch.calls() if "/loads" in c] == ["GET /v4/116078/loads", "GET /v4/116078/loads?page=2"], "once a run"

        # Someone revokes INSERT on a table Stitch loads into; Stitch's next load fails with the server's words.
        with cluster.superuser(database) as conn:
            conn.execute(sql.SQL("REVOKE INSERT ON heroku_1.orders FROM {}").format(sql.Identifier(role)))
        words, state = server_words(url, "INSERT INTO heroku_1.orders VALUES (1, now())")
        stitch.add_load("heroku_1", "orders", error=load_error("Encountered error while loading", words, sql_state=state))
        writes_before = writes(stitch)
        for args in (("--preview-only",), ()):
            done = run_reconcile(stack, "--json", *args)
            report = report_of(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            # Found twice, in the order found: the verification's write-access check, then Stitch's failed load.
            checked, *_ = report["problems"]
            assert checked["what"].startswith("the verification as the Stitch role failed (write access"), report["problems"]
            first = next(problem for problem in report["problems"] if problem.get("cause") == "stitch-load:privilege")
            assert first["what"].startswith("Stitch's last load of heroku_1.orders failed (privilege): Encountered error while loading")
            assert "the database said: permission denied for table orders" in first["what"], first
            assert f'GRANT INSERT, UPDATE, DELETE ON "heroku_1"."orders" TO "{role}";' in first["fix"], first
            assert "Heroku restricted it" not in first["fix"], "the capacity check measured the database under its plan"
        assert writes(stitch) == writes_before, "a failing load made the reconcile write to Stitch"
        done = run_reconcile(stack)
        assert done.returncode == 1
        line = done.stdout.splitlines()[0]
        assert line.startswith("dev-reconcile-loads: failing (the verification as the Stitch role failed (write access"), line
        assert "Stitch loads, 1 failing: last batch heroku_1 2026-11-28T10:00:00Z" in line, line

        # Heroku rotates the credentials and Stitch's load fails to sign in: the reconcile sends Stitch the new
        # password and says the error clears at the next load; still failing until Stitch loads again.
        with cluster.superuser(database) as conn:
            conn.execute(sql.SQL("GRANT INSERT ON heroku_1.orders TO {}").format(sql.Identifier(role)))
        heroku.rotate_credentials(addon)
        words, state = server_words(url, None)
        assert "password authentication failed" in words
        stitch.add_load("heroku_1", "orders", error=load_error("establish a connection to your data warehouse", words, sql_state=state))
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 1 and report["status"] == "failing", report
        assert "Stitch updated" in summaries(report), summaries(report)
        (problem,) = report["problems"]
        assert problem["cause"] == "stitch-load:password" and problem["fix"] == PASSWORD_SENT_FIX, problem
        new_password = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
        assert stitch.destinations[destination_id]["properties"]["password"] == new_password
        assert_no_secret(done, password_of(url), new_password, stitch.token, heroku.api_key)

        # Stitch's next load succeeds; a source quiet for longer than stitch_load_stale_hours is a warning only.
        stitch.add_load("heroku_1", "orders", loaded_at="2026-11-28T11:00:00Z")
        configure(stack, heroku, app_name, stitch, stitch_load_stale_hours="2")
        stack.up()  # a config change reaches the dynamic providers' configuration: an up takes it, as for any key
        done = run_reconcile(stack, "--json")
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "in-sync", report
        # Every warning reaches the verdict (26.3): each check of the checklist that warned, then the stale source.
        warned = [c["name"] for c in report["verification"]["checks"] if c["status"] == "warn"]
        assert warned, "Stitch signs in as the database's owner here: least privilege warns"
        *checks, warning = report["warnings"]
        assert [w["what"].split(":")[0] for w in checks] == warned, report["warnings"]
        assert "Stitch loaded nothing of source heroku_1 for" in warning["what"] and "stitch_load_stale_hours is 2" in warning["what"]
        done = run_reconcile(stack)
        assert done.returncode == 0 and "  warning: Stitch loaded nothing of source heroku_1" in done.stdout, done.stdout


def test_reconcile_exits_2_for_an_unknown_stack_and_a_config_the_program_refuses(toolchain, tmp_path):
    with real_stack(tmp_path, "dev-reconcile-usage") as stack:
        stack.set_config({"stitch-heroku:source": "url", "stitch-heroku:region": "mars"})
        try:
            done = run_reconcile(stack, "--json", name="no-such-stack")
            assert done.returncode == 2, done.stdout + done.stderr
            assert "'no-such-stack' does not exist" in done.stderr and report_of(done)["status"] == "error"

            done = run_reconcile(stack)
            assert done.returncode == 2, done.stdout + done.stderr
            assert "database_url: required for source url" in done.stderr and "region: belongs to source heroku" in done.stderr

            usage = subprocess.run(
                [sys.executable, "-m", "ops.reconcile"], cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, check=False
            )
            assert usage.returncode == 2 and "--stack" in usage.stderr
        finally:
            stack.stack.workspace.remove_stack(stack.stack.name, force=True)
