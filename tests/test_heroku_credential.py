"""The `stitch` credential's provider and lookups against the Heroku double over real HTTP (its credentials are
real roles on the local PostgreSQL): create or adopt, wait until active, read, keep on delete, and errors that
name the fix and never the API key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from stitch_heroku.heroku_credential import (
    HerokuCredentialError,
    HerokuHttp,
    StitchCredentialProvider,
    data_api_url,
    find_database_addon,
    heroku_api_key,
    stable_user,
)

from tests.doubles.fake_heroku import FakeHeroku
from tests.support.provider_config import configured


@pytest.fixture
def addon(heroku: FakeHeroku) -> dict[str, Any]:
    heroku.create_app("acme-web")
    return heroku.provision_addon("acme-web", "standard-0")


def props(heroku: FakeHeroku, addon: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {"addon": addon["id"], "addon_name": addon["name"], "name": "stitch", "data_url": heroku.url}
    return base | {"activate_timeout": 30, "poll_seconds": 0.01} | extra


def credentials_provider(api_key: str) -> StitchCredentialProvider:
    """The provider as the provider host configures it, with the run's heroku:apiKey."""
    return configured(StitchCredentialProvider(), {"heroku:apiKey": api_key})


def data_calls(heroku: FakeHeroku) -> list[str]:
    return [call for call in heroku.calls() if "/postgres/v0/" in call]


