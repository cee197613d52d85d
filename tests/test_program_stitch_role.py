"""The program's shape with Stitch's own role (source url, the default `stitch_credential: dedicated`),
under Pulumi's mocks: the Role, its secret password, the Grant to it, and what Stitch is given."""

from __future__ import annotations

import pytest

from tests.support.pulumi_harness import STITCH_ROLE_PASSWORD, run_program

OWNER_URL = "postgres://app_owner:owner-pw@db.example.com:5432/appdb"
OWN_URL = "postgres://my_loader:loader-pw@db.example.com:5432/appdb"
ROLE = "postgresql:index/role:Role"
GRANT = "postgresql:index/grant:Grant"
PASSWORD = "pulumi-python:dynamic/stitch:StitchPassword"
HANDOVER = "pulumi-python:dynamic/stitch:StitchHandover"
GUARD = "pulumi-python:dynamic/stitch:SourceGuard"
VERIFICATION = "pulumi-python:dynamic/stitch:Verification"


def url_stack(**values: str):
    return run_program("dev", {"source": "url", "database_url": OWNER_URL, **values}, secret=("database_url", "stitch_url"))


@pytest.fixture(scope="module")
def dedicated():
    return url_stack()


def test_a_login_role_without_powers_is_made_through_the_owners_provider(dedicated):
    role = dedicated.one(ROLE)
    assert role.inputs == {
        "name": "stitch",
        "login": True,
        "password": STITCH_ROLE_PASSWORD,
        "superuser": False,
        "createDatabase": False,
        "createRole": False,
        "replication": False,
        "bypassRowLevelSecurity": False,
        "connectionLimit": 10,
    }, f"Role inputs: {role.inputs}"
    assert role.provider.startswith(dedicated.one("pulumi:providers:postgresql").urn), "the Role must be made as the owner"


def test_the_role_is_kept_by_destroy_since_it_owns_what_stitch_loaded(dedicated):
    assert dedicated.one(ROLE).retain_on_delete


def test_the_password_is_secret_everywhere(dedicated):
    assert "password" in dedicated.one(PASSWORD).additional_secret_outputs
    assert "password" in dedicated.one(ROLE).secret_inputs, "the Role's password input must travel as a secret"
    assert dedicated.outputs["password"].secret and dedicated.outputs["password"].value == STITCH_ROLE_PASSWORD
    assert dedicated.outputs["database_url"].secret and dedicated.outputs["stitch_destination"].secret


def test_the_grant_goes_to_the_role_after_the_handover(dedicated):
    grant = dedicated.one(GRANT)
    assert grant.inputs["role"] == "stitch"
    assert grant.inputs["privileges"] == ["CONNECT", "CREATE", "TEMPORARY"]
    # depends_on a component means on its children: the engine records those.
    assert dedicated.one(HANDOVER).urn in grant.dependencies and dedicated.one(ROLE).urn in grant.dependencies
    assert dedicated.one(ROLE).urn in dedicated.one(HANDOVER).dependencies


def test_stitch_is_given_the_roles_credential_on_the_owners_host(dedicated):
    assert dedicated.outputs["username"].value == "stitch"
    assert dedicated.outputs["host"].value == "db.example.com" and dedicated.outputs["database"].value == "appdb"
    properties = dedicated.outputs["stitch_destination"].value["properties"]
    assert (properties["username"], properties["password"]) == ("stitch", STITCH_ROLE_PASSWORD)
    verification = dedicated.one(VERIFICATION)
    assert verification.inputs["stitch_credential"] == "dedicated"
    assert "owner-pw" not in verification.inputs["database_url"] and STITCH_ROLE_PASSWORD in verification.inputs["database_url"]


def test_the_guard_remembers_the_credential_and_comes_before_the_provider(dedicated):
    guard = dedicated.one(GUARD)
    assert (guard.inputs["stitch_credential"], guard.inputs["stitch_role"]) == ("dedicated", "stitch")
    assert "owner_url" in guard.secret_inputs
    assert guard.urn in dedicated.one("pulumi:providers:postgresql").dependencies


def test_role_name_and_password_version_are_passed_on():
    run = url_stack(stitch_role_name="stitch_loader", stitch_password_version="3")
    assert run.one(ROLE).inputs["name"] == "stitch_loader"
    assert run.one(PASSWORD).inputs["version"] == 3
    assert run.one(GRANT).inputs["role"] == "stitch_loader"


def test_the_owners_credential_makes_no_role_and_is_remembered():
    run = url_stack(stitch_credential="owner")
    assert not run.of_type(ROLE) and not run.of_type(PASSWORD)
    assert run.one(GRANT).inputs["role"] == "app_owner"
    assert run.one(GUARD).inputs["stitch_credential"] == "owner"
    assert run.one(VERIFICATION).inputs["stitch_credential"] == "owner"


def test_a_stitch_url_is_the_users_own_credential_as_try_local_runs_it():
    run = url_stack(stitch_url=OWN_URL)
    assert not run.of_type(ROLE)
    assert run.one(GRANT).inputs["role"] == "my_loader"
    assert run.one(GUARD).inputs["stitch_credential"] == "own" and run.one(GUARD).inputs["stitch_role"] == "my_loader"
    assert run.one(VERIFICATION).inputs.get("stitch_credential") is None
