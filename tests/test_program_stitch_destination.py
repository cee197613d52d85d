"""The Stitch destination in the real program, under Pulumi's mocks: there only with a token, after
the grant and the verification, with its secrets secret."""

from __future__ import annotations

import pytest

from tests.support.pulumi_harness import ADDON_PASSWORD, HEROKU_STACK, run_program

DESTINATION = "pulumi-python:dynamic/stitch:Destination"
MARKER = "pulumi-python:dynamic/stitch:DestinationMarker"
VERIFICATION = "pulumi-python:dynamic/stitch:Verification"
GRANT = "postgresql:index/grant:Grant"
TOKEN = "stitch-connect-token"
WITH_TOKEN = HEROKU_STACK | {"stitch:accessToken": TOKEN}
SECRETS = ("heroku:apiKey", "stitch:accessToken")


@pytest.fixture(scope="module")
def dev():
    return run_program("dev", WITH_TOKEN, secret=SECRETS)


def test_without_a_token_the_program_is_unchanged(monkeypatch):
    monkeypatch.delenv("STITCH_ACCESS_TOKEN", raising=False)
    run = run_program("dev", HEROKU_STACK)
    assert not run.of_type(DESTINATION)
    assert not {"stitch_destination_id", "stitch_connection_check"} & run.outputs.keys()
    with_token = run_program("dev", WITH_TOKEN, secret=SECRETS)
    # The same resources, as a multiset: independent components may register in either order.
    assert sorted(r.type for r in with_token.registrations if r.type not in (DESTINATION, MARKER)) == sorted(
        r.type for r in run.registrations
    )
    assert with_token.one(MARKER).urn in with_token.one(DESTINATION).dependencies, "the marker is in the state before the POST"


def test_the_destination_comes_after_the_grant_and_the_verification(dev):
    destination = dev.one(DESTINATION)
    assert dev.one(GRANT).urn in destination.dependencies
    assert dev.one(VERIFICATION).urn in destination.dependencies
    assert [r.type for r in dev.registrations[-2:]] == [DESTINATION, "pulumi-python:dynamic/stitch:DestroyGuard"]


def test_the_destination_gets_the_stacks_own_settings(dev):
    inputs = dev.one(DESTINATION).inputs
    body = dev.outputs["stitch_destination"].value
    assert inputs["properties"] == {**body["properties"], "ssl": "true"}, "the state keeps the form's strings: no diff for old stacks"
    assert inputs["properties"]["password"] == ADDON_PASSWORD
    assert inputs["name"] == "stitch-heroku-dev"
    assert inputs["api_url"] == "https://api.stitchdata.com"
    assert (inputs["adopt_id"], inputs["keep_on_delete"], inputs["check_timeout"]) == ("", False, 300)
    assert inputs["map_unmapped_sources"] is False, "other sources of the account are not mapped here unless asked"


def test_mapping_the_accounts_unmapped_sources_is_asked_for_by_config():
    run = run_program("dev", WITH_TOKEN | {"stitch_map_unmapped_sources": "true"}, secret=SECRETS)
    assert run.one(DESTINATION).inputs["map_unmapped_sources"] is True


def test_the_properties_are_secret_and_the_token_is_not_in_the_state(dev):
    """The provider takes the token from the run's configuration (configure()), so the state never holds one."""
    destination = dev.one(DESTINATION)
    assert "properties" in destination.secret_inputs and set(destination.additional_secret_outputs) == {"properties"}
    assert "access_token" not in destination.inputs and TOKEN not in repr(destination.inputs)


def test_the_destination_id_and_check_status_are_plain_outputs(dev):
    assert (dev.outputs["stitch_destination_id"].value, dev.outputs["stitch_connection_check"].value) == ("110397", "succeeded")
    assert not dev.outputs["stitch_destination_id"].secret and not dev.outputs["stitch_connection_check"].secret


def test_a_token_from_the_environment_is_enough_and_is_not_kept(monkeypatch):
    monkeypatch.setenv("STITCH_ACCESS_TOKEN", "token-from-env")
    destination = run_program("dev", HEROKU_STACK).one(DESTINATION)
    assert "access_token" not in destination.inputs and "token-from-env" not in repr(destination.inputs)


