"""`python -m tests.benchmarks.bench_reconcile`: what a scheduled reconcile costs when nothing drifted, against a
plain `pulumi up` of the same stack that changes nothing, in the same run.

One `source: heroku` stack with a Stitch destination (the Heroku API double behind the heroku stand-in, the
Stitch Connect API double, a local SSL PostgreSQL), created once. Then, alternately, for each round:
  - baseline:  `up` through the Automation API in this process (no refresh, no checks): the least a
               schedule could run;
  - reconcile: `python -m ops.reconcile --stack NAME --json` as a schedule runs it, a new process in the
               project folder: Python start-up, the config and outputs read through the CLI, refresh
               (--run-program) and up as one engine run, the verification as the Stitch role, Stitch's
               view of the destination, and Stitch's loads: two pages (150 streams of a source whose schema
               is in the database), in an account that holds a second destination, so the schema lookup
               that attributes the loads runs too.
Medians and the ratio reconcile/baseline are printed; the goal is 2x or less.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql

from devtools.local_postgres import Cluster, free_port
from tests.doubles.fake_heroku import FakeHeroku, HerokuApiServer, PostgresTarget
from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real
from tests.support.real_engine import RealStack, real_stack

GOAL = 2.0


def configure_bench_stack(stack: RealStack, heroku: FakeHeroku, stitch: FakeStitch, app_name: str) -> None:
    """A `source: heroku` stack on the Heroku double with a Stitch destination on the Stitch double."""
    stack.set_config(
        {
            "stitch-heroku:app_name": app_name,
            "stitch-heroku:stitch_api_url": stitch.url,
            "heroku:url": heroku.url,
            "heroku:delays": '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}',
        },
        secrets={"heroku:apiKey": heroku.api_key, "stitch:accessToken": stitch.token},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_reconcile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="bench-reconcile-pg-")), free_port(), ssl=True)
    cluster.start()
    samples: dict[str, list[float]] = {"baseline": [], "reconcile": []}
    try:
        with (
            HerokuApiServer(FakeHeroku(PostgresTarget.for_cluster(cluster))) as heroku,
            StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch,
            tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp,
            real_stack(Path(tmp), "dev-bench") as stack,
        ):
            configure_bench_stack(stack, heroku, stitch, "acme-bench-reconcile")
            stack.up()
            (addon,) = heroku.addons
            with cluster.superuser(heroku.database_name(addon)) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA heroku_1 AUTHORIZATION {}").format(sql.Identifier(heroku.role_name(addon))))
            stitch.add_destination("another team", {"host": "elsewhere.example.com"})
            for n in range(150):
                stitch.add_load("heroku_1", f"stream_{n:03d}")
            command = [sys.executable, "-m", "ops.reconcile", "--stack", "dev-bench", "--json"]
            try:
                for n in range(args.rounds):
                    started = time.perf_counter()
                    result = stack.up()
                    samples["baseline"].append(time.perf_counter() - started)
                    assert set(result.summary.resource_changes or {}) == {"same"}, result.summary.resource_changes
                    started = time.perf_counter()
                    done = subprocess.run(command, cwd=stack.workspace_dir, env=stack.env, capture_output=True, text=True, check=False)
                    samples["reconcile"].append(time.perf_counter() - started)
                    assert done.returncode == 0 and '"status": "in-sync"' in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
                    assert '"streams": 150' in done.stdout, "the loads were read and attributed to ours"
                    up, ours = samples["baseline"][-1], samples["reconcile"][-1]
                    print(f"round {n + 1}/{args.rounds}: up {up:.2f} s, reconcile {ours:.2f} s", flush=True)
            finally:
                stack.destroy()
    finally:
        cluster.stop()

    base, ours = statistics.median(samples["baseline"]), statistics.median(samples["reconcile"])
    print(f"\nno-change run of one heroku stack with a Stitch destination, real engine, median of {args.rounds} rounds:")
    print("| run | median | ratio |")
    print("|---|---|---|")
    print(f"| plain `up` (Automation API, in-process) | {base:.2f} s | 1.00x |")
    print(f"| `python -m ops.reconcile --json` (new process, loads included) | {ours:.2f} s | {ours / base:.2f}x |")
    print(f"goal: {GOAL:.0f}x or less: {'met' if ours / base <= GOAL else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
