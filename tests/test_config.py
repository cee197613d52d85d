"""Config validation: every bad value stops the run, names the key and the value, and says the fix."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from stitch_heroku.config import SETTINGS, ConfigError, StackConfig, StitchConfig, load, markdown_table, stack_settings, validate

ROOT = Path(__file__).resolve().parent.parent
OK_URL = "postgres://owner:pw@db.example.com:5432/stitchdb"


def check(raw, *, stack="dev", secret=("database_url", "stitch_url"), heroku_key="secret", **stitch):
    return validate(stack, raw, secret_keys=set(secret), heroku_key=heroku_key, **stitch)


def problems(raw, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        check(raw, **kwargs)
    return raised.value.problems


def test_defaults_for_a_heroku_stack():
    cfg = check({"app_name": "acme-stitch-dev"})
    assert (cfg.source, cfg.region, cfg.plan, cfg.addon_plan) == ("heroku", "us", "essential-0", "heroku-postgresql:essential-0")
    assert cfg.protect is False and cfg.team is None and cfg.postgres_version is None
    assert (cfg.verify_timeout, cfg.connect_timeout, cfg.verify_on_every_up) == (300, 10, False)


def test_protect_defaults_on_for_stacks_not_named_dev():
    assert check({"app_name": "acme-stitch"}, stack="prod").protect is True
    assert check({"app_name": "acme-stitch"}, stack="development").protect is False


def test_plan_may_carry_the_addon_prefix():
    assert check({"app_name": "acme-stitch", "plan": "heroku-postgresql:standard-2"}).plan == "standard-2"


@pytest.mark.parametrize("plan", ["essential-0", "essential-2", "standard-0", "premium-4"])
def test_current_plans_are_accepted(plan):
    assert check({"app_name": "acme-stitch", "plan": plan}).plan == plan


@pytest.mark.parametrize("plan", ["private-7", "shield-9", "heroku-postgresql:private-0"])
def test_private_space_plans_are_refused_up_front_with_the_reason(plan):
    (message,) = problems({"app_name": "acme-stitch", "plan": plan})
    assert message.startswith(f'plan: "{plan.removeprefix("heroku-postgresql:")}" needs a Heroku Private Space'), message
    assert "does not create" in message and "IP ranges" in message and "source heroku-existing" in message


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"app_name": "Acme_Stitch"}, "app_name", '"Acme_Stitch" is not a valid Heroku app name'),
        ({"app_name": "1acme"}, "app_name", "starting with a letter"),
        ({"app_name": "a" * 31}, "app_name", "3 to 30"),
        ({"app_name": "ab"}, "app_name", "3 to 30"),
        ({}, "app_name", "required"),
        ({"app_name": "acme-stitch", "region": "asia"}, "region", '"asia"'),
        ({"app_name": "acme-stitch", "plan": "hobby-dev"}, "plan", '"hobby-dev" is a retired'),
        ({"app_name": "acme-stitch", "plan": "hobby-basic"}, "plan", "retired"),
        ({"app_name": "acme-stitch", "plan": "mini"}, "plan", "retired"),
        ({"app_name": "acme-stitch", "plan": "basic"}, "plan", "retired"),
        ({"app_name": "acme-stitch", "plan": "gold-1"}, "plan", '"gold-1" is not a Heroku Postgres plan'),
        ({"app_name": "acme-stitch", "postgres_version": "sixteen"}, "postgres_version", '"sixteen"'),
        ({"app_name": "acme-stitch", "postgres_version": "16.2"}, "postgres_version", "major version"),
        ({"app_name": "acme-stitch", "protect": "yes"}, "protect", '"yes" is not true or false'),
        ({"app_name": "acme-stitch", "verify_timeout": "-3"}, "verify_timeout", '"-3"'),
        ({"app_name": "acme-stitch", "connect_timeout": "0"}, "connect_timeout", '"0"'),
        ({"app_name": "acme-stitch", "verify_on_every_up": "always"}, "verify_on_every_up", '"always"'),
        ({"app_name": "acme-stitch", "source": "rds"}, "source", '"rds" is not a source'),
        ({"app_name": "acme-stitch", "colour": "blue"}, "colour", "unknown key"),
    ],
)
def test_each_bad_value_is_named_with_its_fix(raw, key, fragment):
    found = problems(raw)
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}:"), found[0]
    assert fragment in found[0]


def test_retired_plan_message_names_the_current_tiers():
    (message,) = problems({"app_name": "acme-stitch", "plan": "hobby-dev"})
    for tier in ("essential", "standard", "premium"):
        assert tier in message


def test_all_problems_are_reported_at_once():
    found = problems({"app_name": "Bad", "region": "mars", "plan": "mini", "protect": "maybe"}, heroku_key=None)
    assert [p.split(":")[0] for p in found] == ["app_name", "heroku", "region", "plan", "protect"]


def test_error_message_lists_every_problem_and_promises_no_change():
    with pytest.raises(ConfigError, match=r"stack 'prod' has 2 configuration problems; nothing was changed") as raised:
        check({"app_name": "Bad", "plan": "mini"}, stack="prod")
    assert "  - app_name:" in str(raised.value) and "  - plan:" in str(raised.value)


def test_missing_heroku_api_key_says_how_to_set_it():
    (message,) = problems({"app_name": "acme-stitch"}, heroku_key=None)
    assert "pulumi config set --secret heroku:apiKey" in message and "HEROKU_API_KEY" in message
    assert "heroku login" in message and "NETRC_PATH" in message and "NETRC" in message


def test_heroku_api_key_from_environment_is_enough():
    assert check({"app_name": "acme-stitch"}, heroku_key="env").app_name == "acme-stitch"


# Sources (issue 4): the right keys for each source.


def test_url_source_needs_no_heroku_settings_or_key():
    cfg = check({"source": "url", "database_url": OK_URL}, heroku_key=None)
    assert cfg.source == "url" and cfg.database_url == OK_URL and cfg.app_name is None


def test_url_source_requires_database_url():
    (message,) = problems({"source": "url"}, heroku_key=None)
    assert message.startswith("database_url: required") and "--secret" in message


@pytest.mark.parametrize("key", ["app_name", "plan", "region", "team", "postgres_version", "protect", "database_config_var"])
def test_heroku_keys_do_not_belong_to_the_url_source(key):
    value = {"protect": "true", "app_name": "acme-stitch", "plan": "essential-0", "region": "us",
             "postgres_version": "16", "database_config_var": "DATABASE_URL"}.get(key, "acme")  # fmt: skip
    found = problems({"source": "url", "database_url": OK_URL, key: value}, heroku_key=None)
    assert any(p.startswith(f"{key}: belongs to source") for p in found), found


def test_existing_source_takes_a_config_var_but_no_plan():
    cfg = check({"source": "heroku-existing", "app_name": "acme-web", "database_config_var": "HEROKU_POSTGRESQL_AMBER_URL"})
    assert cfg.database_config_var == "HEROKU_POSTGRESQL_AMBER_URL"
    (message,) = problems({"source": "heroku-existing", "app_name": "acme-web", "plan": "essential-0"})
    assert message.startswith("plan: belongs to source heroku, not heroku-existing")


def test_database_config_var_must_be_a_url_var():
    (message,) = problems({"source": "heroku-existing", "app_name": "acme-web", "database_config_var": "REDIS"})
    assert '"REDIS"' in message and "HEROKU_POSTGRESQL_<COLOR>_URL" in message


def test_database_url_must_be_secret_and_is_never_echoed():
    secret_url = "postgres://owner:hunter2-secret@db.example.com:5432/stitchdb"
    (message,) = problems({"source": "url", "database_url": secret_url}, secret=(), heroku_key=None)
    assert message.startswith("database_url: stored in plain text")
    assert "hunter2" not in message


def test_database_url_that_is_not_postgres_is_refused_without_echo():
    (message,) = problems({"source": "url", "database_url": "mysql://root:hunter2@db/x"}, heroku_key=None)
    assert '"mysql://"' in message and "hunter2" not in message


def test_stitch_url_must_point_at_the_same_database():
    other = "postgres://stitch:pw@other.example.com:5432/stitchdb"
    (message,) = problems({"source": "url", "database_url": OK_URL, "stitch_url": other}, heroku_key=None)
    assert message.startswith("stitch_url: points at other.example.com:5432/stitchdb")
    assert "pw@" not in message


def test_stitch_url_of_the_same_database_is_accepted():
    stitch = "postgres://stitch:pw@db.example.com:5432/stitchdb"
    assert check({"source": "url", "database_url": OK_URL, "stitch_url": stitch}, heroku_key=None).stitch_url == stitch


# The Stitch destination (issue 5): settings that need a Connect API token.

TOKEN = ("secret", "stitch-token-xyz")


def test_no_token_means_no_stitch_destination():
    assert check({"app_name": "acme-stitch-dev"}).stitch is None


def test_stitch_defaults_with_a_token():
    stitch = check({"app_name": "acme-stitch-dev"}, stitch_token=TOKEN).stitch
    assert (stitch.destination_name, stitch.adopt_id, stitch.keep_on_delete) == ("stitch-heroku-dev", None, False)
    assert (stitch.check_timeout, stitch.api_url) == (300, "https://api.stitchdata.com")
    assert "stitch-token-xyz" not in repr(check({"app_name": "acme-stitch-dev"}, stitch_token=TOKEN))


def test_secrets_stay_out_of_the_configs_repr():
    secret_url = "postgres://owner:hunter2-secret@db.example.com:5432/stitchdb"
    cfg = check({"source": "url", "database_url": secret_url, "stitch_url": secret_url}, heroku_key=None, stitch_token=TOKEN)
    assert "hunter2" not in repr(cfg) and "stitch-token-xyz" not in repr(cfg)


def test_adopted_and_protected_destinations_are_kept_by_default():
    assert check({"app_name": "acme-stitch", "stitch_destination_id": "110397"}, stitch_token=TOKEN).stitch.keep_on_delete is True
    assert check({"app_name": "acme-stitch"}, stack="prod", stitch_token=TOKEN).stitch.keep_on_delete is True
    kept = check({"app_name": "acme-stitch", "stitch_keep_destination": "true"}, stitch_token=TOKEN).stitch
    assert kept.keep_on_delete is True


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"stitch_destination_id": "abc"}, 'stitch_destination_id: "abc" is not a Stitch destination id'),
        ({"stitch_check_timeout": "5"}, 'stitch_check_timeout: "5" is not a number of seconds between 10 and 3600'),
        ({"stitch_keep_destination": "maybe"}, 'stitch_keep_destination: "maybe" is not true or false'),
        ({"stitch_api_url": "http://api.stitchdata.com"}, 'stitch_api_url: "http://api.stitchdata.com" is not an https:// URL'),
        ({"stitch_destination_name": "x" * 101}, "stitch_destination_name: "),
        ({"stitch_load_stale_hours": "0"}, 'stitch_load_stale_hours: "0" is not a positive number; e.g. "24"'),
        ({"stitch_load_stale_hours": "-3"}, 'stitch_load_stale_hours: "-3" is not a positive number'),
        ({"stitch_load_stale_hours": "nan"}, 'stitch_load_stale_hours: "nan" is not a positive number'),
        ({"stitch_load_stale_hours": "inf"}, 'stitch_load_stale_hours: "inf" is not a positive number'),
        ({"stitch_load_stale_hours": "a day"}, 'stitch_load_stale_hours: "a day" is not a positive number'),
    ],
)
def test_bad_stitch_settings_name_the_value_and_the_fix(raw, fragment):
    (message,) = problems({"app_name": "acme-stitch"} | raw, stitch_token=TOKEN)
    assert message.startswith(fragment), message


def test_stitch_load_stale_hours_takes_a_positive_number_and_is_off_by_default():
    assert check({"app_name": "acme-stitch"}, stitch_token=TOKEN).stitch.load_stale_hours is None
    assert check({"app_name": "acme-stitch", "stitch_load_stale_hours": "1.5"}, stitch_token=TOKEN).stitch.load_stale_hours == 1.5


def test_a_local_api_url_may_be_plain_http():
    assert check({"app_name": "acme-stitch", "stitch_api_url": "http://127.0.0.1:8080/"}, stitch_token=TOKEN).stitch.api_url == (
        "http://127.0.0.1:8080"
    )


def test_stitch_settings_without_a_token_say_how_to_set_one():
    (message,) = problems({"app_name": "acme-stitch", "stitch_destination_id": "110397"})
    assert message.startswith("stitch_destination_id: needs a Stitch Connect API token")
    assert "pulumi config set --secret stitch:accessToken" in message and "STITCH_ACCESS_TOKEN" in message


def test_the_token_must_be_secret_and_is_never_echoed():
    (message,) = problems({"app_name": "acme-stitch"}, stitch_token=("plain", "stitch-token-xyz"))
    assert message.startswith("stitch:accessToken: stored in plain text") and "stitch-token-xyz" not in message


def test_other_stitch_namespace_keys_are_mistakes():
    (message,) = problems({"app_name": "acme-stitch"}, stitch_token=TOKEN, stitch_namespace={"accessToken": "t", "apiUrl": "x"})
    assert message.startswith("stitch:apiUrl: unknown key; stitch:accessToken is the only stitch: key")


def test_load_reads_the_token_from_config_or_the_environment():
    config = {"stitch-heroku:app_name": "acme-stitch", "heroku:apiKey": "hk", "stitch:accessToken": "from-config"}
    cfg = load("stitch-heroku", "dev", config, lambda key: True, environ={"STITCH_ACCESS_TOKEN": "from-env"})
    assert cfg.stitch.access_token == "from-config", "the stack's own secret wins over the environment"
    del config["stitch:accessToken"]
    assert load("stitch-heroku", "dev", config, lambda key: True, environ={"STITCH_ACCESS_TOKEN": "from-env"}).stitch.access_token == (
        "from-env"
    )
    assert load("stitch-heroku", "dev", config, lambda key: True, environ={}).stitch is None


def test_a_required_secret_is_never_shown_set_on_the_command_line():
    (message,) = problems({"source": "url"}, heroku_key=None)
    assert "pulumi config set --secret database_url (it asks for the value)" in message
    assert "postgres://" not in message


# URLs that libpq accepts but urllib does not: never a crash, always a message.


def test_a_password_with_a_bracket_is_accepted():
    url = "postgres://owner:p[ss@db.example.com:5432/stitchdb"
    assert check({"source": "url", "database_url": url}, heroku_key=None).database_url == url


@pytest.mark.parametrize("api_url", ["https://[api.stitchdata.com", "https://", "ftp://api.stitchdata.com"])
def test_a_broken_api_url_is_a_problem_not_a_crash(api_url):
    (message,) = problems({"app_name": "acme-stitch", "stitch_api_url": api_url}, stitch_token=TOKEN)
    assert message.startswith("stitch_api_url: ") and "is not an https:// URL" in message


def test_a_database_url_libpq_cannot_parse_is_named_without_echo():
    (message,) = problems({"source": "url", "database_url": "postgres://owner:hunter2@[::1/db"}, heroku_key=None)
    assert message.startswith("database_url: the URL cannot be parsed") and "hunter2" not in message


# The Stitch credential from an app config var that Heroku rotates.


def test_stitch_config_var_is_read_for_heroku_sources():
    cfg = check({"source": "heroku-existing", "app_name": "acme-web", "stitch_config_var": "STITCH_DATABASE_URL"})
    assert cfg.stitch_config_var == "STITCH_DATABASE_URL" and cfg.stitch_url is None
    assert check({"app_name": "acme-stitch"}).stitch_config_var is None


def test_stitch_config_var_does_not_belong_to_the_url_source():
    (message,) = problems({"source": "url", "database_url": OK_URL, "stitch_config_var": "STITCH_DATABASE_URL"}, heroku_key=None)
    assert message.startswith("stitch_config_var: belongs to source heroku or heroku-existing, not url")


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("stitch_config_var", "stitch_database_url", "is not a Heroku database config var"),
        ("stitch_config_var", "STITCH_DATABASE", "is not a Heroku database config var"),
        ("stitch_config_var", "DATABASE_CONNECTION_POOL_URL", "is the connection pooler"),
        ("database_config_var", "HEROKU_POSTGRESQL_AMBER_CONNECTION_POOL_URL", "is the connection pooler"),
    ],
)
def test_config_vars_must_name_a_database_url_never_the_pooler(key, value, fragment):
    (message,) = problems({"source": "heroku-existing", "app_name": "acme-web", key: value})
    assert message.startswith(f'{key}: "{value}" {fragment}'), message


def test_stitch_config_var_and_stitch_url_exclude_each_other():
    stitch = "postgres://stitch:pw@db.example.com:5432/stitchdb"
    (message,) = problems({"app_name": "acme-stitch", "stitch_url": stitch, "stitch_config_var": "STITCH_DATABASE_URL"})
    assert message.startswith("stitch_config_var: set together with stitch_url")
    assert "pulumi config rm stitch_url" in message and "pulumi config rm stitch_config_var" in message
    assert "pw@" not in message


# Mapping unmapped Stitch sources: off unless asked for.


def test_unmapped_sources_are_not_mapped_by_default():
    assert check({"app_name": "acme-stitch"}, stitch_token=TOKEN).stitch.map_unmapped_sources is False
    cfg = check({"app_name": "acme-stitch", "stitch_map_unmapped_sources": "true"}, stitch_token=TOKEN)
    assert cfg.stitch.map_unmapped_sources is True


def test_mapping_unmapped_sources_needs_a_token_and_a_boolean():
    (message,) = problems({"app_name": "acme-stitch", "stitch_map_unmapped_sources": "true"})
    assert message.startswith("stitch_map_unmapped_sources: needs a Stitch Connect API token")
    (message,) = problems({"app_name": "acme-stitch", "stitch_map_unmapped_sources": "all"}, stitch_token=TOKEN)
    assert message.startswith('stitch_map_unmapped_sources: "all" is not true or false')


# Heroku credentials, every way the heroku provider accepts them (terraform-provider-heroku v5,
# heroku/config.go: heroku:apiKey or HEROKU_API_KEY, else the netrc at $NETRC_PATH, $NETRC/.netrc
# or ~/.netrc, machine = the host of heroku:url / HEROKU_API_URL, default api.heroku.com).

HEROKU_STACK = {"stitch-heroku:app_name": "acme-stitch"}
NETRC_KEY = "hk-netrc-0123456789abcdef"


def write_netrc(path, machine="api.heroku.com", password=NETRC_KEY):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"machine {machine}\n  login dev@example.com\n  password {password}\nmachine git.heroku.com\n  login dev@example.com\n"
                    f"  password {password}\n")  # fmt: skip
    return path


def load_with(environ, config=None):
    return load("stitch-heroku", "dev", HEROKU_STACK | (config or {}), lambda key: True, environ=environ)


def load_problems(environ, config=None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_with(environ, config)
    return raised.value.problems


def test_heroku_login_netrc_in_the_home_folder_is_enough(tmp_path):
    write_netrc(tmp_path / ".netrc")
    assert load_with({"HOME": str(tmp_path)}).app_name == "acme-stitch"


def test_netrc_names_the_folder_holding_dot_netrc(tmp_path):
    write_netrc(tmp_path / "creds" / ".netrc")
    assert load_with({"HOME": str(tmp_path / "empty"), "NETRC": str(tmp_path / "creds")}).app_name == "acme-stitch"


def test_netrc_path_names_the_file_and_wins(tmp_path):
    write_netrc(tmp_path / "heroku-netrc")
    environ = {"HOME": str(tmp_path / "empty"), "NETRC": str(tmp_path / "nowhere"), "NETRC_PATH": str(tmp_path / "heroku-netrc")}
    assert load_with(environ).app_name == "acme-stitch"


def test_the_netrc_machine_is_the_host_of_the_heroku_api_url(tmp_path):
    write_netrc(tmp_path / ".netrc", machine="127.0.0.1:8765")
    environ = {"HOME": str(tmp_path)}
    assert load_with(environ, {"heroku:url": "http://127.0.0.1:8765"}).app_name == "acme-stitch"
    assert load_with(environ | {"HEROKU_API_URL": "http://127.0.0.1:8765"}).app_name == "acme-stitch"
    (message,) = load_problems(environ)
    assert "looked for machine api.heroku.com in" in message and "no entry for it with a password" in message


def test_no_credentials_anywhere_lists_every_way_and_where_it_looked(tmp_path):
    (message,) = load_problems({"HOME": str(tmp_path)})
    looked = f"looked for machine api.heroku.com in {tmp_path}/.netrc: no such file"
    assert message.startswith(f"heroku:apiKey: no Heroku credentials ({looked})")
    for way in ("heroku login", "pulumi config set --secret heroku:apiKey", "HEROKU_API_KEY", "NETRC_PATH", "NETRC at the folder"):
        assert way in message


def test_an_unparsable_netrc_is_named_by_line_without_its_contents(tmp_path):
    (tmp_path / ".netrc").write_text(f"machine api.heroku.com\n  login dev@example.com\n  password {NETRC_KEY}\n  method interactive\n")
    (message,) = load_problems({"HOME": str(tmp_path)})
    assert "cannot be parsed" in message and "line 4" in message, message
    assert NETRC_KEY not in message


def test_the_heroku_key_never_appears_in_any_message(tmp_path):
    write_netrc(tmp_path / ".netrc", machine="elsewhere.example.com")
    found = load_problems({"HOME": str(tmp_path), "STITCH_ACCESS_TOKEN": "t"}, {"stitch-heroku:plan": "gold-1"})
    assert NETRC_KEY not in "\n".join(found)
    with pytest.raises(ConfigError) as raised:
        load("stitch-heroku", "dev", HEROKU_STACK | {"heroku:apiKey": "hk-plain-secret"}, lambda key: False, environ={})
    assert "hk-plain-secret" not in str(raised.value) and "stored in plain text" in str(raised.value)


def test_the_url_source_needs_no_heroku_credentials(tmp_path):
    config = {"stitch-heroku:source": "url", "stitch-heroku:database_url": OK_URL}
    assert load("stitch-heroku", "dev", config, lambda key: True, environ={"HOME": str(tmp_path)}).source == "url"


# The table: one row a setting; the dataclasses, the README and the SDK helper agree with it.


def test_every_setting_is_a_field_and_every_field_a_setting():
    stack_fields = {f.name for f in fields(StackConfig)} - {"stack", "stitch"}
    stitch_fields = {f.name for f in fields(StitchConfig)} - {"access_token"}
    project = [s for s in SETTINGS if not s.credential]
    assert {s.field_name for s in project if not s.needs_token} == stack_fields
    assert {s.field_name for s in project if s.needs_token} == stitch_fields


def test_every_setting_has_help_and_a_documented_default():
    for setting in SETTINGS:
        assert setting.help and setting.default_doc, setting.key
        assert "|" not in setting.help + setting.default_doc, f"{setting.key}: a | would break the README table"


def test_the_readme_config_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text().splitlines()
    (marker,) = [i for i, line in enumerate(readme) if line.startswith("<!-- config table: generated")]
    table = []
    for line in readme[marker + 1 :]:
        if not line.startswith("|"):
            break
        table.append(line)
    assert "\n".join(table) == markdown_table(), "regenerate it: python -m components.config"


def test_the_module_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "components.config"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout == markdown_table() + "\n"


def test_stack_settings_lists_every_key_pulumi_holds():
    """Fails loudly if the pulumi SDK stops listing the stack's config in pulumi.runtime.config.CONFIG."""
    import pulumi

    assert hasattr(pulumi.runtime.config, "CONFIG"), "the pulumi SDK no longer has pulumi.runtime.config.CONFIG"
    config = {"stitch-heroku:app_name": "acme-stitch", "stitch-heroku:colour": "blue", "heroku:apiKey": "hk"}
    pulumi.runtime.set_all_config(config, ["heroku:apiKey"])
    try:
        assert stack_settings() == config
    finally:
        pulumi.runtime.set_all_config({}, [])


