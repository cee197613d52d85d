"""A program of its own with several Destinations, under Pulumi's mocks: every resource of each is its own.

A URN holds the parents' types and the resource's own name, never a parent's name: two Destinations whose
children's children had the same short name ("app", "stitch", "role") got the same URN, and the engine
refused the program ("Duplicate resource URN"). The mocks do not refuse it, so the test counts the URNs.
"""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.support.pulumi_harness import Registration, StitchMocks, run_program
from tests.test_heroku_credential import addon, props  # noqa: F401 (addon: a fixture)

PROGRAM = """\
    from stitch_heroku import Destination, DestinationArgs

    for name in ("wh-alpha", "wh-bravo"):
        Destination(name, DestinationArgs(
            source="url", database_url=f"postgres://owner:pw@db.example.com:5432/{name}",
            stitch_role_name=name.replace("-", "_") + "_loader", stitch_access_token="token-of-" + name,
        ))
        Destination(f"{name}-heroku", DestinationArgs(
            app_name=f"acme-{name}", plan="standard-0", heroku_api_key="hk-key", stitch_access_token="token-of-" + name,
        ))
"""
DESTINATION = "stitch-heroku:index:Destination"


@pytest.fixture(scope="module")
def four(tmp_path_factory) -> list[Registration]:
    program = Path(tmp_path_factory.mktemp("program")) / "__main__.py"
    program.write_text(textwrap.dedent(PROGRAM))
    return run_program("dev", {}, secret=(), mocks=StitchMocks(), program=program).registrations


def test_every_resource_of_four_destinations_has_its_own_urn(four):
    twice = [urn for urn, count in Counter(r.urn for r in four).items() if count > 1]
    assert not twice, f"URNs declared more than once (the engine refuses the program): {twice}"
    assert len([r for r in four if r.type == DESTINATION]) == 4


def test_each_resource_is_named_after_its_parent(four):
    names = {r.urn: r.name for r in four}
    for resource in four:
        if resource.parent in names:
            parent = names[resource.parent]
            assert resource.name.startswith(f"{parent}-"), f"{resource.type} {resource.name!r} is not named after its parent {parent!r}"


def test_the_dedicated_roles_and_credentials_are_each_destinations_own(four):
    roles = sorted(r.inputs["name"] for r in four if r.type == "postgresql:index/role:Role")
    assert roles == ["wh_alpha_loader", "wh_bravo_loader"]
    apps = sorted(r.inputs["name"] for r in four if r.type == "heroku:app/app:App")
    assert apps == ["acme-wh-alpha", "acme-wh-bravo"]
    assert len([r for r in four if r.type == "pulumi-python:dynamic/stitch:HerokuCredential"]) == 2


def test_each_destination_asks_stitch_for_a_name_of_its_own(four):
    names = sorted(r.inputs["name"] for r in four if r.type == "pulumi-python:dynamic/stitch:Destination")
    assert names == [f"stitch-heroku-dev-{name}" for name in ("wh-alpha", "wh-alpha-heroku", "wh-bravo", "wh-bravo-heroku")]


def test_our_own_programs_destination_keeps_the_name_its_stacks_have_in_stitch():
    from tests.support.pulumi_harness import HEROKU_STACK

    run = run_program("dev", HEROKU_STACK | {"stitch:accessToken": "token"}, secret=("heroku:apiKey", "stitch:accessToken"))
    (destination,) = run.of_type("pulumi-python:dynamic/stitch:Destination")
    assert destination.inputs["name"] == "stitch-heroku-dev" and destination.inputs["name_given"] is False


def test_a_default_name_never_renames_the_destination_stitch_has():
    from stitch_heroku.stitch_destination import StitchDestinationProvider

    provider = StitchDestinationProvider()
    made_before = {"name": "acme-dev", "name_given": False}
    assert provider.check(made_before, {"name": "acme-dev-warehouse", "name_given": False}).inputs["name"] == "acme-dev"
    given = provider.check(made_before, {"name": "acme-dev-two", "name_given": True})
    assert given.inputs["name"] == "acme-dev-two", "a name given is what the diff compares (and refuses to rename)"
    assert provider.check({}, {"name": "acme-dev-warehouse", "name_given": False}).inputs["name"] == "acme-dev-warehouse"



def test_a_heroku_key_given_to_a_destination_wins_over_the_runs(heroku, addon):  # noqa: F811 (the imported fixture)
    """The credential's provider reads and creates with the key the Destination was given, not HEROKU_API_KEY's."""
    from stitch_heroku.heroku_credential import StitchCredentialProvider

    from tests.support.provider_config import configured

    of_the_run = configured(StitchCredentialProvider(), {"heroku:apiKey": "a-key-of-another-heroku-account"})
    given = props(heroku, addon, given_api_key=heroku.api_key)
    created = of_the_run.create(given)  # the double refuses any other key with a 401
    assert of_the_run.read(created.id, created.outs).id == created.id
    rotated = of_the_run.diff(created.id, created.outs, {**given, "given_api_key": "heroku-api-key-rotated"})
    assert rotated.changes and rotated.replaces == [], "a key given anew is recorded by an update, never a new credential"

