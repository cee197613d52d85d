"""The Heroku API double, driven over real HTTP with requests shaped as heroku-go v5 sends them for
terraform-provider-heroku v5, and checked against the real PostgreSQL databases it hands out."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import psycopg
import pytest
import urllib3

from tests.doubles.fake_heroku import ACCEPT, POOL_PORT, FakeHeroku, HerokuApiServer, PostgresTarget
from tests.doubles.heroku_standin import heroku_go_request

LATEST_RELEASE = "version ..; max=1,order=desc"  # tf-app updateConfigVars: ListRange{Descending, "version", Max: 1}
RELEASES_FOR_DATA_SOURCE = "version ..; max=200,order=desc"  # tf-app-ds: ListRange{"version", Max: 200, Descending}
ENOUGH_POLLS = 10


class HerokuGo:
    """An HTTP client that sends what heroku-go v5.4.1's Transport and Service send: Accept version 3,
    basic auth from the provider's email and API key, a Request-Id, compact JSON bodies, Range headers."""

    def __init__(self, url: str, api_key: str, email: str = "dev@example.com"):
        self.url = url
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))
        self.authorization = "Basic " + base64.b64encode(f"{email}:{api_key}".encode()).decode()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        range_: str | None = None,
        authorization: str | None = "",
        accept: str = ACCEPT,
    ) -> tuple[int, Any]:
        sent = None if authorization is None else authorization or self.authorization
        headers, data = heroku_go_request(body, sent, range_, accept)
        response = self.http.request(method, self.url + path, body=data, headers=headers)
        return response.status, json.loads(response.data)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None, *, range_: str | None = None) -> Any:
        status, answer = self.call(method, path, body, range_=range_)
        assert status // 100 == 2, f"{method} {path} answered {status}: {answer}"
        return answer


# -- the provider's call sequences (terraform-provider-heroku v5) ----------------------------------


def provider_reads_app(go: HerokuGo, app_id: str) -> dict[str, Any]:
    """tf-app resourceHerokuAppRead -> application.Update."""
    app = go.ok("GET", f"/apps/{app_id}")
    if app["organization"] is not None and app["team"] is not None:
        app |= {"locked": go.ok("GET", f"/teams/apps/{app_id}")["locked"]}
    app["buildpacks"] = [b["buildpack"]["name"] for b in go.ok("GET", f"/apps/{app_id}/buildpack-installations")]
    app["config_vars"] = go.ok("GET", f"/apps/{app_id}/config-vars")
    return app


def provider_waits_for_latest_release(go: HerokuGo, app_id: str) -> list[str]:
    """tf-app updateConfigVars after its PATCH: the latest release, polled until "succeeded"."""
    latest = go.ok("GET", f"/apps/{app_id}/releases", range_=LATEST_RELEASE)[0]
    seen = []
    for _ in range(ENOUGH_POLLS):
        seen.append(go.ok("GET", f"/apps/{app_id}/releases/{latest['id']}")["status"])
        if seen[-1] == "succeeded":
            return seen
    raise AssertionError(f"release {latest['id']} never succeeded: {seen}")


def provider_creates_app(go: HerokuGo, name: str, *, team: str | None = None) -> dict[str, Any]:
    """tf-app switchHerokuAppCreate: create, post-create config vars (always, `{}` when none), read."""
    if team:
        created = go.ok("POST", "/teams/apps", {"locked": False, "name": name, "personal": False, "region": "us", "team": team})
    else:
        created = go.ok("POST", "/apps", {"name": name, "region": "us"})
    go.ok("PATCH", f"/apps/{created['id']}/config-vars", {})
    provider_waits_for_latest_release(go, created["id"])
    return provider_reads_app(go, created["id"])