def test_create_posts_the_name_waits_until_active_and_keeps_no_password(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    heroku.credential_provisioning_reads = 2
    created = credentials_provider(heroku.api_key).create(props(heroku, addon))
    path = f"/postgres/v0/databases/{addon['id']}/credentials"
    assert data_calls(heroku) == [f"GET {path}/stitch", f"POST {path}", *[f"GET {path}/stitch"] * 3]
    assert heroku.requests[1].body == {"name": "stitch"}, "heroku pg:credentials:create --name stitch"
    assert created.id == f"{addon['id']}:stitch"
    assert created.outs["user"] == heroku.role_name(addon["id"], "stitch") and created.outs["state"] == "active"
    assert created.outs["adopted"] is False
    password = heroku.addons[addon["id"]].credentials["stitch"].password
    assert password not in repr(created.outs), "the password lives in the app's config var, never in the state"


def test_an_existing_credential_is_adopted_without_a_post(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    heroku.attach_credential(addon["id"], "stitch", "STITCH_OTHER")
    created = credentials_provider(heroku.api_key).create(props(heroku, addon))
    assert created.outs["adopted"] is True and not [c for c in heroku.calls("POST") if "/credentials" in c]
    assert created.outs["user"] == heroku.role_name(addon["id"], "stitch")


def test_a_credential_that_never_becomes_active_is_a_clear_error(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    heroku.credential_provisioning_reads = 10_000
    still = r"was still 'provisioning' after 0\.05 s: run `pulumi up` \(.*\) again later \(it adopts"
    with pytest.raises(HerokuCredentialError, match=still):
        credentials_provider(heroku.api_key).create(props(heroku, addon, activate_timeout=0.05))


def test_an_essential_database_refuses_with_herokus_words(heroku: FakeHeroku) -> None:
    heroku.create_app("acme-small")
    small = heroku.provision_addon("acme-small", "essential-0")
    with pytest.raises(HerokuCredentialError, match="You can't create a custom credential on Essential-tier databases") as refused:
        credentials_provider(heroku.api_key).create(props(heroku, small))
    assert heroku.api_key not in str(refused.value)


def test_a_wrong_key_names_the_fix_and_not_the_key(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    with pytest.raises(HerokuCredentialError, match=r"with 401: Invalid credentials provided\. Fix: the Heroku API key is not valid"):
        credentials_provider("not-the-key-4711").create(props(heroku, addon))
    assert "not-the-key-4711" not in repr(heroku.requests)


def test_read_sees_the_credential_and_drops_it_once_heroku_has_not_got_it(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    provider = credentials_provider(heroku.api_key)
    created = provider.create(props(heroku, addon))
    read = provider.read(created.id, created.outs)
    assert read.id == created.id and read.outs["user"] == created.outs["user"]
    del heroku.addons[addon["id"]].credentials["stitch"]  # `heroku pg:credentials:destroy --name stitch`
    assert provider.read(created.id, created.outs).id == ""


def test_delete_keeps_the_credential_and_says_how_to_remove_it(
    heroku: FakeHeroku, addon: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    provider = credentials_provider(heroku.api_key)
    created = provider.create(props(heroku, addon))
    before = len(heroku.requests)
    provider.delete(created.id, created.outs)
    assert len(heroku.requests) == before, "delete calls nothing"
    assert heroku.credential_state(addon["id"], "stitch") == "active"
    assert f"heroku pg:credentials:destroy {addon['name']} --name stitch" in capsys.readouterr().err


def test_diff_replaces_for_another_addon_and_a_key_saved_by_an_earlier_version_is_dropped_by_an_update(
    heroku: FakeHeroku, addon: dict[str, Any]
) -> None:
    olds = props(heroku, addon)
    assert credentials_provider(heroku.api_key).diff("x", olds, olds | {"addon": "other"}).replaces == ["addon"]
    assert not credentials_provider(heroku.api_key).diff("x", olds, dict(olds)).changes
    legacy = olds | {"api_key": "a-key-saved-in-the-state"}
    dropped = credentials_provider(heroku.api_key).diff("x", legacy, olds)
    assert dropped.changes and dropped.replaces == [], "an update, never a replacement"
    assert "api_key" not in credentials_provider(heroku.api_key).update("x", legacy, olds).outs


def test_read_after_the_key_is_rotated_uses_the_runs_key_not_the_states(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    created = credentials_provider(heroku.api_key).create(props(heroku, addon))
    stale = {**created.outs, "api_key": heroku.api_key}  # as an earlier version kept it
    heroku.api_key = "heroku-api-key-rotated"  # `heroku authorizations:rotate`: the old key is refused from now on
    read = credentials_provider(heroku.api_key).read(created.id, stale)
    assert read.id == created.id and read.outs["user"] == created.outs["user"] and "api_key" not in read.outs
    with pytest.raises(HerokuCredentialError, match="401"):
        credentials_provider("heroku-api-key-s3cr3t").read(created.id, created.outs)


def test_read_during_a_rotation_keeps_the_credentials_own_role_not_the_temporary_one(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    provider = credentials_provider(heroku.api_key)
    created = provider.create(props(heroku, addon))
    temporary = heroku.begin_rotation(addon["id"], "stitch")
    read = provider.read(created.id, created.outs)
    assert (read.outs["user"], read.outs["state"]) == (created.outs["user"], "rotating") and temporary != created.outs["user"]
    as_the_cli_shows_it = [{"user": "jeff", "state": "revoking"}, {"user": "jeff-rotating", "state": "active"}]
    assert stable_user({"state": "rotating", "credentials": as_the_cli_shows_it}, None) == "jeff"
    heroku.finish_rotation(addon["id"], "stitch")
    assert provider.read(created.id, read.outs).outs["user"] == created.outs["user"]


def test_a_run_without_any_key_says_how_to_give_one(heroku: FakeHeroku, addon: dict[str, Any], monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("HEROKU_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path))  # no netrc there
    with pytest.raises(HerokuCredentialError, match=r"no Heroku API key: run `heroku login`, or pulumi config set --secret heroku:apiKey"):
        configured(StitchCredentialProvider(), {}).read("x", props(heroku, addon))


def test_the_addon_behind_an_apps_database_and_its_plan_are_found_read_only(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    found = find_database_addon(HerokuHttp(heroku.url, heroku.api_key), "acme-web", "DATABASE_URL")
    assert (found.id, found.name, found.plan, found.one_credential) == (addon["id"], addon["name"], "standard-0", False)
    assert found.app_id == next(app.id for app in heroku.apps.values() if app.name == "acme-web")
    assert heroku.calls() == ["GET /apps/acme-web/addon-attachments/DATABASE", f"GET /addons/{addon['id']}"]


def test_a_database_shared_from_another_app_is_attached_to_the_app_the_stack_names(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    """`heroku addons:attach <addon> -a acme-reports --as DATABASE`: the credential goes to acme-reports, whose
    STITCH_DATABASE_URL the program reads, never to acme-web, which owns the add-on."""
    reports = heroku.create_app("acme-reports")
    heroku.attach_addon(addon["id"], "acme-reports", "DATABASE")
    found = find_database_addon(HerokuHttp(heroku.url, heroku.api_key), "acme-reports", "DATABASE_URL")
    assert found.id == addon["id"] and found.app_id == reports["id"] != addon["app"]["id"]


def test_an_app_without_that_attachment_is_a_clear_error(heroku: FakeHeroku, addon: dict[str, Any]) -> None:
    with pytest.raises(HerokuCredentialError, match=r"has no add-on attachment HEROKU_POSTGRESQL_AMBER .*database_config_var"):
        find_database_addon(HerokuHttp(heroku.url, heroku.api_key), "acme-web", "HEROKU_POSTGRESQL_AMBER_URL")


def test_the_data_api_host_is_the_clis() -> None:
    assert data_api_url({}) == "https://api.data.heroku.com"
    assert data_api_url({"HEROKU_DATA_HOST": "data.example.com"}) == "https://data.example.com"
    assert data_api_url({"HEROKU_DATA_HOST": "http://127.0.0.1:8123"}) == "http://127.0.0.1:8123"
    with pytest.raises(HerokuCredentialError, match="clear text"):
        data_api_url({"HEROKU_DATA_HOST": "http://data.example.com"})


def test_the_api_key_comes_from_where_the_heroku_provider_takes_it(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.heroku.com\n  login dev@example.com\n  password from-netrc\n")
    environ = {"NETRC_PATH": str(netrc)}
    assert heroku_api_key({}, environ) == "from-netrc"
    assert heroku_api_key({}, environ | {"HEROKU_API_KEY": "from-env"}) == "from-env"
    assert heroku_api_key({"heroku:apiKey": "from-config"}, environ | {"HEROKU_API_KEY": "from-env"}) == "from-config"
    assert heroku_api_key({}, {"NETRC_PATH": str(tmp_path / "none")}) is None


def test_a_run_of_another_project_without_any_key_is_told_the_destinations_input(
    heroku: FakeHeroku, addon: dict[str, Any], monkeypatch, tmp_path
) -> None:
    from stitch_heroku.config import CALLER_PROJECT

    monkeypatch.delenv("HEROKU_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path))
    with pytest.raises(HerokuCredentialError) as raised:
        configured(StitchCredentialProvider(), {}).read("x", props(heroku, addon, **{CALLER_PROJECT: "acme-warehouse"}))
    assert "the Destination's input `heroku_api_key` (`herokuApiKey` in TypeScript and YAML)" in str(raised.value), raised.value
    assert "pulumi config set" not in str(raised.value)
