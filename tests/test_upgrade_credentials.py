"""A stack made by the program before its dynamic providers took credentials from the run's configuration
(commit b65f708, whose state holds the Heroku API key and the Stitch token as inputs) converges on its next
`up` with the program as it is now: nothing replaced or deleted, and neither credential left in the state.

The old program runs from `git archive b65f708` in a child process (its own components/, devtools/ and
tests/support/ on PYTHONPATH), on the same backend, PULUMI_HOME and project folder; then this process runs
the current program there, as a user who upgrades does.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.doubles.fake_stitch import FakeStitch, StitchServer
from tests.support.real_engine import ROOT, real_stack
from tests.test_real_engine_heroku import data_host, heroku_config, resources_of
from tests.test_reconcile import assert_no_secret, report_of, run_reconcile

BEFORE = "b65f708"
CREDENTIALS = ("api_key", "access_token")

OLD_UP = """
import json, sys
from pathlib import Path
from tests.support.real_engine import real_stack
job = json.load(sys.stdin)
with real_stack(Path(job["base"]), job["stack"], env=job["env"]) as stack:
    stack.set_config(job["values"], secrets=job["secrets"])
    stack.up()
"""


def old_tree(target: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def up_with_the_old_program(tree: Path, job: dict) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", OLD_UP], input=json.dumps(job), cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]


def credentials_in(stack) -> list[str]:
    """Credential properties of our dynamic resources, in their inputs or outputs, even as ciphertext."""
    return [
        f"{r['urn'].rsplit('::', 1)[-1]}.{part}.{key}"
        for r in resources_of(stack)
        if r["type"].startswith("pulumi-python:dynamic")
        for part in ("inputs", "outputs")
        for key in CREDENTIALS
        if key in (r.get(part) or {})
    ]


def old_stack_job(tmp_path: Path, heroku, stitch, app_name: str) -> dict:
    values = {
        "stitch-heroku:app_name": app_name,
        "stitch-heroku:plan": "standard-0",
        "stitch-heroku:verify_timeout": "20",
        "stitch-heroku:stitch_api_url": stitch.url,
        "stitch-heroku:stitch_check_timeout": "30",
        "heroku:url": heroku.url,
        "heroku:delays": '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}',
    }
    secrets = {"heroku:apiKey": heroku.api_key, "stitch:accessToken": stitch.token}
    return {"base": str(tmp_path), "stack": "dev-upgrade", "env": data_host(heroku), "values": values, "secrets": secrets}


def test_a_stack_made_by_the_old_program_converges_and_its_state_drops_the_key_and_the_token(toolchain, tmp_path, heroku):
    app_name = "acme-upgrade-1"
    with StitchServer(FakeStitch()) as stitch:
        up_with_the_old_program(old_tree(tmp_path / "b65f708"), old_stack_job(tmp_path, heroku, stitch, app_name))

        with real_stack(tmp_path, "dev-upgrade", env=data_host(heroku)) as stack:
            try:
                old = credentials_in(stack)
                assert {"credential.inputs.api_key", "stitch-destination.inputs.access_token"} <= set(old), old
                writes = [c for c in stitch.calls() if not c.startswith("GET ")]

                result = stack.up()
                changes = result.summary.resource_changes or {}
                # Updates only, besides what this release adds (the Destination component and the destination's marker).
                assert not {"delete", "replace", "create-replacement", "delete-replaced"} & set(changes), changes
                assert changes.get("create", 0) <= 2, changes
                assert credentials_in(stack) == [], "a credential is still in the state"
                assert [c for c in stitch.calls() if not c.startswith("GET ")] == writes, "the upgrade sent Stitch something"
                again = stack.up()
                assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes
            finally:
                heroku_config(stack, heroku, app_name, plan="standard-0")
                stack.destroy()


def test_after_the_key_and_the_token_are_rotated_the_reconciles_refresh_of_an_old_stack_works(toolchain, tmp_path, heroku):
    """The old state holds the old key and token; the doubles refuse both once rotated. The reconcile (its refresh
    runs the program) must use the run's new ones, and report the stack in sync."""
    app_name = "acme-upgrade-2"
    with StitchServer(FakeStitch()) as stitch:
        up_with_the_old_program(old_tree(tmp_path / "b65f708"), old_stack_job(tmp_path, heroku, stitch, app_name))
        with real_stack(tmp_path, "dev-upgrade", env=data_host(heroku)) as stack:
            try:
                heroku.api_key, stitch.token = "heroku-api-key-rotated", "stitch-token-rotated"
                stack.set_config({}, secrets={"heroku:apiKey": heroku.api_key, "stitch:accessToken": stitch.token})
                done = run_reconcile(stack, "--json")
                report = report_of(done)
                assert done.returncode == 0 and report["status"] in ("in-sync", "healed"), report
                assert_no_secret(done, heroku.api_key, stitch.token)
            finally:
                stack.destroy()
