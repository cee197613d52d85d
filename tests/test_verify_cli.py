"""`python -m components.verify` as users run it, against the real SSL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stitch_heroku.verify import EXIT_NOT_READY, EXIT_READY, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "components.verify", *args],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env=environ, input=stdin,
    )  # fmt: skip


def test_ready_database_prints_the_checklist_and_exits_0(ssl_server):
    done = cli("--database-url", "-", stdin=ssl_server.owner_url + "\n")
    assert done.returncode == EXIT_READY, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Stitch destination check: heroku_owner@127.0.0.1:")
    assert sum(line.startswith("  [ok  ]") for line in lines) == 8
    assert any(line.startswith("  [skip] capacity") and "set storage_limit_gb" in line for line in lines), "no limit known: a skip"
    assert lines[-1].startswith("READY")


def test_database_needing_the_grant_exits_1_with_the_fix(ssl_server):
    done = cli(env={"DATABASE_URL": ssl_server.no_create_url})
    assert done.returncode == EXIT_NOT_READY
    assert 'GRANT CREATE ON DATABASE "stitch" TO "stitch_loader";' in done.stdout


def test_json_output_for_machines(ssl_server, capsys):
    assert main(["--database-url", ssl_server.owner_url, "--json"], environ={}) == EXIT_READY
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True and len(report["checks"]) == 10
    assert report["capacity"]["used_bytes"] > 0 and report["capacity"]["days_to_full"] is None


def test_database_url_comes_from_the_environment(ssl_server, capsys):
    assert main([], environ={"DATABASE_URL": ssl_server.owner_url}) == EXIT_READY


def test_non_postgres_url_is_bad_usage_and_not_echoed(capsys):
    assert main(["--database-url", "mysql://root:hunter2@db/x"], environ={}) == EXIT_USAGE
    err = capsys.readouterr().err
    assert '"mysql://"' in err and "hunter2" not in err


def test_no_database_is_bad_usage(capsys):
    assert main([], environ={}) == EXIT_USAGE
    assert "--database-url" in capsys.readouterr().err


def test_a_url_on_the_command_line_works_but_says_where_it_is_safer(ssl_server):
    done = cli("--database-url", ssl_server.owner_url)
    assert done.returncode == EXIT_READY, done.stdout + done.stderr
    assert "visible to other users (ps)" in done.stderr and "--database-url -" in done.stderr


def test_the_url_from_stdin_is_never_on_the_command_line_or_in_the_output(ssl_server):
    password = ssl_server.owner_url.split(":")[2].split("@")[0]
    done = cli("--database-url", "-", "--json", stdin=ssl_server.owner_url)
    assert done.returncode == EXIT_READY, done.stderr
    assert password not in done.stdout + done.stderr
    assert json.loads(done.stdout)["ready"] is True


def test_nothing_on_stdin_is_bad_usage_with_the_pipe_to_use():
    done = cli("--database-url", "-", stdin="")
    assert done.returncode == EXIT_USAGE
    assert "nothing came on stdin" in done.stderr and "heroku config:get DATABASE_URL" in done.stderr


def test_a_password_with_brackets_is_accepted_as_libpq_accepts_it(ssl_server):
    with ssl_server.cluster.superuser("stitch") as conn:
        conn.execute("DROP ROLE IF EXISTS bracket_loader")
        conn.execute("CREATE ROLE bracket_loader LOGIN PASSWORD 'p[a]ss'")
        conn.execute("GRANT CREATE ON DATABASE stitch TO bracket_loader")
    url = f"postgres://bracket_loader:p[a]ss@127.0.0.1:{ssl_server.cluster.port}/stitch"
    done = cli(env={"DATABASE_URL": url})
    assert done.returncode == EXIT_READY, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p[ss@[::1/db",
        "postgres://u:pw@h:99999/db",
        "postgres://u:pw@h:port/db",
        "postgres://u@h/db",
        "postgres://u:pw@h/db?sslmode=bogus&=x",
        "://",
        "   ",
    ],
)
def test_no_url_gives_a_traceback_only_a_usage_error(url):
    done = cli("--database-url", "-", stdin=url)
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")


@pytest.mark.parametrize("args", [["--wait", "nan"], ["--wait", "-1"], ["--wait", "inf"], ["--connect-timeout", "0"], ["--wait", "soon"]])
def test_bad_numbers_are_usage_errors(args):
    done = cli(*args, env={"DATABASE_URL": "postgres://u:pw@127.0.0.1:1/db"})
    assert done.returncode == EXIT_USAGE and "Traceback" not in done.stderr


def test_stack_without_the_pulumi_cli_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["--stack", "dev"], environ={}) == EXIT_USAGE
    assert "--stack needs the Pulumi CLI" in capsys.readouterr().err


def test_stack_outputs_are_read_through_the_pulumi_cli(ssl_server, tmp_path):
    """A stand-in `pulumi` on PATH prints what `pulumi stack export --show-secrets` prints: the Destination, by its type."""
    from stitch_heroku.connection import parse_database_url

    s = parse_database_url(ssl_server.owner_url)
    outputs = {"host": s.host, "port": s.port, "username": s.username, "password": s.password, "database": s.database, "ssl": True}
    done = cli("--stack", "dev", env=fake_pulumi(tmp_path, outputs, {}))
    assert done.returncode == EXIT_READY, done.stdout + done.stderr


def test_help_documents_the_command():
    done = cli("--help")
    assert done.returncode == 0
    for flag in ("--database-url", "--stack", "--json", "--wait", "Exit codes"):
        assert flag in done.stdout


def test_the_cli_does_not_import_pulumi():
    code = "import sys, components.verify; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


DESTINATION_URN = "urn:pulumi:dev::acme::stitch-heroku:index:Destination::warehouse"


def destination_resource(outputs: dict, *, urn: str = DESTINATION_URN, given_token: str | None = None) -> list[dict]:
    """A Destination as `pulumi stack export --show-secrets` prints it (its password secret), and its Stitch child
    holding the token its caller gave it (components/stitch_destination.py given_access_token)."""
    sig = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
    shown = {k: ({**sig, "plaintext": json.dumps(v)} if k == "password" else v) for k, v in outputs.items()}
    found = [{"urn": urn, "type": "stitch-heroku:index:Destination", "outputs": shown}]
    if given_token is not None:
        child = urn.replace(
            "::stitch-heroku:index:Destination::", "::stitch-heroku:index:Destination$pulumi-python:dynamic/stitch:Destination::"
        )
        found.append({"urn": child + "-stitch-destination", "type": "pulumi-python:dynamic/stitch:Destination", "parent": urn,
                      "inputs": {"given_access_token": {**sig, "plaintext": json.dumps(given_token)}}})  # fmt: skip
    return found


def fake_pulumi(tmp_path: Path, outputs: dict | None, config: dict, resources: list[dict] | None = None) -> dict[str, str]:
    """A stand-in `pulumi` on PATH answering `stack export --show-secrets` (a state that holds the Destination with these
    outputs, or these resources) and `config` as the CLI prints them (--json --show-secrets)."""
    state = {"version": 3, "deployment": {"resources": resources if resources is not None else destination_resource(outputs or {})}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "config.json").write_text(
        json.dumps({key: {"value": value, "secret": key.endswith("Token")} for key, value in config.items()})
    )
    fake = tmp_path / "pulumi"
    fake.write_text(
        "#!/bin/sh\n"
        f"[ \"$*\" = 'stack export --show-secrets --stack dev' ] && exec cat {tmp_path / 'state.json'}\n"
        f"[ \"$*\" = 'config --json --show-secrets --stack dev' ] && exec cat {tmp_path / 'config.json'}\n"
        "exit 3\n"
    )
    fake.chmod(0o755)
    return {"PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_stack_with_a_stitch_token_reads_the_loads_and_a_failing_load_is_not_ready(ssl_server, tmp_path):
    from stitch_heroku.connection import parse_database_url

    from tests.doubles.fake_stitch import FakeStitch, StitchServer, load_error

    s = parse_database_url(ssl_server.owner_url)
    with StitchServer(FakeStitch()) as stitch:
        destination_id = stitch.add_destination("stitch-heroku-dev", {"host": s.host})
        outputs = {"host": s.host, "port": s.port, "username": s.username, "password": s.password, "database": s.database,
                   "stitch_destination_id": str(destination_id)}  # fmt: skip
        env = fake_pulumi(tmp_path, outputs, {"stitch:accessToken": stitch.token, "stitch-heroku:stitch_api_url": stitch.url,
                                              "stitch-heroku:source": "url"})  # fmt: skip
        stitch.add_load("heroku_1", "customers", loaded_at="2026-11-28T10:00:00Z")
        done = cli("--stack", "dev", env=env)
        assert done.returncode == EXIT_READY, done.stdout + done.stderr
        assert "Stitch loads (1 source of this destination):" in done.stdout
        assert "heroku_1: last batch loaded at 2026-11-28T10:00:00Z, 1 streams" in done.stdout

        words = f"ERROR: permission denied for table orders ({s.password})"
        stitch.add_load("heroku_1", "orders", error=load_error("Encountered error while loading", words, sql_state="42501"))
        done = cli("--stack", "dev", "--json", env=env)
        assert done.returncode == EXIT_NOT_READY, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["ready"] is False and report["database_ready"] is True
        (failing,) = report["loads"]["failing"]
        assert (failing["source"], failing["stream"], failing["cause"]) == ("heroku_1", "orders", "privilege")
        assert failing["warehouse_message"] == "ERROR: permission denied for table orders ([secret])"
        assert 'GRANT INSERT, UPDATE, DELETE ON "heroku_1"."orders"' in failing["fix"]
        assert s.password not in done.stdout + done.stderr and stitch.token not in done.stdout + done.stderr
        text = cli("--stack", "dev", env=env)
        assert text.returncode == EXIT_NOT_READY and text.stdout.rstrip().splitlines()[-1].startswith(
            "NOT READY: Stitch's last load of heroku_1.orders failed (privilege)"
        )
        assert [c for c in stitch.calls() if "/loads" in c] == ["GET /v4/116078/loads"] * 3, "each run reads the loads once"


def test_stack_without_a_stitch_token_fails_a_destination_managed_in_stitch_and_says_how_to_give_one(ssl_server, tmp_path):
    from stitch_heroku.connection import parse_database_url

    s = parse_database_url(ssl_server.owner_url)
    outputs = {"host": s.host, "port": s.port, "username": s.username, "password": s.password, "database": s.database,
               "stitch_destination_id": "110397"}  # fmt: skip
    done = cli("--stack", "dev", "--json", env=fake_pulumi(tmp_path, outputs, {}) | {"STITCH_ACCESS_TOKEN": ""})
    assert done.returncode == EXIT_NOT_READY, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ready"] is False and report["database_ready"] is True
    (problem,) = report["problems"]
    assert "managed in Stitch but this run has no Stitch token" in problem["what"]
    assert "pulumi config set --secret stitch:accessToken --stack dev" in problem["fix"], "this repository's program reads that key"

    released = outputs | {"stitch_destination_id": "released", "stitch_status": "released"}
    done = cli("--stack", "dev", "--json", env=fake_pulumi(tmp_path, released, {}) | {"STITCH_ACCESS_TOKEN": ""})
    assert done.returncode == EXIT_READY and json.loads(done.stdout)["loads"] is None, "a released destination needs no token"


def test_a_programs_own_output_named_host_is_not_taken_for_a_destination(ssl_server, tmp_path):
    """26.10: the Destination is found by its type in the state, never by output names."""
    resources = [{"urn": "urn:pulumi:dev::acme::pulumi:pulumi:Stack::acme-dev", "type": "pulumi:pulumi:Stack",
                  "outputs": {"host": "api.acme.example"}}]  # fmt: skip
    done = cli("--stack", "dev", env=fake_pulumi(tmp_path, None, {}, resources))
    assert done.returncode == EXIT_USAGE and "holds no stitch-heroku Destination" in done.stderr, done.stdout + done.stderr


def test_storage_limit_gb_on_the_command_line_fails_a_database_past_it(ssl_server, capsys):
    assert main(["--database-url", ssl_server.owner_url, "--json", "--storage-limit-gb", "0.001"], environ={}) == EXIT_NOT_READY
    report = json.loads(capsys.readouterr().out)
    capacity = report["capacity"]
    assert capacity["limit_bytes"] == 10**6 and capacity["percent"] > 100 and capacity["limit_from"] == "storage_limit_gb 0.001"
    assert {c["name"]: c["status"] for c in report["checks"]}["capacity"] == "fail"


def test_a_storage_limit_that_is_not_positive_is_a_usage_error(ssl_server):
    done = cli("--database-url", "-", "--storage-limit-gb", "0", stdin=ssl_server.owner_url + "\n")
    assert done.returncode == EXIT_USAGE and "--storage-limit-gb must be a positive number" in done.stderr


def test_stack_mode_measures_against_the_limits_and_measurements_of_the_last_verification(ssl_server, tmp_path):
    from stitch_heroku.connection import parse_database_url

    s = parse_database_url(ssl_server.owner_url)
    samples = [{"at": "2020-01-01T00:00:00Z", "used_bytes": 1}]
    earlier = {"capacity": {"used_bytes": 1, "limit_bytes": 10**6, "table_limit": 4000, "plan": "essential-0", "source": "heroku",
                            "limit_from": "storage_limit_gb 0.001", "samples": samples}}  # fmt: skip
    outputs = {"host": s.host, "port": s.port, "username": s.username, "password": s.password, "database": s.database,
               "verification": earlier}  # fmt: skip
    done = cli("--stack", "dev", "--json", env=fake_pulumi(tmp_path, outputs, {}))
    capacity = json.loads(done.stdout)["capacity"]
    assert done.returncode == EXIT_NOT_READY, done.stdout + done.stderr
    assert (capacity["limit_bytes"], capacity["table_limit"], capacity["plan"]) == (10**6, 4000, "essential-0")
    assert capacity["days_to_full"] == 0, "already full; the growth since the kept measurement gives the estimate"


def test_a_load_refused_while_the_database_is_over_its_heroku_plan_gets_the_plan_fix_not_a_grant(ssl_server, tmp_path):
    """Over a Heroku plan Heroku takes INSERT from the credential, and the server then says "permission denied" to
    Stitch too: the load's fix is the plan or less data (the capacity check measured it), never a GRANT."""
    from stitch_heroku.connection import parse_database_url

    from tests.doubles.fake_stitch import FakeStitch, StitchServer, load_error

    s = parse_database_url(ssl_server.owner_url)
    earlier = {"capacity": {"used_bytes": 1, "limit_bytes": 10**6, "table_limit": 4000, "plan": "essential-0", "source": "heroku",
                            "limit_from": "plan essential-0", "samples": []}}  # fmt: skip
    with StitchServer(FakeStitch()) as stitch:
        destination_id = stitch.add_destination("stitch-heroku-dev", {"host": s.host})
        outputs = {"host": s.host, "port": s.port, "username": s.username, "password": s.password, "database": s.database,
                   "stitch_destination_id": str(destination_id), "verification": earlier}  # fmt: skip
        env = fake_pulumi(tmp_path, outputs, {"stitch:accessToken": stitch.token, "stitch-heroku:stitch_api_url": stitch.url,
                                              "stitch-heroku:source": "heroku"})  # fmt: skip
        words = "ERROR: permission denied for table orders"
        stitch.add_load("heroku_1", "orders", error=load_error("Encountered error while loading", words, sql_state="42501"))
        done = cli("--stack", "dev", "--json", env=env)
    report = json.loads(done.stdout)
    assert done.returncode == EXIT_NOT_READY and report["capacity"]["percent"] >= 100, done.stdout + done.stderr
    (failing,) = report["loads"]["failing"]
    assert failing["cause"] == "storage" and "larger plan" in failing["fix"], failing
    assert "GRANT" not in failing["fix"], "a GRANT would fight Heroku's enforcement"
