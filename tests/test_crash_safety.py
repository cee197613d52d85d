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
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
    sys.path.insert(0, str(ROOT))
    from pulumi import automation as auto

    from tests.support.real_engine import real_stack

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
            driver.wait(timeout=DRIVER_TIMEOUT)
        except subprocess.TimeoutExpired:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="run one `pulumi up` of a crash-safety test's stack")
    parser.add_argument("base_dir", type=Path)
    parser.add_argument("stack")
    arguments = parser.parse_args()
    sys.exit(drive(arguments.base_dir, arguments.stack))
