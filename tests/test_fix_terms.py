"""Fix texts in the caller's terms (issue 26): a dedicated role's refused password is raised with
stitch_password_version, never by setting a URL the stack does not hold for it."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest
from stitch_heroku.checks import verify
from stitch_heroku.config import CALLER_PROJECT, PROGRAM_PROJECT
from stitch_heroku.connection import parse_database_url
from stitch_heroku.source_guard import QUESTIONS, SourceGuardProvider
from stitch_heroku.verification import WATCHED_INPUTS, VerificationFailed, VerificationProvider

ANOTHER_PROJECT = "acme-warehouse"
"""A program of one's own that declares a Destination: its settings are the Destination's inputs."""


def test_a_dedicated_roles_refused_password_is_fixed_by_raising_its_version(ssl_server):
    settings = parse_database_url(ssl_server.granted_url)
    wrong = replace(settings, password="not-the-password")
    report = verify(wrong, source="url", credential="dedicated")
    (connect,) = [check for check in report.checks if check.name == "connect"]
    assert connect.status == "fail"
    assert "raise stitch_password_version by one (pulumi config set stitch_password_version <n+1>)" in connect.fix, connect.fix
    assert "config set --secret database_url" not in connect.fix
    assert "stitch-heroku reconcile --stack <stack>" in connect.fix, "pulumi up with its equivalent without the language host"


def test_a_url_of_the_users_own_refused_is_still_set_again(ssl_server):
    settings = parse_database_url(ssl_server.granted_url)
    wrong = replace(settings, password="not-the-password")
    (connect,) = [check for check in verify(wrong, source="url").checks if check.name == "connect"]
    assert "pulumi config set --secret database_url" in connect.fix and "stitch_password_version" not in connect.fix


def wrong_password(url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"postgres://{info['user']}:not-the-password@{info['host']}:{info['port']}/{info['dbname']}"


def refused_in_the_verification(url: str, project: str) -> str:
    """The message of a Verification whose credential's password is refused, declared in `project`."""
    props = {"database_url": wrong_password(url), "connect_timeout": 5, "wait_seconds": 0, "run_token": "", "report": None,
             "source": "url", CALLER_PROJECT: project}  # fmt: skip
    with pytest.raises(VerificationFailed) as raised:
        VerificationProvider().create(props)
    return str(raised.value)


def test_a_destination_in_another_project_is_told_its_input_when_its_password_is_refused(ssl_server):
    message = refused_in_the_verification(ssl_server.granted_url, ANOTHER_PROJECT)
    assert "set the Destination's input `database_url` (`databaseUrl` in TypeScript and YAML)" in message, message
    assert "pulumi config set" not in message and "not-the-password" not in message


def test_our_program_is_told_its_config_key_when_its_password_is_refused(ssl_server):
    message = refused_in_the_verification(ssl_server.granted_url, PROGRAM_PROJECT)
    assert "pulumi config set --secret database_url" in message and "Destination's input" not in message, message


def test_a_dedicated_role_of_another_project_raises_its_input(ssl_server):
    props = {"database_url": wrong_password(ssl_server.granted_url), "connect_timeout": 5, "wait_seconds": 0, "run_token": "",
             "report": None, "source": "url", "stitch_credential": "dedicated", CALLER_PROJECT: ANOTHER_PROJECT}  # fmt: skip
    with pytest.raises(VerificationFailed) as raised:
        VerificationProvider().create(props)
    assert "set the Destination's input `stitch_password_version` (`stitchPasswordVersion` in TypeScript and YAML) to <n+1>" in str(
        raised.value
    ), raised.value


def test_the_guard_names_the_input_of_another_projects_destination(ssl_server):
    wrong = wrong_password(ssl_server.owner_url)
    news = {"source": "url", "owner_url": wrong, "owner_key": "database_url", CALLER_PROJECT: ANOTHER_PROJECT}
    failures = SourceGuardProvider().check({}, news).failures
    assert any("`databaseUrl` in TypeScript and YAML" in f.reason for f in failures), [f.reason for f in failures]
    ours = SourceGuardProvider().check({}, {**news, CALLER_PROJECT: PROGRAM_PROJECT}).failures
    assert any("pulumi config set --secret database_url" in f.reason for f in ours), [f.reason for f in ours]


