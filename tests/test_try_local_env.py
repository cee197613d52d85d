"""The try-out's day two (issue 28): its last screen agrees with the stack and says what to do next, and
`--env` gives a shell in which the README's day-two commands work on the try-out's stack."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
from stitch_heroku import capacity as cap
from stitch_heroku import postgres_sql
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url

from devtools import try_local
from tests.support.real_engine import ROOT


def passwords_of(*urls: str) -> list[str]:
    return [psycopg.conninfo.conninfo_to_dict(url)["password"] for url in urls]


def outputs_of(url: str, verification: dict[str, object]) -> dict[str, object]:
    settings = parse_database_url(url)
    return {
        "host": settings.host, "port": settings.port, "username": settings.username, "password": settings.password,
        "database": settings.database, "ssl": True, "verification": verification,
    }  # fmt: skip


def test_the_checklist_measures_against_the_stacks_own_storage_limit(ssl_server, capsys):
    # What the stack's up recorded with storage_limit_gb 1: its verification output carries the limit.
    recorded = verify(parse_database_url(ssl_server.granted_url), limits=cap.with_storage_limit(None, 1)).to_dict()
    assert recorded["capacity"]["limit_from"] == "storage_limit_gb 1", recorded["capacity"]
    try_local.print_checklist(outputs_of(ssl_server.granted_url, recorded), {})
    printed = capsys.readouterr().out
    capacity = next(line for line in printed.splitlines() if "capacity" in line)
    assert not capacity.lstrip().startswith("[skip]") and "set storage_limit_gb" not in printed, capacity


def test_the_last_screen_gives_stitchs_form_and_the_next_steps_without_the_password(ssl_server):
    outputs = outputs_of(ssl_server.granted_url, {})
    shown = try_local.next_steps(outputs, True, ".venv/bin/python -m devtools.try_local")
    settings = parse_database_url(ssl_server.granted_url)
    assert settings.password not in shown
    for expected in (f"Host       {settings.host}", f"Port       {settings.port}", f"Username   {settings.username}",
                     "pulumi stack output password --show-secrets", "SSL        checked",
                     'eval "$(.venv/bin/python -m devtools.try_local --env)"', "stitch-heroku reconcile --stack local",
                     ".venv/bin/python -m devtools.try_local --down"):  # fmt: skip
        assert expected in shown, shown


def test_a_fix_that_says_pulumi_up_names_what_runs_it_without_the_language_host():
    for fix in (postgres_sql.credentials_fix("url"), postgres_sql.credentials_fix("heroku")):
        assert "`pulumi up`" in fix and "without the Python language host: `stitch-heroku reconcile --stack <stack>`" in fix


def test_env_quotes_every_value_and_prints_no_secret_of_the_users(tmp_path, monkeypatch):
    project = tmp_path / "a folder $HOME" / "project"
    venv_bin = os.path.join(sys.prefix, "bin")
    env = {"PATH": os.pathsep.join(["/cli bin", venv_bin, "/usr/bin"]), "PULUMI_BACKEND_URL": f"file://{tmp_path}/state",
           "PULUMI_CONFIG_PASSPHRASE": "the-users-own", "PULUMI_SKIP_UPDATE_CHECK": "true"}  # fmt: skip
    lines = try_local.shell_lines(env, project)
    assert "the-users-own" not in "\n".join(lines), "a passphrase from the user's environment is never printed"
    assert lines[0] == f"export PATH={shlex.quote(venv_bin + os.pathsep + '/cli bin')}\"{os.pathsep}$PATH\""
    assert f"cd {shlex.quote(str(project))}" in lines
    project.mkdir(parents=True)
    script = "set -e\n" + "\n".join(lines) + '\npwd\necho "$PATH"'
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"})
    assert shown.returncode == 0 and shown.stdout.splitlines()[0] == str(project), "the folder's name is taken as written"
    assert shown.stdout.splitlines()[1] == os.pathsep.join([venv_bin, "/cli bin", "/usr/bin:/bin"])
    public = try_local.shell_lines({**env, "PULUMI_CONFIG_PASSPHRASE": "local-try-out"}, project)
    assert "export PULUMI_CONFIG_PASSPHRASE=local-try-out" in public


def test_in_the_env_shell_the_readmes_day_two_commands_work_on_the_try_out(toolchain, tmp_path):
    """The try-out, then `eval "$(python -m devtools.try_local --env)"` in a bash whose PATH has neither the venv nor
    a Pulumi CLI: the stack's outputs, the reconcile (in-sync) and verify --stack work, and no secret is printed."""
    command = [sys.executable, "-m", "devtools.try_local", "--workdir", str(tmp_path / "try")]
    up = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    # A user's shell: Go where it is installed (the toolchain is found by it), no venv and no Pulumi CLI.
    go = shutil.which("go")
    path = os.pathsep.join([*([os.path.dirname(go)] if go else []), "/usr/bin", "/bin"])
    bare = {"PATH": path, "HOME": str(Path.home()), "LANG": "C.UTF-8"}

    def in_env_shell(line: str) -> subprocess.CompletedProcess[str]:
        script = f'set -e\neval "$({shlex.join([*command, "--env"])})"\n{line}'
        return subprocess.run(["bash", "-c", script], cwd=ROOT, env=bare, capture_output=True, text=True, timeout=900, check=False)

    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert "Next steps:" in up.stdout and "--env)" in up.stdout
        printed = subprocess.run([*command, "--env"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        assert printed.returncode == 0 and "export PULUMI_CONFIG_PASSPHRASE=local-try-out" in printed.stdout, printed.stderr
        outputs = in_env_shell("pulumi stack output --json")
        assert outputs.returncode == 0, outputs.stderr[-3000:]
        shown = json.loads(outputs.stdout)
        assert shown["password"] == "[secret]" and shown["port"] and shown["ssl"] is True
        reconciled = in_env_shell("stitch-heroku reconcile --stack local --json")
        assert reconciled.returncode == 0, reconciled.stdout[-2000:] + reconciled.stderr[-3000:]
        assert json.loads(reconciled.stdout)["status"] == "in-sync", reconciled.stdout
        previewed = in_env_shell("python -m ops.reconcile --stack local --preview-only")
        assert previewed.returncode == 0, previewed.stdout[-2000:] + previewed.stderr[-3000:]
        verified = in_env_shell("stitch-heroku verify --stack local")
        assert verified.returncode == 0 and "READY" in verified.stdout, verified.stdout[-2000:] + verified.stderr[-2000:]
        urls = json.loads((tmp_path / "try" / "postgres" / "cluster.json").read_text())
        everything = "".join(done.stdout + done.stderr for done in (up, printed, outputs, reconciled, previewed, verified))
        for password in passwords_of(urls["database_url"], urls["stitch_url"]):
            assert password not in everything
    finally:
        down = subprocess.run([*command, "--down"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]


def test_env_before_any_try_out_prints_nothing_to_eval(tmp_path):
    done = subprocess.run([sys.executable, "-m", "devtools.try_local", "--workdir", str(tmp_path / "none"), "--env"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 1 and done.stdout == "", "eval gets nothing to run"
    assert "run `python -m devtools.try_local` first" in done.stderr and "Traceback" not in done.stderr
