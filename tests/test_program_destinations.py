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