@pytest.mark.parametrize("text", ["0", "-1", "abc", "inf", "nan", "1e999"])
def test_storage_limit_gb_must_be_a_positive_number(text):
    (problem,) = problems({"app_name": "acme-stitch", "storage_limit_gb": text})
    assert problem.startswith("storage_limit_gb:") and f'"{text}"' in problem and "positive number of GB" in problem


@pytest.mark.parametrize("source", ["heroku", "heroku-existing", "url"])
def test_storage_limit_gb_belongs_to_every_source(source):
    raw = {"source": source, "app_name": "acme-stitch", "storage_limit_gb": "0.5"}
    if source == "url":
        raw = {"source": "url", "database_url": "postgres://u:p@db.example.com/d", "storage_limit_gb": "0.5"}
    cfg = validate("dev", raw, secret_keys={"database_url"}, heroku_key="env")
    assert cfg.storage_limit_gb == 0.5
    assert validate("dev", {"app_name": "acme-stitch"}, secret_keys=set(), heroku_key="env").storage_limit_gb is None


# Did you mean (issue 28): a typo gets the closest key or word, as git and cargo suggest.


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("storage_limit_gbs", "storage_limit_gb"),
        ("app-name", "app_name"),
        ("storageLimitGb", "storage_limit_gb"),
        ("verify-timout", "verify_timeout"),
    ],
)
def test_an_unknown_key_gets_the_closest_one(key, meant):
    (message,) = problems({"app_name": "acme-stitch", key: "1"})
    assert message == f'{key}: unknown key (did you mean "{meant}"?)', message


