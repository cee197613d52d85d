"""Each Pulumi.<stack>.yaml as that stack's config, and every database source under the mocks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.pulumi_harness import ROOT, StitchMocks, run_program

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
LOCAL_OWNER = "postgres://heroku_owner:owner-pw@127.0.0.1:55432/stitch"
LOCAL_STITCH = "postgres://stitch_loader:loader%20pw@127.0.0.1:55432/stitch"


def stack_values(path: Path) -> tuple[str, dict[str, str]]:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = yaml.safe_load(path.read_text())["config"]
    return stack, {key: str(value) for key, value in config.items()}


def test_example_stacks_exist():
    assert {stack_values(p)[0] for p in STACK_FILES} >= {"dev", "staging", "prod", "local"}


@pytest.mark.parametrize("path", [p for p in STACK_FILES if "local" not in p.name], ids=lambda p: p.name)
def test_each_heroku_stack_file_runs_with_protect_as_named(path, monkeypatch):
    monkeypatch.setenv("HEROKU_API_KEY", "hk-from-env")
    stack, values = stack_values(path)
    run = run_program(stack, values, secret=())
    app = run.one("heroku:app/app:App")
    assert app.inputs["name"] == values["stitch-heroku:app_name"]
    expected = stack != "dev"
    assert app.protect is expected, f"{path.name}: protect should be {expected}"
    assert run.one("heroku:addon/addon:Addon").protect is expected


def test_local_stack_file_uses_the_url_source():
    _, values = stack_values(ROOT / "Pulumi.local.yaml")
    assert values["stitch-heroku:source"] == "url"
    assert "stitch-heroku:database_url" not in values, "the URL is set as a secret by the local script, not committed"


def test_existing_heroku_app_is_looked_up_and_never_managed():
    mocks = StitchMocks(app_config_vars={"DATABASE_URL": "postgres://a:b@h1:5432/d1", "HEROKU_POSTGRESQL_AMBER_URL": LOCAL_OWNER})
    run = run_program(
        "prod",
        {"source": "heroku-existing", "app_name": "acme-web", "database_config_var": "HEROKU_POSTGRESQL_AMBER_URL", "heroku:apiKey": "hk"},
        secret=("heroku:apiKey",),
        mocks=mocks,
    )
    assert not run.of_type("heroku:app/app:App") and not run.of_type("heroku:addon/addon:Addon")
    (lookup,) = [c for c in mocks.calls if c.token == "heroku:app/getApp:getApp"]
    assert lookup.args["name"] == "acme-web"
    assert run.outputs["host"].value == "127.0.0.1" and run.outputs["app_name"].value == "acme-web"
    assert run.outputs["database_url"].secret and run.outputs["password"].secret, "the lookup does not mark the URL secret; we must"
    assert run.one("postgresql:index/grant:Grant").inputs["role"] == "heroku_owner"


def test_existing_app_without_the_config_var_is_a_clear_error():
    mocks = StitchMocks(app_config_vars={"HEROKU_POSTGRESQL_AMBER_URL": LOCAL_OWNER})
    expected = r"'acme-web' has no config var DATABASE_URL: its database URL config vars are HEROKU_POSTGRESQL_AMBER_URL"
    with pytest.raises(Exception, match=expected):
        run_program("prod", {"source": "heroku-existing", "app_name": "acme-web", "heroku:apiKey": "hk"}, mocks=mocks)


def test_url_source_uses_no_heroku_at_all():
    mocks = StitchMocks()
    run = run_program("local", {"source": "url", "database_url": LOCAL_OWNER}, secret=("database_url",), mocks=mocks)
    assert not [r for r in run.registrations if r.type.startswith("heroku:")] and not mocks.calls
    assert run.outputs["app_name"].value is None
    assert run.one("pulumi:providers:postgresql").inputs["username"] == "heroku_owner"


def test_stitch_credential_gets_the_grant_outputs_and_verification():
    run = run_program(
        "local",
        {"source": "url", "database_url": LOCAL_OWNER, "stitch_url": LOCAL_STITCH},
        secret=("database_url", "stitch_url"),
    )
    provider = run.one("pulumi:providers:postgresql")
    assert provider.inputs["username"] == "heroku_owner", "the owner credential grants"
    assert run.one("postgresql:index/grant:Grant").inputs["role"] == "stitch_loader"
    assert run.outputs["username"].value == "stitch_loader" and run.outputs["password"].value == "loader pw"
    assert run.outputs["stitch_destination"].value["properties"]["username"] == "stitch_loader"
    assert run.one("pulumi-python:dynamic/stitch:Verification").inputs["database_url"] == LOCAL_STITCH


def test_stitch_credential_of_another_database_is_refused_for_a_heroku_source():
    elsewhere = "postgres://stitch_loader:pw@other.example.com:5432/otherdb"
    with pytest.raises(Exception, match=r"stitch_url: points at other.example.com:5432/otherdb, not the source database") as raised:
        run_program("dev", {"app_name": "acme-stitch-dev", "heroku:apiKey": "hk", "stitch_url": elsewhere},
                    secret=("heroku:apiKey", "stitch_url"))  # fmt: skip
    assert ":pw@" not in str(raised.value)


def test_stitch_credential_of_the_heroku_database_is_accepted():
    same = "postgres://stitch_loader:pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
    run = run_program(
        "dev", {"app_name": "acme-stitch-dev", "heroku:apiKey": "hk", "stitch_url": same}, secret=("heroku:apiKey", "stitch_url")
    )
    assert run.one("postgresql:index/grant:Grant").inputs["role"] == "stitch_loader"
    assert run.one("pulumi:providers:postgresql").inputs["username"] == "u9abc"
