"""`python -m tests.benchmarks.bench_fleet`: a fleet of stacks reconciled in one run against the same stacks
reconciled one run each, when nothing drifted, in the same process tree.

Six `source: heroku` stacks of one project and backend, each with its Stitch destination in one Stitch account
(the Heroku API double behind the heroku stand-in, the Stitch Connect API double, a local SSL PostgreSQL, the
real engine), the account holding another team's destination and two pages of loads (150 streams of a source
whose schema is in every stack's database), as tests.benchmarks.bench_reconcile sets up one. For 1, 3 and 6
stacks, alternately each round: `python -m ops.reconcile --stack A --stack B ... --json` once, and the same
command once a stack, one after the other, as a matrix of jobs would. Each is a new process, as a schedule runs
it. The loads requests each way are counted on the Stitch double: a run should read each account's pages once,
whatever the number of stacks. The double's rate limit (30 a 10 minutes) is lifted for the timing, and the
printout says when the separate runs would have met it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql
from pulumi import automation as auto

from devtools.local_postgres import Cluster, free_port
from tests.benchmarks.bench_reconcile import configure_bench_stack
from tests.doubles.fake_heroku import FakeHeroku, HerokuApiServer, PostgresTarget
from tests.doubles.fake_stitch import JOBS_LIMIT, FakeStitch, StitchServer, connects_for_real
from tests.support.real_engine import RealStack, real_stack

GOAL = 0.6
SIZES = (1, 3, 6)
STREAMS = 150  # two pages of 100


def another_stack(first: RealStack, name: str) -> RealStack:
    """A stack of the same project copy and backend as `first` (its workspace, so the same program runs)."""
    return dataclasses.replace(first, stack=auto.Stack.create_or_select(name, first.stack.workspace), printed=[])


def loads_requests(stitch: FakeStitch) -> int:
    return sum(1 for call in stitch.calls("GET") if "/loads" in call)


def reconcile(first: RealStack, stitch: FakeStitch, names: list[str]) -> tuple[float, int]:
    """One run over `names`: its wall time and the loads requests it made; every stack must be in sync."""
    command = [sys.executable, "-m", "ops.reconcile", *(arg for name in names for arg in ("--stack", name)), "--json"]
    requests = loads_requests(stitch)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=first.workspace_dir, env=first.env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    statuses = [entry.get("status") for entry in report.get("stacks") or []]
    assert done.returncode == 0 and statuses == ["in-sync"] * len(names), done.stdout[-3000:] + done.stderr[-3000:]
    return took, loads_requests(stitch) - requests


def paired_ratio(together: list[float], apart: list[float]) -> float:
    """The median of each round's ratio: both ways of a round ran back to back, so a load that comes and goes on a
    shared machine weighs on both alike."""
    return statistics.median(t / a for t, a in zip(together, apart, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    biggest = max(SIZES)
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="bench-fleet-pg-")), free_port(), ssl=True)
    cluster.start()
    one_run: dict[int, list[float]] = {n: [] for n in SIZES}
    each: dict[int, list[float]] = {n: [] for n in SIZES}
    requests: dict[tuple[str, int], set[int]] = {}
    try:
        with (
            HerokuApiServer(FakeHeroku(PostgresTarget.for_cluster(cluster))) as heroku,
            StitchServer(FakeStitch(check_outcome=connects_for_real, jobs_limit=10**6)) as stitch,
            tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp,
            real_stack(Path(tmp), "dev-fleet-1") as first,
        ):
            stacks = [first, *(another_stack(first, f"dev-fleet-{n}") for n in range(2, biggest + 1))]
            try:
                for n, stack in enumerate(stacks, 1):
                    configure_bench_stack(stack, heroku, stitch, f"acme-fleet-{n}-{os.getpid() % 1000}")
                    stack.up()
                    print(f"stack {n}/{biggest} up", flush=True)
                for addon in heroku.addons:
                    with cluster.superuser(heroku.database_name(addon)) as conn:
                        conn.execute(sql.SQL("CREATE SCHEMA heroku_1 AUTHORIZATION {}").format(sql.Identifier(heroku.role_name(addon))))
                stitch.add_destination("another team", {"host": "elsewhere.example.com"})
                for n in range(STREAMS):
                    stitch.add_load("heroku_1", f"stream_{n:03d}")
                names = [stack.stack.name for stack in stacks]
                for r in range(args.rounds):
                    for size in SIZES:
                        ways = ("one run", "one run each") if r % 2 == 0 else ("one run each", "one run")
                        for way in ways:
                            if way == "one run":
                                took, made = reconcile(first, stitch, names[:size])
                                one_run[size].append(took)
                            else:
                                runs = [reconcile(first, stitch, [name]) for name in names[:size]]
                                took, made = sum(t for t, _ in runs), sum(m for _, m in runs)
                                each[size].append(took)
                            requests.setdefault((way, size), set()).add(made)
                        print(f"round {r + 1}/{args.rounds}, {size} stacks: one run {one_run[size][-1]:.2f} s, "
                              f"one run each {each[size][-1]:.2f} s", flush=True)  # fmt: skip
            finally:
                for stack in reversed(stacks):
                    stack.destroy()
    finally:
        cluster.stop()

    pages = -(-STREAMS // 100)
    print(f"\nno-change reconcile of N heroku stacks (one Stitch account, {pages} pages of loads), median of {args.rounds} rounds:")
    print("| stacks | one run | one run each (sum) | ratio of the medians | median of rounds' ratios | loads requests: one run | each |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        together, apart = statistics.median(one_run[size]), statistics.median(each[size])
        made_together, made_apart = sorted(requests[("one run", size)]), sorted(requests[("one run each", size)])
        paired = paired_ratio(one_run[size], each[size])
        print(f"| {size} | {together:.2f} s | {apart:.2f} s | {together / apart:.2f}x | {paired:.2f}x | {made_together} | {made_apart} |")
    ratio = paired_ratio(one_run[biggest], each[biggest])
    print(f"goal: {biggest} stacks in one run at most {GOAL}x of one run each: {'met' if ratio <= GOAL else 'NOT met'} ({ratio:.2f}x)")
    print(f"goal: the loads requests of a run are the account's pages ({pages}), whatever the number of stacks: "
          f"{'met' if all(requests[('one run', n)] == {pages} for n in SIZES) else 'NOT met'}")  # fmt: skip
    hourly = pages * biggest
    print(f"Stitch's limit, {JOBS_LIMIT} loads requests a 10 minutes: one run a stack spends {hourly} at once each hour, one run {pages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
