"""`pulumi up` of this program end to end with the real engine, the real postgresql provider plugin and
our dynamic providers in the real provider host, against a Heroku-shaped PostgreSQL with SSL.

`source: url` with a separate `stitch_url`, as `python -m devtools.try_local` runs it: an owner
credential and a Stitch credential without CREATE, which the program must grant.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from pulumi import automation as auto

from devtools.local_postgres import Cluster, StitchDatabase, provision_stitch_database
from tests.doubles.fake_stitch import FakeStitch, StitchServer
from tests.support.real_engine import ROOT, RealStack, real_stack, throwaway_stack

_names = itertools.count(1)


@pytest.fixture
def database(ssl_server) -> tuple[Cluster, StitchDatabase, str]:
    """A fresh Heroku-shaped database per test on the session's SSL server: owner, and a Stitch role without CREATE."""
    n = next(_names)
    cluster = ssl_server.cluster
    db = provision_stitch_database(cluster, database=f"e2e_{n}", owner=f"e2e_owner_{n}", stitch_role=f"e2e_loader_{n}")
    return cluster, db, f"e2e_loader_{n}"


@pytest.fixture
def stack(toolchain, tmp_path):
    with throwaway_stack(tmp_path, "e2e") as real:
        yield real


def has_create(cluster: Cluster, role: str, database: str) -> bool:
    with cluster.superuser(database) as conn:
        row = conn.execute("SELECT has_database_privilege(%s, current_database(), 'CREATE')", (role,)).fetchone()
    return bool(row and row[0])


def passwords_of(*urls: str) -> list[str]:
    return [psycopg.conninfo.conninfo_to_dict(url)["password"] for url in urls]


def configure(stack: RealStack, db: StitchDatabase, stitch_url: str | None = None) -> None:
    stack.set_config(
        {"stitch-heroku:source": "url", "stitch-heroku:verify_timeout": "20"},
        secrets={"stitch-heroku:database_url": db.owner_url, "stitch-heroku:stitch_url": stitch_url or db.stitch_url},
    )


def assert_no_secret_anywhere(stack: RealStack, *secrets: str) -> None:
    state, printed = stack.state_text(), stack.all_printed()
    for secret in secrets:
        assert secret not in state, "a password is in plain text in the state file"
        assert quote(secret, safe="") not in state, "a percent-encoded password is in plain text in the state file"
        assert secret not in printed, "a password is in what the engine printed"


def test_up_grants_create_and_exports_the_stitch_form(stack, database):
    cluster, db, loader = database
    configure(stack, db)
    assert not has_create(cluster, loader, stack_db(db))

    preview = stack.preview()
    assert preview.change_summary.get("create", 0) >= 5, preview.change_summary  # unknown values on a fresh stack
    result = stack.up()

    assert result.summary.result == "succeeded"
    assert has_create(cluster, loader, stack_db(db)), "the Stitch role did not get CREATE on the database"
    outputs = stack.outputs()
    info = psycopg.conninfo.conninfo_to_dict(db.stitch_url)
    assert outputs["host"].value == "127.0.0.1"
    assert outputs["port"].value == int(info["port"])
    assert outputs["username"].value == loader
    assert outputs["database"].value == stack_db(db)
    assert outputs["ssl"].value is True
    assert outputs["password"].secret and outputs["password"].value == info["password"]
    assert outputs["database_url"].secret and outputs["stitch_destination"].secret
    assert not outputs["verification"].secret and outputs["verification"].value["ready"] is True
    assert_no_secret_anywhere(stack, *passwords_of(db.owner_url, db.stitch_url))


def test_the_dynamic_providers_ran_in_the_real_provider_host(stack, database):
    _, db, _ = database
    configure(stack, db)
    stack.up()
    deployment = stack.stack.export_stack().deployment
    resources = deployment["resources"]
    verification = next(r for r in resources if r["urn"].endswith("-verification"))
    assert verification["type"] == "pulumi-python:dynamic/stitch:Verification"
    assert "::pulumi:providers:pulumi-python::" in verification["provider"]
    assert verification["outputs"]["report"]["ready"] is True
    grant = next(r for r in resources if r["type"] == "postgresql:index/grant:Grant")
    assert "pulumi:providers:postgresql::stitch-heroku-stitch-owner::" in grant["provider"]


