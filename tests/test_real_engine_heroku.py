"""The Heroku lifecycle with the real Pulumi engine: `source: heroku` and `heroku-existing` stacks against
tests/doubles/fake_heroku.py (a Heroku Platform API double whose add-ons are real databases on the local SSL
PostgreSQL, and whose Data API credentials are real roles), through tests/doubles/heroku_standin.py, which
stands in for the heroku provider plugin the Go proxy does not serve and makes the calls
terraform-provider-heroku v5 makes.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time

import psycopg
import pytest
from psycopg import sql
from pulumi import automation as auto

from tests.doubles.fake_stitch import FakeStitch, StitchServer
from tests.support.real_engine import RealStack, new_app_name, real_stack, throwaway_stack
from tests.test_reconcile import report_of, run_reconcile

DATA_API = "/postgres/v0/databases/"


@pytest.fixture
def app_name() -> str:
    return new_app_name("e2e")


def heroku_config(stack: RealStack, heroku, app_name: str, *, key: bool = True, **extra: str) -> None:
    values = {
        "stitch-heroku:app_name": app_name,
        "stitch-heroku:verify_timeout": "20",
        "heroku:url": heroku.url,
        # Nothing sleeps the provider's default 10 s after an app is created.
        "heroku:delays": '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}',
        **{f"stitch-heroku:{k}": v for k, v in extra.items()},
    }
    stack.set_config(values, secrets={"heroku:apiKey": heroku.api_key} if key else None)


def has_app(heroku, name: str) -> bool:
    return any(app.name == name for app in heroku.apps.values())


def only_addon(heroku) -> str:
    (addon,) = heroku.addons
    return addon


def password_of(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["password"])


def unprotect_and_destroy(stack: RealStack) -> None:
    """Teardown whatever the test left: the destroy guard forgotten, protection lifted, then destroy."""
    guard = [r["urn"] for r in resources_of(stack) if r["type"].endswith("stitch:DestroyGuard")]
    for command in (["state", "delete", "--force", *guard], ["state", "unprotect", "--all"]):
        subprocess.run(
            [str(stack.pulumi), *command, "--yes", "--stack", stack.stack.name],
            cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    stack.destroy()


def test_dev_stack_up_again_and_a_rotation_reach_outputs_verification_and_stitch(toolchain, tmp_path, heroku, app_name):
    with StitchServer(FakeStitch()) as stitch, real_stack(tmp_path, "dev-e2e") as stack:
        heroku_config(stack, heroku, app_name, stitch_api_url=stitch.url, stitch_check_timeout="30")
        stack.set_config({}, secrets={"stitch:accessToken": stitch.token})
        try:
            assert stack.preview().change_summary.get("create", 0) >= 6
            stack.up()
            addon = only_addon(heroku)
            url = heroku.config_vars(app_name)["DATABASE_URL"]
            outputs = stack.outputs()
            assert outputs["password"].value == password_of(url) and outputs["verification"].value["ready"] is True
            assert "POST /apps" in heroku.calls("POST") and any(c.endswith("/addons") for c in heroku.calls("POST"))

            again = stack.up()
            assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes

            heroku.rotate_credentials(addon)
            rotated = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
            assert rotated != outputs["password"].value
            result = stack.up()  # a plain up: no refresh
            assert result.summary.resource_changes.get("update", 0) >= 1
            assert stack.outputs()["password"].value == rotated
            assert stack.outputs()["verification"].value["ready"] is True
            (destination,) = list(stitch.destinations.values())
            assert destination["properties"]["password"] == rotated, "Stitch did not get the rotated password"
            for secret in (rotated, heroku.api_key, stitch.token):
                assert secret not in stack.state_text() and secret not in stack.all_printed()
        finally:
            stack.destroy()
    assert not has_app(heroku, app_name) and not heroku.addons, "a dev stack's destroy deletes the app and the database"


def resources_of(stack: RealStack) -> list[dict]:
    """The stack's resources in the state; default providers, which the engine re-registers with the config, aside."""
    return [r for r in stack.stack.export_stack().deployment.get("resources") or [] if not r["type"].startswith("pulumi:providers:")]


def by_urn(resources: list[dict]) -> dict[str, dict]:
    """The state's resources by URN: the checkpoint may list them in another order after a failed operation."""
    return {r["urn"]: r for r in resources}


