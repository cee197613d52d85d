"""Benchmark: how late a database that comes up during a wait is seen as ready.

A local SSL PostgreSQL is started N seconds after two waiters began: today's `verify` (a look every
POLL_SECONDS) and, as the baseline in the same run against the same server start, the previous
schedule (full attempts, the pause doubling from 1 s to 30 s). The lag is read from the server's
own log, on the server's clock: from "database system is ready to accept connections" to each
waiter's "connection authorized". Goal: every lag of today's loop under 3 s, however large N is.

    .venv/bin/python -m tests.benchmarks.bench_ready_lag [--delays 5,12,20,33,45]
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import psycopg
from stitch_heroku.checks import POLL_SECONDS, Report, verify, verify_once
from stitch_heroku.connection import ConnectionSettings, parse_database_url
from stitch_heroku.postgres_sql import is_not_answering

from devtools.local_postgres import Cluster, provision_stitch_database, throwaway_cluster

GOAL_SECONDS = 3.0
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \S+ \[\d+\] LOG:  (.*)$")


def previous_schedule(settings: ConnectionSettings, wait_seconds: float) -> Report:
    """The waiting loop before the poll interval, kept as the baseline: after each failed full
    attempt it slept 1, 2, 4, 8, 16, then 30 s."""
    deadline = time.monotonic() + wait_seconds
    delay = 1.0
    while True:
        report = verify_once(settings, 10)
        first = report.checks[0]
        retryable = first.name == "connect" and first.status == "fail" and is_not_answering(first.detail)
        if not retryable or time.monotonic() + delay > deadline:
            return report
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def server_times(log: Path, offset: int, users: tuple[str, ...]) -> tuple[datetime, dict[str, datetime]]:
    """When the server became ready, and when each user's first connection after that was authorized."""
    with open(log, errors="replace") as handle:
        handle.seek(offset)
        lines = handle.read().splitlines()
    ready: datetime | None = None
    authorized: dict[str, datetime] = {}
    for line in lines:
        match = LOG_LINE.match(line)
        if not match:
            continue
        at, message = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f"), match[2]
        if message.startswith("database system is ready to accept connections"):
            ready = at
        for user in users:
            if ready is not None and user not in authorized and message.startswith(f"connection authorized: user={user} "):
                authorized[user] = at
    if ready is None or set(authorized) != set(users):
        raise RuntimeError(f"the server log lacks the ready line or a waiter's connection: {sorted(authorized)}")
    return ready, authorized


def one_round(cluster: Cluster, delay: float, now: ConnectionSettings, before: ConnectionSettings) -> tuple[float, float]:
    """Start the server `delay` seconds after both waiters began; their lags in seconds."""
    offset = cluster.log_file.stat().st_size
    wait = delay + 90
    reports: dict[str, Report] = {}
    waiters = [
        threading.Thread(target=lambda: reports.__setitem__("now", verify(now, wait_seconds=wait))),
        threading.Thread(target=lambda: reports.__setitem__("before", previous_schedule(before, wait))),
    ]
    for waiter in waiters:
        waiter.start()
    time.sleep(delay)
    cluster.launch()
    for waiter in waiters:
        waiter.join()
    cluster.shutdown("fast")
    for name, report in reports.items():
        if not report.ready:
            raise RuntimeError(f"the {name} waiter did not see a ready database:\n{report.render()}")
    ready, authorized = server_times(cluster.log_file, offset, (now.username, before.username))
    return (authorized[now.username] - ready).total_seconds(), (authorized[before.username] - ready).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delays", default="5,12,20,33,45", help="seconds before the server starts, one round each")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    with throwaway_cluster("stitch-bench-") as cluster:
        db = provision_stitch_database(cluster)
        now, before = parse_database_url(db.owner_url), parse_database_url(db.stitch_url)
        with cluster.superuser() as conn:
            conn.execute("ALTER SYSTEM SET log_connections = on")
            conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] '")
        with psycopg.connect(now.conninfo(connect_timeout=5), autocommit=True) as conn:
            conn.execute(f'GRANT CREATE ON DATABASE "{now.database}" TO "{before.username}"')
        cluster.shutdown("fast")
        print(f"poll interval {POLL_SECONDS:g} s; lag from 'ready to accept connections' to the waiter's connection, server clock")
        print(f"{'server starts after':>20}{'lag now':>10}{'lag before':>12}{'before / now':>14}")
        worst = 0.0
        for delay in delays:
            lag_now, lag_before = one_round(cluster, delay, now, before)
            worst = max(worst, lag_now)
            print(f"{delay:>18.0f} s{lag_now:>8.2f} s{lag_before:>10.2f} s{lag_before / lag_now:>13.0f}x")
        verdict = "met" if worst < GOAL_SECONDS else "MISSED"
        print(f"worst lag now {worst:.2f} s: goal (under {GOAL_SECONDS:g} s) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
