"""Stacks made by older programs upgrade with nothing replaced: before the component (commit b65f708, 0.1.0),
and with the component whose children's children had short names (commit 594e959, 0.2.0).

The old program is taken from this repository's history (`git archive`), run through the real engine to make
a stack; then the project folder gets today's program and the same stack is previewed and updated. The
resources moved under the Destination, or renamed after their parent, keep their identity through their
aliases (components/moved.py): the preview deletes and replaces nothing and creates only what the release
adds, the `up` sends Stitch no POST and no DELETE and keeps the same database, and a refresh and the destroy
still work.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from stitch_heroku.moved import named_as_before

from devtools.project_copy import copy_project
from tests.doubles.fake_stitch import FakeStitch, StitchServer
from tests.support.program_folder import ProgramFolder
from tests.support.real_engine import ROOT

BEFORE_THE_COMPONENT = "b65f708"
SHORT_CHILD_NAMES = "594e959"
"""0.2.0: one Destination a program, its children's children named "app", "postgres", "stitch", "role"..."""
# What this release adds to a stack: the Destination component itself, and the marker Stitch's destination
# carries so that a crash never adopts a destination made by hand (issue 22, item 4).
NEW_IN_THIS_RELEASE = {"stitch-heroku:index:Destination", "pulumi-python:dynamic/stitch:DestinationMarker"}