def test_adopting_keeps_the_destination_and_protected_stacks_keep_theirs():
    adopted = run_program("dev", WITH_TOKEN | {"stitch_destination_id": "110397"}, secret=SECRETS).one(DESTINATION).inputs
    assert (adopted["adopt_id"], adopted["keep_on_delete"]) == ("110397", True)
    assert run_program("prod", WITH_TOKEN, secret=SECRETS).one(DESTINATION).inputs["keep_on_delete"] is True
    said = run_program("prod", WITH_TOKEN | {"stitch_keep_destination": "false"}, secret=SECRETS).one(DESTINATION)
    assert said.inputs["keep_on_delete"] is False


def test_a_separate_stitch_credential_is_what_stitch_gets():
    stitch_url = "postgres://stitch_loader:loader-pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
    run = run_program("dev", WITH_TOKEN | {"stitch_url": stitch_url}, secret=(*SECRETS, "stitch_url"))
    properties = run.one(DESTINATION).inputs["properties"]
    assert (properties["username"], properties["password"]) == ("stitch_loader", "loader-pw")


def test_a_plain_text_token_is_refused_and_not_echoed():
    with pytest.raises(Exception, match=r"stitch:accessToken: stored in plain text") as raised:
        run_program("dev", WITH_TOKEN, secret=("heroku:apiKey",))
    assert TOKEN not in str(raised.value)


GUARD = "pulumi-python:dynamic/stitch:DestinationGuard"


def guard_inputs(run) -> dict:
    """What the guard records: its inputs but the questions it only asks (source_guard.QUESTIONS)."""
    from stitch_heroku.source_guard import QUESTIONS

    return {key: value for key, value in run.one(GUARD).inputs.items() if key not in QUESTIONS}


def test_the_destination_guard_comes_first_and_records_what_the_run_does(monkeypatch):
    monkeypatch.delenv("STITCH_ACCESS_TOKEN", raising=False)
    managed = run_program("dev", WITH_TOKEN, secret=SECRETS)
    # Components (stitch:<module>:<Name>) are records only; every resource with a provider waits for the guard.
    custom = [r for r in managed.registrations if not r.type.startswith(("stitch:", "stitch-heroku:"))]
    assert custom[0].type == GUARD, "its check must run before any other step"
    assert guard_inputs(managed) == {"stitch_destination": "managed", "destination_name": "stitch-heroku-dev"}
    assert managed.one(GUARD).dependencies == []
    assert guard_inputs(run_program("dev", HEROKU_STACK)) == {"stitch_destination": "none"}


def test_released_keeps_a_record_of_the_destination_without_a_token_and_retains_it(monkeypatch):
    monkeypatch.delenv("STITCH_ACCESS_TOKEN", raising=False)
    run = run_program("dev", HEROKU_STACK | {"stitch_destination": "released"})
    assert guard_inputs(run) == {"stitch_destination": "released"}
    record = run.one(DESTINATION)
    assert record.name == "stitch-heroku-stitch-destination", "the same name, so the engine takes it for the managed one"
    assert record.inputs["released"] is True and not record.inputs.get("access_token") and not record.inputs.get("properties")
    assert record.retain_on_delete, "once undeclared, the engine must drop it without calling delete"
    with_token = run_program("dev", WITH_TOKEN | {"stitch_destination": "released"}, secret=SECRETS)
    assert with_token.one(DESTINATION).inputs["released"] is True and not with_token.one(DESTINATION).inputs.get("access_token")


def test_managed_destinations_are_not_released(dev):
    assert dev.one(DESTINATION).inputs["released"] is False and not dev.one(DESTINATION).retain_on_delete


def test_a_stitch_destination_setting_other_than_managed_or_released_is_refused():
    with pytest.raises(Exception, match=r'stitch_destination: "forget" is not "managed" or "released"'):
        run_program("dev", HEROKU_STACK | {"stitch_destination": "forget"})


def test_the_stitch_destination_output_is_the_post_body_the_stack_sends(dev):
    body = dev.outputs["stitch_destination"].value
    assert set(body) == {"type", "name", "properties", "ignore_unmapped_sources"}
    assert (body["type"], body["name"], body["ignore_unmapped_sources"]) == ("postgres", "stitch-heroku-dev", True)
    assert body["properties"]["ssl"] is True and body["properties"]["port"] == "5432"
    mapped = run_program("dev", WITH_TOKEN | {"stitch_map_unmapped_sources": "true"}, secret=SECRETS)
    assert mapped.outputs["stitch_destination"].value["ignore_unmapped_sources"] is False


def test_the_destinations_status_in_stitch_is_a_plain_output(dev):
    assert dev.outputs["stitch_status"].value == "active" and not dev.outputs["stitch_status"].secret
