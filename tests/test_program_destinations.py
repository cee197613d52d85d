"""A program of its own with several Destinations, under Pulumi's mocks: every resource of each is its own.

A URN holds the parents' types and the resource's own name, never a parent's name: two Destinations whose
children's children had the same short name ("app", "stitch", "role") got the same URN, and the engine
refused the program ("Duplicate resource URN"). The mocks do not refuse it, so the test counts the URNs.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.support.pulumi_harness import Registration, StitchMocks, run_program

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
