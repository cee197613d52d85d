"""Benchmark: one verification, in-process and as the CLI, against the manual way with psql.

Runs against a local SSL PostgreSQL started here. Speed is reported as ratios to the manual way
measured in the same process, never as absolute thresholds. Connections and statements are counted
from the server's own log (log_connections, log_statement = all), not estimated.

    .venv/bin/python -m tests.benchmarks.bench_verify [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url

from devtools.local_postgres import provision_stitch_database, throwaway_cluster

ROOT = Path(__file__).resolve().parents[2]

# The same checks, the manual way: one psql invocation each, as a person following the guide would.
MANUAL_STEPS = [
    "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
    "SHOW server_version_num;",
    "SELECT has_database_privilege(current_user, current_database(), 'CREATE');",
    """BEGIN;
CREATE SCHEMA IF NOT EXISTS stitch_probe_manual;
CREATE TABLE stitch_probe_manual.t (id bigint PRIMARY KEY, name text, _sdc_batched_at timestamptz);
CREATE TEMPORARY TABLE t_tmp (LIKE stitch_probe_manual.t) ON COMMIT DROP;
COPY stitch_probe_manual.t (id, name) FROM STDIN;
1\talpha
2\tbeta
3\tgamma
\\.
ALTER TABLE stitch_probe_manual.t ADD COLUMN _sdc_received_at timestamptz;
COMMENT ON TABLE stitch_probe_manual.t IS 'probe';
ROLLBACK;
""",
    "SELECT table_schema, table_name FROM information_schema.tables LIMIT 1;",
    "SELECT table_schema, table_name, column_name FROM information_schema.columns LIMIT 1;",
    "SELECT nspname FROM pg_catalog.pg_namespace LIMIT 1;",
    "SELECT relname FROM pg_catalog.pg_class LIMIT 1;",
    "SELECT current_setting('max_connections'), (SELECT count(*) FROM pg_stat_activity);",
]


def manual(url: str) -> None:
    for script in MANUAL_STEPS:
        subprocess.run(
            ["psql", f"{url}?sslmode=require", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
            input=script.encode(),
            check=True,
            capture_output=True,
        )


def timed(ways: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The median of each way, the ways taking turns within every round: on a shared machine the load drifts over
    a run, and interleaving gives each way the same share of it, so the ratios compare like with like."""
    for fn in ways.values():
        fn()  # warm-up: caches, first TLS session
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, fn in ways.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def server_counts(log: Path, fn: Callable[[], object]) -> tuple[int, int]:
    """Connections and statements the server saw while fn ran."""
    offset = log.stat().st_size
    fn()
    time.sleep(0.2)  # let the logger flush
    with open(log, errors="replace") as handle:
        handle.seek(offset)
        text = handle.read()
    return text.count("connection authorized"), text.count("LOG:  statement:") + text.count("LOG:  execute")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with throwaway_cluster("stitch-bench-") as cluster:
        url = provision_stitch_database(cluster).owner_url
        settings = parse_database_url(url)
        with cluster.superuser() as conn:
            conn.execute("ALTER SYSTEM SET log_connections = on")
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            conn.execute("SELECT pg_reload_conf()")
        env = {**os.environ, "DATABASE_URL": url}

        def in_process() -> None:
            assert verify(settings).ready

        def cli() -> None:
            subprocess.run([sys.executable, "-m", "components.verify"], cwd=ROOT, env=env, check=True, capture_output=True)

        ways = {"in-process": in_process, "CLI process": cli, "manual psql": lambda: manual(url)}
        log = cluster.base_dir / "server.log"
        counts = {name: server_counts(log, fn) for name, fn in ways.items()}
        times = timed(ways, args.rounds)
        baseline = times["manual psql"]
        print(f"median of {args.rounds} interleaved rounds against a local SSL PostgreSQL {cluster.port} "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"{'way':<14}{'median ms':>10}{'speed-up vs manual':>20}{'connections':>13}{'statements':>12}")
        for name in ways:
            connections, statements = counts[name]
            print(f"{name:<14}{times[name] * 1000:>10.1f}{baseline / times[name]:>19.1f}x{connections:>13}{statements:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