def test_the_callers_project_changes_no_existing_stacks_diff():
    """A state written before the prop existed has none: the next up sees no change of the guard or the verification."""
    assert CALLER_PROJECT in QUESTIONS and CALLER_PROJECT not in WATCHED_INPUTS
    olds = {"source": "url", "stitch_credential": "dedicated"}
    assert SourceGuardProvider().diff("id", olds, {**olds, CALLER_PROJECT: ANOTHER_PROJECT}).changes is False


def test_a_full_plan_and_the_users_own_limit_name_the_destinations_inputs_in_another_project():
    from stitch_heroku import capacity as cap
    from stitch_heroku.config import COMPONENT_TERMS

    limits = cap.with_storage_limit(cap.limits_for("heroku", "essential-0", None), 0.5)
    bigger = cap.ways_out(limits, taken=None, terms=COMPONENT_TERMS)
    assert "set the Destination's input `plan` (`plan` in TypeScript and YAML) to essential-1" in bigger, bigger
    assert "pulumi config set" not in bigger and "stitch-heroku reconcile --stack <stack>" in bigger
    own = cap.own_limit_fix(limits, terms=COMPONENT_TERMS)
    assert "raise the Destination's input `storage_limit_gb` (`storageLimitGb` in TypeScript and YAML)" in own, own
    assert "pulumi config set plan essential-1, then `pulumi up`" in cap.ways_out(limits, taken=None)


def test_the_guards_refusals_name_the_destinations_inputs_in_another_project():
    from stitch_heroku.source_guard import destroy_refusal, token_refusal

    olds, news = {"stitch_destination": "managed", "destination_name": "wh"}, {"stitch_destination": "none"}
    theirs = token_refusal(olds, {**news, CALLER_PROJECT: ANOTHER_PROJECT}) or ""
    assert "the Destination's input `stitch_access_token` (`stitchAccessToken` in TypeScript and YAML)" in theirs, theirs
    assert "`stitch_destination` (`stitchDestination` in TypeScript and YAML) to released" in theirs and "pulumi config" not in theirs
    ours = token_refusal(olds, news) or ""
    assert "pulumi config set --secret stitch:accessToken" in ours and "pulumi config set stitch_destination released" in ours
    protected = destroy_refusal({"protect": True, CALLER_PROJECT: ANOTHER_PROJECT}) or ""
    assert "`protect` (`protect` in TypeScript and YAML) to false" in protected, protected


def test_the_stitch_destinations_refusals_name_the_destinations_inputs_in_another_project():
    from stitch_heroku.stitch_destination import StitchDestinationError, StitchDestinationProvider

    olds = {"name": "wh", "adopt_id": "", "stitch_status": "deleted"}
    with pytest.raises(StitchDestinationError) as deleted:
        StitchDestinationProvider().diff("7", olds, {**olds, CALLER_PROJECT: ANOTHER_PROJECT})
    assert "the Destination's input `stitch_destination` (`stitchDestination` in TypeScript and YAML) to released" in str(deleted.value)
    with pytest.raises(StitchDestinationError) as renamed:
        StitchDestinationProvider().diff("7", {**olds, "stitch_status": "active"}, {**olds, "name": "wh2", CALLER_PROJECT: ANOTHER_PROJECT})
    assert "set the Destination's input `stitch_destination_name` (`stitchDestinationName`" in str(renamed.value), renamed.value
    with pytest.raises(StitchDestinationError) as ours:
        StitchDestinationProvider().diff("7", olds, olds)
    assert "pulumi config set stitch_destination released, then `pulumi up`" in str(ours.value), ours.value


def test_the_owners_credential_warning_names_the_destinations_inputs_in_another_project(ssl_server):
    from stitch_heroku.config import COMPONENT_TERMS

    owner = parse_database_url(ssl_server.owner_url)
    (theirs,) = [c for c in verify(owner, credential="owner", terms=COMPONENT_TERMS).checks if c.name == "least privilege"]
    assert theirs.status == "warn" and "leave out the Destination's input `stitch_credential` (`stitchCredential`" in theirs.fix, theirs
    (ours,) = [c for c in verify(owner, credential="owner").checks if c.name == "least privilege"]
    assert "pulumi config rm stitch_credential" in ours.fix and "pulumi config set --secret stitch_url" in ours.fix, ours
