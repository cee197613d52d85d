"""Stitch's own Heroku credential with the real Pulumi engine: the Data API and the Platform API doubles
(tests/doubles/fake_heroku.py), whose add-ons are real databases and whose credentials are real roles, and the
heroku provider stand-in's add-on Attachment."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.real_engine import RealStack, real_stack
from tests.test_real_engine_heroku import app_name, heroku, heroku_config, only_addon, password_of  # noqa: F401 (fixtures)

DATA_API = "/postgres/v0/databases/"


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
    with real_stack(tmp_path, "dev-dedicated", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, plan="standard-0")
        try:
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
            assert outputs["verification"].value["ready"] is True and "least privilege" not in checks_of(stack)
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
        finally:
            stack.destroy()


def test_an_essential_plan_keeps_the_owner_and_the_verification_says_why(toolchain, tmp_path, heroku, app_name):
    with real_stack(tmp_path, "dev-essential", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, plan="essential-0")
        try:
            stack.up()
            addon = only_addon(heroku)
            assert stack.outputs()["username"].value == heroku.role_name(addon)
            warning = checks_of(stack)["least privilege"]
            assert warning["status"] == "warn"
            assert "essential plans have one credential; standard-0 and up allow a dedicated one" in warning["detail"]
            assert stack.outputs()["verification"].value["ready"] is True
            assert not [r for r in heroku.requests if r.path.startswith(DATA_API) or r.path.startswith("/addon-attachments")]
        finally:
            stack.destroy()


def test_heroku_existing_standard_gets_a_credential_on_its_addon_and_destroy_keeps_it(toolchain, tmp_path, heroku, app_name):
    heroku.create_app(app_name)
    addon = heroku.provision_addon(app_name, "standard-0")["id"]
    with real_stack(tmp_path, "dev-existing-dedicated", env=data_host(heroku)) as stack:
        heroku_config(stack, heroku, app_name, source="heroku-existing")
        try:
            stack.up()
            assert heroku.calls("POST") == [f"POST {DATA_API}{addon}/credentials", "POST /addon-attachments"], heroku.calls("POST")
            assert heroku.calls("PATCH") == [] and heroku.calls("DELETE") == [] and heroku.calls("PUT") == []
            role = heroku.role_name(addon, "stitch")
            assert stack.outputs()["username"].value == role
            assert privileges(heroku, addon, role)["CREATE"] is True
            assert stack.outputs()["verification"].value["ready"] is True
        finally:
            stack.destroy()
    assert heroku.credential_state(addon, "stitch") == "active", "destroy keeps the credential: its role owns what Stitch loaded"
    assert "STITCH_DATABASE_URL" not in heroku.config_vars(app_name), "the stack's attachment goes"
    assert [c.split("/")[1] for c in heroku.calls("DELETE")] == ["addon-attachments"]
    assert "pg:credentials:destroy" in stack.all_printed(), "destroy says what it kept and how to remove it"
