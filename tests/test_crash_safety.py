"""Crash safety with the real Pulumi engine: a `pulumi up` of a `source: heroku` stack with a Stitch destination,
interrupted (SIGINT, as Ctrl-C sends; SIGKILL, as a killed CI job) while the Heroku add-on is provisioning,
while the grant runs, while the verification runs, inside Stitch's POST and inside Stitch's PUT; then the
recovery docs/crash-recovery.md gives, and an `up` that converges: one destination in Stitch, no database
deleted, the grant on the server and the verification passing.

Each interrupted `up` runs in its own Python process (this module, run as a script: the Automation API's
inline mode runs the program in the calling process and the CLI as its child), so the test can signal the
CLI alone. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pulumi import automation as auto
from stitch_heroku.stitch_destination import StitchDestinationError, StitchDestinationProvider

from tests.doubles.fake_heroku import FakeHeroku
from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real
from tests.support.provider_config import configured
from tests.support.real_engine import RealStack, new_app_name, real_stack
from tests.test_real_engine import assert_no_secret_anywhere, passwords_of
from tests.test_real_engine_heroku import heroku_config
from tests.test_real_engine_stitch_role import Scenario, configure
from tests.test_stitch_destination import props

ROOT = Path(__file__).resolve().parents[1]
DRIVER_TIMEOUT = 120.0
"""Seconds an interrupted `up` may take to reach its phase, or to end after the signal."""


# -- processes (no psutil here: /proc) ------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of pid, from /proc/<pid>/task/*/children (every thread's)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    todo, seen = children(pid), []
    while todo:
        child = todo.pop()
        if child not in seen:
            seen.append(child)
            todo += children(child)
    return seen


def command_line(pid: int) -> list[str]:
    try:
        return [part for part in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if part]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def pulumi_cli(driver: int, *, verb: str = "up") -> int | None:
    """The `pulumi <verb>` process the driver's Automation API started, if it runs yet."""
    for pid in children(driver):
        argv = command_line(pid)
        if argv and Path(argv[0]).name == "pulumi" and verb in argv[1:3]:
            return pid
    return None