def test_an_unknown_key_like_no_other_lists_the_keys():
    (message,) = problems({"app_name": "acme-stitch", "colour": "blue"})
    assert "did you mean" not in message and "the keys are app_name, connect_timeout" in message


def test_a_source_in_capitals_is_the_source_and_no_other_sources_keys_are_demanded():
    cfg = check({"source": "URL", "database_url": OK_URL}, heroku_key=None)
    assert cfg.source == "url" and cfg.app_name is None


def test_a_mistyped_source_is_named_alone_with_the_closest_one():
    (message,) = problems({"source": "urll", "database_url": OK_URL}, heroku_key=None)
    assert message.startswith('source: "urll" is not a source (did you mean "url"?)'), message


def test_a_word_setting_takes_any_case_and_suggests_the_closest_word():
    assert check({"app_name": "acme-stitch", "region": "EU"}).region == "eu"
    (message,) = problems({"app_name": "acme-stitch", "stitch_credential": "dedicate"})
    assert '(did you mean "dedicated"?)' in message


def test_a_mistyped_stitch_namespace_key_gets_access_token():
    (message,) = problems({"app_name": "acme-stitch"}, stitch_namespace={"accesToken": "t"})
    assert message.startswith('stitch:accesToken: unknown key (did you mean "accessToken"?)'), message


