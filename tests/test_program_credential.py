"""The program's shape for Stitch's own Heroku credential (stitch_credential), under Pulumi's mocks: which
resources exist per plan and source, what they are given, and whose credential Stitch ends up with."""

from __future__ import annotations

import re

import pytest
from stitch_heroku.config import ONE_CREDENTIAL_REASON
from stitch_heroku.heroku_credential import OWNER_CHOSEN

from tests.support.pulumi_harness import ADDON_ID, APP_ID, HEROKU_STACK, STITCH_PASSWORD, StitchMocks, run_program

CREDENTIAL = "pulumi-python:dynamic/stitch:HerokuCredential"
ATTACHMENT = "heroku:addon/attachment:Attachment"
ADDON = "heroku:addon/addon:Addon"
APP = "heroku:app/app:App"
GRANT = "postgresql:index/grant:Grant"
VERIFICATION = "pulumi-python:dynamic/stitch:Verification"
EXISTING = {"source": "heroku-existing", "app_name": "acme-web", "heroku:apiKey": "hk-test-key"}


@pytest.fixture(scope="module")
def standard():
    return run_program("dev", HEROKU_STACK | {"plan": "standard-0"})


def test_a_standard_plan_gets_a_credential_named_stitch_on_the_addon(standard):
    credential = standard.one(CREDENTIAL)
    assert credential.inputs["name"] == "stitch"
    assert credential.inputs["addon"] == ADDON_ID, "the credential belongs to the stack's add-on"
    assert credential.inputs["data_url"] == "https://api.data.heroku.com", "the CLI's Data API host (lib/pg/host.ts)"
    assert standard.one(ADDON).urn in credential.dependencies


def test_the_api_key_is_not_in_the_credentials_inputs(standard):
    """The provider takes the key from the run's configuration (configure()), so the state never holds one."""
    credential = standard.one(CREDENTIAL)
    assert "api_key" not in credential.inputs and "hk-test-key" not in repr(credential.inputs)


def test_the_credential_is_attached_as_stitch_database_after_it_exists(standard):
    attachment = standard.one(ATTACHMENT)
    assert attachment.inputs == {
        "appId": APP_ID,
        "addonId": ADDON_ID,
        "name": "STITCH_DATABASE",
        "namespace": "credential:stitch",
    }, attachment.inputs
    assert standard.one(CREDENTIAL).urn in attachment.dependencies


def test_stitch_gets_the_stitch_roles_url_and_the_grant_goes_to_that_role(standard):
    assert standard.outputs["username"].value == "stitch_5e1f"
    assert standard.outputs["password"].value == STITCH_PASSWORD and standard.outputs["password"].secret
    assert standard.one(GRANT).inputs["role"] == "stitch_5e1f"
    assert standard.one("pulumi:providers:postgresql").inputs["username"] == "u9abc", "the owner grants, Stitch's role receives"
    assert standard.one(VERIFICATION).inputs.get("owner_reason") is None


def test_an_essential_plan_keeps_the_owner_with_the_reason_in_the_verification():
    run = run_program("dev", HEROKU_STACK)
    assert not run.of_type(CREDENTIAL) and not run.of_type(ATTACHMENT)
    assert run.outputs["username"].value == "u9abc"
    assert run.one(VERIFICATION).inputs["owner_reason"] == ONE_CREDENTIAL_REASON
    assert ONE_CREDENTIAL_REASON == "essential plans have one credential; standard-0 and up allow a dedicated one"


def test_owner_by_choice_on_a_standard_plan_says_so():
    run = run_program("dev", HEROKU_STACK | {"plan": "standard-0", "stitch_credential": "owner"})
    assert not run.of_type(CREDENTIAL)
    assert run.one(VERIFICATION).inputs["owner_reason"] == OWNER_CHOSEN


def test_dedicated_on_an_essential_plan_is_refused_before_anything_is_declared():
    with pytest.raises(Exception, match="essential plans have one credential") as refused:
        run_program("dev", HEROKU_STACK | {"stitch_credential": "dedicated"})
    assert "pulumi config rm stitch_credential" in str(refused.value)


