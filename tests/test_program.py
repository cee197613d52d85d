"""The real __main__.py under Pulumi's mocks: every resource, input, option, dependency and secret."""

from __future__ import annotations

import pytest

from tests.support.pulumi_harness import ADDON_DATABASE, ADDON_PASSWORD, ADDON_URL, APP_ID, HEROKU_STACK, StitchMocks, run_program

APP = "heroku:app/app:App"
ADDON = "heroku:addon/addon:Addon"
PG_PROVIDER = "pulumi:providers:postgresql"
GRANT = "postgresql:index/grant:Grant"
VERIFICATION = "pulumi-python:dynamic/stitch:Verification"


@pytest.fixture(scope="module")
def dev():
    return run_program("dev", HEROKU_STACK)


def test_app_is_created_with_name_and_region(dev):
    app = dev.one(APP)
    assert app.inputs == {"name": "acme-stitch-dev", "region": "us"}, f"App inputs: {app.inputs}"


def test_app_joins_the_configured_team():
    run = run_program("dev", HEROKU_STACK | {"team": "acme-data"})
    assert run.one(APP).inputs["organization"] == {"name": "acme-data"}


def test_addon_is_heroku_postgres_on_the_app(dev):
    addon = dev.one(ADDON)
    assert addon.inputs["plan"] == "heroku-postgresql:essential-0"
    assert addon.inputs["appId"] == APP_ID, "the add-on must attach to the app's id, not its name"
    assert "config" not in addon.inputs, "no version option unless postgres_version is set"
    assert dev.one(APP).urn in addon.dependencies


def test_postgres_version_becomes_the_addon_version_option():
    run = run_program("dev", HEROKU_STACK | {"postgres_version": "16", "plan": "standard-0"})
    addon = run.one(ADDON)
    assert addon.inputs["config"] == {"version": "16"}
    assert addon.inputs["plan"] == "heroku-postgresql:standard-0"


def test_app_and_database_sit_inside_the_component(dev):
    component = dev.one("stitch:heroku:Database")
    for resource in (dev.one(APP), dev.one(ADDON)):
        assert resource.parent == component.urn, f"{resource.name} must be parented to the Database component"


def test_dev_stack_is_not_protected(dev):
    assert not dev.one(APP).protect and not dev.one(ADDON).protect


@pytest.mark.parametrize("stack", ["prod", "staging", "qa"])
def test_other_stacks_are_protected_by_default(stack):
    run = run_program(stack, HEROKU_STACK)
    assert run.one(APP).protect, f"App of stack {stack} must be protected"
    assert run.one(ADDON).protect, f"Addon of stack {stack} must be protected"


def test_protect_can_be_switched_off_explicitly():
    run = run_program("prod", HEROKU_STACK | {"protect": "false"})
    assert not run.one(ADDON).protect


def test_postgresql_provider_connects_to_the_heroku_database_with_ssl(dev):
    provider = dev.one(PG_PROVIDER)
    settings = {"sslmode": "require", "superuser": "false", "connectTimeout": "10", "maxConnections": "2"}
    assert provider.inputs == ADDON_DATABASE | settings, "the provider must connect to the Heroku database itself, not to `postgres`"
    assert provider.secret_inputs == {"password"}, "only the password is secret among the provider's inputs"


def test_grant_gives_every_database_privilege_to_the_database_user(dev):
    grant = dev.one(GRANT)
    to_the_owner = {"database": ADDON_DATABASE["database"], "role": ADDON_DATABASE["username"], "objectType": "database"}
    assert grant.inputs == to_the_owner | {"privileges": ["CONNECT", "CREATE", "TEMPORARY"]}


def test_grant_uses_the_owner_provider_and_waits_for_the_addon(dev):
    grant, provider = dev.one(GRANT), dev.one(PG_PROVIDER)
    assert grant.provider.startswith(provider.urn + "::"), f"Grant provider is {grant.provider}"
    assert dev.one(ADDON).urn in grant.dependencies
    assert dev.one(ADDON).urn in provider.dependencies


def test_grant_is_retained_on_destroy(dev):
    assert dev.one(GRANT).retain_on_delete, "destroying the stack must never REVOKE the database user's privileges"


def test_verification_runs_after_the_grant(dev):
    verification = dev.one(VERIFICATION)
    assert dev.one(GRANT).urn in verification.dependencies
    assert verification.inputs["database_url"] == ADDON_URL
    assert "database_url" in verification.secret_inputs
    assert verification.additional_secret_outputs == ["database_url"]
    assert verification.inputs["run_token"] == "", "without verify_on_every_up the checks run only on changes"


