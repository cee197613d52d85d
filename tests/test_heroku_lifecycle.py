"""The Heroku side of the program under Pulumi's mocks: live URLs, the Stitch credential's config var,
the connection pooler and the guard against switching `source` (issue: Heroku lifecycle).

The real heroku provider cannot be built here (docs/toolchain.md); the engine-level proof
of the same behaviour runs against the stand-in plugin and the Heroku API double in
tests/test_real_engine_heroku.py.
"""

from __future__ import annotations

import pytest
from stitch_heroku.heroku_config_vars import config_var_value, database_config_var, is_pool_var
from stitch_heroku.source_guard import SourceGuardProvider, switch_refusal

from tests.support.pulumi_harness import ADDON_URL, HEROKU_STACK, StitchMocks, run_program

GUARD = "pulumi-python:dynamic/stitch:SourceGuard"
ROTATED = "postgres://u9abc:n3w-passw0rd@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
STITCH = "postgres://stitch_x:st1tch-pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
POOL = "postgres://u9abc:pool-pw@ec2-1-2-3-4.compute-1.amazonaws.com:6432/d7xyz"


@pytest.mark.parametrize(
    ("listed", "chosen"),
    [
        (["DATABASE_URL"], "DATABASE_URL"),
        (["DATABASE_CONNECTION_POOL_URL", "DATABASE_URL"], "DATABASE_URL"),
        (["HEROKU_POSTGRESQL_AMBER_URL"], "HEROKU_POSTGRESQL_AMBER_URL"),
        (["DATABASE_CONNECTION_POOL_URL", "HEROKU_POSTGRESQL_AMBER_URL"], "HEROKU_POSTGRESQL_AMBER_URL"),
        (["DATABASE_URL", "HEROKU_POSTGRESQL_AMBER_URL"], "DATABASE_URL"),
    ],
)
def test_the_database_var_is_never_the_pooler(listed, chosen):
    assert database_config_var(listed) == chosen


def test_an_addon_with_only_a_pool_url_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no database URL config var \(it lists \['DATABASE_CONNECTION_POOL_URL'\]\)"):
        database_config_var(["DATABASE_CONNECTION_POOL_URL"])
    assert is_pool_var("DATABASE_CONNECTION_POOL_URL") and not is_pool_var("DATABASE_URL")


def test_a_missing_stitch_credential_var_names_the_heroku_commands():
    with pytest.raises(ValueError) as raised:
        config_var_value("acme-stitch-dev", "STITCH_DATABASE_URL", {"DATABASE_URL": ADDON_URL}, key="stitch_config_var")
    message = str(raised.value)
    assert "heroku pg:credentials:create --name stitch -a acme-stitch-dev" in message
    assert "heroku addons:attach <addon> --credential stitch --as STITCH_DATABASE -a acme-stitch-dev" in message
    assert "n3w" not in message and "p%40ss" not in message


def test_the_url_is_read_live_from_the_app_not_from_the_addons_saved_values():
    # The add-on's saved configVarValues still hold the old URL (what the state has after a rotation);
    # the app lookup, which runs on every up, has the new one: the program must take the live one.
    mocks = StitchMocks(app_config_vars={"DATABASE_URL": ROTATED})
    run = run_program("dev", HEROKU_STACK, mocks=mocks)
    assert run.outputs["password"].value == "n3w-passw0rd"
    assert run.one("pulumi:providers:postgresql").inputs["password"] == "n3w-passw0rd"
    assert "n3w-passw0rd" in run.one("pulumi-python:dynamic/stitch:Verification").inputs["database_url"]
    (lookup,) = [c for c in mocks.calls if c.token == "heroku:app/getApp:getApp"]
    assert lookup.args["name"] == "0b9f0c2e-app", "by the app's id: a renamed app is found before its rename"


def test_the_pool_url_never_reaches_stitch():
    mocks = StitchMocks(
        addon_config_vars=["DATABASE_CONNECTION_POOL_URL", "DATABASE_URL"],
        app_config_vars={"DATABASE_CONNECTION_POOL_URL": POOL, "DATABASE_URL": ADDON_URL},
    )
    run = run_program("dev", HEROKU_STACK, mocks=mocks)
    assert run.outputs["port"].value == 5432
    assert "pool-pw" not in str(run.outputs["stitch_destination"].value)