def test_second_up_preview_and_refresh_change_nothing(stack, database):
    _, db, _ = database
    configure(stack, db)
    stack.up()

    preview = stack.preview()
    assert set(preview.change_summary) == {"same"}, preview.change_summary
    again = stack.up()
    assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes
    refreshed = stack.refresh()
    assert set(refreshed.summary.resource_changes or {}) == {"same"}, refreshed.summary.resource_changes


def test_the_grant_has_the_schemas_default_with_grant_option_and_a_state_without_it_changes_nothing(stack, database):
    """resourcePostgreSQLGrant's with_grant_option defaults to false and the plugin's Check fills it in; a state
    written without it (the stand-in's older answers) must not update the Grant, i.e. REVOKE ALL and GRANT again."""
    _, db, _ = database
    configure(stack, db)
    stack.up()
    deployment = stack.stack.export_stack()
    grant = next(r for r in deployment.deployment["resources"] if r["type"] == "postgresql:index/grant:Grant")
    assert grant["inputs"]["withGrantOption"] is False and grant["outputs"]["withGrantOption"] is False

    for props in (grant["inputs"], grant["outputs"]):
        del props["withGrantOption"]
    stack.stack.import_stack(deployment)
    again = stack.up()
    assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes


def test_a_database_stitch_cannot_use_fails_with_the_checklist_then_converges(stack, database):
    _, db, _ = database
    wrong = db.stitch_url.replace(passwords_of(db.stitch_url)[0], "not-the-password")
    configure(stack, db, stitch_url=wrong)

    with pytest.raises(auto.CommandError) as failed:
        stack.up()
    message = str(failed.value)
    assert "[FAIL] connect" in message and "NOT READY" in message, message[-2000:]
    assert "not-the-password" not in message

    configure(stack, db)
    result = stack.up()
    assert result.summary.result == "succeeded"
    assert stack.outputs()["verification"].value["ready"] is True


def test_rotation_reaches_the_verification_and_stitch(stack, database, tmp_path):
    cluster, db, loader = database
    with StitchServer(FakeStitch()) as stitch:
        configure(stack, db)
        stack.set_config(
            {"stitch-heroku:stitch_api_url": stitch.url, "stitch-heroku:stitch_check_timeout": "30"},
            secrets={"stitch:accessToken": stitch.token},
        )
        stack.up()
        first = list(stitch.destinations.values())
        assert len(first) == 1

        new_password = os.urandom(12).hex()
        with cluster.superuser() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(loader), sql.Literal(new_password)))
        rotated = db.stitch_url.replace(passwords_of(db.stitch_url)[0], new_password)
        configure(stack, db, stitch_url=rotated)
        result = stack.up()

        assert result.summary.resource_changes.get("update", 0) >= 1, result.summary.resource_changes
        assert stack.outputs()["password"].value == new_password
        assert stack.outputs()["verification"].value["ready"] is True
        (destination,) = list(stitch.destinations.values())
        assert destination["properties"]["password"] == new_password, "Stitch did not receive the new password"
        assert_no_secret_anywhere(stack, new_password, stitch.token)


DESTINATION_TYPE = "pulumi-python:dynamic/stitch:Destination"


def resources_of(stack: RealStack) -> list[dict]:
    """The stack's resources in the state; default providers, which the engine re-registers with the config, aside."""
    return [r for r in stack.stack.export_stack().deployment.get("resources") or [] if not r["type"].startswith("pulumi:providers:")]