def provider_creates_addon(go: HerokuGo, app_id: str, plan: str, config: dict[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """tf-addon resourceHerokuAddonCreate: app info, create, poll until provisioned, wait for the
    add-on's config vars on the app, then read. Returns the add-on and the states the poll saw."""
    app = go.ok("GET", f"/apps/{app_id}")
    body: dict[str, Any] = {"config": config} if config else {}
    created = go.ok("POST", f"/apps/{app_id}/addons", body | {"confirm": app["name"], "plan": plan})
    states = []
    for _ in range(ENOUGH_POLLS):
        states.append(go.ok("GET", f"/apps/{app_id}/addons/{created['id']}")["state"])
        if states[-1] == "provisioned":
            break
    for _ in range(ENOUGH_POLLS):
        values = go.ok("GET", f"/apps/{created['app']['id']}/config-vars")
        if all(name in values for name in created["config_vars"]):
            break
    addon = go.ok("GET", f"/addons/{created['id']}")
    go.ok("GET", f"/apps/{addon['app']['id']}/config-vars")
    return addon, states


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, sslmode="require", connect_timeout=5, autocommit=True)


def database_exists(ssl_server: Any, name: str) -> bool:
    with ssl_server.cluster.superuser() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def role_exists(ssl_server: Any, name: str) -> bool:
    with ssl_server.cluster.superuser() as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


@pytest.fixture
def go(heroku: FakeHeroku) -> HerokuGo:
    return HerokuGo(heroku.url, heroku.api_key)


@pytest.fixture
def app(go: HerokuGo) -> dict[str, Any]:
    return provider_creates_app(go, "acme-stitch-dev")


# -- protocol ---------------------------------------------------------------------------------------


def test_request_without_credentials_is_refused_in_herokus_error_shape(go: HerokuGo) -> None:
    status, answer = go.call("GET", "/apps/acme-stitch-dev", authorization=None)
    assert (status, answer) == (401, {"id": "unauthorized", "message": "Invalid credentials provided."})


def test_request_with_another_key_is_refused(go: HerokuGo) -> None:
    wrong = "Basic " + base64.b64encode(b"dev@example.com:not-the-key").decode()
    status, answer = go.call("POST", "/apps", {"name": "acme-stitch-dev"}, authorization=wrong)
    assert (status, answer["id"]) == (401, "unauthorized")


def test_bearer_token_and_basic_auth_with_any_login_are_accepted(go: HerokuGo, heroku: FakeHeroku) -> None:
    created = go.ok("POST", "/apps", {"name": "acme-stitch-dev"})
    netrc_login = "Basic " + base64.b64encode(f"someone@example.org:{heroku.api_key}".encode()).decode()
    assert go.call("GET", f"/apps/{created['id']}", authorization=f"Bearer {heroku.api_key}")[0] == 200
    assert go.call("GET", f"/apps/{created['id']}", authorization=netrc_login)[0] == 200
    assert [r.auth for r in heroku.requests] == ["basic", "bearer", "basic"]


def test_request_without_the_version_3_media_type_is_not_acceptable(go: HerokuGo) -> None:
    status, answer = go.call("GET", "/apps/acme-stitch-dev", accept="application/json")
    assert (status, answer["id"]) == (406, "not_acceptable")
    assert ACCEPT in answer["message"]


def test_unknown_endpoint_is_a_404_with_herokus_message(go: HerokuGo) -> None:
    status, answer = go.call("GET", "/apps/acme-stitch-dev/dynos-that-do-not-exist")
    assert (status, answer["id"]) == (404, "not_found")
    assert "requested API endpoint was not found" in answer["message"]


def test_injected_error_is_answered_once_then_the_api_works_again(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    heroku.fail("POST", r"/apps/[^/]+/addons", 503, "Heroku is temporarily unavailable", error_id="unavailable")
    status, answer = go.call("POST", f"/apps/{app['id']}/addons", {"confirm": app["name"], "plan": "heroku-postgresql:essential-0"})
    assert (status, answer) == (503, {"id": "unavailable", "message": "Heroku is temporarily unavailable"})
    assert heroku.addons == {}, "the failed create must not have made an add-on"
    assert go.call("POST", f"/apps/{app['id']}/addons", {"confirm": app["name"], "plan": "heroku-postgresql:essential-0"})[0] == 201


def test_recorded_requests_hold_no_key_and_no_config_var_value(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    go.ok("PATCH", f"/apps/{app['id']}/config-vars", {"SECRET_TOKEN": "tok-98765", "OLD": None})
    addon, _states = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    heroku.rotate_credentials(addon["id"])
    recorded = repr(heroku.requests)
    assert heroku.api_key not in recorded and "tok-98765" not in recorded
    assert heroku.config_vars(app["id"])["DATABASE_URL"] not in recorded
    patch = next(r for r in heroku.requests if r.method == "PATCH" and r.body)
    assert patch.body == {"SECRET_TOKEN": "<redacted>", "OLD": None}


# -- apps -------------------------------------------------------------------------------------------


def test_app_create_makes_exactly_the_calls_the_provider_makes(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    app_id = app["id"]
    assert heroku.calls() == [
        "POST /apps",
        f"PATCH /apps/{app_id}/config-vars",
        f"GET /apps/{app_id}/releases",
        f"GET /apps/{app_id}/releases/{heroku.apps[app_id].releases[-1].id}",
        f"GET /apps/{app_id}",
        f"GET /apps/{app_id}/buildpack-installations",
        f"GET /apps/{app_id}/config-vars",
    ]
    assert heroku.requests[2].range == LATEST_RELEASE


def test_fresh_app_reads_as_heroku_shows_one(app: dict[str, Any]) -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", app["id"])
    assert (app["name"], app["region"]["name"], app["build_stack"]["name"]) == ("acme-stitch-dev", "us", "heroku-24")
    assert (app["organization"], app["team"], app["space"]) == (None, None, None)
    assert (app["buildpacks"], app["config_vars"]) == ([], {})
    assert app["git_url"] == "https://git.heroku.com/acme-stitch-dev.git"


def test_fresh_app_has_its_two_initial_releases_newest_first(go: HerokuGo, app: dict[str, Any]) -> None:
    releases = go.ok("GET", f"/apps/{app['id']}/releases", range_=RELEASES_FOR_DATA_SOURCE)
    assert [(r["version"], r["description"], r["status"]) for r in releases] == [
        (2, "Enable Logplex", "succeeded"),
        (1, "Initial release", "succeeded"),
    ]


def test_app_is_found_by_name_as_the_data_source_looks_it_up(go: HerokuGo, app: dict[str, Any]) -> None:
    by_name = provider_reads_app(go, "acme-stitch-dev")
    assert by_name["id"] == app["id"]


def test_team_app_is_created_through_teams_apps_and_read_as_a_team_app(go: HerokuGo, heroku: FakeHeroku) -> None:
    app = provider_creates_app(go, "acme-stitch-prod", team="acme")
    assert (app["organization"]["name"], app["team"]["name"], app["locked"]) == ("acme", "acme", False)
    assert f"GET /teams/apps/{app['id']}" in heroku.calls("GET")


def test_team_the_account_is_not_in_is_not_found(go: HerokuGo) -> None:
    status, answer = go.call("POST", "/teams/apps", {"locked": False, "name": "acme-stitch-prod", "personal": False, "team": "other"})
    assert (status, answer) == (404, {"id": "not_found", "message": "Couldn't find that team."})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("acme-stitch-dev", "Name acme-stitch-dev is already taken"),
        ("Acme", "Name must start with a letter, end with a letter or digit"),
        ("ab", "Name is too short (minimum is 3 characters)"),
        ("a" * 31, "Name is too long (maximum is 30 characters)"),
    ],
)
def test_bad_or_taken_app_name_is_invalid_params(go: HerokuGo, app: dict[str, Any], name: str, message: str) -> None:
    status, answer = go.call("POST", "/apps", {"name": name, "region": "us"})
    assert (status, answer["id"]) == (422, "invalid_params")
    assert answer["message"].startswith(message)


def test_app_update_with_no_change_is_accepted_as_the_provider_sends_it(go: HerokuGo, app: dict[str, Any]) -> None:
    assert go.ok("PATCH", f"/apps/{app['id']}", {})["name"] == "acme-stitch-dev"


def test_app_delete_answers_the_app_and_it_is_gone(go: HerokuGo, app: dict[str, Any]) -> None:
    assert go.ok("DELETE", f"/apps/{app['id']}")["id"] == app["id"]
    assert go.call("GET", f"/apps/{app['id']}") == (404, {"id": "not_found", "message": "Couldn't find that app."})


# -- config vars and releases -------------------------------------------------------------------------


def test_config_var_patch_sets_and_unsets_and_answers_all_vars(go: HerokuGo, app: dict[str, Any]) -> None:
    go.ok("PATCH", f"/apps/{app['id']}/config-vars", {"A": "1", "B": "2"})
    assert go.ok("PATCH", f"/apps/{app['id']}/config-vars", {"A": None, "C": "3"}) == {"B": "2", "C": "3"}
    assert go.ok("GET", f"/apps/{app['id']}/config-vars") == {"B": "2", "C": "3"}


def test_config_var_change_is_a_new_release_the_provider_polls_until_it_succeeds(ssl_server: Any) -> None:
    with HerokuApiServer(FakeHeroku(PostgresTarget.for_cluster(ssl_server.cluster), pending_release_reads=2)) as heroku:
        go = HerokuGo(heroku.url, heroku.api_key)
        created = go.ok("POST", "/apps", {"name": "acme-stitch-dev"})
        go.ok("PATCH", f"/apps/{created['id']}/config-vars", {"FOO": "bar"})
        latest = go.ok("GET", f"/apps/{created['id']}/releases", range_=LATEST_RELEASE)
        assert [(r["version"], r["description"]) for r in latest] == [(3, "Set FOO config vars")]
        assert provider_waits_for_latest_release(go, created["id"]) == ["pending", "pending", "succeeded"]


# -- add-ons ----------------------------------------------------------------------------------------


def test_addon_create_makes_exactly_the_calls_the_provider_makes(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    app_id = app["id"]
    before = len(heroku.requests)
    addon, states = provider_creates_addon(go, app_id, "heroku-postgresql:essential-0")
    assert states == ["provisioning", "provisioned"]
    assert heroku.calls()[before:] == [
        f"GET /apps/{app_id}",
        f"POST /apps/{app_id}/addons",
        f"GET /apps/{app_id}/addons/{addon['id']}",
        f"GET /apps/{app_id}/addons/{addon['id']}",
        f"GET /apps/{app_id}/config-vars",
        f"GET /addons/{addon['id']}",
        f"GET /apps/{app_id}/config-vars",
    ]
    assert heroku.requests[before + 1].body == {"confirm": "acme-stitch-dev", "plan": "heroku-postgresql:essential-0"}


def test_first_database_is_database_url_a_real_database_its_own_role_owns_over_ssl(
    go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]
) -> None:
    addon, _states = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    assert (addon["config_vars"], addon["plan"]["name"], addon["state"]) == (
        ["DATABASE_URL"],
        "heroku-postgresql:essential-0",
        "provisioned",
    )
    assert addon["name"].startswith("postgresql-") and addon["app"] == {"id": app["id"], "name": "acme-stitch-dev"}
    url = go.ok("GET", f"/apps/{app['id']}/config-vars")["DATABASE_URL"]
    assert url.startswith("postgres://")
    with connect(url) as conn:
        user, database, owner, ssl = conn.execute(
            "SELECT current_user, current_database(), pg_get_userbyid(d.datdba), s.ssl FROM pg_database d, pg_stat_ssl s "
            "WHERE d.datname = current_database() AND s.pid = pg_backend_pid()"
        ).fetchone()
        conn.execute("CREATE TABLE loaded (id int)")  # the owner may create in schema public
    assert (user, database, owner, ssl) == (heroku.role_name(addon["id"]), heroku.database_name(addon["id"]), user, True)


def test_config_var_appears_only_once_the_addon_is_provisioned(go: HerokuGo, app: dict[str, Any]) -> None:
    created = go.ok("POST", f"/apps/{app['id']}/addons", {"confirm": app["name"], "plan": "heroku-postgresql:essential-0"})
    assert (created["state"], created["config_vars"]) == ("provisioning", ["DATABASE_URL"])
    assert "DATABASE_URL" not in go.ok("GET", f"/apps/{app['id']}/config-vars")
    assert go.ok("GET", f"/addons/{created['id']}")["state"] == "provisioning"
    assert go.ok("GET", f"/addons/{created['name']}")["state"] == "provisioned"
    assert "DATABASE_URL" in go.ok("GET", f"/apps/{app['id']}/config-vars")


def test_second_database_gets_a_heroku_postgresql_color_var(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    first, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    second, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    [color_var] = second["config_vars"]
    assert re.fullmatch(r"HEROKU_POSTGRESQL_[A-Z]+_URL", color_var)
    values = go.ok("GET", f"/apps/{app['id']}/config-vars")
    assert first["config_vars"] == ["DATABASE_URL"] and values[color_var] != values["DATABASE_URL"]
    with connect(values[color_var]) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == heroku.database_name(second["id"])
    assert heroku.database_name(second["id"]) != heroku.database_name(first["id"])


def test_app_that_already_has_a_database_url_gets_a_color_var_and_keeps_its_own(
    go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any], ssl_server: Any
) -> None:
    heroku.set_config_vars(app["id"], {"DATABASE_URL": ssl_server.owner_url})
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    [color_var] = addon["config_vars"]
    values = go.ok("GET", f"/apps/{app['id']}/config-vars")
    assert color_var.startswith("HEROKU_POSTGRESQL_") and values["DATABASE_URL"] == ssl_server.owner_url
    with connect(values[color_var]) as conn:
        assert conn.info.dbname == heroku.database_name(addon["id"])


def test_config_vars_an_attachment_owns_cannot_be_set_by_hand(go: HerokuGo, app: dict[str, Any]) -> None:
    provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    status, answer = go.call("PATCH", f"/apps/{app['id']}/config-vars", {"DATABASE_URL": "postgres://elsewhere/db"})
    assert (status, answer) == (422, {"id": "invalid_params", "message": "Cannot overwrite attachment values DATABASE_URL."})


@pytest.mark.parametrize(
    ("plan", "error_id", "message"),
    [
        ("heroku-postgresql:hobby-dev", "invalid_params", "The heroku-postgresql:hobby-dev plan is no longer available."),
        ("heroku-postgresql:mini", "addon_error", "We tried to create heroku-postgresql:mini, but received an error"),
        ("heroku-postgresql:gigantic-9", "invalid_params", "Couldn't find either the add-on service or the add-on plan"),
        ("heroku-redis:mini", "invalid_params", "Couldn't find either the add-on service or the add-on plan"),
        (
            "heroku-postgresql:private-0",
            "invalid_params",
            "The heroku-postgresql:private-0 plan can only be provisioned on an app in a Private",
        ),
        (
            "heroku-postgresql:shield-0",
            "invalid_params",
            "The heroku-postgresql:shield-0 plan can only be provisioned on an app in a Shield",
        ),
    ],
)
def test_plan_that_cannot_be_provisioned_is_refused_and_makes_no_database(
    go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any], plan: str, error_id: str, message: str
) -> None:
    status, answer = go.call("POST", f"/apps/{app['id']}/addons", {"confirm": app["name"], "plan": plan})
    assert (status, answer["id"]) == (422, error_id)
    assert answer["message"].startswith(message)
    assert heroku.addons == {}


def test_private_plan_is_provisioned_on_an_app_in_a_private_space(ssl_server: Any) -> None:
    fake = FakeHeroku(PostgresTarget.for_cluster(ssl_server.cluster), teams=frozenset({"acme"}), spaces={"acme-space": False})
    with HerokuApiServer(fake) as heroku:
        go = HerokuGo(heroku.url, heroku.api_key)
        created = go.ok(
            "POST", "/teams/apps", {"locked": False, "name": "acme-stitch-prod", "region": "us", "space": "acme-space", "team": "acme"}
        )
        addon, _ = provider_creates_addon(go, created["id"], "heroku-postgresql:private-0")
        assert addon["plan"]["name"] == "heroku-postgresql:private-0"
        status, answer = go.call("POST", f"/apps/{created['id']}/addons", {"plan": "heroku-postgresql:shield-0"})
        assert (status, answer["id"]) == (422, "invalid_params")


def test_version_option_is_accepted_and_an_unsupported_one_refused(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0", {"version": "16"})
    assert heroku.addons[addon["id"]].version == "16"
    assert next(r for r in heroku.requests if r.method == "POST" and "/addons" in r.path).body["config"] == {"version": "16"}
    status, answer = go.call("POST", f"/apps/{app['id']}/addons", {"config": {"version": "9.6"}, "plan": "heroku-postgresql:essential-0"})
    assert (status, answer["id"]) == (422, "addon_error")
    assert "Version 9.6 is not supported" in answer["message"]


def test_plan_change_updates_the_addon_in_place_and_keeps_the_data(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    url = heroku.config_vars(app["id"])["DATABASE_URL"]
    with connect(url) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    updated = go.ok("PATCH", f"/apps/{app['id']}/addons/{addon['id']}", {"plan": "heroku-postgresql:standard-0"})
    assert (updated["id"], updated["plan"]["name"]) == (addon["id"], "heroku-postgresql:standard-0")
    assert go.ok("GET", f"/addons/{addon['id']}")["plan"]["name"] == "heroku-postgresql:standard-0"
    with connect(heroku.config_vars(app["id"])["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)


def test_addon_delete_drops_the_database_its_role_and_its_config_var(
    go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any], ssl_server: Any
) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    database, role = heroku.database_name(addon["id"]), heroku.role_name(addon["id"])
    assert go.ok("DELETE", f"/apps/{app['id']}/addons/{addon['id']}")["state"] == "deprovisioned"
    assert not database_exists(ssl_server, database) and not role_exists(ssl_server, role)
    assert "DATABASE_URL" not in go.ok("GET", f"/apps/{app['id']}/config-vars")
    assert go.call("GET", f"/addons/{addon['id']}") == (404, {"id": "not_found", "message": "Couldn't find that add-on."})


def test_app_delete_drops_the_databases_it_owned(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any], ssl_server: Any) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    database = heroku.database_name(addon["id"])
    go.ok("DELETE", f"/apps/{app['id']}")
    assert not database_exists(ssl_server, database)


def test_leaving_the_server_drops_every_database_it_made(ssl_server: Any) -> None:
    with HerokuApiServer(FakeHeroku(PostgresTarget.for_cluster(ssl_server.cluster))) as heroku:
        heroku.create_app("acme-stitch-dev")
        database = heroku.database_name(heroku.provision_addon("acme-stitch-dev")["id"])
        assert database_exists(ssl_server, database)
    assert not database_exists(ssl_server, database)


# -- what users do outside the API: rotation, extra credentials, pooling ----------------------------


def test_rotation_changes_the_password_ends_old_sessions_and_updates_the_var(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    old_url = heroku.config_vars(app["id"])["DATABASE_URL"]
    releases_before = len(go.ok("GET", f"/apps/{app['id']}/releases"))
    session = connect(old_url)
    heroku.rotate_credentials(addon["id"])
    new_url = go.ok("GET", f"/apps/{app['id']}/config-vars")["DATABASE_URL"]
    assert new_url != old_url
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(old_url)
    with connect(new_url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == heroku.role_name(addon["id"])
    assert len(go.ok("GET", f"/apps/{app['id']}/releases")) == releases_before + 1


def test_stitch_credential_is_its_own_role_that_can_connect_but_not_create(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    assert heroku.attach_credential(addon["id"], "stitch", "STITCH_DATABASE") == "STITCH_DATABASE_URL"
    assert go.ok("GET", f"/addons/{addon['id']}")["config_vars"] == ["DATABASE_URL", "STITCH_DATABASE_URL"]
    with connect(heroku.config_vars(app["id"])["STITCH_DATABASE_URL"]) as conn:
        user, may_create = conn.execute("SELECT current_user, has_database_privilege(current_database(), 'CREATE')").fetchone()
    assert (user, may_create) == (heroku.role_name(addon["id"], "stitch"), False)
    assert user != heroku.role_name(addon["id"])


def test_rotating_the_stitch_credential_leaves_the_default_one_alone(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    heroku.attach_credential(addon["id"])
    before = heroku.config_vars(app["id"])
    heroku.rotate_credentials(addon["id"], "stitch")
    after = go.ok("GET", f"/apps/{app['id']}/config-vars")
    assert after["DATABASE_URL"] == before["DATABASE_URL"] and after["STITCH_DATABASE_URL"] != before["STITCH_DATABASE_URL"]
    with connect(after["STITCH_DATABASE_URL"]), connect(after["DATABASE_URL"]):
        pass


def test_rotating_all_credentials_changes_every_url(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    heroku.attach_credential(addon["id"])
    before = heroku.config_vars(app["id"])
    heroku.rotate_credentials(addon["id"], None)
    after = heroku.config_vars(app["id"])
    assert all(after[name] != before[name] for name in ("DATABASE_URL", "STITCH_DATABASE_URL"))


def test_connection_pool_is_listed_first_and_points_at_the_pooler_not_the_database(
    go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]
) -> None:
    addon, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    assert heroku.attach_connection_pool(addon["id"]) == "DATABASE_CONNECTION_POOL_URL"
    assert go.ok("GET", f"/addons/{addon['id']}")["config_vars"] == ["DATABASE_CONNECTION_POOL_URL", "DATABASE_URL"]
    values = go.ok("GET", f"/apps/{app['id']}/config-vars")
    pool, direct = (
        psycopg.conninfo.conninfo_to_dict(values["DATABASE_CONNECTION_POOL_URL"]),
        psycopg.conninfo.conninfo_to_dict(values["DATABASE_URL"]),
    )
    assert (pool["port"], pool["dbname"], pool["user"]) == (str(POOL_PORT), direct["dbname"], direct["user"])
    assert direct["port"] != str(POOL_PORT)


# -- the Data API's credentials, as the Heroku CLI calls it (heroku/cli packages/cli/src/commands/pg/credentials*) --


def cli_auth(heroku: FakeHeroku) -> str:
    """credentials.ts, url.ts, rotate.ts: `Basic base64(":" + token)`."""
    return "Basic " + base64.b64encode(f":{heroku.api_key}".encode()).decode()


def credentials_path(addon: dict[str, Any], name: str | None = None) -> str:
    return f"/postgres/v0/databases/{addon['name']}/credentials" + (f"/{name}" if name else "")


@pytest.fixture
def standard(go: HerokuGo, app: dict[str, Any]) -> dict[str, Any]:
    return provider_creates_addon(go, app["id"], "heroku-postgresql:standard-0")[0]


def test_a_credential_is_created_provisioning_then_active_as_a_real_role_with_nothing_granted(
    go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any], ssl_server: Any
) -> None:
    status, answer = go.call("POST", credentials_path(standard), {"name": "stitch"}, authorization=cli_auth(heroku))
    assert status == 201 and set(answer) == {"id", "message"}
    first = go.call("GET", credentials_path(standard, "stitch"), authorization=cli_auth(heroku))[1]
    assert (first["state"], first["credentials"]) == ("provisioning", []), "no secret before it is active"
    info = go.call("GET", credentials_path(standard, "stitch"), authorization=cli_auth(heroku))[1]
    assert info["state"] == "active" and info["name"] == "stitch" and info["database"] == heroku.database_name(standard["id"])
    (secret,) = info["credentials"]
    assert secret["state"] == "active" and role_exists(ssl_server, secret["user"])
    url = f"postgres://{secret['user']}:{secret['password']}@{info['host']}:{info['port']}/{info['database']}"
    with connect(url) as conn:
        may = conn.execute(
            "SELECT has_database_privilege(current_database(), 'CREATE'), has_schema_privilege('public', 'USAGE')"
        ).fetchone()
    assert may == (False, False), "Dev Center: a new credential gets no privileges, not even on schema public"
    listed = go.call("GET", credentials_path(standard), authorization=cli_auth(heroku))[1]
    assert sorted(c["name"] for c in listed) == ["default", "stitch"]


def test_an_essential_database_has_only_the_owners_credential(go: HerokuGo, heroku: FakeHeroku, app: dict[str, Any]) -> None:
    essential, _ = provider_creates_addon(go, app["id"], "heroku-postgresql:essential-0")
    status, answer = go.call("POST", credentials_path(essential), {"name": "stitch"}, authorization=cli_auth(heroku))
    assert status == 422 and answer["message"] == "You can't create a custom credential on Essential-tier databases."
    assert [c["name"] for c in go.call("GET", credentials_path(essential), authorization=cli_auth(heroku))[1]] == ["default"]


def test_a_second_credential_of_the_same_name_or_a_bad_name_is_refused(go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]) -> None:
    assert go.call("POST", credentials_path(standard), {"name": "stitch"}, authorization=cli_auth(heroku))[0] == 201
    assert go.call("POST", credentials_path(standard), {"name": "stitch"}, authorization=cli_auth(heroku))[0] == 422
    assert go.call("POST", credentials_path(standard), {"name": "no spaces"}, authorization=cli_auth(heroku))[0] == 422
    assert go.call("GET", credentials_path(standard, "nobody"), authorization=cli_auth(heroku))[:1] == (404,)


def test_the_data_api_wants_the_api_key(go: HerokuGo, standard: dict[str, Any]) -> None:
    assert go.call("GET", credentials_path(standard), authorization=None)[0] == 401


def test_rotating_a_credential_through_the_data_api_updates_its_attachment_only(
    go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]
) -> None:
    heroku.attach_credential(standard["id"], "stitch", "STITCH_DATABASE")
    before = heroku.config_vars("acme-stitch-dev")
    path = credentials_path(standard, "stitch") + "/credentials_rotation"  # rotate.ts --name stitch
    assert go.call("POST", path, {}, authorization=cli_auth(heroku))[0] == 200
    after = heroku.config_vars("acme-stitch-dev")
    assert after["STITCH_DATABASE_URL"] != before["STITCH_DATABASE_URL"] and after["DATABASE_URL"] == before["DATABASE_URL"]
    with connect(after["STITCH_DATABASE_URL"]):
        pass


def test_a_named_credentials_rotation_runs_under_a_temporary_username_as_the_cli_shows_it(
    go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]
) -> None:
    """rotate.ts (--name, no --force): "a temporary rotation username will be used during the process"; the shape is
    that of the CLI's test/unit/commands/pg/credentials.unit.test.ts (`jeff` revoking, `jeff-rotating` active)."""
    heroku.attach_credential(standard["id"], "stitch", "STITCH_DATABASE")
    role = heroku.role_name(standard["id"], "stitch")
    path = credentials_path(standard, "stitch")
    assert go.call("POST", path + "/credentials_rotation", {}, authorization=cli_auth(heroku))[0] == 200
    status, seen = go.call("GET", path, authorization=cli_auth(heroku))
    assert status == 200 and seen["state"] == "rotating"
    states = [(c["user"], c["state"]) for c in seen["credentials"]]
    assert states == [(role, "revoking"), (f"{role}-rotating", "active")], states
    during = heroku.config_vars("acme-stitch-dev")["STITCH_DATABASE_URL"]
    with connect(during) as conn:  # url.ts hands out the active username; it acts for the credential's role
        assert conn.execute("SELECT current_user, pg_has_role(%s, 'MEMBER')", (role,)).fetchone() == (f"{role}-rotating", True)

    heroku.finish_rotation(standard["id"], "stitch")
    status, seen = go.call("GET", path, authorization=cli_auth(heroku))
    assert seen["state"] == "active" and [(c["user"], c["state"]) for c in seen["credentials"]] == [(role, "active")]
    after = heroku.config_vars("acme-stitch-dev")["STITCH_DATABASE_URL"]
    with connect(after) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
    with pytest.raises(psycopg.OperationalError):
        connect(during)  # the temporary username is gone


# -- add-on attachments (heroku-go v5 AddOnAttachmentCreate/Info/Delete; Platform API "Add-on Attachment") ----------


def test_attaching_a_credential_sets_its_url_var_with_a_release(go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]) -> None:
    go.call("POST", credentials_path(standard), {"name": "stitch"}, authorization=cli_auth(heroku))
    releases = len(go.ok("GET", "/apps/acme-stitch-dev/releases"))
    body = {"addon": standard["id"], "app": standard["app"]["id"], "name": "STITCH_DATABASE", "namespace": "credential:stitch"}
    attachment = go.ok("POST", "/addon-attachments", body)
    assert set(attachment) == {"addon", "app", "created_at", "id", "log_input_url", "name", "namespace", "updated_at", "web_url"}
    seen = (attachment["name"], attachment["namespace"], attachment["addon"]["id"])
    assert seen == ("STITCH_DATABASE", "credential:stitch", standard["id"])
    assert go.ok("GET", f"/addon-attachments/{attachment['id']}") == attachment
    assert go.ok("GET", "/apps/acme-stitch-dev/addon-attachments/STITCH_DATABASE")["id"] == attachment["id"]
    values = go.ok("GET", "/apps/acme-stitch-dev/config-vars")
    stitch, owner = (psycopg.conninfo.conninfo_to_dict(values[k]) for k in ("STITCH_DATABASE_URL", "DATABASE_URL"))
    assert stitch["user"] == heroku.role_name(standard["id"], "stitch") != owner["user"] and stitch["dbname"] == owner["dbname"]
    assert len(go.ok("GET", "/apps/acme-stitch-dev/releases")) == releases + 1
    namespaces = {a["name"]: a["namespace"] for a in go.ok("GET", f"/addons/{standard['id']}/addon-attachments")}
    assert namespaces == {"DATABASE": None, "STITCH_DATABASE": "credential:stitch"}, "credentials.ts matches attachments by namespace"


def test_an_attachment_needs_addon_and_app_and_an_existing_credential(go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]) -> None:
    assert go.call("POST", "/addon-attachments", {"addon": standard["id"]})[0] == 422
    missing = {"addon": standard["id"], "app": standard["app"]["id"], "namespace": "credential:stitch"}
    assert go.call("POST", "/addon-attachments", missing)[:2] == (404, {"id": "not_found", "message": "Couldn't find that credential."})
    go.call("POST", credentials_path(standard), {"name": "stitch"}, authorization=cli_auth(heroku))
    lowercase = missing | {"name": "stitch_database"}
    assert go.call("POST", "/addon-attachments", lowercase)[0] == 422
    taken = missing | {"name": "DATABASE"}
    assert go.call("POST", "/addon-attachments", taken)[1]["message"] == "Cannot overwrite attachment values DATABASE_URL."


def test_an_addon_shared_with_another_app_sets_the_var_and_a_release_there_only(
    go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]
) -> None:
    """api-ref "Add-on Attachment": an add-on may be attached to apps other than its owner."""
    other = heroku.create_app("acme-reports")
    owner_releases = len(go.ok("GET", "/apps/acme-stitch-dev/releases"))
    attachment = go.ok("POST", "/addon-attachments", {"addon": standard["id"], "app": other["id"], "name": "DATABASE"})
    assert attachment["app"] == {"id": other["id"], "name": "acme-reports"}
    assert attachment["addon"]["app"] == {"id": standard["app"]["id"], "name": "acme-stitch-dev"}, "addon.app is the owner"
    assert go.ok("GET", "/apps/acme-reports/addon-attachments/DATABASE")["id"] == attachment["id"]
    assert heroku.config_vars("acme-reports")["DATABASE_URL"] == heroku.config_vars("acme-stitch-dev")["DATABASE_URL"]
    assert len(go.ok("GET", "/apps/acme-stitch-dev/releases")) == owner_releases, "no release on the owning app"
    heroku.rotate_credentials(standard["id"])
    assert heroku.config_vars("acme-reports")["DATABASE_URL"] == heroku.config_vars("acme-stitch-dev")["DATABASE_URL"]
    go.ok("DELETE", f"/addon-attachments/{attachment['id']}")
    assert "DATABASE_URL" not in heroku.config_vars("acme-reports") and "DATABASE_URL" in heroku.config_vars("acme-stitch-dev")


def test_detaching_takes_the_var_away_and_keeps_the_credential(go: HerokuGo, heroku: FakeHeroku, standard: dict[str, Any]) -> None:
    heroku.attach_credential(standard["id"], "stitch", "STITCH_DATABASE")
    attachment = go.ok("GET", "/apps/acme-stitch-dev/addon-attachments/STITCH_DATABASE")
    go.ok("DELETE", f"/addon-attachments/{attachment['id']}")
    assert "STITCH_DATABASE_URL" not in heroku.config_vars("acme-stitch-dev")
    assert heroku.credential_state(standard["id"], "stitch") == "active"
    assert go.call("GET", f"/addon-attachments/{attachment['id']}")[0] == 404
    (owner,) = go.ok("GET", f"/addons/{standard['id']}/addon-attachments")
    assert go.call("DELETE", f"/addon-attachments/{owner['id']}")[0] == 422, "the owning app's attachment goes with the add-on only"
