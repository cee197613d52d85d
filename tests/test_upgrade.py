"""Stacks made by the program before it became a component (commit b65f708) upgrade with nothing replaced.

The old program is taken from this repository's history (`git archive`), run through the real engine to make
a stack; then the project folder gets today's program and the same stack is previewed and updated. The
resources moved under the Destination keep their identity through their aliases (components/moved.py): the
preview deletes and replaces nothing and creates only the Destination itself, the `up` sends Stitch no
POST and no DELETE and keeps the same database, and a refresh and the destroy still work.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from devtools.project_copy import copy_project
from tests.doubles.fake_stitch import FakeStitch, StitchServer
from tests.support.real_engine import ROOT, configure_by_cli, engine_env, toolchain_bin

BEFORE_THE_COMPONENT = "b65f708"
RUNNER = Path(__file__).parent / "support" / "program_run.py"
# What this release adds to a stack: the Destination component itself, and the marker Stitch's destination
# carries so that a crash never adopts a destination made by hand (issue 22, item 4).
NEW_IN_THIS_RELEASE = {"stitch-heroku:index:Destination", "pulumi-python:dynamic/stitch:DestinationMarker"}


class Project:
    """A project folder holding the program of one commit, and its one stack on a private file backend."""

    def __init__(self, base: Path, stack: str):
        self.dir, self.stack = base / "project", stack
        self.dir.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", BEFORE_THE_COMPONENT], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(self.dir, filter="data")
        (self.dir / ".venv").symlink_to(Path(sys.prefix))
        (base / "state").mkdir()
        self.bin = toolchain_bin()
        self.env = {**os.environ, **engine_env(self.bin, base)}
        self.run("init")

    def run(self, operation: str) -> dict:
        command = [sys.executable, str(RUNNER), str(self.dir), self.stack, operation]
        done = subprocess.run(command, check=False, env=self.env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{operation} failed:\n{done.stderr[-4000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def configure(self, values: dict[str, str], secrets: dict[str, str]) -> None:
        configure_by_cli(self.bin / "pulumi", self.stack, self.dir, self.env, values, secrets)

    def upgrade(self) -> None:
        """Today's program in the same folder, as a user's `git pull` gives it."""
        copy_project(self.dir)

    def state(self) -> list[dict]:
        command = [str(self.bin / "pulumi"), "stack", "export", "--stack", self.stack]
        exported = subprocess.run(command, cwd=self.dir, env=self.env, capture_output=True, check=True)
        return json.loads(exported.stdout)["deployment"]["resources"]


def ids_by_type(resources: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for resource in resources:
        if resource.get("id"):
            found.setdefault(resource["type"], []).append(resource["id"])
    return {key: sorted(value) for key, value in found.items()}


def assert_upgrades_in_place(project: Project, stitch: StitchServer) -> None:
    before = project.state()
    posts, deletes = len(stitch.calls("POST")), len(stitch.calls("DELETE"))
    project.upgrade()
    preview = project.run("preview")["changes"]
    assert not {"delete", "replace", "create-replacement", "delete-replaced"} & set(preview), preview
    assert preview.get("create", 0) <= len(NEW_IN_THIS_RELEASE), preview
    up = project.run("up")
    assert up["result"] == "succeeded"
    assert len(stitch.calls("POST")) == posts and len(stitch.calls("DELETE")) == deletes, "the upgrade created or deleted in Stitch"
    after = ids_by_type(project.state())
    for kind, ids in ids_by_type(before).items():
        assert after.get(kind) == ids, f"a {kind} got a new id: it was replaced"
    assert set(after) - set(ids_by_type(before)) <= NEW_IN_THIS_RELEASE, f"created beyond what is new: {set(after)}"
    again = project.run("preview")["changes"]
    assert set(again) <= {"same"}, f"the upgraded stack does not converge: {again}"
    # The dynamic resources the up left as they were still hold providers pickled as components.*: read (a
    # refresh) and, in the caller's finally, delete (destroy) must still find them.
    project.run("refresh")


@pytest.fixture
def stitch():
    with StitchServer(FakeStitch()) as server:
        yield server


def test_a_url_stack_with_a_stitch_token_upgrades_without_replacing(toolchain, tmp_path, ssl_server, stitch):
    from devtools.local_postgres import provision_stitch_database

    db = provision_stitch_database(ssl_server.cluster, database="upgrade_url", owner="upgrade_owner", stitch_role="upgrade_loader")
    with ssl_server.cluster.superuser("upgrade_url") as conn:  # the owner makes Stitch's own role, as on a managed server
        conn.execute("ALTER ROLE upgrade_owner CREATEROLE")
    project = Project(tmp_path, "dev-upgrade")
    project.configure(
        {"stitch-heroku:source": "url", "stitch-heroku:verify_timeout": "20", "stitch-heroku:stitch_api_url": stitch.url},
        {"stitch-heroku:database_url": db.owner_url, "stitch:accessToken": stitch.token},
    )
    try:
        assert project.run("up")["result"] == "succeeded"
        assert len(stitch.destinations) == 1
        assert_upgrades_in_place(project, stitch)
        assert len(stitch.destinations) == 1
    finally:
        project.run("destroy")


def test_a_heroku_stack_upgrades_without_replacing_the_database(toolchain, tmp_path, heroku, stitch):
    project = Project(tmp_path, "dev-upgrade-heroku")
    project.configure(
        {
            "stitch-heroku:app_name": "acme-upgrade",
            "stitch-heroku:verify_timeout": "20",
            "heroku:url": heroku.url,
            "heroku:delays": '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}',
            "stitch-heroku:stitch_api_url": stitch.url,
        },
        {"heroku:apiKey": heroku.api_key, "stitch:accessToken": stitch.token},
    )
    try:
        assert project.run("up")["result"] == "succeeded"
        (addon,) = heroku.addons
        assert_upgrades_in_place(project, stitch)
        assert list(heroku.addons) == [addon] and heroku.calls("DELETE") == [], "the upgrade replaced the database"
    finally:
        project.run("destroy")