def test_verify_on_every_up_changes_the_run_token_each_run():
    tokens = {run_program("dev", HEROKU_STACK | {"verify_on_every_up": "true"}).one(VERIFICATION).inputs["run_token"] for _ in range(2)}
    assert len(tokens) == 2 and "" not in tokens


def test_outputs_are_the_fields_of_stitchs_form(dev):
    values = {name: output.value for name, output in dev.outputs.items()}
    assert values["host"] == "ec2-1-2-3-4.compute-1.amazonaws.com"
    assert values["port"] == 5432 and isinstance(values["port"], int)
    assert values["username"] == "u9abc"
    assert values["password"] == ADDON_PASSWORD, "a percent-encoded password must come out decoded"
    assert values["database"] == "d7xyz"
    assert values["ssl"] is True
    assert values["app_name"] == "acme-stitch-dev"
    # create-a-destination-v4.md's body: ssl a boolean, port a string; no name without a token (we send none).
    assert values["stitch_destination"] == {
        "type": "postgres",
        "properties": ADDON_DATABASE | {"ssl": True, "encryption_type": "none"},
        "ignore_unmapped_sources": True,
    }
    assert values["verification"]["ready"] is True


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("host", False), ("port", False), ("username", False), ("database", False), ("ssl", False),
        ("app_name", False), ("verification", False),
        ("password", True), ("database_url", True), ("stitch_destination", True),
    ],
)  # fmt: skip
def test_output_secrecy(dev, name, secret):
    assert dev.outputs[name].secret is secret, f"output {name} must {'' if secret else 'not '}be secret"


def test_database_url_is_secret_though_the_app_lookup_returns_it_unmarked():
    # The URL comes from the app lookup (its config vars as the app has them now, newer than the add-on's
    # state), which hands the value back unmarked: the program must mark it secret itself.
    live = "postgres://rotated:rotated-pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9"
    mocks = StitchMocks(app_config_vars={"DATABASE_URL": live})
    run = run_program("dev", HEROKU_STACK, mocks=mocks)
    assert any(call.token == "heroku:app/getApp:getApp" for call in mocks.calls), "the URL is read through the app lookup"
    assert run.outputs["database_url"].value == live, "the live value, not the add-on's state"
    assert run.outputs["database_url"].secret and run.outputs["password"].secret


def test_config_var_other_than_database_url_is_used():
    url = "postgres://amber:amber-pw@ec2-9-9-9-9.compute-1.amazonaws.com:5432/amberdb"
    run = run_program("dev", HEROKU_STACK, mocks=StitchMocks(config_var="HEROKU_POSTGRESQL_AMBER_URL", url=url))
    assert run.outputs["host"].value == "ec2-9-9-9-9.compute-1.amazonaws.com"
    assert run.outputs["username"].value == "amber"
    assert run.one(GRANT).inputs["role"] == "amber"


def test_no_resource_is_declared_when_config_is_invalid():
    with pytest.raises(Exception, match="app_name") as raised:
        run_program("dev", {"app_name": "Bad_Name", "heroku:apiKey": "hk"})
    assert "RunError" in type(raised.value).__name__


def test_heroku_api_key_in_plain_text_is_refused():
    with pytest.raises(Exception, match=r"heroku:apiKey: stored in plain text"):
        run_program("dev", HEROKU_STACK, secret=())


def test_heroku_api_key_from_the_environment_is_accepted(monkeypatch):
    monkeypatch.setenv("HEROKU_API_KEY", "hk-from-env")
    run = run_program("dev", {"app_name": "acme-stitch-dev"}, secret=())
    assert run.one(ADDON)


DESTROY_GUARD = "pulumi-python:dynamic/stitch:DestroyGuard"


@pytest.mark.parametrize(("stack", "protect"), [("dev", False), ("prod", True)])
def test_the_destroy_guard_depends_on_every_resource_and_carries_protect(stack, protect):
    run = run_program(stack, HEROKU_STACK)
    guard = run.one(DESTROY_GUARD)
    assert guard.inputs["protect"] is protect and guard.inputs["app_name"] == "acme-stitch-dev"
    others = {r.urn for r in run.registrations if r.type.startswith(("heroku:", "postgresql:", "pulumi-python:")) and r is not guard}
    assert others <= set(guard.dependencies), f"destroy could delete these before the guard: {others - set(guard.dependencies)}"


def test_protect_means_nothing_to_the_destroy_guard_of_a_url_stack():
    run = run_program("prod", {"source": "url", "database_url": ADDON_URL}, secret=("database_url",))
    assert run.one(DESTROY_GUARD).inputs["protect"] is False