# -- the same, through the real engine, with Stitch's double -------------------------------------------------

REAL_PROGRAM = """\
    import pulumi
    from stitch_heroku import Destination, DestinationArgs

    config = pulumi.Config()
    for name in ("wh-alpha", "wh-bravo"):
        warehouse = Destination(name, DestinationArgs(
            source="url", database_url=config.require_secret(f"{name}-url"), stitch_role_name=config.require(f"{name}-role"),
            verify_timeout=20, stitch_api_url=config.require("stitchApiUrl"), stitch_access_token=config.require_secret("stitchToken"),
        ))
        pulumi.export(f"{name}-verification", warehouse.verification)
        pulumi.export(f"{name}-destination", warehouse.stitch_destination_id)
"""
EXPORTED = "a-token-of-another-stitch-account"
"""What a CI job exports as STITCH_ACCESS_TOKEN: the Destinations were given their own, which wins."""


_fleets = itertools.count(1)


@pytest.fixture
def fleet(toolchain, tmp_path, ssl_server):
    """Two databases on the test server, each with its owner; Stitch's roles are the Destinations' own (the
    server's roles are shared by all its databases, and the roles are kept by destroy: new names each time)."""
    from devtools.local_postgres import provision_stitch_database
    from tests.doubles.fake_stitch import FakeStitch, StitchServer
    from tests.support.program_folder import ProgramFolder

    urls, plain, n = {}, {}, next(_fleets)
    for name in ("wh-alpha", "wh-bravo"):
        database = f"{name.replace('-', '_')}_{n}"
        db = provision_stitch_database(ssl_server.cluster, database=database, owner=f"{database}_owner", stitch_role=f"{database}_other")
        urls[name], plain[f"{name}-role"] = db.owner_url, f"{database}_loader"
        with ssl_server.cluster.superuser(database) as conn:  # the owner makes Stitch's own role
            conn.execute(f"ALTER ROLE {database}_owner CREATEROLE")
    folder = ProgramFolder(tmp_path, "dev", {"STITCH_ACCESS_TOKEN": EXPORTED})
    (folder.dir / "Pulumi.yaml").write_text("name: acme-fleet\nruntime: python\n")
    (folder.dir / "__main__.py").write_text(textwrap.dedent(REAL_PROGRAM))
    (folder.dir / ".venv").symlink_to(Path(sys.prefix))
    with StitchServer(FakeStitch()) as stitch:
        folder.run("init")
        secrets = {f"{name}-url": url for name, url in urls.items()} | {"stitchToken": stitch.token}
        plain["stitchApiUrl"] = stitch.url
        folder.configure({f"acme-fleet:{k}": v for k, v in plain.items()}, {f"acme-fleet:{k}": v for k, v in secrets.items()})
        try:
            yield folder, stitch, plain
        finally:
            folder.run("destroy")


def test_two_destinations_come_up_verified_each_in_stitch_with_the_token_it_was_given(fleet):
    folder, stitch, plain = fleet
    assert folder.run("up")["result"] == "succeeded"
    outputs = folder.outputs()
    for name in ("wh-alpha", "wh-bravo"):
        report = outputs[f"{name}-verification"]
        assert report["ready"] is True, f"{name}: {report}"
        assert plain[f"{name}-role"] in json.dumps(report), f"{name} was not verified as its own role: {report}"
    named = {str(d["id"]): d["name"] for d in stitch.destinations.values()}
    assert named == {outputs["wh-alpha-destination"]: "acme-fleet-dev-wh-alpha", outputs["wh-bravo-destination"]: "acme-fleet-dev-wh-bravo"}
    sent = {request.authorization for request in stitch.requests}
    assert sent == {f"Bearer {stitch.token}"}, "a request went with the exported token, not the one the Destinations were given"
    assert set(folder.run("preview")["changes"]) <= {"same"}


def test_a_rotated_token_given_anew_is_recorded_without_a_call_that_changes_stitch(fleet):
    folder, stitch, _ = fleet
    assert folder.run("up")["result"] == "succeeded"
    ids = sorted(stitch.destinations)
    stitch.token, before = "the-rotated-token", len(stitch.requests)  # rotated in Stitch: the old one is refused from now on
    folder.configure({}, {"acme-fleet:stitchToken": stitch.token})
    preview = folder.run("preview")["changes"]
    assert not {"create", "delete", "replace", "create-replacement", "delete-replaced"} & set(preview), preview
    assert folder.run("up")["result"] == "succeeded"
    changing = [f"{r.method} {r.path}" for r in stitch.requests[before:] if r.method != "GET"]
    assert changing == [] and sorted(stitch.destinations) == ids, f"the token's update called Stitch: {changing}"
    assert set(folder.run("preview")["changes"]) <= {"same"}
    assert folder.run("refresh")["changes"], "the refresh did not run"
    assert {r.authorization for r in stitch.requests[before:]} <= {"Bearer the-rotated-token"}, "the old token was used after the up"
