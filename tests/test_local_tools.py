"""The local try-out tools, run for real: the Heroku-shaped PostgreSQL and the one-command flow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg

from components.connection import parse_database_url

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_local_postgres_starts_with_ssl_and_a_credential_without_create_then_stops(tmp_path):
    where = tmp_path / "db"
    started = run("devtools.local_postgres", "start", "--dir", str(where), "--json")
    assert started.returncode == 0, started.stderr
    urls = json.loads(started.stdout)
    try:
        owner, stitch = parse_database_url(urls["database_url"]), parse_database_url(urls["stitch_url"])
        with psycopg.connect(stitch.conninfo(connect_timeout=5), autocommit=True) as conn:
            ssl = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]
            assert ssl is True, "the local database must encrypt like Heroku's"
            can_create = "SELECT has_database_privilege(current_user, current_database(), 'CREATE')"
            assert conn.execute(can_create).fetchone()[0] is False, "the Stitch credential starts without CREATE"
            with psycopg.connect(owner.conninfo(connect_timeout=5), autocommit=True) as owner_conn:
                owner_conn.execute(f'GRANT CREATE ON DATABASE "{owner.database}" TO "{stitch.username}"')
            assert conn.execute(can_create).fetchone()[0] is True
        again = run("devtools.local_postgres", "urls", "--dir", str(where), "--json")
        assert json.loads(again.stdout)["stitch_url"] == urls["stitch_url"]
    finally:
        stopped = run("devtools.local_postgres", "stop", "--dir", str(where))
    assert stopped.returncode == 0, stopped.stderr
    assert not where.exists(), "stop must remove the cluster's files"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(urls["port"]))) != 0, "nothing may listen after stop"


def test_try_local_without_the_pulumi_cli_says_how_to_install_it(tmp_path):
    done = run("devtools.try_local", env={"PATH": str(tmp_path)})
    assert done.returncode == 1
    assert "Pulumi CLI is not installed" in done.stderr and "pulumi.com/docs/install" in done.stderr
    assert not (ROOT / ".local-postgres").exists(), "nothing is started when the CLI is missing"