@pytest.mark.parametrize("source", ["heroku", "heroku-existing"])
def test_the_stitch_credential_comes_live_from_its_config_var(source):
    config = {**HEROKU_STACK, "stitch_config_var": "STITCH_DATABASE_URL"}
    if source == "heroku-existing":
        config |= {"source": "heroku-existing"}
    mocks = StitchMocks(app_config_vars={"DATABASE_URL": ADDON_URL, "STITCH_DATABASE_URL": STITCH})
    run = run_program("dev", config, mocks=mocks)
    assert run.outputs["username"].value == "stitch_x" and run.outputs["password"].value == "st1tch-pw"
    assert run.outputs["password"].secret and run.outputs["database_url"].secret
    assert run.one("postgresql:index/grant:Grant").inputs["role"] == "stitch_x"
    assert run.one("pulumi:providers:postgresql").inputs["username"] == "u9abc", "the owner credential grants"


def test_the_guard_remembers_the_source_and_depends_on_what_the_stack_created():
    run = run_program("dev", HEROKU_STACK)
    guard = run.one(GUARD)
    assert guard.inputs["source"] == "heroku" and guard.inputs["app_name"] == "acme-stitch-dev"
    app, addon = run.one("heroku:app/app:App"), run.one("heroku:addon/addon:Addon")
    assert {app.urn, addon.urn} <= set(guard.dependencies)
    assert guard.inputs["app_urn"] == app.urn


@pytest.mark.parametrize("new_source", ["heroku-existing", "url"])
def test_switching_away_from_a_created_database_is_refused_with_the_way_out(new_source):
    olds = {"source": "heroku", "app_name": "acme-stitch-dev", "app_urn": "urn:pulumi:dev::stitch-heroku::heroku:app/app:App::app"}
    result = SourceGuardProvider().check(olds, {"source": new_source, "app_name": None, "app_urn": None})
    (failure,) = result.failures
    assert failure.property == "source"
    assert f'With source "{new_source}" the next `pulumi up` would delete them' in failure.reason
    assert "pulumi state delete --force --target-dependents 'urn:pulumi:dev::stitch-heroku::heroku:app/app:App::app'" in failure.reason
    assert "pulumi config set source heroku, then pulumi destroy" in failure.reason


@pytest.mark.parametrize(
    ("old", "new"), [(None, "heroku"), (None, "url"), ("heroku", "heroku"), ("url", "heroku"), ("heroku-existing", "url")]
)
def test_switches_that_delete_nothing_pass(old, new):
    olds = {} if old is None else {"source": old}
    assert switch_refusal(olds, {"source": new}) is None
    assert SourceGuardProvider().check(olds, {"source": new}).failures == []


@pytest.mark.parametrize(
    ("source", "command"),
    [
        ("heroku", "run `pulumi up`, which reads the current URL from the app's config vars"),
        ("heroku-existing", "run `pulumi up`, which reads the current URL from the app's config vars"),
        ("url", "pulumi config set --secret database_url (it asks for the value); for Stitch's own credential, stitch_url"),
        (None, "heroku config:get DATABASE_URL -a <app>"),
    ],
)
def test_a_refused_password_names_the_command_for_the_stacks_source(source, command):
    from stitch_heroku.postgres_sql import connect_error_fix

    fix = connect_error_fix('FATAL:  password authentication failed for user "u9abc"', "h:5432", source=source)
    assert command in fix
    assert "pulumi refresh &&" not in fix
    if source is not None:
        assert "`pulumi up --refresh` (CI's `refresh: true`)" in fix and "add `--run-program` to either" in fix


def test_the_verification_resource_carries_the_source():
    run = run_program("dev", HEROKU_STACK)
    assert run.one("pulumi-python:dynamic/stitch:Verification").inputs["source"] == "heroku"


def test_a_run_without_the_token_on_a_stack_that_manages_a_destination_is_refused_with_both_ways_out():
    from stitch_heroku.source_guard import token_refusal

    olds = {"stitch_destination": "managed", "destination_name": "stitch-heroku-dev"}
    (failure,) = SourceGuardProvider().check(olds, {"stitch_destination": "none", "destination_name": None}).failures
    assert failure.property == "stitch_destination" and '"stitch-heroku-dev"' in failure.reason
    for way_out in ("pulumi config set --secret stitch:accessToken", "export STITCH_ACCESS_TOKEN", "stitch_destination released"):
        assert way_out in failure.reason
    for new in ("managed", "released"):
        assert token_refusal(olds, {"stitch_destination": new}) is None
    for old in (None, "none", "released"):
        assert token_refusal({"stitch_destination": old}, {"stitch_destination": "none"}) is None