class Project(ProgramFolder):
    """A project folder holding the program of one commit, and its one stack on a private file backend."""

    def __init__(
        self, base: Path, stack: str, commit: str = BEFORE_THE_COMPONENT, extra_env: dict[str, str] | None = None, program: str = ""
    ):
        project = base / "project"
        project.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(project, filter="data")
        self.program = program
        if program:  # a program of another project, which uses the package of that commit
            (project / "Pulumi.yaml").write_text("name: acme-warehouse\nruntime: python\n")
            (project / "__main__.py").write_text(textwrap.dedent(program))
        (project / ".venv").symlink_to(Path(sys.prefix))
        # The package `stitch_heroku` as the folder's own components/ (pyproject's package-dir): ahead of the venv's
        # editable install of today's code on PYTHONPATH, for the program and the dynamic providers' processes alike.
        (project / "stitch_heroku").symlink_to("components")
        super().__init__(base, stack, {"PYTHONPATH": str(project), **(extra_env or {})})
        self.run("init")

    def upgrade(self) -> None:
        """Today's program in the same folder, as a user's `git pull` gives it; another program keeps its own and
        gets today's package, as `pip install -U` gives it."""
        if self.program:
            shutil.rmtree(self.dir / "components")
            shutil.copytree(ROOT / "components", self.dir / "components", ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy_project(self.dir)


def ids_by_type(resources: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for resource in resources:
        if resource.get("id"):
            found.setdefault(resource["type"], []).append(resource["id"])
    return {key: sorted(value) for key, value in found.items()}


def assert_upgrades_in_place(
    project: Project, stitch: StitchServer, new: set[str] = NEW_IN_THIS_RELEASE, planned_replacements: int = 0
) -> None:
    """The upgrade's preview and up change nothing but what is new. planned_replacements: replacements the preview
    may plan for an input it cannot know yet, which the up (where it is known) must not make."""
    before = project.state()
    posts, deletes = len(stitch.calls("POST")), len(stitch.calls("DELETE"))
    project.upgrade()
    preview = project.run("preview")["changes"]
    assert not {"delete", "create-replacement", "delete-replaced"} & set(preview), preview
    assert preview.get("replace", 0) == planned_replacements, preview
    assert preview.get("create", 0) <= len(new), preview
    up = project.run("up")
    assert up["result"] == "succeeded" and not {"delete", "replace", "create-replacement", "delete-replaced"} & set(up["changes"]), up
    assert len(stitch.calls("POST")) == posts and len(stitch.calls("DELETE")) == deletes, "the upgrade created or deleted in Stitch"
    after = ids_by_type(project.state())
    for kind, ids in ids_by_type(before).items():
        assert after.get(kind) == ids, f"a {kind} got a new id: it was replaced"
    assert set(after) - set(ids_by_type(before)) <= new, f"created beyond what is new: {set(after)}"
    again = project.run("preview")["changes"]
    assert set(again) <= {"same"}, f"the upgraded stack does not converge: {again}"
    # The dynamic resources the up left as they were still hold providers pickled as components.*: read (a
    # refresh) and, in the caller's finally, delete (destroy) must still find them.
    project.run("refresh")


def short_names(resources: list[dict]) -> set[str]:
    """The names of our components' children not named after their parent (0.1.0's and 0.2.0's)."""
    return {urn.rsplit("::", 1)[1] for urn in named_as_before(resources)}


@pytest.fixture
def stitch():
    with StitchServer(FakeStitch()) as server:
        yield server


UPGRADES = [
    pytest.param(BEFORE_THE_COMPONENT, NEW_IN_THIS_RELEASE, id="0.1.0"),
    pytest.param(SHORT_CHILD_NAMES, set(), id="0.2.0"),  # nothing new: the same resources, renamed
]


def url_project(tmp_path: Path, server, stitch: StitchServer, commit: str, tag: str = "") -> Project:
    """A `url` stack of the program of `commit` on a database of its own, Stitch's own role, with a token."""
    from devtools.local_postgres import provision_stitch_database

    database, owner = f"upgrade_url_{commit}{tag}", f"upgrade_owner_{commit}{tag}"
    db = provision_stitch_database(server.cluster, database=database, owner=owner, stitch_role=f"upgrade_loader_{commit}{tag}")
    with server.cluster.superuser(database) as conn:  # the owner makes Stitch's own role (StitchRole, Role, ...)
        conn.execute(f"ALTER ROLE {owner} CREATEROLE")
    project = Project(tmp_path, "dev-upgrade", commit)
    project.configure(
        {
            "stitch-heroku:source": "url",
            "stitch-heroku:stitch_role_name": f"stitch_{commit}{tag}",
            "stitch-heroku:verify_timeout": "20",
            "stitch-heroku:stitch_api_url": stitch.url,
        },
        {"stitch-heroku:database_url": db.owner_url, "stitch:accessToken": stitch.token},
    )
    return project


@pytest.mark.parametrize(("commit", "new"), UPGRADES)
def test_a_url_stack_with_stitchs_own_role_and_a_token_upgrades_without_replacing(commit, new, toolchain, tmp_path, ssl_server, stitch):
    project = url_project(tmp_path, ssl_server, stitch, commit)
    try:
        assert project.run("up")["result"] == "succeeded"
        (destination_id,) = stitch.destinations
        assert "role" in short_names(project.state()), f"the stack was not made by the program of {commit}"
        assert_upgrades_in_place(project, stitch, new)
        assert not short_names(project.state()), "a resource kept its old name"
        assert list(stitch.destinations) == [destination_id], "the upgrade created a destination in Stitch"
        assert stitch.destinations[destination_id]["name"] == "stitch-heroku-dev-upgrade", "the default name in Stitch changed"
    finally:
        project.run("destroy")


@pytest.mark.parametrize(
    ("commit", "new", "plan", "planned"),
    [
        pytest.param(BEFORE_THE_COMPONENT, NEW_IN_THIS_RELEASE, "essential-0", 0, id="0.1.0"),
        # Stitch's own credential and its attachment: the deepest children. From 0.1.0, the credential's first up
        # drops the API key 0.1.0 saved (an update), so in the preview its user, the Grant's role, is unknown: the
        # preview plans the Grant's replacement (role is ForceNew, and an unknown is a change: the bridged plugin
        # and devtools/postgresql_standin.py's grant_diff alike; a Python dynamic provider cannot declare its
        # outputs stable, pulumi/dynamic/__main__.py sends no `stables`). The up, where the user is known, replaces nothing.
        pytest.param(BEFORE_THE_COMPONENT, NEW_IN_THIS_RELEASE, "standard-0", 1, id="0.1.0-standard-0"),
        pytest.param(SHORT_CHILD_NAMES, set(), "standard-0", 0, id="0.2.0"),
    ],
)
def test_a_heroku_stack_upgrades_keeping_the_database(commit, new, plan, planned, toolchain, tmp_path, heroku, stitch):
    project = Project(tmp_path, "dev-upgrade-heroku", commit, {"HEROKU_DATA_HOST": heroku.url})
    project.configure(
        {
            "stitch-heroku:app_name": f"acme-upgrade-{commit}",
            "stitch-heroku:plan": plan,
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
        assert plan.startswith("essential") or "credential" in short_names(project.state()), f"not made by the program of {commit}"
        assert_upgrades_in_place(project, stitch, new, planned)
        assert not short_names(project.state()), "a resource kept its old name"
        assert list(heroku.addons) == [addon] and heroku.calls("DELETE") == [], "the upgrade replaced the database"
    finally:
        project.run("destroy")


def test_the_first_reconcile_after_the_upgrade_of_a_0_2_stack_moves_it_and_is_in_sync(toolchain, tmp_path, ssl_server, stitch):
    """The reconcile's refresh runs the program, and the engine's refresh stops on aliases (assertSeen): the
    reconcile moves the renamed resources with a plain `up` first, as it does for 0.1.0's (components/moved.py)."""
    project = url_project(tmp_path, ssl_server, stitch, SHORT_CHILD_NAMES, "_reconcile")
    try:
        assert project.run("up")["result"] == "succeeded"
        project.upgrade()
        posts = len(stitch.calls("POST"))
        env = {key: value for key, value in project.env.items() if key != "PYTHONPATH"}  # today's package, as installed
        command = [sys.executable, "-m", "ops.reconcile", "--stack", project.stack, "--json"]
        done = subprocess.run(command, cwd=project.dir, env=env, capture_output=True, text=True, timeout=600, check=False)
        report = json.loads(done.stdout)
        assert done.returncode == 0 and report["status"] in ("in-sync", "healed"), report.get("problems") or done.stderr[-3000:]
        assert not short_names(project.state()) and len(stitch.calls("POST")) == posts
    finally:
        project.run("destroy")


WAREHOUSE = """\
    import pulumi
    from stitch_heroku import Destination, DestinationArgs

    config = pulumi.Config()
    Destination("warehouse", DestinationArgs(
        source="url", database_url=config.require_secret("databaseUrl"), stitch_role_name=config.require("roleName"),
        verify_timeout=20, stitch_api_url=config.require("stitchApiUrl"), stitch_access_token=config.require_secret("stitchToken"),
    ))
"""


def test_a_destination_of_another_program_keeps_its_name_in_stitch_after_the_default_changed(toolchain, tmp_path, ssl_server, stitch):
    """0.2.0 named a Destination's destination `<project>-<stack>`; the default now adds the Destination's name, and a
    destination made before keeps the name it has: no rename is asked, nothing is created in Stitch."""
    from devtools.local_postgres import provision_stitch_database

    db = provision_stitch_database(ssl_server.cluster, database="upgrade_other", owner="upgrade_other_owner", stitch_role="upgrade_other_x")
    with ssl_server.cluster.superuser("upgrade_other") as conn:
        conn.execute("ALTER ROLE upgrade_other_owner CREATEROLE")
    project = Project(tmp_path, "dev", SHORT_CHILD_NAMES, program=WAREHOUSE)
    project.configure(
        {"acme-warehouse:roleName": "upgrade_other_loader", "acme-warehouse:stitchApiUrl": stitch.url},
        {"acme-warehouse:databaseUrl": db.owner_url, "acme-warehouse:stitchToken": stitch.token},
    )
    try:
        assert project.run("up")["result"] == "succeeded"
        (destination,) = stitch.destinations.values()
        assert destination["name"] == "acme-warehouse-dev", "0.2.0's default"
        assert_upgrades_in_place(project, stitch, new=set())
        assert [d["name"] for d in stitch.destinations.values()] == ["acme-warehouse-dev"]
    finally:
        project.run("destroy")