# The caller's terms (issue 26): this program's config keys, or a Destination's inputs in a program of one's own.


def test_a_destination_in_a_program_of_ones_own_is_told_its_inputs_not_our_config_keys():
    raw = {"source": "url", "stitch_password_version": "2", "stitch_credential": "owner"}
    found = problems(raw, heroku_key=None, project="acme-warehouse")
    assert len(found) == 2, found
    assert all("pulumi config" not in message for message in found), found
    assert found[0].startswith("database_url: required for source url: set the Destination's input `database_url` (`databaseUrl`")
    assert "leave out the Destination's input `stitch_password_version` (`stitchPasswordVersion`" in found[1]


def test_a_destinations_heroku_key_is_its_input_heroku_api_key():
    (message,) = problems({"app_name": "acme-stitch"}, heroku_key=None, project="acme-warehouse")
    assert message.startswith("heroku_api_key: no Heroku credentials") and "`herokuApiKey`" in message
    assert "pulumi config set" not in message


def test_this_programs_stack_is_told_pulumi_config_set():
    (message,) = problems({"source": "url"}, heroku_key=None)
    assert message == "database_url: required for source url: pulumi config set --secret database_url (it asks for the value)"


def test_the_component_names_its_inputs_through_the_projects_name(monkeypatch):
    import pulumi
    from stitch_heroku import destination

    monkeypatch.setattr(pulumi, "get_project", lambda: "acme-warehouse")
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    monkeypatch.setattr(pulumi, "Config", lambda _namespace: {})
    monkeypatch.delenv("STITCH_ACCESS_TOKEN", raising=False)
    with pytest.raises(ConfigError) as raised:
        destination.validated({"source": "url"}, environ={})
    (message,) = raised.value.problems
    assert "the Destination's input `database_url`" in message and "pulumi config" not in message
    monkeypatch.setattr(pulumi, "get_project", lambda: "stitch-heroku")
    with pytest.raises(ConfigError) as raised:
        destination.validated({"source": "url"}, environ={})
    assert "pulumi config set --secret database_url" in raised.value.problems[0]