def wait_for(condition: Callable[[], object], what: str, timeout: float = DRIVER_TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# -- the driver: one `pulumi up` in a process of its own ---------------------------------------------------


def drive(base_dir: Path, stack_name: str) -> int:
    """Run `up` on a stack the test set up in base_dir; print the engine's lines as they come."""
    with real_stack(base_dir, stack_name) as stack:
        try:
            stack.stack.up(on_output=lambda line: print(line, flush=True), color="never")
        except auto.CommandError as error:
            print(f"DRIVER: up failed: {str(error)[-3000:]}", flush=True)
            return 1
    return 0


@dataclass
class Interrupted:
    """One interrupted `up`: the driver process, the CLI it started, and what it printed."""

    driver: subprocess.Popen[str]
    log: Path
    cli: int | None = None
    plugins: list[int] = field(default_factory=list)

    @property
    def printed(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@contextmanager
def interrupted_up(base_dir: Path, stack_name: str) -> Iterator[Interrupted]:
    """Start `up` in a driver process; the caller waits for its phase and signals `run.cli`. Whatever
    happens, the driver and every plugin the CLI started are ended (by pid) before this returns."""
    log = base_dir / f"driver-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        driver = subprocess.Popen(
            [sys.executable, "-m", "tests.test_crash_safety", str(base_dir), stack_name],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    run = Interrupted(driver, log)
    try:
        run.cli = int(wait_for(lambda: pulumi_cli(driver.pid), "the pulumi CLI to start"))  # type: ignore[arg-type]
        yield run
    finally:
        try:
            # After the signal the up ends on its own; a test that failed before it gets 5 s.
            driver.wait(timeout=DRIVER_TIMEOUT if run.plugins else 5)
        except subprocess.TimeoutExpired:
            if run.cli is not None and alive(run.cli):
                run.plugins = run.plugins or descendants(run.cli)
                os.kill(run.cli, signal.SIGKILL)
            driver.kill()
            driver.wait()
        for pid in run.plugins:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def signal_cli(run: Interrupted, signum: int) -> None:
    """Send signum to the CLI alone; remember its plugins first, to end any it leaves behind."""
    assert run.cli is not None
    run.plugins = descendants(run.cli)
    os.kill(run.cli, signum)


# -- the create's adoption of a destination lost to a crash (the provider alone, no engine) ----------------


@pytest.fixture
def stitch():
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as server:
        yield server


MARKER = "Made and kept by stitch-heroku (Pulumi); marker 0f3c9a"


def test_a_twin_carrying_our_marker_is_adopted_not_duplicated(stitch, ssl_server):
    ours = props(stitch, ssl_server.owner_url) | {"description": MARKER}
    seen = {k: v for k, v in ours["properties"].items() if k != "password"}
    lost = stitch.add_destination(ours["name"], seen | {"password": "old"}, description=MARKER)
    result = configured(StitchDestinationProvider(), {"stitch:accessToken": stitch.token}).create(ours)
    assert result.id == str(lost) and list(stitch.destinations) == [lost]
    assert stitch.calls("POST") == [] and stitch.calls("DELETE") == []
    assert stitch.destinations[lost]["properties"]["password"] == ours["properties"]["password"], "the PUT brought our password"


@pytest.mark.parametrize("other", ["made by hand, same database and user", "another stack's marker", "type", "no marker of ours"])
def test_a_twin_that_is_not_provably_ours_is_refused_naming_stitch_destination_id(stitch, ssl_server, other):
    """A destination someone made in Stitch's UI for this very database and user is the likely twin: never
    adopted (and so never deleted by a later destroy) without stitch_destination_id."""
    ours = props(stitch, ssl_server.owner_url) | ({} if other == "no marker of ours" else {"description": MARKER})
    description = {"another stack's marker": MARKER + "ff", "type": MARKER, "no marker of ours": MARKER}.get(other)
    twin = stitch.add_destination(ours["name"], ours["properties"], type_="redshift" if other == "type" else "postgres",
                                  description=description)  # fmt: skip
    with pytest.raises(StitchDestinationError, match=f"pulumi config set stitch_destination_id {twin}") as refused:
        configured(StitchDestinationProvider(), {"stitch:accessToken": stitch.token}).create(ours)
    assert "this stack did not make" in str(refused.value)
    assert stitch.calls("POST") == [] and stitch.calls("PUT") == []


def test_our_post_sends_the_marker_in_the_documented_description(stitch, ssl_server):
    provider = configured(StitchDestinationProvider(), {"stitch:accessToken": stitch.token})
    made = provider.create(props(stitch, ssl_server.owner_url) | {"description": MARKER})
    assert stitch.destinations[int(made.id)]["description"] == MARKER


# -- interrupted `up`s with the real engine ---------------------------------------------------------------

PHASES = ("addon", "grant", "verification", "stitch-create-before", "stitch-create-after", "stitch-update")
DESTINATION = "pulumi-python:dynamic/stitch:Destination"
PENDING_TYPE = {
    "addon": "heroku:addon/addon:Addon",
    "grant": "postgresql:index/grant:Grant",
    "verification": "pulumi-python:dynamic/stitch:Verification",
    "stitch-create-before": DESTINATION,
    "stitch-create-after": DESTINATION,
    "stitch-update": DESTINATION,
}


def superuser(heroku: FakeHeroku, database: str) -> psycopg.Connection:
    return psycopg.connect(heroku.postgres.admin_conninfo, dbname=database, autocommit=True, connect_timeout=10)


def waiting_lock(heroku: FakeHeroku, database: str, locktype: str) -> bool:
    """Whether a session in database waits for a lock of this type (pg_locks: granted false)."""
    with superuser(heroku, database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE d.datname = %s AND l.locktype = %s AND NOT l.granted",
            (database, locktype),
        ).fetchone()
    return bool(row and row[0])


def checkpoint(stack: RealStack) -> dict[str, Any]:
    path = stack.state_dir / ".pulumi" / "stacks" / "stitch-heroku" / f"{stack.stack.name}.json"
    return json.loads(path.read_text())["checkpoint"]["latest"]


def pending(stack: RealStack) -> list[tuple[str, str]]:
    return [(op["type"], op["resource"]["type"]) for op in checkpoint(stack).get("pending_operations") or []]


def locks(stack: RealStack) -> list[Path]:
    return list((stack.state_dir / ".pulumi" / "locks").rglob("*.json"))


def cli(stack: RealStack, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(stack.pulumi), *args, "--stack", stack.stack.name, "--non-interactive", "--color", "never"],
        cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, check=False, timeout=DRIVER_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def recover(stack: RealStack) -> None:
    """docs/crash-recovery.md: remove a dead update's lock, drop pending creates (what they made is found
    again by the next up: the add-on's database stays; a destination is adopted), then refresh."""
    cli(stack, "cancel", "--yes")
    cli(stack, "refresh", "--clear-pending-creates", "--yes")


def recover_step_by_step(stack: RealStack) -> None:
    """What each command says and does, one at a time: the next up after a kill is refused for the lock;
    after `cancel` it warns about the pending create, adopts the destination and still carries the pending
    create; `refresh --clear-pending-creates` removes it without a terminal."""
    with pytest.raises(auto.CommandError) as locked:
        stack.up()
    assert "the stack is currently locked" in str(locked.value) and "pulumi cancel" in str(locked.value)
    cli(stack, "cancel", "--yes")
    assert not locks(stack)
    stack.up()
    said = stack.printed[-1].text
    assert "1 pending operations from previous deployment" in said and "stitch-destination, interrupted while creating" in said
    assert pending(stack) == [("creating", DESTINATION)], "an up carries a pending create into the new state"
    cli(stack, "refresh", "--clear-pending-creates", "--yes")
    assert not pending(stack)


def stop_cli(run: Interrupted, signum: int) -> None:
    """SIGINT: the CLI alone, as Ctrl-C reaches it (the CLI starts its plugins in process groups of their
    own: sdk/go/common/util/cmdutil/child_unix.go), then wait until it says it is cancelling.
    SIGKILL: the CLI and the plugins it started, as a killed CI job loses its whole process tree."""
    signal_cli(run, signum)
    if signum == signal.SIGINT:
        wait_for(lambda: "received; cancelling" in run.printed, "the CLI to start cancelling", timeout=30)
        return
    for pid in run.plugins:
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: run.cli is not None and not alive(run.cli), "the CLI to die", timeout=30)


# Ctrl-C waits for Stitch's answer whether Stitch has acted yet or not: "before" matters for a kill only.
SCENARIOS = [
    pytest.param(phase, signum, id=f"{phase}-{signum.name.lower()}")
    for phase in PHASES
    for signum in (signal.SIGINT, signal.SIGKILL)
    if not (phase == "stitch-create-before" and signum == signal.SIGINT)
]


@pytest.mark.parametrize(("phase", "signum"), SCENARIOS)
def test_an_interrupted_up_recovers_and_converges(toolchain, tmp_path, heroku, phase, signum):
    """No destroy at the end: the Heroku double drops every database it made when the test ends, and the
    state lives in tmp_path (a destroy would cost the time the whole module has to stay under)."""
    app_name = new_app_name("crash")
    # Stitch's connection check is done at once and its check endpoint answers, so the wait for the report
    # card ends at the first look (no 5 s poll per create or update; nothing here is about that wait).
    fast = FakeStitch(check_outcome=connects_for_real, running_polls=0, check_endpoint=True)
    with StitchServer(fast) as stitch, real_stack(tmp_path, "dev") as stack:
        heroku_config(stack, heroku, app_name, stitch_api_url=stitch.url, stitch_check_timeout="30")
        stack.set_config({}, secrets={"stitch:accessToken": stitch.token})
        if phase == "stitch-update":
            stack.up()
            first = next(iter(heroku.addons))
            keep_data(heroku, first)
            heroku.rotate_credentials(first)
        else:
            heroku.provisioning_reads = 10**6  # the add-on stays "provisioning" until the test lets it go
        with interrupted_up(tmp_path, "dev") as run, Held() as held:
            first = str(wait_for(lambda: next(iter(heroku.addons), None), "the add-on's POST"))
            if phase != "stitch-update":
                keep_data(heroku, first)
            database = heroku.database_name(first)
            release = hold(phase, heroku, stitch, first, database, held)
            if phase not in ("addon", "stitch-update"):
                provisioned(heroku)
            wait_for(release.reached, f"the up to reach the {phase}")
            stop_cli(run, signum)
            release.go(signum == signal.SIGKILL)
        assert run.driver.returncode != 0, run.printed[-2000:]

        if signum == signal.SIGKILL:
            assert locks(stack), "a killed CLI leaves the file backend's lock behind"
            assert ("creating" if phase != "stitch-update" else "updating", PENDING_TYPE[phase]) in pending(stack)
        else:
            assert not locks(stack) and not pending(stack), "Ctrl-C waits for what runs and records it"

        if phase == "stitch-create-after" and signum == signal.SIGKILL:
            recover_step_by_step(stack)
        else:
            recover(stack)
            assert not locks(stack) and not pending(stack)
            stack.up()
        stack.preview(expect_no_changes=True)

        outputs = {key: value.value for key, value in stack.outputs().items()}
        (destination,) = stitch.destinations.values()
        assert destination["name"] == "stitch-heroku-dev" and str(destination["id"]) == outputs["stitch_destination_id"]
        assert destination["properties"]["password"] == outputs["password"], "Stitch has the stack's current password"
        assert stitch.calls("DELETE") == [] and heroku.calls("DELETE") == [], "recovery deleted something"
        assert len(stitch.calls("POST")) == 1, "one POST: a destination Stitch made before the kill is adopted, not made twice"
        assert first in heroku.addons and kept_data(heroku, first) == [(42,)], "the first database and its data are still there"
        assert has_create(heroku, outputs["database"], outputs["username"]), "the grant is on the server"
        assert outputs["verification"]["ready"] is True
        if not (phase == "addon" and signum == signal.SIGKILL):
            assert list(heroku.addons) == [first], "one database"
        else:
            # tf-addon v5 records an add-on only once it is provisioned: killed before that, the stack
            # has no trace of it, so the next up makes another (docs/crash-recovery.md says what to do).
            assert len(heroku.addons) == 2 and outputs["database"] != heroku.database_name(first)


def keep_data(heroku: FakeHeroku, addon: str) -> None:
    """Some data in the new database, as an app would write it: it must outlive every crash."""
    with superuser(heroku, heroku.database_name(addon)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS app_data (n int)")
        conn.execute("INSERT INTO app_data VALUES (42)")


def kept_data(heroku: FakeHeroku, addon: str) -> list[tuple[Any, ...]]:
    with superuser(heroku, heroku.database_name(addon)) as conn:
        return conn.execute("SELECT n FROM app_data").fetchall()


def has_create(heroku: FakeHeroku, database: str, role: str) -> bool:
    with superuser(heroku, "postgres") as conn:
        row = conn.execute("SELECT has_database_privilege(%s, %s, 'CREATE')", (role, database)).fetchone()
    return bool(row and row[0])


def provisioned(heroku: FakeHeroku) -> None:
    """Let every add-on finish provisioning at its next read, and new ones provision at once."""
    with heroku._lock:
        heroku.provisioning_reads = 1
        for addon in heroku.addons.values():
            addon.reads_left = 0


@dataclass
class Release:
    """Where the up stops, and how to let it go on."""

    reached: Callable[[], bool]
    go: Callable[[bool], None]
    """Let the up go on; True when the client is dead (a held Stitch call never reaches Stitch then)."""


class Held:
    """Sessions that hold locks, closed whatever happens (their locks go with them)."""

    def __init__(self) -> None:
        self.connections: list[psycopg.Connection] = []
        self.releases: list[Callable[[], None]] = []

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *_exc: object) -> None:
        for release in self.releases:
            release()
        for conn in self.connections:
            conn.close()


def hold(phase: str, heroku: FakeHeroku, stitch: FakeStitch, addon: str, database: str, held: Held) -> Release:
    """Make the up stop at phase: a lock it will wait for, a Stitch call held, or the add-on still provisioning."""
    if phase == "addon":
        # The provider polls the add-on (tf-addon's StateChangeConf) while it says "provisioning".
        polled = lambda: any(call.endswith(f"/addons/{addon}") for call in heroku.calls("GET"))  # noqa: E731
        return Release(polled, lambda _dead: provisioned(heroku))
    if phase in ("grant", "verification"):
        conn = superuser(heroku, database)
        held.connections.append(conn)
        if phase == "grant":
            # The provider's pgLockRole (devtools/postgresql_standin.py): the grant waits for this session.
            conn.execute("SELECT pg_advisory_lock(oid::bigint) FROM pg_roles WHERE rolname = %s", (heroku.role_name(addon),))
            return Release(lambda: waiting_lock(heroku, database, "advisory"), lambda _dead: conn.close())
        # The dry-run load's COMMENT ON needs ROW EXCLUSIVE on pg_description; SHARE blocks it.
        conn.autocommit = False
        conn.execute("LOCK TABLE pg_catalog.pg_description IN SHARE MODE")
        return Release(lambda: waiting_lock(heroku, database, "relation"), lambda _dead: conn.close())
    if phase == "stitch-update":
        stop = stitch.hold("PUT", r"/v4/destinations/\d+", before_effect=False)
    else:
        stop = stitch.hold("POST", "/v4/destinations", before_effect=phase.endswith("before"))
    held.releases.append(stop.release.set)
    return Release(stop.reached.is_set, lambda dead: stop.drop() if dead else stop.release.set())


# -- source url: a kill after the provider's CREATE ROLE committed, before the engine recorded the Role ---------------

ROLE_TYPE = "postgresql:index/role:Role"


def create_role_waits(conn: psycopg.Connection) -> bool:
    """Whether a CREATE ROLE waits for pg_authid (a shared catalog: its locks carry no database)."""
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE relation = 'pg_catalog.pg_authid'::regclass AND NOT granted").fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("touched", [False, True], ids=["as-created", "changed-after"])
def test_a_kill_after_create_role_committed_leaves_a_role_the_next_up_adopts(toolchain, tmp_path, ssl_server, touched):
    """The provider's CREATE ROLE waits for a lock on pg_authid; the CLI is killed alone (SIGKILL), then the lock
    is let go, so the provider, still running, commits the role and answers no one: the state never records it.
    The documented recovery, then `up`, adopts the role instead of failing with "role ... already exists". A role
    someone changed since is not provably ours: the up stops, and the documented drop recovers."""
    scenario = Scenario(ssl_server.cluster, time.monotonic_ns() % 10**9)
    scenario.allow_create_role()
    with real_stack(tmp_path, "dev") as stack:
        configure(stack, scenario)
        lock = scenario.cluster.superuser()
        watcher = scenario.cluster.superuser()
        try:
            lock.autocommit = False
            lock.execute("LOCK TABLE pg_catalog.pg_authid IN SHARE MODE")
            with interrupted_up(tmp_path, "dev") as run:
                wait_for(lambda: create_role_waits(watcher), "the provider's CREATE ROLE to wait")
                signal_cli(run, signal.SIGKILL)
                wait_for(lambda: run.cli is not None and not alive(run.cli), "the CLI to die", timeout=30)
                lock.close()  # CREATE ROLE goes on in the provider, which nobody listens to any more
                wait_for(lambda: scenario.attributes() is not None, "the provider to commit the role", timeout=30)
                for pid in run.plugins:
                    with suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        finally:
            lock.close()
            watcher.close()
        assert run.driver.returncode != 0, run.printed[-2000:]
        assert ("creating", ROLE_TYPE) in pending(stack), pending(stack)
        assert scenario.attributes() is not None and scenario.attributes()["can_create"] is False, "made, never granted"

        recover(stack)
        if touched:
            scenario.owner_run(f'GRANT CONNECT ON DATABASE "{scenario.database}" TO "{scenario.role}"')
            with pytest.raises(auto.CommandError, match="already exists"):
                stack.up()
            # docs/crash-recovery.md: nothing of Stitch's is in it (Stitch never got its URL), so as the owner:
            role = f'"{scenario.role}"'
            scenario.owner_run(f"GRANT {role} TO CURRENT_USER", f"DROP OWNED BY {role}", f"DROP ROLE {role}")
        adopted = stack.up()
        assert adopted.summary.result == "succeeded"
        if not touched:
            assert (adopted.summary.resource_changes or {}).get("import") == 1, adopted.summary.resource_changes
        outputs = stack.outputs()
        assert outputs["username"].value == scenario.role and outputs["verification"].value["ready"] is True
        attributes = scenario.attributes()
        assert attributes is not None and attributes["can_create"] and attributes["rolconnlimit"] == 10
        stack.up()  # the provider reads no password back: this up writes the one the role has into the state
        stack.preview(expect_no_changes=True)
        assert stack.outputs()["password"].value == outputs["password"].value, "the role kept the password its create set"
        assert_no_secret_anywhere(stack, outputs["password"].value, *passwords_of(scenario.db.owner_url))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="run one `pulumi up` of a crash-safety test's stack")
    parser.add_argument("base_dir", type=Path)
    parser.add_argument("stack")
    arguments = parser.parse_args()
    sys.exit(drive(arguments.base_dir, arguments.stack))