def test_prod_stack_destroy_deletes_nothing_the_plan_changes_in_place_and_a_version_change_is_refused(
    toolchain, tmp_path, heroku, app_name
):
    with StitchServer(FakeStitch()) as stitch, real_stack(tmp_path, "prod-e2e") as stack:
        # stitch_keep_destination false: only the guard can keep the destination from being deleted.
        heroku_config(stack, heroku, app_name, plan="essential-0", stitch_api_url=stitch.url, stitch_keep_destination="false")
        stack.set_config({}, secrets={"stitch:accessToken": stitch.token})
        try:
            stack.up()
            addon, before = only_addon(heroku), resources_of(stack)
            for destroy in (stack.destroy, lambda: stack.destroy(exclude_protected=True)):
                with pytest.raises(auto.CommandError) as refused:
                    destroy()
                assert "this stack is protected (protect: true): pulumi destroy deleted nothing" in str(refused.value)
                assert "pulumi config set protect false, then `pulumi up`" in str(refused.value)
                assert by_urn(resources_of(stack)) == by_urn(before), "a refused destroy changed the state"
                assert heroku.calls("DELETE") == [] and stitch.calls("DELETE") == [] and stitch.calls("PUT") == []
            assert has_app(heroku, app_name) and addon in heroku.addons and len(stitch.destinations) == 1

            heroku_config(stack, heroku, app_name, plan="essential-1")
            result = stack.up()
            assert result.summary.resource_changes.get("update", 0) >= 1
            assert heroku.addon_info(addon)["plan"]["name"] == "heroku-postgresql:essential-1"
            assert only_addon(heroku) == addon, "the plan change must not replace the database"

            heroku_config(stack, heroku, app_name, plan="essential-1", postgres_version="16")
            with pytest.raises(auto.CommandError, match="protect"):
                stack.up()
            assert only_addon(heroku) == addon

            heroku_config(stack, heroku, app_name, plan="essential-1", protect="false")
            stack.up()
            assert stack.destroy().summary.result == "succeeded", "after protect false and an up, destroy deletes it all"
            assert not has_app(heroku, app_name) and not heroku.addons and not stitch.destinations
        finally:
            unprotect_and_destroy(stack)


