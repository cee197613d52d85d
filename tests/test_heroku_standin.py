"""The heroku provider stand-in over real gRPC, against the Heroku API double on loopback (whose add-ons are
real databases): the calls terraform-provider-heroku v5 makes through heroku-go v5, in its order, and the
properties, secrets, errors and partial states the bridged provider gives the engine.

The plugin's sleeps go to a recording clock instead of the wall clock, so waits are asserted by what was
asked for and never timed.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from google.rpc import status_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import provider_pb2_grpc

from tests.doubles import heroku_standin
from tests.doubles.fake_heroku import ACCEPT, FakeHeroku, HerokuApiServer, PostgresTarget
from tests.doubles.heroku_standin import ADDON_TYPE, APP_TYPE, GET_APP, HerokuStandIn, from_struct, is_secret, reveal, to_struct

LATEST_RELEASE = "version ..; max=1,order=desc"
RELEASES_FOR_DATA_SOURCE = "version ..; max=200,order=desc"
NO_DELAY = {"postAppCreateDelay": 0}
PLAN = "heroku-postgresql:essential-0"


@dataclass
class RecordingClock:
    """Stands in for time: sleeping records the request and moves the clock on at once. Each entry is
    (seconds, how many API requests the double had seen by then)."""

    heroku: FakeHeroku
    now: float = 0.0
    sleeps: list[tuple[float, int]] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((seconds, len(self.heroku.requests)))
        self.now += seconds

    def time(self) -> float:
        return self.now

    @property
    def seconds(self) -> list[float]:
        return [round(s, 3) for s, _count in self.sleeps]


class Plugin:
    """The engine's side of the protocol: Check then Create, Diff, Update, Read, Delete, Invoke."""

    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub, heroku: FakeHeroku, clock: RecordingClock):
        self.stub, self.heroku, self.clock = stub, heroku, clock

    def configure(self, **config: Any) -> None:
        config = {"url": self.heroku.url, "apiKey": self.heroku.api_key, "email": self.heroku.email} | config
        self.stub.Configure(proto.ConfigureRequest(args=to_struct({k: v for k, v in config.items() if v is not None}), acceptSecrets=True))

    @staticmethod
    def urn(kind: str, name: str) -> str:
        return f"urn:pulumi:dev::stitch-heroku::{kind}::{name}"

    def check(self, kind: str, name: str, news: dict[str, Any], olds: dict[str, Any] | None = None, seed: bytes = b"") -> Any:
        request = proto.CheckRequest(
            urn=self.urn(kind, name), name=name, type=kind, olds=to_struct(olds or {}), news=to_struct(news), randomSeed=seed
        )
        return self.stub.Check(request)

    def checked(self, kind: str, name: str, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.check(kind, name, news, olds)
        assert not response.failures, [f.reason for f in response.failures]
        return from_struct(response.inputs)

    def create(self, kind: str, name: str, news: dict[str, Any], *, preview: bool = False) -> tuple[str, dict[str, Any]]:
        inputs = self.checked(kind, name, news)
        response = self.stub.Create(
            proto.CreateRequest(urn=self.urn(kind, name), name=name, type=kind, properties=to_struct(inputs), preview=preview)
        )
        return response.id, from_struct(response.properties)

    def diff(self, kind: str, name: str, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        inputs = self.checked(kind, name, news, olds)
        request = proto.DiffRequest(
            id=resource_id, urn=self.urn(kind, name), name=name, type=kind, olds=to_struct(olds), news=to_struct(inputs)
        )
        return self.stub.Diff(request)

    def update(self, kind: str, name: str, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        inputs = self.checked(kind, name, news, olds)
        request = proto.UpdateRequest(
            id=resource_id, urn=self.urn(kind, name), name=name, type=kind, olds=to_struct(olds), news=to_struct(inputs)
        )
        return from_struct(self.stub.Update(request).properties)

    def read(self, kind: str, name: str, resource_id: str, state: dict[str, Any], inputs: dict[str, Any] | None = None) -> Any:
        request = proto.ReadRequest(
            id=resource_id, urn=self.urn(kind, name), name=name, type=kind, properties=to_struct(state), inputs=to_struct(inputs or {})
        )
        return self.stub.Read(request)

    def delete(self, kind: str, name: str, resource_id: str, state: dict[str, Any]) -> None:
        self.stub.Delete(proto.DeleteRequest(id=resource_id, urn=self.urn(kind, name), name=name, type=kind, properties=to_struct(state)))

    def get_app(self, name: str) -> dict[str, Any]:
        response = self.stub.Invoke(proto.InvokeRequest(tok=GET_APP, args=to_struct({"name": name})))
        assert not response.failures, [f.reason for f in response.failures]
        return from_struct(getattr(response, "return"))

    def new_app(self, name: str = "acme-stitch-dev", **props: Any) -> tuple[str, dict[str, Any]]:
        return self.create(APP_TYPE, "app", {"name": name, "region": "us"} | props)

    def new_addon(self, app_id: str, plan: str = PLAN, **props: Any) -> tuple[str, dict[str, Any]]:
        return self.create(ADDON_TYPE, "postgres", {"appId": app_id, "plan": plan} | props)


@contextmanager
def running_plugin(heroku: FakeHeroku, environ: dict[str, str] | None = None) -> Iterator[Plugin]:
    """The stand-in's gRPC server in this process, with a recording clock and its own environment."""
    clock = RecordingClock(heroku)
    server, port = heroku_standin.start(HerokuStandIn(sleep=clock.sleep, clock=clock.time, environ=environ or {}))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Plugin(provider_pb2_grpc.ResourceProviderStub(channel), heroku, clock)
    finally:
        channel.close()
        server.stop(None)


@pytest.fixture
def plugin(heroku: FakeHeroku) -> Iterator[Plugin]:
    with running_plugin(heroku) as running:
        running.configure(delays=NO_DELAY)
        yield running


def calls_since(heroku: FakeHeroku, start: int) -> list[str]:
    return heroku.calls()[start:]


def config_vars_then_read(app_id: str, release: str) -> list[str]:
    """What the provider does after it creates or renames an app: patch the config vars, wait for the release
    that made, then read the app back (the order the stand-in replays from resource_heroku_app.go)."""
    return [
        f"PATCH /apps/{app_id}/config-vars",
        f"GET /apps/{app_id}/releases",
        f"GET /apps/{app_id}/releases/{release}",
        f"GET /apps/{app_id}",
        f"GET /apps/{app_id}/buildpack-installations",
        f"GET /apps/{app_id}/config-vars",
    ]


def failure(caught: pytest.ExceptionInfo[grpc.RpcError]) -> tuple[str, Any]:
    """The error text and, for a partial create, the ErrorResourceInitFailed the engine records."""
    details = dict(caught.value.trailing_metadata() or ()).get("grpc-status-details-bin")
    if details is None:
        return caught.value.details(), None
    [detail] = status_pb2.Status.FromString(details).details
    init_failed = proto.ErrorResourceInitFailed()
    assert detail.Unpack(init_failed)
    return caught.value.details(), init_failed


def database_exists(ssl_server: Any, name: str) -> bool:
    with ssl_server.cluster.superuser() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


# -- the plugin ---------------------------------------------------------------------------------------------


def test_plugin_reports_the_installed_pulumiverse_heroku_version(plugin: Plugin) -> None:
    info = plugin.stub.GetPluginInfo(heroku_standin.empty_pb2.Empty())
    assert info.version == importlib.metadata.version("pulumiverse_heroku") == "1.0.4"


def test_installed_plugin_prints_its_port_and_serves_the_engine_protocol(heroku: FakeHeroku, tmp_path: Path) -> None:
    script = heroku_standin.install(tmp_path / "bin")
    assert script.name == "pulumi-resource-heroku" and script.stat().st_mode & 0o111
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    # The engine starts a provider with its own address as the argument and reads the port from stdout.
    process = subprocess.Popen([str(script), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        assert port.isdigit(), f"no port printed; stderr: {process.stderr.read() if process.poll() is not None and process.stderr else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert stub.GetPluginInfo(heroku_standin.empty_pb2.Empty()).version == "1.0.4"
            config = {"url": heroku.url, "apiKey": heroku.api_key, "delays": '{"postAppCreateDelay": 0}'}
            stub.Configure(proto.ConfigureRequest(args=to_struct(config), acceptSecrets=True))
            created = stub.Create(
                proto.CreateRequest(
                    urn=Plugin.urn(APP_TYPE, "app"), type=APP_TYPE, properties=to_struct({"name": "acme-stitch-dev", "region": "us"})
                )
            )
        assert heroku.apps[created.id].name == "acme-stitch-dev"
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- apps -------------------------------------------------------------------------------------------------


def test_app_create_makes_the_providers_calls_in_order(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, outputs = plugin.new_app()
    release = heroku.apps[app_id].releases[-1].id
    assert heroku.calls() == ["POST /apps", *config_vars_then_read(app_id, release)]
    create, config_vars, releases = heroku.requests[:3]
    assert (create.body, config_vars.body, releases.range) == ({"name": "acme-stitch-dev", "region": "us"}, {}, LATEST_RELEASE)
    assert {(r.auth, r.accept) for r in heroku.requests} == {("basic", ACCEPT)}
    # herokuHostname comes from web_url, as setAppDetails derives it (Heroku's `<app>-<hash>.herokuapp.com`).
    web_hash = heroku.apps[app_id].web_hash
    assert outputs["webUrl"] == f"https://acme-stitch-dev-{web_hash}.herokuapp.com/"
    assert (app_id, outputs["uuid"], outputs["herokuHostname"]) == (app_id, app_id, f"acme-stitch-dev-{web_hash}.herokuapp.com")
    assert (outputs["region"], outputs["stack"], outputs["configVars"], outputs["buildpacks"]) == ("us", "heroku-24", {}, [])
    assert is_secret(outputs["allConfigVars"]) and outputs["organization"] is None


def test_app_create_sleeps_the_post_create_delay_after_its_last_read(heroku: FakeHeroku) -> None:
    with running_plugin(heroku) as plugin:
        plugin.configure()  # the provider's default delays
        plugin.new_app()
        assert plugin.clock.sleeps == [(10, len(heroku.requests))]


def test_app_create_with_no_delay_asks_for_no_wait(plugin: Plugin, heroku: FakeHeroku) -> None:
    plugin.new_app()
    assert plugin.clock.seconds == [0]


def test_team_app_is_created_through_teams_apps_and_read_with_its_lock(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, outputs = plugin.new_app("acme-stitch-prod", organization={"name": "acme"})
    assert heroku.requests[0].path == "/teams/apps"
    assert heroku.requests[0].body == {"locked": False, "name": "acme-stitch-prod", "personal": False, "region": "us", "team": "acme"}
    assert f"GET /teams/apps/{app_id}" in heroku.calls()
    assert outputs["organization"] == {"name": "acme", "locked": False, "personal": False}
    assert outputs["space"] == ""


def test_release_still_pending_is_polled_with_the_sdks_backoff(ssl_server: Any) -> None:
    fake = FakeHeroku(PostgresTarget.for_cluster(ssl_server.cluster), pending_release_reads=2)
    with HerokuApiServer(fake) as heroku, running_plugin(heroku) as plugin:
        plugin.configure(delays=NO_DELAY)
        app_id, _ = plugin.new_app()
        release = heroku.apps[app_id].releases[-1].id
        assert heroku.calls().count(f"GET /apps/{app_id}/releases/{release}") == 3
        assert plugin.clock.seconds == [0.2, 0.4, 0]


def test_app_diff_updates_a_rename_and_replaces_for_a_new_region(plugin: Plugin) -> None:
    app_id, state = plugin.new_app()
    same = plugin.diff(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-dev", "region": "us"})
    rename = plugin.diff(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-two", "region": "us"})
    move = plugin.diff(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-dev", "region": "eu"})
    assert same.changes == proto.DiffResponse.DIFF_NONE
    assert (rename.changes, list(rename.replaces), list(rename.diffs)) == (proto.DiffResponse.DIFF_SOME, [], ["name"])
    assert (list(move.replaces), move.deleteBeforeReplace) == (["region"], False)
    assert move.detailedDiff["region"].kind == proto.PropertyDiff.UPDATE_REPLACE


def test_an_app_state_with_the_old_hostname_diffs_as_nothing_and_a_refresh_takes_web_urls_host(plugin: Plugin, heroku: FakeHeroku) -> None:
    """A stack written by the stand-in before it followed setAppDetails kept `<app>.herokuapp.com`: an output only,
    so the next up neither updates nor replaces the app, and a refresh records the host of web_url."""
    app_id, state = plugin.new_app()
    old = {**state, "herokuHostname": "acme-stitch-dev.herokuapp.com"}
    same = plugin.diff(APP_TYPE, "app", app_id, old, {"name": "acme-stitch-dev", "region": "us"})
    assert (same.changes, list(same.replaces)) == (proto.DiffResponse.DIFF_NONE, [])
    read = plugin.read(APP_TYPE, "app", app_id, old, {"name": "acme-stitch-dev", "region": "us"})
    refreshed = from_struct(read.properties)
    assert refreshed["herokuHostname"] == f"acme-stitch-dev-{heroku.apps[app_id].web_hash}.herokuapp.com"


def test_app_rename_is_an_update_with_the_providers_calls(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, state = plugin.new_app()
    start = len(heroku.requests)
    outputs = plugin.update(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-two", "region": "us"})
    release = heroku.apps[app_id].releases[-1].id
    assert calls_since(heroku, start) == [f"PATCH /apps/{app_id}", *config_vars_then_read(app_id, release)]
    assert (heroku.requests[start].body, heroku.requests[start + 1].body) == ({"name": "acme-stitch-two"}, {})
    hostname = f"acme-stitch-two-{heroku.apps[app_id].web_hash}.herokuapp.com"
    assert (outputs["name"], outputs["herokuHostname"]) == ("acme-stitch-two", hostname)


def test_config_vars_the_program_sets_are_patched_and_only_they_are_tracked(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, state = plugin.new_app(configVars={"A": "1"})
    heroku.set_config_vars(app_id, {"OTHER": "x"})
    outputs = plugin.update(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-dev", "region": "us", "configVars": {"B": "2"}})
    patches = [r.body for r in heroku.requests if r.method == "PATCH" and r.path.endswith("/config-vars")]
    assert patches == [{"A": "<redacted>"}, {"A": None, "B": "<redacted>"}]
    assert outputs["configVars"] == {"B": "2"}
    assert reveal(outputs["allConfigVars"]) == {"OTHER": "x", "B": "2"}


def test_refresh_reads_the_app_and_reports_a_deleted_one_gone(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, state = plugin.new_app()
    start = len(heroku.requests)
    refreshed = plugin.read(APP_TYPE, "app", app_id, state, {"name": "acme-stitch-dev", "region": "us"})
    assert calls_since(heroku, start) == [
        f"GET /apps/{app_id}",  # Exists
        f"GET /apps/{app_id}",
        f"GET /apps/{app_id}/buildpack-installations",
        f"GET /apps/{app_id}/config-vars",
    ]
    assert (refreshed.id, from_struct(refreshed.inputs)) == (app_id, {"name": "acme-stitch-dev", "region": "us"})
    plugin.delete(APP_TYPE, "app", app_id, state)
    assert heroku.calls()[-1] == f"DELETE /apps/{app_id}" and app_id not in heroku.apps
    assert plugin.read(APP_TYPE, "app", app_id, state).id == ""


def test_import_finds_the_app_by_name_and_keeps_its_uuid(plugin: Plugin, heroku: FakeHeroku) -> None:
    made = heroku.create_app("acme-stitch-dev")
    imported = plugin.read(APP_TYPE, "app", "acme-stitch-dev", {})
    assert imported.id == made["id"]
    assert from_struct(imported.inputs) == {
        "name": "acme-stitch-dev",
        "region": "us",
        "stack": "heroku-24",
        "internalRouting": False,
        "acm": False,
    }


# -- add-ons --------------------------------------------------------------------------------------------------


def test_addon_create_polls_until_provisioned_then_waits_for_its_config_var(plugin: Plugin, heroku: FakeHeroku, ssl_server: Any) -> None:
    app_id, _ = plugin.new_app()
    start = len(heroku.requests)
    addon_id, outputs = plugin.new_addon(app_id)
    assert calls_since(heroku, start) == [
        f"GET /apps/{app_id}",
        f"POST /apps/{app_id}/addons",
        f"GET /apps/{app_id}/addons/{addon_id}",
        f"GET /apps/{app_id}/addons/{addon_id}",
        f"GET /apps/{app_id}/config-vars",
        f"GET /addons/{addon_id}",
        f"GET /apps/{app_id}/config-vars",
    ]
    body = heroku.requests[start + 1].body
    assert body == {"confirm": "acme-stitch-dev", "name": outputs["name"], "plan": PLAN}
    assert re.fullmatch(r"postgres-[0-9a-f]{7}", outputs["name"]), "the bridge auto-names the add-on after the resource"
    assert plugin.clock.seconds == [0, 0.2]  # the app's delay, then one poll of the add-on
    assert (outputs["appId"], outputs["plan"], outputs["configVars"]) == (app_id, PLAN, ["DATABASE_URL"])
    assert is_secret(outputs["configVarValues"])
    assert database_exists(ssl_server, heroku.database_name(addon_id))
    with psycopg.connect(reveal(outputs["configVarValues"])["DATABASE_URL"], sslmode="require", connect_timeout=5) as conn:
        assert conn.info.dbname == heroku.database_name(addon_id)


def test_addon_version_option_is_sent_as_config(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, outputs = plugin.new_addon(app_id, config={"version": "16"})
    assert heroku.addons[addon_id].version == "16" and outputs["config"] == {"version": "16"}


def test_addon_name_proposal_is_stable_and_an_old_name_is_kept(plugin: Plugin) -> None:
    news = {"appId": "6c0de0a1-b7e1-4f5b-9a43-2f1c6d2e8f65", "plan": PLAN}
    first = from_struct(plugin.check(ADDON_TYPE, "postgres", news, seed=b"seed").inputs)["name"]
    again = from_struct(plugin.check(ADDON_TYPE, "postgres", news, seed=b"seed").inputs)["name"]
    kept = from_struct(plugin.check(ADDON_TYPE, "postgres", news, olds={"name": "postgres-0000001"}, seed=b"other").inputs)["name"]
    assert first == again and re.fullmatch(r"postgres-[0-9a-f]{7}", first)
    assert kept == "postgres-0000001"


def test_plan_change_is_an_in_place_update_and_config_or_app_changes_replace(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, state = plugin.new_addon(app_id)
    news = {"appId": app_id, "plan": "heroku-postgresql:standard-0"}
    upgrade = plugin.diff(ADDON_TYPE, "postgres", addon_id, state, news)
    version = plugin.diff(ADDON_TYPE, "postgres", addon_id, state, news | {"config": {"version": "17"}})
    assert (list(upgrade.diffs), list(upgrade.replaces)) == (["plan"], [])
    assert (list(version.replaces), version.deleteBeforeReplace) == (["config"], False)
    database = heroku.database_name(addon_id)
    start = len(heroku.requests)
    outputs = plugin.update(ADDON_TYPE, "postgres", addon_id, state, news)
    assert calls_since(heroku, start) == [
        f"PATCH /apps/{app_id}/addons/{addon_id}",
        f"GET /addons/{addon_id}",
        f"GET /apps/{app_id}/config-vars",
    ]
    assert heroku.requests[start].body == {"plan": "heroku-postgresql:standard-0"}
    assert (outputs["plan"], heroku.database_name(addon_id)) == ("heroku-postgresql:standard-0", database)


def test_addon_delete_drops_the_database_and_refresh_then_finds_it_gone(plugin: Plugin, heroku: FakeHeroku, ssl_server: Any) -> None:
    app_id, _ = plugin.new_app()
    addon_id, state = plugin.new_addon(app_id)
    database = heroku.database_name(addon_id)
    plugin.delete(ADDON_TYPE, "postgres", addon_id, reveal(state))
    assert heroku.calls()[-1] == f"DELETE /apps/{app_id}/addons/{addon_id}"
    assert not database_exists(ssl_server, database)
    assert plugin.read(ADDON_TYPE, "postgres", addon_id, reveal(state)).id == ""


def test_addon_that_never_provisions_fails_after_the_addon_create_timeout(ssl_server: Any) -> None:
    fake = FakeHeroku(PostgresTarget.for_cluster(ssl_server.cluster), provisioning_reads=10**6)
    with HerokuApiServer(fake) as heroku, running_plugin(heroku) as plugin:
        plugin.configure(delays=NO_DELAY, timeouts={"addonCreateTimeout": 10})
        app_id, _ = plugin.new_app()
        with pytest.raises(grpc.RpcError) as caught:
            plugin.new_addon(app_id)
        message, partial = failure(caught)
        [addon_id] = heroku.addons
        expected = "timeout while waiting for state to become 'provisioned' (last state: 'provisioning', timeout: 10m0s)"
        assert message == f"Error waiting for Addon ({addon_id}) to be provisioned: {expected}"
        assert partial is None, "the real provider sets the id only once provisioned"
        assert plugin.clock.now == 600


# -- the app lookup (getApp) -------------------------------------------------------------------------------------


def test_get_app_reads_the_app_by_name_then_its_releases(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    _, addon = plugin.new_addon(app_id)
    start = len(heroku.requests)
    found = plugin.get_app("acme-stitch-dev")
    assert calls_since(heroku, start) == [
        "GET /apps/acme-stitch-dev",
        "GET /apps/acme-stitch-dev/buildpack-installations",
        "GET /apps/acme-stitch-dev/config-vars",
        f"GET /apps/{app_id}/releases",
    ]
    assert heroku.requests[-1].range == RELEASES_FOR_DATA_SOURCE
    assert found["configVars"]["DATABASE_URL"] == reveal(addon["configVarValues"])["DATABASE_URL"]
    assert (found["id"], found["uuid"], found["organizations"]) == (app_id, app_id, [])
    assert found["lastReleaseId"] == heroku.apps[app_id].releases[-1].id


def test_get_app_of_a_missing_app_fails_with_herokus_message(plugin: Plugin) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        plugin.get_app("nobody-has-this")
    assert caught.value.details().endswith("/apps/nobody-has-this\": Couldn't find that app.")
    assert caught.value.details().startswith(f"invoking {GET_APP}: error retrieving app: Get ")


# -- logins ---------------------------------------------------------------------------------------------------------


def write_netrc(tmp_path: Path, machine: str, password: str) -> Path:
    path = tmp_path / "netrc"
    path.write_text(f"machine {machine}\n  login someone@example.org\n  password {password}\n")
    return path


def test_netrc_login_for_the_api_host_and_port_is_used(heroku: FakeHeroku, tmp_path: Path) -> None:
    host = heroku.url.removeprefix("http://")
    environ = {"NETRC_PATH": str(write_netrc(tmp_path, host, heroku.api_key))}
    with running_plugin(heroku, environ) as plugin:
        plugin.configure(apiKey=None, email=None, delays=NO_DELAY)
        app_id, _ = plugin.new_app()
    assert app_id in heroku.apps and {r.auth for r in heroku.requests} == {"basic"}


def test_netrc_in_the_netrc_directory_and_home_are_found(heroku: FakeHeroku, tmp_path: Path) -> None:
    host = heroku.url.removeprefix("http://")
    write_netrc(tmp_path, host, heroku.api_key).rename(tmp_path / ".netrc")
    for environ in ({"NETRC": str(tmp_path)}, {"HOME": str(tmp_path)}):
        with running_plugin(heroku, environ) as plugin:
            plugin.configure(apiKey=None, email=None, delays=NO_DELAY)
            assert plugin.get_app(heroku.create_app(f"app-{len(heroku.apps)}")["name"])["id"]


def test_netrc_machine_without_the_port_does_not_match(heroku: FakeHeroku, tmp_path: Path) -> None:
    environ = {"NETRC_PATH": str(write_netrc(tmp_path, "127.0.0.1", heroku.api_key))}
    with running_plugin(heroku, environ) as plugin:
        plugin.configure(apiKey=None, email=None, delays=NO_DELAY)
        with pytest.raises(grpc.RpcError) as caught:
            plugin.new_app()
    assert caught.value.details().endswith('/apps": Invalid credentials provided.')
    assert heroku.requests[0].auth is None and heroku.apps == {}


def test_key_in_config_wins_over_the_environment_and_the_environment_over_netrc(heroku: FakeHeroku, tmp_path: Path) -> None:
    host = heroku.url.removeprefix("http://")
    environ = {"NETRC_PATH": str(write_netrc(tmp_path, host, "netrc-key-is-stale")), "HEROKU_API_KEY": "env-key-is-stale"}
    with running_plugin(heroku, environ) as plugin:
        plugin.configure(delays=NO_DELAY)  # the right key, in the provider's config
        plugin.new_app("acme-one")
    with running_plugin(heroku, environ | {"HEROKU_API_KEY": heroku.api_key}) as plugin:
        plugin.configure(apiKey=None, delays=NO_DELAY)
        plugin.new_app("acme-two")
    assert {a.name for a in heroku.apps.values()} == {"acme-one", "acme-two"}


# -- errors ------------------------------------------------------------------------------------------------------------


def test_herokus_refusal_is_the_error_with_its_message_and_never_the_key(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    with pytest.raises(grpc.RpcError) as caught:
        plugin.new_addon(app_id, "heroku-postgresql:private-0")
    message, partial = failure(caught)
    assert message == (
        f"Error creating addon heroku-postgresql:private-0 for app acme-stitch-dev ({app_id}): "
        f'Post "{heroku.url}/apps/{app_id}/addons": '
        "The heroku-postgresql:private-0 plan can only be provisioned on an app in a Private Space."
    )
    assert heroku.api_key not in message and partial is None and heroku.addons == {}


def test_app_create_failing_after_the_app_exists_is_recorded_as_a_partial_create(plugin: Plugin, heroku: FakeHeroku) -> None:
    heroku.fail("PATCH", r"/apps/[^/]+/config-vars", 503, "Heroku is temporarily unavailable", error_id="unavailable")
    with pytest.raises(grpc.RpcError) as caught:
        plugin.new_app()
    message, partial = failure(caught)
    [app_id] = heroku.apps
    assert message == f'Error updating config vars: Patch "{heroku.url}/apps/{app_id}/config-vars": Heroku is temporarily unavailable'
    assert partial.id == app_id and from_struct(partial.properties)["name"] == "acme-stitch-dev"


def test_rate_limited_request_is_retried_with_heroku_gos_backoff(plugin: Plugin, heroku: FakeHeroku) -> None:
    heroku.fail("POST", r"/apps", 429, "Your account reached the API rate limit", error_id="rate_limit", times=2)
    app_id, _ = plugin.new_app()
    first, second, delay = plugin.clock.seconds
    assert 22.5 <= first <= 37.5 and 45 <= second <= 75 and delay == 0  # 30 s then 60 s, each +-25 %
    assert heroku.calls()[:3] == ["POST /apps", "POST /apps", "POST /apps"] and app_id in heroku.apps


def test_check_config_refuses_what_the_provider_schema_refuses(plugin: Plugin) -> None:
    bad = {"timeouts": {"addonCreateTimeout": 5}, "delays": '{"postAppCreateDelay": -1}', "headers": "not json"}
    response = plugin.stub.CheckConfig(proto.CheckRequest(news=to_struct(bad)))
    reasons = sorted(f.reason for f in response.failures)
    assert reasons == [
        "heroku:delays.postAppCreateDelay must be a whole number of seconds of at least 0, got -1",
        'heroku:headers must be the JSON text of an object of strings, e.g. {"X-Custom": "1"}',
        "heroku:timeouts.addonCreateTimeout must be a whole number of minutes of at least 10, got 5",
    ]


def test_check_refuses_a_missing_region_and_an_app_id_that_is_not_a_uuid(plugin: Plugin) -> None:
    app = plugin.check(APP_TYPE, "app", {"name": "acme-stitch-dev"})
    addon = plugin.check(ADDON_TYPE, "postgres", {"appId": "acme-stitch-dev", "plan": PLAN})
    assert [(f.property, f.reason) for f in app.failures] == [("region", "Missing required property 'region'")]
    assert [(f.property, f.reason) for f in addon.failures] == [("appId", 'expected "app_id" to be a valid UUID, got acme-stitch-dev')]


def test_preview_of_a_create_calls_nothing_and_leaves_herokus_values_unknown(plugin: Plugin, heroku: FakeHeroku) -> None:
    _id, outputs = plugin.create(APP_TYPE, "app", {"name": "acme-stitch-dev", "region": "us"}, preview=True)
    assert heroku.requests == []
    assert (outputs["name"], outputs["uuid"], reveal(outputs["allConfigVars"])) == (
        "acme-stitch-dev",
        heroku_standin.UNKNOWN,
        heroku_standin.UNKNOWN,
    )


# -- add-on attachments (terraform-provider-heroku v5.2.10 resource_heroku_addon_attachment.go) ---------------

ATTACHMENT_INPUTS = {"name": "STITCH_DATABASE", "namespace": "credential:stitch"}


def stitch_credential(heroku: FakeHeroku, addon_id: str) -> None:
    """`heroku pg:credentials:create --name stitch`, straight on the double (its Data API is tested in test_fake_heroku)."""
    heroku.credential_provisioning_reads = 0
    status = heroku.handle(
        "POST", f"/postgres/v0/databases/{addon_id}/credentials", {"Authorization": f"Bearer {heroku.api_key}"}, b'{"name":"stitch"}'
    )[0]
    assert status == 201


def attach(plugin: Plugin, app_id: str, addon_id: str) -> tuple[str, dict[str, Any]]:
    return plugin.create(heroku_standin.ATTACHMENT_TYPE, "attachment", {"appId": app_id, "addonId": addon_id} | ATTACHMENT_INPUTS)


def test_attachment_create_posts_addon_app_name_namespace_then_reads_it(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, _ = plugin.new_addon(app_id, "heroku-postgresql:standard-0")
    stitch_credential(heroku, addon_id)
    start = len(heroku.requests)
    attachment_id, outputs = attach(plugin, app_id, addon_id)
    assert calls_since(heroku, start) == ["POST /addon-attachments", f"GET /addon-attachments/{attachment_id}"]
    # heroku-go AddOnAttachmentCreateOpts: addon, app, then name and namespace (omitempty); Confirm never set by the provider.
    assert heroku.requests[start].body == {"addon": addon_id, "app": app_id, "name": "STITCH_DATABASE", "namespace": "credential:stitch"}
    assert outputs == {"appId": app_id, "addonId": addon_id, "__meta": '{"schema_version":"1"}'} | ATTACHMENT_INPUTS
    assert heroku.config_vars("acme-stitch-dev")["STITCH_DATABASE_URL"].startswith("postgres://stitch_")


def test_attachment_without_name_or_namespace_sends_neither_and_heroku_names_it(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, _ = plugin.new_addon(app_id)
    start = len(heroku.requests)
    _attachment_id, outputs = plugin.create(heroku_standin.ATTACHMENT_TYPE, "attachment", {"appId": app_id, "addonId": addon_id})
    assert heroku.requests[start].body == {"addon": addon_id, "app": app_id}
    assert outputs["name"].startswith("HEROKU_POSTGRESQL_") and outputs["namespace"] == "", 'a null namespace is stored as ""'


def test_attachment_check_wants_app_id_as_a_uuid_and_both_ids(plugin: Plugin) -> None:
    response = plugin.check(heroku_standin.ATTACHMENT_TYPE, "attachment", {"appId": "acme-stitch-dev"})
    reasons = {f.property: f.reason for f in response.failures}
    assert reasons == {
        "addonId": "Missing required property 'addonId'",
        "appId": 'expected "app_id" to be a valid UUID, got acme-stitch-dev',
    }
    assert "name" not in from_struct(response.inputs), "an attachment's name is not auto-named: Heroku picks one"


def test_attachment_diff_replaces_on_any_change(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, _ = plugin.new_addon(app_id, "heroku-postgresql:standard-0")
    stitch_credential(heroku, addon_id)
    inputs = {"appId": app_id, "addonId": addon_id} | ATTACHMENT_INPUTS
    attachment_id, outputs = plugin.create(heroku_standin.ATTACHMENT_TYPE, "attachment", inputs)
    diff = plugin.diff(heroku_standin.ATTACHMENT_TYPE, "attachment", attachment_id, outputs, inputs | {"name": "STITCH_DB"})
    assert list(diff.replaces) == ["name"]
    same = plugin.diff(heroku_standin.ATTACHMENT_TYPE, "attachment", attachment_id, outputs, inputs)
    assert same.changes == proto.DiffResponse.DIFF_NONE


def test_attachment_refresh_reads_it_and_a_deleted_one_fails_the_read(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, _ = plugin.new_addon(app_id, "heroku-postgresql:standard-0")
    stitch_credential(heroku, addon_id)
    attachment_id, outputs = attach(plugin, app_id, addon_id)
    read = plugin.read(heroku_standin.ATTACHMENT_TYPE, "attachment", attachment_id, outputs)
    assert read.id == attachment_id and from_struct(read.properties)["namespace"] == "credential:stitch"
    plugin.delete(heroku_standin.ATTACHMENT_TYPE, "attachment", attachment_id, outputs)
    assert heroku.calls()[-1] == f"DELETE /addon-attachments/{attachment_id}"
    assert "STITCH_DATABASE_URL" not in heroku.config_vars("acme-stitch-dev")
    # The resource has no Exists: AddOnAttachmentInfo's not_found fails the read instead of dropping it.
    with pytest.raises(grpc.RpcError) as caught:
        plugin.read(heroku_standin.ATTACHMENT_TYPE, "attachment", attachment_id, outputs)
    assert failure(caught)[0].startswith("Error retrieving addon attachment: Get ")
    assert "Couldn't find that add-on attachment." in failure(caught)[0]


def test_attachment_import_takes_only_a_uuid(plugin: Plugin) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        plugin.read(heroku_standin.ATTACHMENT_TYPE, "attachment", "STITCH_DATABASE", {})
    assert failure(caught)[0] == "You can only import addon attachments by their unique ID"


def test_attachment_create_error_is_herokus_message_as_is(plugin: Plugin, heroku: FakeHeroku) -> None:
    app_id, _ = plugin.new_app()
    addon_id, _ = plugin.new_addon(app_id, "heroku-postgresql:standard-0")
    with pytest.raises(grpc.RpcError) as caught:
        attach(plugin, app_id, addon_id)
    message, init_failed = failure(caught)
    assert message == f'Post "{heroku.url}/addon-attachments": Couldn\'t find that credential.' and init_failed is None
    assert "STITCH_DATABASE_URL" not in heroku.config_vars("acme-stitch-dev")