def test_a_run_without_the_stitch_token_stops_and_released_forgets_the_destination(toolchain, tmp_path, database):
    """A dev stack (its destination would be deleted in Stitch) that lost its token: preview and up stop before
    any step, with both ways out; `released`, then removing it, forgets the destination without a call to Stitch."""
    _, db, _ = database
    with StitchServer(FakeStitch()) as stitch, real_stack(tmp_path, "dev-token") as stack:
        try:
            configure(stack, db)
            stack.set_config({"stitch-heroku:stitch_api_url": stitch.url}, secrets={"stitch:accessToken": stitch.token})
            stack.up()
            (destination_id,) = stitch.destinations
            stack.remove_config("stitch:accessToken", "stitch-heroku:stitch_api_url")
            before = resources_of(stack)
            for run in (stack.preview, stack.up):
                with pytest.raises(auto.CommandError) as refused:
                    run()
                message = str(refused.value)
                ways_out = ("pulumi config set --secret stitch:accessToken", "export STITCH_ACCESS_TOKEN", "stitch_destination released")
                assert all(way in message for way in ways_out), message[-1500:]
            assert resources_of(stack) == before, "the refused run changed the state"
            assert stitch.calls("DELETE") == [] and stitch.calls("PUT") == [] and destination_id in stitch.destinations

            seen = len(stitch.requests)
            stack.set_config({"stitch-heroku:stitch_destination": "released"})
            assert stack.up().summary.result == "succeeded"
            (record,) = [r for r in resources_of(stack) if r["type"] == DESTINATION_TYPE]
            assert record["outputs"]["released"] is True and record.get("retainOnDelete") is True, record
            stack.remove_config("stitch-heroku:stitch_destination")
            assert stack.preview().change_summary.get("delete") == 1, "the record leaves the state on the next up"
            stack.up()
            assert not [r for r in resources_of(stack) if r["type"] == DESTINATION_TYPE], "the destination is still in the state"
            assert stitch.requests[seen:] == [], "releasing sent something to Stitch"
            assert destination_id in stitch.destinations and stitch.destinations[destination_id]["name"] == "stitch-heroku-dev-token"
            assert set(stack.up().summary.resource_changes or {}) == {"same"}, "without the token the stack needs nothing more"
            assert_no_secret_anywhere(stack, stitch.token, *passwords_of(db.owner_url, db.stitch_url))
        finally:
            stack.destroy()
    assert stitch.calls("DELETE") == []


def rotate_owner(cluster: Cluster, db: StitchDatabase) -> tuple[StitchDatabase, str, str]:
    """Heroku's rotation of the owner credential: a new password on the server, the old one revoked."""
    owner = psycopg.conninfo.conninfo_to_dict(db.owner_url)
    new_password = os.urandom(12).hex()
    with cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(owner["user"]), sql.Literal(new_password)))
    return StitchDatabase(db.owner_url.replace(owner["password"], new_password), db.stitch_url), owner["password"], new_password


def test_refresh_after_a_rotation_needs_the_program(stack, database):
    """The README's advice, proven: a plain refresh, and `up --refresh` (what pulumi/actions' `refresh: true`
    runs), configure the postgresql provider from the state, whose owner password is revoked; with
    `--run-program` both use the new settings, and so does a plain `up`."""
    cluster, db, _ = database
    configure(stack, db)
    stack.up()
    rotated, old_password, new_password = rotate_owner(cluster, db)
    configure(stack, rotated)

    for stale_run in (stack.refresh, lambda: stack.up(refresh=True)):
        with pytest.raises(auto.CommandError) as stale:
            stale_run()
        assert "password authentication failed" in str(stale.value)
        assert new_password not in str(stale.value) and old_password not in str(stale.value)

    assert stack.up(refresh=True, run_program=True).summary.result == "succeeded"
    assert stack.outputs()["verification"].value["ready"] is True

    again, _, newer_password = rotate_owner(cluster, rotated)
    configure(stack, again)
    assert stack.refresh(run_program=True).summary.result == "succeeded"
    assert stack.up().summary.result == "succeeded"
    assert_no_secret_anywhere(stack, new_password, old_password, newer_password)


def test_destroy_succeeds_and_leaves_the_grant(stack, database):
    cluster, db, loader = database
    configure(stack, db)
    stack.up()
    result = stack.destroy()
    assert result.summary.result == "succeeded"
    assert has_create(cluster, loader, stack_db(db)), "destroy revoked CREATE from the Stitch role"


def stack_db(db: StitchDatabase) -> str:
    return psycopg.conninfo.conninfo_to_dict(db.owner_url)["dbname"]


def test_the_readmes_main_command_runs_up_and_prints_a_ready_checklist(toolchain, tmp_path):
    """`python -m devtools.try_local`, as the README runs it (here in a work folder of the test's own),
    then `--down`; the checkout's Pulumi.local.yaml stays as committed."""
    tracked = (ROOT / "Pulumi.local.yaml").read_text()
    command = [sys.executable, "-m", "devtools.try_local", "--workdir", str(tmp_path / "try")]
    up = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert "Updating (local)" in up.stdout, "the engine's progress is streamed"
        assert "[ok  ] create" in up.stdout and "READY: Stitch will connect and load" in up.stdout
        urls = json.loads((tmp_path / "try" / "postgres" / "cluster.json").read_text())
        for password in passwords_of(urls["database_url"], urls["stitch_url"]):
            assert password not in up.stdout + up.stderr
        assert (ROOT / "Pulumi.local.yaml").read_text() == tracked
    finally:
        down = subprocess.run([*command, "--down"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
    assert not (tmp_path / "try" / "postgres" / "cluster.json").exists()
