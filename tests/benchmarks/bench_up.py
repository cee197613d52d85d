"""`python -m tests.benchmarks.bench_up`: wall time of `pulumi up` of a `source: url` stack with the real engine:
today's program against the program before the component, and against a minimal program of the same resources.

In one run, against one local SSL PostgreSQL, each round times the three in turn (the order rotates), each on a
fresh database and stack with the same config (`source: url`, the default dedicated credential, no stitch_url):
  - ours:     today's __main__.py, a thin user of the Destination component: it makes Stitch's Role and its
              Grant, then verifies;
  - previous: the program as of commit b65f708, before the component (`git archive`), which makes the same:
              ours / previous is what the move under the component costs (goal: at most 1.05x);
  - baseline: what least privilege needs and nothing more (tests/benchmarks/baseline_program.py: the postgresql
              provider, a Role with its password from one no-op dynamic resource, its Grant; no checks):
              ours / baseline is what our logic and our checks cost (goal: at most 1.10x).
Each for a first `up` (creates everything) and a second `up` (changes nothing). The old program imports
`components.*`, which collides with today's package in one interpreter, so every operation of every arm runs
alike in a fresh interpreter (tests/support/program_run.py, the Automation API's inline mode, as the upgrade
tests run it) and only the `up` call itself is timed, there. Medians and the ratios are printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from devtools.local_postgres import Cluster, provision_stitch_database, throwaway_cluster
from devtools.project_copy import copy_project
from tests.support.real_engine import ROOT, configure_by_cli, engine_env, toolchain_bin

BEFORE_THE_COMPONENT = "b65f708"
ARMS = ("ours", "previous", "baseline")
RUNNER = ROOT / "tests" / "support" / "program_run.py"
STACK = "bench"


def make_project(arm: str, folder: Path, previous: bytes) -> Path:
    """The arm's program in folder (previous: the `git archive` of the old commit), `.venv` linked to this interpreter."""
    if arm == "ours":
        return copy_project(folder)
    folder.mkdir(parents=True)
    if arm == "previous":
        with tarfile.open(fileobj=io.BytesIO(previous)) as tar:
            tar.extractall(folder, filter="data")
    else:
        shutil.copy2(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
        shutil.copy2(Path(__file__).with_name("baseline_program.py"), folder / "__main__.py")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return folder


def run(project: Path, env: dict[str, str], operation: str) -> dict[str, Any]:
    """One engine operation in a fresh interpreter; its JSON result."""
    command = [sys.executable, str(RUNNER), str(project), STACK, operation]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{operation} of {project} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_arm(arm: str, name: str, cluster: Cluster, base: Path, previous: bytes) -> tuple[float, float]:
    """Seconds of the first and the second `up` of the arm's program on a fresh database; destroyed afterwards."""
    db = provision_stitch_database(cluster, database=name, owner=f"owner_{name}", stitch_role=f"loader_{name}")
    with cluster.superuser() as conn:  # the owner makes Stitch's own role, as on a managed server
        conn.execute(f"ALTER ROLE owner_{name} CREATEROLE")
    project = make_project(arm, base / "project", previous)
    bin_dir = toolchain_bin()
    (base / "state").mkdir()
    env = {**os.environ, **engine_env(bin_dir, base)}
    run(project, env, "init")
    values = {"stitch-heroku:source": "url", "stitch-heroku:stitch_role_name": f"stitch_{name}"}
    configure_by_cli(bin_dir / "pulumi", STACK, project, env, values, {"stitch-heroku:database_url": db.owner_url})
    try:
        first, again = run(project, env, "up"), run(project, env, "up")
    finally:
        run(project, env, "destroy")
    if set(again["changes"]) - {"same"}:
        print(f"  {arm}: the second up changed {again['changes']}", flush=True)
    return first["seconds"], again["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_up", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    previous = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_THE_COMPONENT], capture_output=True, check=True).stdout
    samples: dict[tuple[str, str], list[float]] = {(arm, phase): [] for arm in ARMS for phase in ("first", "again")}
    with throwaway_cluster("bench-up-pg-") as cluster:
        for n in range(args.rounds):
            for arm in ARMS[n % 3 :] + ARMS[: n % 3]:
                with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
                    first, again = time_arm(arm, f"{arm}{n}", cluster, Path(tmp), previous)
                samples[arm, "first"].append(first)
                samples[arm, "again"].append(again)
            print(f"round {n + 1}/{args.rounds} done", flush=True)

    median = {key: statistics.median(values) for key, values in samples.items()}
    print(f"\n`pulumi up`, real engine, each in its own interpreter, median of {args.rounds} rounds (seconds):")
    print("| `pulumi up` | ours | previous (b65f708) | baseline (Role and Grant, no checks) | ours / previous | ours / baseline |")
    print("|---|---|---|---|---|---|")
    for phase, label in (("first", "first (creates everything)"), ("again", "second (no changes)")):
        ours, previous_s, base = (median[arm, phase] for arm in ARMS)
        print(f"| {label} | {ours:.2f} s | {previous_s:.2f} s | {base:.2f} s | {ours / previous_s:.2f}x | {ours / base:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
