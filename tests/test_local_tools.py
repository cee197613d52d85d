"""The local try-out tools, run for real: the Heroku-shaped PostgreSQL and the one-command flow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
from stitch_heroku.connection import parse_database_url

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
        assert (where / "cluster.json").stat().st_mode & 0o077 == 0, "the URLs hold passwords: owner-only"
    finally:
        stopped = run("devtools.local_postgres", "stop", "--dir", str(where))
    assert stopped.returncode == 0, stopped.stderr
    assert not where.exists(), "stop must remove the cluster's files"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(urls["port"]))) != 0, "nothing may listen after stop"


def test_stop_removes_only_what_start_made(tmp_path):
    where = tmp_path / "db"
    started = run("devtools.local_postgres", "start", "--dir", str(where), "--json")
    assert started.returncode == 0, started.stderr
    urls = json.loads(started.stdout)
    cluster_dir = Path(urls["cluster_dir"])
    (where / "notes.txt").write_text("mine, not the tool's")
    field = run("devtools.local_postgres", "urls", "--dir", str(where), "--field", "stitch_url")
    assert field.stdout == urls["stitch_url"] + "\n", "one value alone, ready for a pipe"
    stopped = run("devtools.local_postgres", "stop", "--dir", str(where))
    assert stopped.returncode == 0, stopped.stderr
    assert (where / "notes.txt").read_text() == "mine, not the tool's"
    assert sorted(p.name for p in where.iterdir()) == ["notes.txt"]
    assert not cluster_dir.exists()


def test_start_refuses_a_folder_holding_other_files(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    done = run("devtools.local_postgres", "start", "--dir", str(checkout))
    assert done.returncode == 1
    assert "already holds files that are not this tool's (.git)" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in checkout.iterdir()) == [".git"], "nothing was added"


def test_stop_never_deletes_a_folder_the_state_file_merely_names(tmp_path):
    where, precious = tmp_path / "db", tmp_path / "precious"
    where.mkdir()
    precious.mkdir()
    (precious / "data.csv").write_text("1,2,3\n")
    (where / "cluster.json").write_text(json.dumps({"cluster_dir": str(precious), "port": 1}))
    done = run("devtools.local_postgres", "stop", "--dir", str(where))
    assert done.returncode == 1 and "not a folder start makes" in done.stderr
    assert (precious / "data.csv").exists() and (where / "cluster.json").exists()


def test_try_local_without_the_pulumi_cli_says_how_to_install_it(tmp_path):
    # Its own work folder: a user who ran the README's main command in this checkout has .local-postgres/.
    work = tmp_path / "work"
    done = run("devtools.try_local", "--workdir", str(work), env={"PATH": str(tmp_path)})
    assert done.returncode == 1
    assert "No Pulumi CLI could be had" in done.stderr and "pulumi.com/docs/install" in done.stderr
    assert not (work / "postgres").exists(), "nothing is started when the CLI is missing"
