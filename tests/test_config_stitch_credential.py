"""The settings of Stitch's credential: stitch_credential, stitch_role_name, stitch_password_version."""

from __future__ import annotations

import pytest
from stitch_heroku.config import ConfigError, validate

OWNER_URL = "postgres://owner:pw@db.example.com:5432/stitchdb"
OWN_URL = "postgres://loader:pw@db.example.com:5432/stitchdb"


def check(raw):
    return validate("dev", raw, secret_keys={"database_url", "stitch_url"}, heroku_key="secret")


def problems(raw) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        check(raw)
    return raised.value.problems


def url(**values: str) -> dict[str, str]:
    return {"source": "url", "database_url": OWNER_URL, **values}


def test_a_url_stack_gives_stitch_a_role_of_its_own_by_default():
    cfg = check(url())
    assert (cfg.stitch_credential, cfg.stitch_role_name, cfg.stitch_password_version) == ("dedicated", "stitch", 1)


def test_the_owners_credential_can_be_chosen():
    assert check(url(stitch_credential="owner")).stitch_credential == "owner"


def test_a_stitch_url_is_the_users_own_credential_and_the_setting_is_implicit():
    cfg = check(url(stitch_url=OWN_URL))
    assert cfg.stitch_credential is None and cfg.stitch_url == OWN_URL


@pytest.mark.parametrize("own", [{"stitch_url": OWN_URL}, {"app_name": "acme-stitch", "stitch_config_var": "STITCH_URL"}])
def test_setting_it_next_to_the_users_own_credential_names_both_keys(own):
    raw = (url(**own) if "stitch_url" in own else {"source": "heroku-existing", **own}) | {"stitch_credential": "dedicated"}
    (message,) = problems(raw)
    own_key = next(iter(k for k in own if k.startswith("stitch_")))
    assert message.startswith("stitch_credential:") and own_key in message
    assert "pulumi config rm stitch_credential" in message and f"pulumi config rm {own_key}" in message


def test_an_unknown_kind_is_refused_with_both_kinds():
    (message,) = problems(url(stitch_credential="shared"))
    assert '"shared"' in message and '"dedicated"' in message and '"owner"' in message


@pytest.mark.parametrize("name", ["stitch", "stitch_loader_2", "_stitch", "s" * 63])
def test_valid_role_names(name):
    assert check(url(stitch_role_name=name)).stitch_role_name == name


@pytest.mark.parametrize("name", ["Stitch", "pg_stitch", "2stitch", "stitch-loader", "s" * 64, 'st"itch'])
def test_invalid_role_names_are_refused_with_the_rule(name):
    (message,) = problems(url(stitch_role_name=name))
    assert message.startswith(f'stitch_role_name: "{name}" is not a role name') and "pg_" in message


def test_the_owner_cannot_be_stitchs_role():
    (message,) = problems(url(stitch_role_name="owner"))
    assert "database owner" in message and "pulumi config set stitch_role_name stitch" in message


@pytest.mark.parametrize("version", ["0", "-1", "two", "1.5"])
def test_a_password_version_is_a_whole_number_of_at_least_one(version):
    (message,) = problems(url(stitch_password_version=version))
    assert message.startswith(f'stitch_password_version: "{version}"') and '"2"' in message


def test_role_settings_without_a_dedicated_role_are_refused():
    found = problems(url(stitch_credential="owner", stitch_role_name="stitch", stitch_password_version="2"))
    assert [p.split(":")[0] for p in found] == ["stitch_role_name", "stitch_password_version"]
    assert all("owner's credential" in p and "pulumi config rm" in p for p in found)


def test_role_settings_belong_to_source_url():
    (message,) = problems({"app_name": "acme-stitch", "stitch_role_name": "stitch"})
    assert message.startswith("stitch_role_name: belongs to source url")


@pytest.mark.parametrize("name", ["public", "current_user", "none"])
def test_names_postgresql_reserves_are_refused(name):
    (message,) = problems(url(stitch_role_name=name))
    assert message.startswith(f'stitch_role_name: "{name}" is a name PostgreSQL reserves or reads as a keyword')
