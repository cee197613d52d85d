"""`python -m tests.benchmarks.bench_up`: wall time of `pulumi up` of the local stack with the real engine, and
how much of it is this program and its checks rather than the engine and the plugins.

In one run, against one local SSL PostgreSQL, it times alternately:
  - ours:     this project's __main__.py (`source: url` with a separate Stitch credential, as try_local);
  - baseline: a minimal program with the same providers and the same number of plugin processes
              (a postgresql Provider and Grant, and one no-op dynamic resource), no checks.
Each for a first `up` (creates everything) and a second `up` (changes nothing). Medians and the
ratio ours/baseline are printed; the difference is the cost of our program and our checks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ResourceProvider

from devtools.local_postgres import StitchDatabase, provision_stitch_database, throwaway_cluster
from tests.support.real_engine import GrantProgram, real_stack


class _Nothing(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=props)


class _NoOp(pulumi.dynamic.Resource, module="bench", name="NoOp"):
    def __init__(self, name: str) -> None:
        super().__init__(_Nothing(), name, {"x": 1})


def baseline_program(db: StitchDatabase, role: str) -> Callable[[], None]:
    """The same providers and plugin processes as ours, no checks: a Grant and one no-op dynamic resource."""
    grant = GrantProgram(db, role, ["CONNECT", "CREATE", "TEMPORARY"])

    def program() -> None:
        grant()
        _NoOp("noop")

    return program


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_up", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from psycopg.conninfo import conninfo_to_dict

    samples: dict[str, list[float]] = {key: [] for key in ("ours first", "ours again", "baseline first", "baseline again")}
    with throwaway_cluster("bench-up-pg-") as cluster:
        for n in range(args.rounds):
            for kind in ("baseline", "ours"):
                db = provision_stitch_database(cluster, database=f"b{kind[0]}{n}", owner=f"o{kind[0]}{n}", stitch_role=f"s{kind[0]}{n}")
                role = str(conninfo_to_dict(db.stitch_url)["user"])
                with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
                    program = baseline_program(db, role) if kind == "baseline" else None
                    with real_stack(Path(tmp), "bench", program=program) as stack:
                        if kind == "ours":
                            stack.set_config({"stitch-heroku:source": "url"}, secrets={
                                "stitch-heroku:database_url": db.owner_url, "stitch-heroku:stitch_url": db.stitch_url})  # fmt: skip
                        samples[f"{kind} first"].append(timed(stack.up))
                        samples[f"{kind} again"].append(timed(stack.up))
                        stack.destroy()
            print(f"round {n + 1}/{args.rounds} done", flush=True)

    median = {key: statistics.median(values) for key, values in samples.items()}
    print(f"\n`pulumi up`, real engine, median of {args.rounds} rounds (seconds):")
    print("| up | ours | baseline (same providers, no checks) | ours / baseline | our share |")
    print("|---|---|---|---|---|")
    for phase in ("first", "again"):
        ours, base = median[f"ours {phase}"], median[f"baseline {phase}"]
        label = "first (creates)" if phase == "first" else "second (no changes)"
        print(f"| {label} | {ours:.2f} | {base:.2f} | {ours / base:.2f}x | {ours - base:+.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