def test_the_users_own_stitch_config_var_means_no_credential_is_made():
    run = run_program("dev", HEROKU_STACK | {"plan": "standard-0", "stitch_config_var": "STITCH_DATABASE_URL"})
    assert not run.of_type(CREDENTIAL) and not run.of_type(ATTACHMENT)
    assert run.one(VERIFICATION).inputs.get("owner_reason") is None


def test_heroku_existing_on_a_standard_plan_gets_a_credential_on_the_existing_addon():
    mocks = StitchMocks(existing_plan="standard-0")
    run = run_program("prod", EXISTING, mocks=mocks)
    assert mocks.lookups == [("acme-web", "DATABASE_URL")], "the add-on behind the app's database is looked up once"
    assert run.one(CREDENTIAL).inputs["addon"] == "0c1d2e3f-addon"
    assert run.one(ATTACHMENT).inputs["appId"] == "existing-app-id" and run.one(ATTACHMENT).inputs["addonId"] == "0c1d2e3f-addon"
    assert not run.of_type(APP) and not run.of_type(ADDON), "heroku-existing never manages the app or the add-on"
    assert run.outputs["username"].value == "stitch_5e1f"


def test_heroku_existing_on_an_essential_plan_keeps_the_owner_with_the_reason():
    mocks = StitchMocks(existing_plan="essential-1")
    run = run_program("prod", EXISTING, mocks=mocks)
    assert not run.of_type(CREDENTIAL) and not run.of_type(ATTACHMENT)
    assert run.one(VERIFICATION).inputs["owner_reason"] == ONE_CREDENTIAL_REASON


def test_heroku_existing_dedicated_on_an_essential_plan_is_an_error_naming_the_plan():
    with pytest.raises(Exception, match=r"the add-on's plan essential-1 has none: essential plans have one credential"):
        run_program("prod", EXISTING | {"stitch_credential": "dedicated"}, mocks=StitchMocks(existing_plan="essential-1"))


def test_heroku_existing_with_owner_makes_no_credential_and_reads_the_plan_once_for_its_limits():
    mocks = StitchMocks(existing_plan="standard-0")
    run = run_program("prod", EXISTING | {"stitch_credential": "owner"}, mocks=mocks)
    assert mocks.lookups == [("acme-web", "DATABASE_URL")], "one read-only lookup: the add-on's plan gives the capacity limits"
    assert not run.of_type(CREDENTIAL)
    verification = run.one(VERIFICATION).inputs
    assert verification["owner_reason"] == OWNER_CHOSEN
    assert verification["capacity_limits"]["plan"] == "standard-0" and verification["capacity_limits"]["storage_bytes"] == 64 * 10**9


def test_heroku_existing_dedicated_reads_the_plan_once_for_both():
    mocks = StitchMocks(existing_plan="standard-2")
    run = run_program("prod", EXISTING, mocks=mocks)
    assert len(mocks.lookups) == 1 and run.one(VERIFICATION).inputs["capacity_limits"]["plan"] == "standard-2"


def test_the_capacity_limits_follow_the_plan_and_storage_limit_gb():
    run = run_program("dev", HEROKU_STACK)
    limits = run.one(VERIFICATION).inputs["capacity_limits"]
    assert (limits["plan"], limits["storage_bytes"], limits["table_limit"]) == ("essential-0", 10**9, 4000)
    run = run_program("dev", HEROKU_STACK | {"storage_limit_gb": "0.5"})
    limits = run.one(VERIFICATION).inputs["capacity_limits"]
    assert (limits["storage_bytes"], limits["table_limit"], limits["origin"]) == (5 * 10**8, 4000, "storage_limit_gb 0.5")


def test_the_data_api_host_follows_heroku_data_host(monkeypatch):
    monkeypatch.setenv("HEROKU_DATA_HOST", "data.example.com")
    run = run_program("dev", HEROKU_STACK | {"plan": "standard-0"})
    assert run.one(CREDENTIAL).inputs["data_url"] == "https://data.example.com"


def test_a_clear_text_data_api_url_is_refused_unless_it_is_loopback(monkeypatch):
    monkeypatch.setenv("HEROKU_DATA_HOST", "http://data.example.com")
    with pytest.raises(Exception, match=re.escape("HEROKU_DATA_HOST='http://data.example.com' is not a host for Heroku's Data API")):
        run_program("dev", HEROKU_STACK | {"plan": "standard-0"})