def test_exclude_protected_on_a_dev_stack_deletes_everything(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-exclude") as stack:
        heroku_config(stack, heroku, app_name)
        stack.up()
        assert stack.destroy(exclude_protected=True).summary.result == "succeeded"
        assert not has_app(heroku, app_name) and not heroku.addons and resources_of(stack) == []


def test_a_new_app_name_renames_the_app_in_place_and_keeps_the_database(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-rename") as stack:
        heroku_config(stack, heroku, app_name)
        stack.up()
        addon, password = only_addon(heroku), stack.outputs()["password"].value
        renamed = f"{app_name}-new"
        heroku_config(stack, heroku, renamed)
        preview = stack.preview()
        # The app, and the two guards that name it in their messages; nothing replaced, created or deleted.
        assert set(preview.change_summary) == {"same", "update"} and preview.change_summary["update"] == 3, preview.change_summary
        result = stack.up()
        assert set(result.summary.resource_changes) == {"same", "update"}, result.summary.resource_changes
        assert has_app(heroku, renamed) and not has_app(heroku, app_name)
        assert only_addon(heroku) == addon, "the rename must not replace the database"
        assert stack.outputs()["app_name"].value == renamed and stack.outputs()["password"].value == password
        assert stack.outputs()["verification"].value["ready"] is True
        assert heroku.calls("DELETE") == [] and any(c.startswith("PATCH /apps/") for c in heroku.calls("PATCH"))


def test_heroku_existing_reads_the_app_and_changes_nothing_on_heroku(toolchain, tmp_path, heroku, app_name):
    heroku.create_app(app_name)
    addon = heroku.provision_addon(app_name)["id"]
    with throwaway_stack(tmp_path, "dev-existing") as stack:
        heroku_config(stack, heroku, app_name, source="heroku-existing")
        stack.up()
        assert stack.outputs()["password"].value == password_of(heroku.config_vars(app_name)["DATABASE_URL"])
        assert heroku.calls("POST") == [] and heroku.calls("PATCH") == [] and heroku.calls("DELETE") == []
    assert addon in heroku.addons and heroku.calls("DELETE") == []


def test_a_source_switch_is_refused_and_the_printed_way_out_keeps_the_database(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-switch") as stack:
        heroku_config(stack, heroku, app_name)
        stack.up()
        addon = only_addon(heroku)
        heroku_config(stack, heroku, app_name, source="heroku-existing")
        with pytest.raises(auto.CommandError) as refused:
            stack.preview()
        message = str(refused.value)
        assert "would delete them, database included" in message
        command = re.search(r"pulumi state delete --force --target-dependents '([^']+)'", message)
        assert command, message[-1500:]
        with pytest.raises(auto.CommandError):
            stack.up()
        assert addon in heroku.addons and heroku.calls("DELETE") == [], "the refused run deleted something"

        done = subprocess.run(
            [str(stack.pulumi), "state", "delete", "--force", "--target-dependents", "--yes", command.group(1)],
            cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert stack.up().summary.result == "succeeded"
        assert addon in heroku.addons and heroku.calls("DELETE") == []
        assert stack.outputs()["password"].value == password_of(heroku.config_vars(app_name)["DATABASE_URL"])
    assert addon in heroku.addons, "the adopted database must outlive the stack"


def test_an_app_that_already_has_a_database_url_gets_the_colored_var_and_we_use_it(toolchain, tmp_path, heroku, app_name):
    elsewhere = "postgres://someone:else@db.example.com:5432/other"

    def set_database_url_when_the_app_appears() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not has_app(heroku, app_name):
            time.sleep(0.01)
        if has_app(heroku, app_name):
            heroku.set_config_vars(app_name, {"DATABASE_URL": elsewhere})

    with throwaway_stack(tmp_path, "dev-colored") as stack:
        heroku_config(stack, heroku, app_name)
        watcher = threading.Thread(target=set_database_url_when_the_app_appears, daemon=True)
        watcher.start()
        stack.up()
        addon = only_addon(heroku)
        colored = [name for name in heroku.addon_info(addon)["config_vars"] if name.startswith("HEROKU_POSTGRESQL_")]
        assert colored, heroku.addon_info(addon)["config_vars"]
        assert heroku.config_vars(app_name)["DATABASE_URL"] == elsewhere
        assert stack.outputs()["database"].value == heroku.database_name(addon)
        assert stack.outputs()["host"].value != "db.example.com"


def test_a_separate_stitch_credential_is_read_live_and_its_rotation_is_picked_up(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-credential") as stack:
        heroku_config(stack, heroku, app_name)
        stack.up()
        addon = only_addon(heroku)
        var = heroku.attach_credential(addon, "stitch", "STITCH_DATABASE")
        heroku_config(stack, heroku, app_name, stitch_config_var=var)
        stack.up()
        assert stack.outputs()["username"].value == heroku.role_name(addon, "stitch")
        assert stack.outputs()["verification"].value["ready"] is True, "the grant gave the Stitch role CREATE"

        heroku.rotate_credentials(addon, "stitch")
        stack.up()
        assert stack.outputs()["password"].value == password_of(heroku.config_vars(app_name)[var])


def test_a_heroku_login_through_netrc_is_enough(toolchain, tmp_path, heroku, app_name):
    netrc = tmp_path / "netrc"
    host = heroku.url.split("://", 1)[1]
    netrc.write_text(f"machine {host}\n  login {heroku.email}\n  password {heroku.api_key}\n")
    netrc.chmod(0o600)
    with throwaway_stack(tmp_path, "dev-netrc", env={"NETRC_PATH": str(netrc)}) as stack:
        heroku_config(stack, heroku, app_name, key=False)
        stack.up()
        assert has_app(heroku, app_name)
        assert all(r.auth == "basic" for r in heroku.requests)


# Stitch's own credential (stitch_credential): the Data API double's credentials are real roles.


def data_host(heroku) -> dict[str, str]:
    """The CLI's HEROKU_DATA_HOST (lib/pg/host.ts), pointed at the double's loopback URL."""
    return {"HEROKU_DATA_HOST": heroku.url}


def checks_of(stack: RealStack) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in stack.outputs()["verification"].value["checks"]}


def privileges(heroku, addon: str, role: str) -> dict[str, bool]:
    """What the role may do on the add-on's real database, asked of the server as superuser."""
    database = heroku.database_name(addon)
    with psycopg.connect(heroku.postgres.admin_conninfo, autocommit=True) as conn:
        return {
            privilege: conn.execute("SELECT has_database_privilege(%s, %s, %s)", (role, database, privilege)).fetchone()[0]
            for privilege in ("CONNECT", "CREATE", "TEMPORARY")
        }


def stitch_cannot_drop_the_owners_table(heroku, addon: str, stitch_url: str) -> None:
    """The point of it all: a table the owner made is out of the stitch role's reach."""
    owner_url = heroku.config_vars(next(a.name for a in heroku.apps.values() if a.id == heroku.addons[addon].app_id))["DATABASE_URL"]
    with psycopg.connect(owner_url, sslmode="require", autocommit=True) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS app_orders (id int)")
    with psycopg.connect(stitch_url, sslmode="require", autocommit=True) as stitch, pytest.raises(psycopg.errors.InsufficientPrivilege):
        stitch.execute(sql.SQL("DROP TABLE public.app_orders"))


def test_a_standard_plan_gets_its_own_credential_granted_read_live_and_healed_after_a_rotation(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-dedicated", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, plan="standard-0")
        stack.up()
        addon = only_addon(heroku)
        assert heroku.credential_state(addon, "stitch") == "active"
        (attached,) = [a for a in heroku.attachments(addon) if a["name"] == "STITCH_DATABASE"]
        assert attached["namespace"] == "credential:stitch"
        stitch_url = heroku.config_vars(app_name)["STITCH_DATABASE_URL"]
        role = heroku.role_name(addon, "stitch")
        outputs = stack.outputs()
        assert outputs["username"].value == role != heroku.role_name(addon), "Stitch loads as its own role, not the owner"
        assert outputs["password"].value == password_of(stitch_url)
        assert outputs["verification"].value["ready"] is True
        assert checks_of(stack)["least privilege"]["status"] == "pass", "Stitch's own credential is no owner and holds nothing more"
        assert privileges(heroku, addon, role) == {"CONNECT": True, "CREATE": True, "TEMPORARY": True}
        stitch_cannot_drop_the_owners_table(heroku, addon, stitch_url)
        created = [c for c in heroku.calls("POST") if c.startswith(f"POST {DATA_API}")]
        assert created == [f"POST {DATA_API}{addon}/credentials"], created
        assert all(r.auth == "basic" for r in heroku.requests if r.path.startswith(DATA_API))

        again = stack.up()
        assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes

        heroku.rotate_credentials(addon, "stitch")  # `heroku pg:credentials:rotate --name stitch`
        rotated = password_of(heroku.config_vars(app_name)["STITCH_DATABASE_URL"])
        assert rotated != outputs["password"].value
        stack.up()  # a plain up, no refresh
        assert stack.outputs()["password"].value == rotated
        assert stack.outputs()["verification"].value["ready"] is True
        for secret in (rotated, heroku.api_key):
            assert secret not in stack.state_text() and secret not in stack.all_printed()


def test_an_essential_plan_keeps_the_owner_and_the_verification_says_why(toolchain, tmp_path, heroku, app_name):
    with throwaway_stack(tmp_path, "dev-essential", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, plan="essential-0")
        stack.up()
        addon = only_addon(heroku)
        assert stack.outputs()["username"].value == heroku.role_name(addon)
        warning = checks_of(stack)["least privilege"]
        assert warning["status"] == "warn"
        assert "essential plans have one credential; standard-0 and up allow a dedicated one" in warning["detail"]
        assert stack.outputs()["verification"].value["ready"] is True
        assert not [r for r in heroku.requests if r.path.startswith(DATA_API) or r.path.startswith("/addon-attachments")]


def test_heroku_existing_standard_gets_a_credential_on_its_addon_and_destroy_keeps_it(toolchain, tmp_path, heroku, app_name):
    heroku.create_app(app_name)
    addon = heroku.provision_addon(app_name, "standard-0")["id"]
    with throwaway_stack(tmp_path, "dev-existing-dedicated", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, source="heroku-existing")
        stack.up()
        assert heroku.calls("POST") == [f"POST {DATA_API}{addon}/credentials", "POST /addon-attachments"], heroku.calls("POST")
        assert heroku.calls("PATCH") == [] and heroku.calls("DELETE") == [] and heroku.calls("PUT") == []
        role = heroku.role_name(addon, "stitch")
        assert stack.outputs()["username"].value == role
        assert privileges(heroku, addon, role)["CREATE"] is True
        assert stack.outputs()["verification"].value["ready"] is True
    assert heroku.credential_state(addon, "stitch") == "active", "destroy keeps the credential: its role owns what Stitch loaded"
    assert "STITCH_DATABASE_URL" not in heroku.config_vars(app_name), "the stack's attachment goes"
    assert [c.split("/")[1] for c in heroku.calls("DELETE")] == ["addon-attachments"]
    assert "pg:credentials:destroy" in stack.all_printed(), "destroy says what it kept and how to remove it"


def test_heroku_existing_on_a_database_shared_from_another_app_attaches_stitch_to_the_stacks_app(toolchain, tmp_path, heroku, app_name):
    """`heroku addons:attach`: the add-on belongs to another app; Stitch's credential is attached to the stack's app,
    where STITCH_DATABASE_URL is read, and the owning app gets no release (no restart of its dynos)."""
    owner_app = new_app_name("owner")
    owner = heroku.create_app(owner_app)
    addon = heroku.provision_addon(owner_app, "standard-0")["id"]
    ours = heroku.create_app(app_name)
    heroku.attach_addon(addon, app_name, "DATABASE")
    owner_releases = len(heroku.apps[owner["id"]].releases)
    with throwaway_stack(tmp_path, "dev-shared", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, source="heroku-existing")
        stack.up()
        (attached,) = [a for a in heroku.attachments(addon) if a["name"] == "STITCH_DATABASE"]
        assert attached["app"]["id"] == ours["id"], "attached to the app the stack names"
        assert "STITCH_DATABASE_URL" in heroku.config_vars(app_name) and "STITCH_DATABASE_URL" not in heroku.config_vars(owner_app)
        assert len(heroku.apps[owner["id"]].releases) == owner_releases, "no release on the owning app"
        assert stack.outputs()["username"].value == heroku.role_name(addon, "stitch")
        assert stack.outputs()["verification"].value["ready"] is True
    assert "STITCH_DATABASE_URL" not in heroku.config_vars(app_name), "destroy takes the stack's attachment away"


def grant_of(stack: RealStack) -> dict:
    return next(r for r in resources_of(stack) if r["type"] == "postgresql:index/grant:Grant")


def test_a_rotation_of_stitchs_credential_under_a_temporary_username_replaces_nothing_and_tells_stitch_nothing_until_it_ends(
    toolchain, tmp_path, heroku, app_name
):
    """`heroku pg:credentials:rotate --name stitch` runs with a temporary username (rotate.ts; the double's
    begin_rotation): an `up` and a refresh meanwhile keep the Grant on the credential's own role, replace
    nothing, and send Stitch no PUT of a username that disappears; the first `up` after it sends the new password."""
    with StitchServer(FakeStitch()) as stitch, throwaway_stack(tmp_path, "dev-rotating", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, plan="standard-0", stitch_api_url=stitch.url, stitch_check_timeout="30")
        stack.set_config({}, secrets={"stitch:accessToken": stitch.token})
        stack.up()
        addon, (destination_id,) = only_addon(heroku), list(stitch.destinations)
        role = heroku.role_name(addon, "stitch")
        grant_id = grant_of(stack)["id"]
        assert grant_of(stack)["outputs"]["role"] == role

        temporary = heroku.begin_rotation(addon, "stitch")
        assert heroku.credential_state(addon, "stitch") == "rotating"
        assert psycopg.conninfo.conninfo_to_dict(heroku.config_vars(app_name)["STITCH_DATABASE_URL"])["user"] == temporary
        puts = stitch.calls("PUT")
        done = run_reconcile(stack, "--json")  # the hourly schedule, in that window
        report = report_of(done)
        assert done.returncode == 0 and report["status"] == "healed", report
        assert "Heroku is rotating the Stitch credential" in report["changes"][0]["summary"], report["changes"]
        for run in (stack.up, stack.refresh, stack.up):
            changes = run().summary.resource_changes or {}
            assert not {"replace", "create", "delete", "create-replacement", "delete-replaced"} & set(changes), changes
        assert grant_of(stack)["id"] == grant_id and grant_of(stack)["outputs"]["role"] == role, "the Grant moved off the stable role"
        assert stitch.calls("PUT") == puts, "Stitch got settings mid-rotation"
        assert stitch.destinations[destination_id]["properties"]["username"] == role
        assert privileges(heroku, addon, role)["CREATE"] is True

        heroku.finish_rotation(addon, "stitch")
        rotated = password_of(heroku.config_vars(app_name)["STITCH_DATABASE_URL"])
        stack.up()
        sent = stitch.destinations[destination_id]["properties"]
        assert (sent["username"], sent["password"]) == (role, rotated), "the rotation's end did not reach Stitch"
        assert stack.outputs()["verification"].value["ready"] is True
        assert grant_of(stack)["id"] == grant_id
