"""`stitch-heroku reconcile` before any engine run: the CLI found on PATH wherever it is, a mistyped stack with
"did you mean", and a fleet in which a stack that cannot be opened is that stack's error, not the run's crash.

Real Pulumi CLI (the toolchain) on a file backend in a temp dir; no up is needed for these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.real_engine import PASSPHRASE, ROOT


@pytest.fixture
def project(tmp_path: Path, toolchain: Path) -> tuple[Path, dict[str, str]]:
    """A project folder of another name, a file backend with its stacks `local` and `staging`, and a `pulumi` on PATH that
    is a wrapper in a folder named `tools` (not `bin`), as a package manager or a person's ~/tools installs it."""
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text("name: acme-warehouse-yaml\nruntime: yaml\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    wrapper = tools / "pulumi"
    wrapper.write_text(f'#!/bin/sh\nexec "{toolchain / "pulumi"}" "$@"\n')
    wrapper.chmod(0o755)
    (tmp_path / "state").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    for name in ("local", "staging"):
        subprocess.run([str(wrapper), "stack", "init", name], cwd=folder, env=env, check=True, capture_output=True)
    return folder, env


def reconcile(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "stitch_heroku.ops.cli", "reconcile", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_pulumi_on_path_in_a_folder_not_named_bin_opens_the_stack_and_a_typo_gets_did_you_mean(project):
    folder, env = project
    done = reconcile(folder, env, "--stack", "locl", "--json")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "error" and report["stack"] == "locl"
    assert "stack 'locl' does not exist in this backend" in report["error"]
    assert '(did you mean "local"?)' in report["error"], report["error"]
    assert report["stacks"] == [{"stack": "locl", "status": "error", "error": report["error"], "destinations": []}]

    command = [sys.executable, "-m", "stitch_heroku.ops.cli", "verify", "--stack", "locl"]
    verified = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert verified.returncode == 2 and '(did you mean "local"?)' in verified.stderr, verified.stderr


def test_a_fleet_judges_each_stack_and_one_that_cannot_be_opened_is_its_own_error(project):
    folder, env = project
    done = reconcile(folder, env, "--stack", "local", "--stack", "nosuch", "--json")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    by_stack = {entry["stack"]: entry for entry in report["stacks"]}
    assert list(by_stack) == ["local", "nosuch"], "one entry a stack, in the order given"
    assert by_stack["nosuch"]["status"] == "error" and "does not exist" in by_stack["nosuch"]["error"]
    assert by_stack["local"]["status"] == "error" and "holds no stitch-heroku Destination" in by_stack["local"]["error"]
    assert report["status"] == "error" and done.returncode == 2
    assert "stack" not in report, "several stacks: no single stack's fields at the top level"

    listed = json.loads(reconcile(folder, env, "--all-stacks", "--json").stdout)
    assert [entry["stack"] for entry in listed["stacks"]] == ["local", "staging"], "--all-stacks takes pulumi stack ls"


def test_no_stack_named_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "ops.reconcile"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "--stack NAME" in done.stderr and "--all-stacks" in done.stderr
