"""The guardrails policy pack (policies/): each policy's validation on constructed arguments, the pack
served as a real process over Pulumi's analyzer gRPC protocol, and this project's own program checked
against the pack under mocks. The run through the real engine (`pulumi preview --policy-pack`) is the
real-engine test's job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy
from stitch_heroku.config import RETIRED_PLANS
from stitch_heroku.postgres_sql import DATABASE_PRIVILEGES

from policies.guardrails import POLICIES, secret_marks
from policies.guardrails.heroku_postgres import DEFAULT_RETIRED_PLANS, no_retired_plan, protected_outside_dev
from policies.guardrails.postgresql_grants import DATABASE_PRIVILEGES as POLICY_DATABASE_PRIVILEGES
from policies.guardrails.postgresql_grants import keeps_connect_and_temporary, retained_on_delete
from policies.guardrails.postgresql_provider import provider_requires_ssl
from policies.guardrails.stack_outputs import no_plaintext_credentials
from policies.guardrails.stitch_credential import DESTINATION_TYPE, stitch_not_given_the_owners_credential
from tests.support.pulumi_harness import HEROKU_STACK, run_program

ROOT = Path(__file__).resolve().parent.parent
GRANT = "postgresql:index/grant:Grant"
PROVIDER = "pulumi:providers:postgresql"
ADDON = "heroku:addon/addon:Addon"
STACK = "pulumi:pulumi:Stack"


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::acme::{type_}::{name}"


def resource_args(
    type_: str, props: dict[str, Any], *, name: str = "it", stack: str = "prod", protect: bool = False, config: dict | None = None
) -> ResourceValidationArgs:
    """Arguments as the SDK builds them for Analyze: the props behind its unknown-checking proxy."""
    opts = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), urn(stack, type_, name), name, opts, None, config)


def violations(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, at=None: found.append((message, at)))
    return found


def messages(policy: Any, args: Any) -> list[str]:
    return [message for message, _ in violations(policy, args)]


def grant(privileges: list[Any], **extra: Any) -> dict[str, Any]:
    return {"database": "stitch", "role": "stitch_loader", "objectType": "database", "privileges": privileges, **extra}


# --- postgresql-database-grant-keeps-connect-temporary (mandatory) ---------------------------------

GRANT_WHY = (
    "Why: the postgresql provider runs REVOKE ALL PRIVILEGES ON DATABASE for the role before every GRANT "
    "(and again when the Grant is deleted), so the role loses every database privilege this list leaves out; "
    "Heroku's default credential owns its database, and a CREATE-only Grant to it strips its own CONNECT and TEMPORARY. "
)


def test_create_only_database_grant_is_the_revoke_all_trap():
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, grant(["CREATE"]), name="create-on-database")) == [
        'postgresql.Grant "create-on-database" grants CREATE on database "stitch" to role "stitch_loader" without CONNECT and TEMPORARY. '
        + GRANT_WHY
        + 'Fix: privileges=["CONNECT", "CREATE", "TEMPORARY"].'
    ]


def test_grant_missing_only_temporary_names_just_that_and_keeps_the_rest_in_the_fix():
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, grant(["CREATE", "CONNECT"]))) == [
        'postgresql.Grant "it" grants CREATE on database "stitch" to role "stitch_loader" without TEMPORARY. '
        + GRANT_WHY
        + 'Fix: privileges=["CONNECT", "CREATE", "TEMPORARY"].'
    ]


@pytest.mark.parametrize(
    "privileges",
    [["CONNECT", "CREATE", "TEMPORARY"], ["temporary", "create", "connect"], ["CONNECT", "CREATE", "TEMP"], ["ALL"], ["all privileges"]],
)
def test_database_grant_keeping_connect_and_temporary_passes(privileges):
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, grant(privileges))) == []


@pytest.mark.parametrize("privileges", [["CONNECT"], ["CONNECT", "TEMPORARY"], []])
def test_database_grant_without_create_is_not_this_trap(privileges):
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, grant(privileges))) == []


@pytest.mark.parametrize("object_type", ["schema", "table", "sequence"])
def test_grants_on_other_objects_are_left_alone(object_type):
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, grant(["CREATE"], objectType=object_type))) == []


def test_snake_case_object_type_from_older_sdks_is_read_too():
    props = {"database": "stitch", "role": "stitch_loader", "object_type": "database", "privileges": ["CREATE"]}
    assert len(messages(keeps_connect_and_temporary, resource_args(GRANT, props))) == 1


def test_a_preview_that_cannot_know_the_database_and_role_still_blocks_the_trap():
    props = grant(["CREATE"], database=UNKNOWN_STRING_VALUE, role=UNKNOWN_STRING_VALUE)
    assert messages(keeps_connect_and_temporary, resource_args(GRANT, props, name="g")) == [
        'postgresql.Grant "g" grants CREATE on its database without CONNECT and TEMPORARY. '
        + GRANT_WHY
        + 'Fix: privileges=["CONNECT", "CREATE", "TEMPORARY"].'
    ]


def test_a_secret_role_is_not_printed_but_the_secret_privileges_are_judged():
    props = grant(Secret(["CREATE"]), role=Secret("stitch_loader"))
    (message,) = messages(keeps_connect_and_temporary, resource_args(GRANT, props, name="g"))
    assert message.startswith('postgresql.Grant "g" grants CREATE on database "stitch" without CONNECT and TEMPORARY. ')
    assert "stitch_loader" not in message


def test_unknown_privileges_raise_so_the_sdk_reports_the_policy_could_not_run():
    with pytest.raises(UnknownValueError):
        violations(keeps_connect_and_temporary, resource_args(GRANT, grant(UNKNOWN_STRING_VALUE)))
    with pytest.raises(UnknownValueError):
        violations(keeps_connect_and_temporary, resource_args(GRANT, grant(Secret(["CREATE", UNKNOWN_STRING_VALUE]))))


def test_the_policy_knows_the_same_database_privileges_as_the_program():
    assert POLICY_DATABASE_PRIVILEGES == DATABASE_PRIVILEGES


# --- postgresql-database-grant-retain-on-delete (advisory) ------------------------------------------


def test_every_database_grant_gets_the_retain_on_delete_reminder():
    assert messages(retained_on_delete, resource_args(GRANT, grant(["CONNECT", "CREATE", "TEMPORARY"]), name="create-on-database")) == [
        'postgresql.Grant "create-on-database" on database "stitch" to role "stitch_loader": check that it is declared with '
        "retain_on_delete. This policy cannot see that option: Pulumi's analyzer protocol gives policies protect, ignore_changes, "
        "delete_before_replace, aliases, custom_timeouts, additional_secret_outputs and parent, not retain_on_delete. "
        "Why: deleting a database Grant (pulumi destroy, removing it from the program, or a replacement) runs "
        "REVOKE ALL PRIVILEGES ON DATABASE for its role: a loader loses CREATE and Stitch's loads fail; an owner also loses "
        "CONNECT and TEMPORARY. "
        'Fix: opts=pulumi.ResourceOptions(retain_on_delete=True), then add "create-on-database" to this policy\'s '
        "retainedGrants config to record that it is set."
    ]


def test_retained_grants_config_silences_the_reminder_by_name_or_urn():
    by_name = resource_args(GRANT, grant(["CREATE"]), name="g", config={"retainedGrants": ["g"]})
    by_urn = resource_args(GRANT, grant(["CREATE"]), name="g", config={"retainedGrants": [urn("prod", GRANT, "g")]})
    other = resource_args(GRANT, grant(["CREATE"]), name="g", config={"retainedGrants": ["another-grant"]})
    assert (messages(retained_on_delete, by_name), messages(retained_on_delete, by_urn)) == ([], [])
    assert len(messages(retained_on_delete, other)) == 1


def test_retain_reminder_is_only_for_database_grants():
    assert messages(retained_on_delete, resource_args(GRANT, grant(["USAGE"], objectType="schema"))) == []
    assert messages(retained_on_delete, resource_args(PROVIDER, {"sslmode": "require"})) == []


def test_the_sdk_really_cannot_see_retain_on_delete():
    """If a pulumi-policy upgrade adds it, this fails: the reminder should then become a real check."""
    assert "retain_on_delete" not in PolicyResourceOptions.__init__.__code__.co_varnames
    assert "retainOnDelete" not in analyzer_pb2.AnalyzerResourceOptions.DESCRIPTOR.fields_by_name


# --- postgresql-provider-requires-ssl (mandatory) ---------------------------------------------------

EXPLICIT_FIX = 'Fix: sslmode="require" on the Provider (or "verify-full", with sslrootcert, to check the certificate).'


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_providers_that_refuse_to_connect_without_tls_pass(mode):
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": mode}, name="owner")) == []


def test_sslmode_disable_is_blocked():
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": "disable"}, name="owner")) == [
        'postgresql.Provider "owner" connects with sslmode "disable". Why: it never uses TLS: the owner\'s password and '
        "every GRANT cross the network in clear text, and Heroku Postgres refuses connections without SSL. " + EXPLICIT_FIX
    ]


def test_sslmode_prefer_is_blocked_for_its_silent_fallback():
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": "prefer"}, name="owner")) == [
        'postgresql.Provider "owner" connects with sslmode "prefer". Why: it falls back to a connection without TLS when '
        "the TLS handshake fails, without a word, so anyone on the network path can force the owner's password into clear text. "
        + EXPLICIT_FIX
    ]


def test_no_sslmode_leaves_tls_to_the_environment_and_is_blocked():
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"host": "db.example.com"}, name="owner")) == [
        'postgresql.Provider "owner" sets no sslmode. Why: the provider then takes PGSSLMODE from the environment of '
        "whoever runs `pulumi up`, which this policy cannot see, so one shell with PGSSLMODE=disable or prefer sends the "
        "owner's password and every GRANT without TLS. " + EXPLICIT_FIX
    ]


def test_the_default_provider_is_told_to_fix_the_stack_config():
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"version": "3.18.2"}, name="default_3_18_2")) == [
        'The default postgresql provider "default_3_18_2" (built from the stack\'s postgresql:* config) sets no sslmode. '
        "Why: the provider then takes PGSSLMODE from the environment of whoever runs `pulumi up`, which this policy cannot see, "
        "so one shell with PGSSLMODE=disable or prefer sends the owner's password and every GRANT without TLS. "
        "Fix: pulumi config set postgresql:sslmode require (or verify-full, with postgresql:sslrootcert, to check the certificate)."
    ]


def test_a_typo_is_not_a_safe_mode():
    (message,) = messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": "requre"}, name="owner"))
    assert message.startswith('postgresql.Provider "owner" connects with sslmode "requre". Why: it is not an sslmode that refuses')


def test_deprecated_ssl_mode_counts_when_sslmode_is_unset():
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"sslMode": "require"}, name="owner")) == []
    assert len(messages(provider_requires_ssl, resource_args(PROVIDER, {"sslMode": "disable"}, name="owner"))) == 1


def test_a_secret_sslmode_is_judged_but_not_printed():
    (message,) = messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": Secret("allow")}, name="owner"))
    assert message.startswith('postgresql.Provider "owner" connects with a secret sslmode that is not require or verify-*. ')
    assert '"allow"' not in message
    assert messages(provider_requires_ssl, resource_args(PROVIDER, {"sslmode": Secret("require")}, name="owner")) == []


def test_other_providers_are_left_alone():
    assert messages(provider_requires_ssl, resource_args("pulumi:providers:heroku", {}, name="default")) == []


# --- heroku-postgres-no-retired-plan (mandatory) ----------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "successor"), [("hobby-dev", "essential-0"), ("hobby-basic", "essential-1"), ("mini", "essential-0"), ("basic", "essential-1")]
)
def test_retired_plans_are_blocked_with_their_successor(plan, successor):
    args = resource_args(ADDON, {"appId": "app", "plan": f"heroku-postgresql:{plan}"}, name="postgres")
    assert messages(no_retired_plan, args) == [
        f'heroku.addon.Addon "postgres" asks for the retired Heroku Postgres plan "heroku-postgresql:{plan}". '
        "Why: Heroku no longer offers it (hobby-dev and hobby-basic ended with the free plans, mini and basic were "
        "replaced by the Essential plans; retiredPlans config may list more), so the preview passes and `pulumi up` "
        "fails when Heroku refuses the add-on. "
        f'Fix: plan="heroku-postgresql:{successor}", or another current plan (essential-*, standard-*, premium-*, private-*, shield-*).'
    ]


@pytest.mark.parametrize(
    "plan", ["heroku-postgresql:essential-0", "heroku-postgresql:standard-2", "heroku-postgresql", "heroku-redis:mini"]
)
def test_current_plans_the_default_plan_and_other_add_ons_pass(plan):
    assert messages(no_retired_plan, resource_args(ADDON, {"appId": "app", "plan": plan})) == []


def test_an_org_can_retire_more_plans_through_config():
    args = resource_args(ADDON, {"plan": "heroku-postgresql:essential-0"}, name="pg", config={"retiredPlans": ["essential-0"]})
    (message,) = messages(no_retired_plan, args)
    assert message.endswith("Fix: a plan Heroku still offers (`heroku addons:plans heroku-postgresql` lists them).")


def test_the_pack_retires_every_plan_the_program_refuses():
    from fnmatch import fnmatchcase

    assert all(any(fnmatchcase(plan, pattern) for pattern in DEFAULT_RETIRED_PLANS) for plan in RETIRED_PLANS)


# --- heroku-postgres-protected (advisory) -----------------------------------------------------------


def test_unprotected_database_outside_dev_gets_the_advisory():
    args = resource_args(ADDON, {"plan": "heroku-postgresql:standard-0"}, name="postgres", stack="prod")
    assert messages(protected_outside_dev, args) == [
        'heroku.addon.Addon "postgres" is a Heroku Postgres database on stack "prod" and is not protected. '
        "Why: `pulumi destroy`, removing it from the program, or a change that replaces it (a new app, another "
        "`version`) deletes the database and every row in it. "
        "Fix: opts=pulumi.ResourceOptions(protect=True) on the add-on (and on its heroku.app.App, whose deletion takes "
        "the add-on with it). Stacks whose names start with 'dev' are exempt (unprotectedStackPrefixes config)."
    ]


def test_protected_database_and_dev_stacks_pass():
    plan = {"plan": "heroku-postgresql:standard-0"}
    assert messages(protected_outside_dev, resource_args(ADDON, plan, stack="prod", protect=True)) == []
    assert messages(protected_outside_dev, resource_args(ADDON, plan, stack="dev")) == []
    assert messages(protected_outside_dev, resource_args(ADDON, plan, stack="development")) == []


def test_exempt_stack_prefixes_come_from_config():
    config = {"unprotectedStackPrefixes": ["dev", "pr-"]}
    plan = {"plan": "heroku-postgresql:essential-0"}
    assert messages(protected_outside_dev, resource_args(ADDON, plan, stack="pr-42", config=config)) == []
    assert len(messages(protected_outside_dev, resource_args(ADDON, plan, stack="dev", config={"unprotectedStackPrefixes": []}))) == 1


def test_other_add_ons_need_no_protection_from_this_policy():
    assert messages(protected_outside_dev, resource_args(ADDON, {"plan": "heroku-redis:mini"}, stack="prod")) == []


# --- stack-outputs-no-plaintext-credentials (advisory) ----------------------------------------------

OUTPUT_WHY = (
    "Why: plain outputs are stored unencrypted in the stack's state and printed by `pulumi stack output` "
    "and in update summaries, so everyone who can read the stack can read the credential. "
)


@pytest.fixture
def marks_installed() -> Iterator[None]:
    """The pack's __main__.py installs the secret marks; tests of the stack policy do the same."""
    import pulumi_policy.policy as sdk_policy

    original = sdk_policy.deserialize_properties
    assert secret_marks.install()
    yield
    sdk_policy.deserialize_properties = original


def policy_resource(type_: str, props: dict[str, Any], resource_urn: str) -> PolicyResource:
    """A resource as the SDK builds it for AnalyzeStack: its outputs behind the unknown-checking proxy."""
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return PolicyResource(type_, unknown_checking_proxy(props), resource_urn, resource_urn.rsplit("::", 1)[1], opts, None, None, [], {})


def stack_args(
    outputs: dict[str, Any], *, stack: str = "prod", config: dict | None = None, others: tuple[PolicyResource, ...] = ()
) -> StackValidationArgs:
    root = policy_resource(STACK, outputs, urn(stack, STACK, f"acme-{stack}"))
    return StackValidationArgs([*others, root], config)


def test_plain_database_url_output_is_reported_on_the_stack(marks_installed):
    args = stack_args({"database_url": "postgres://u:pw@db.example.com:5432/d", "host": "db.example.com"})
    assert violations(no_plaintext_credentials, args) == [
        (
            'Stack output "database_url" of stack "prod" holds a database URL in plain text. '
            + OUTPUT_WHY
            + 'Fix: pulumi.export("database_url", pulumi.Output.secret(...)) around the value (or list it in allowedOutputs '
            "if it holds no real credential).",
            urn("prod", STACK, "acme-prod"),
        )
    ]


def test_secret_outputs_pass(marks_installed):
    args = stack_args(
        {
            "database_url": Secret("postgres://u:pw@db.example.com:5432/d"),
            "password": Secret("pw"),
            "stitch_destination": Secret({"properties": {"password": "pw"}}),
            "host": "db.example.com",
            "port": 5432,
            "ssl": True,
        }
    )
    assert violations(no_plaintext_credentials, args) == []


def test_passwords_are_found_by_name_also_inside_an_output(marks_installed):
    args = stack_args({"db_password": "pw", "stitch_destination": {"properties": {"host": "h", "password": "pw"}}})
    assert [m.split(". Why")[0] for m in messages(no_plaintext_credentials, args)] == [
        'Stack output "db_password" of stack "prod" holds a password in plain text',
        'Stack output "stitch_destination" of stack "prod" holds a password in plain text at stitch_destination.properties.password',
    ]


def test_urls_with_passwords_and_keyword_connection_strings_are_found(marks_installed):
    args = stack_args({"urls": ["https://ok.example.com", "redis://:pw@cache:6379"], "dsn": "host=h dbname=d password=pw"})
    assert [m.split(". Why")[0] for m in messages(no_plaintext_credentials, args)] == [
        'Stack output "urls" of stack "prod" holds a URL with a password in plain text at urls[1]',
        'Stack output "dsn" of stack "prod" holds a connection string with a password in plain text',
    ]


def test_a_message_never_repeats_the_credential(marks_installed):
    args = stack_args({"database_url": "postgres://u:hunter2@db/d", "password": "hunter2"})
    assert all("hunter2" not in message for message in messages(no_plaintext_credentials, args))


def test_unknown_outputs_in_a_preview_are_skipped(marks_installed):
    unknown = UNKNOWN_STRING_VALUE
    args = stack_args({"database_url": unknown, "nested": {"password": unknown}, "password": Secret(unknown)})
    assert violations(no_plaintext_credentials, args) == []


def test_allowed_outputs_config_skips_an_output_or_a_path(marks_installed):
    outputs = {"example_url": "postgres://user@example/db", "docs": {"password": "see the vault"}}
    assert violations(no_plaintext_credentials, stack_args(outputs, config={"allowedOutputs": ["example_url", "docs.password"]})) == []


def test_only_the_root_stack_resource_holds_stack_outputs(marks_installed):
    addon = policy_resource(ADDON, {"configVarValues": {"DATABASE_URL": "postgres://u:pw@h/d"}}, urn("prod", ADDON, "postgres"))
    assert violations(no_plaintext_credentials, stack_args({}, others=(addon,))) == []


def test_without_secret_marks_the_policy_says_it_cannot_tell_rather_than_guess():
    assert not secret_marks.installed()
    with pytest.raises(Exception) as raised:
        violations(no_plaintext_credentials, stack_args({"database_url": "postgres://u:pw@h/d"}))
    assert "cannot be told from a plain one" in raised.value.reason


# --- stitch-destination-not-the-owners-credential (advisory) -----------------------------------------

OWNER_PROVIDER = {"host": "db.example.com", "port": "5432", "database": "appdb", "username": "app_owner", "password": Secret("pw")}


def destination(username: str, **extra: Any) -> PolicyResource:
    properties = {"host": "db.example.com", "port": "5432", "database": "appdb", "username": username, "password": "pw", **extra}
    return policy_resource(DESTINATION_TYPE, {"properties": Secret(properties)}, urn("prod", DESTINATION_TYPE, "stitch-destination"))


def owner_provider(**changes: Any) -> PolicyResource:
    return policy_resource(PROVIDER, OWNER_PROVIDER | changes, urn("prod", PROVIDER, "owner"))


def test_a_destination_fed_the_providers_own_credential_is_reported():
    found = violations(stitch_not_given_the_owners_credential, stack_args({}, others=(owner_provider(), destination("app_owner"))))
    assert len(found) == 1
    message, at = found[0]
    assert at == urn("prod", DESTINATION_TYPE, "stitch-destination")
    assert message.startswith(
        'Stitch destination "stitch-destination" is given the credential the postgresql.Provider "owner" signs in with '
        '(user "app_owner" on db.example.com/appdb)'
    )
    assert "pulumi config rm stitch_credential" in message and "pw" not in message.replace("pulumi", "")


def test_a_destination_with_a_role_of_its_own_passes():
    assert violations(stitch_not_given_the_owners_credential, stack_args({}, others=(owner_provider(), destination("stitch")))) == []


def test_the_same_user_on_another_database_is_not_the_owners_credential():
    others = (owner_provider(database="otherdb"), destination("app_owner"))
    assert violations(stitch_not_given_the_owners_credential, stack_args({}, others=others)) == []


def test_unknown_values_are_left_to_up():
    others = (owner_provider(username=UNKNOWN_STRING_VALUE), destination("app_owner"))
    assert violations(stitch_not_given_the_owners_credential, stack_args({}, others=others)) == []


def test_our_program_gets_the_advisory_only_when_stitch_uses_the_owners_credential(marks_installed):
    url_stack = {"source": "url", "database_url": "postgres://owner:pw@db.example.com:5432/stitch", "stitch:accessToken": "tok"}
    secret = ("database_url", "stitch:accessToken")
    config = our_policy_config()
    assert program_violations("prod", url_stack, config, secret=secret) == {}
    found = program_violations("prod", url_stack | {"stitch_credential": "owner"}, config, secret=secret)
    assert list(found) == ["stitch-destination-not-the-owners-credential"], found


# --- the pack itself ---------------------------------------------------------------------------------


def test_mandatory_and_advisory_defaults():
    levels = {policy.name: policy.enforcement_level for policy in POLICIES}
    assert levels == {
        "postgresql-database-grant-keeps-connect-temporary": EnforcementLevel.MANDATORY,
        "postgresql-provider-requires-ssl": EnforcementLevel.MANDATORY,
        "heroku-postgres-no-retired-plan": EnforcementLevel.MANDATORY,
        "postgresql-database-grant-retain-on-delete": EnforcementLevel.ADVISORY,
        "heroku-postgres-protected": EnforcementLevel.ADVISORY,
        "stack-outputs-no-plaintext-credentials": EnforcementLevel.ADVISORY,
        "stitch-destination-not-the-owners-credential": EnforcementLevel.ADVISORY,
    }


def test_pack_files_pin_the_sdks():
    requirements = (ROOT / "policies" / "requirements.txt").read_text().split()
    program = (ROOT / "requirements.txt").read_text().split()
    assert [line for line in program if line.startswith("pulumi==")] == [line for line in requirements if line.startswith("pulumi==")]
    assert "pulumi-policy==1.21.0" in requirements
    assert "pulumi-policy==1.21.0" in (ROOT / "requirements-dev.txt").read_text().split()


# The pack as the engine runs it: `python <pack dir> <engine address>`, printing its port, answering
# Pulumi's Analyzer gRPC service. Requests are built as the engine marshals them (camelCase property
# names, secrets in Pulumi's secret signature, unknowns as the engine's placeholder strings).


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    stderr_path = tmp_path_factory.mktemp("policy-pack") / "stderr"
    with stderr_path.open("wb") as stderr:
        # As the language host runs it: `python <pack dir> <engine address>`; the SDK prints its port first.
        command = [sys.executable, str(ROOT / "policies"), "127.0.0.1:0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT)
    try:
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            process.wait(timeout=30)
            pytest.fail(f"the pack printed {port!r} instead of its port; stderr: {stderr_path.read_text()}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


def wire_secret(value: Any) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, levels: dict[str, int]) -> None:
    """As the CLI does after reconciling --policy-pack-config: one entry per policy, each with its level."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    config = {
        policy.name: analyzer_pb2.PolicyConfig(enforcementLevel=levels.get(policy.name, policy.enforcementLevel))
        for policy in info.policies
    }
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))


def analyze_grant(stub: analyzer_pb2_grpc.AnalyzerStub, privileges: Any) -> list[Any]:
    props = struct({"database": "stitch", "role": "stitch_loader", "objectType": "database", "privileges": privileges})
    request = analyzer_pb2.AnalyzeRequest(type=GRANT, properties=props, urn=urn("prod", GRANT, "g"), name="g")
    return [d for d in stub.Analyze(request).diagnostics if d.policyName == "postgresql-database-grant-keeps-connect-temporary"]


def test_served_pack_describes_its_policies_and_accepts_config(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "stitch-heroku-guardrails" and info.supportsConfig
    levels = {policy.name: policy.enforcementLevel for policy in info.policies}
    assert levels == {
        "postgresql-database-grant-keeps-connect-temporary": analyzer_pb2.MANDATORY,
        "postgresql-provider-requires-ssl": analyzer_pb2.MANDATORY,
        "heroku-postgres-no-retired-plan": analyzer_pb2.MANDATORY,
        "postgresql-database-grant-retain-on-delete": analyzer_pb2.ADVISORY,
        "heroku-postgres-protected": analyzer_pb2.ADVISORY,
        "stack-outputs-no-plaintext-credentials": analyzer_pb2.ADVISORY,
        "stitch-destination-not-the-owners-credential": analyzer_pb2.ADVISORY,
    }
    schema = {policy.name: policy.configSchema for policy in info.policies}["heroku-postgres-no-retired-plan"]
    assert list(schema.properties["retiredPlans"]["default"]) == ["hobby-*", "mini", "basic"]


def test_served_pack_blocks_a_create_only_grant_and_config_changes_its_level(analyzer):
    configure(analyzer, {})
    (blocked,) = analyze_grant(analyzer, ["CREATE"])
    assert blocked.enforcementLevel == analyzer_pb2.MANDATORY
    assert blocked.message.split("\n")[1].startswith('postgresql.Grant "g" grants CREATE on database "stitch" to role "stitch_loader"')
    assert analyze_grant(analyzer, ["CONNECT", "CREATE", "TEMPORARY"]) == []

    configure(analyzer, {"postgresql-database-grant-keeps-connect-temporary": analyzer_pb2.ADVISORY})
    assert [d.enforcementLevel for d in analyze_grant(analyzer, ["CREATE"])] == [analyzer_pb2.ADVISORY]
    configure(analyzer, {"postgresql-database-grant-keeps-connect-temporary": analyzer_pb2.DISABLED})
    assert analyze_grant(analyzer, ["CREATE"]) == []
    configure(analyzer, {})


def test_served_pack_reports_unknown_privileges_as_not_checkable_in_preview(analyzer):
    configure(analyzer, {})
    (note,) = analyze_grant(analyzer, rpc.UNKNOWN)
    assert note.enforcementLevel == analyzer_pb2.ADVISORY
    assert "can't run policy 'postgresql-database-grant-keeps-connect-temporary'" in note.message


def test_served_pack_tells_secret_outputs_from_plain_ones(analyzer):
    configure(analyzer, {})
    outputs = {
        "password": wire_secret("pw"),
        "database_url": wire_secret("postgres://u:pw@h/d"),
        "stitch_destination": wire_secret({"properties": {"password": "pw"}}),
        "leaked_url": "postgres://u:pw@h/d",
        "host": "h",
    }
    stack_urn = urn("prod", STACK, "acme-prod")
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[analyzer_pb2.AnalyzerResource(type=STACK, urn=stack_urn, name="acme-prod", properties=struct(outputs))]
    )
    diagnostics = analyzer.AnalyzeStack(request).diagnostics
    assert [(d.policyName, d.urn, d.message.split("\n")[1].split(". Why")[0]) for d in diagnostics] == [
        (
            "stack-outputs-no-plaintext-credentials",
            stack_urn,
            'Stack output "leaked_url" of stack "prod" holds a database URL in plain text',
        )
    ]


# --- this project's own program against the pack (mocks; the real engine runs in the real-engine test) --


def program_violations(stack: str, values: dict[str, str], config: dict[str, dict] | None = None, **run: Any) -> dict[str, list[str]]:
    """Every violation the pack finds in what the program registers and exports, by policy name."""
    program = run_program(stack, values, **run)
    found: dict[str, list[str]] = {}
    for registration in program.registrations:
        props = {key: Secret(value) if key in registration.secret_inputs else value for key, value in registration.inputs.items()}
        opts = PolicyResourceOptions(registration.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], registration.parent or None)
        for policy in POLICIES:
            if isinstance(policy, ResourceValidationPolicy):
                args = ResourceValidationArgs(
                    registration.type,
                    unknown_checking_proxy(props),
                    registration.urn,
                    registration.name,
                    opts,
                    None,
                    (config or {}).get(policy.name),
                )
                found.setdefault(policy.name, []).extend(messages(policy, args))
    outputs = {name: Secret(out.value) if out.secret else out.value for name, out in program.outputs.items()}
    found[no_plaintext_credentials.name] = messages(no_plaintext_credentials, stack_args(outputs, stack=stack))
    resources = tuple(
        policy_resource(r.type, {k: Secret(v) if k in r.secret_inputs else v for k, v in r.inputs.items()}, r.urn)
        for r in program.registrations
    )
    found[stitch_not_given_the_owners_credential.name] = messages(
        stitch_not_given_the_owners_credential, stack_args(outputs, stack=stack, others=resources)
    )
    return {name: found_messages for name, found_messages in found.items() if found_messages}


def our_policy_config() -> dict[str, dict]:
    """policies/stitch-heroku-config.json, the --policy-pack-config this project runs the pack with."""
    config = json.loads((ROOT / "policies" / "stitch-heroku-config.json").read_text())
    schemas = {policy.name: policy.config_schema for policy in POLICIES}
    for name, values in config.items():
        assert schemas.get(name) is not None, f"{name} is not a policy of the pack with config"
        assert set(values) - {"enforcementLevel"} <= set(schemas[name].properties), f"{name}: unknown keys {values}"
    return config


def test_our_program_passes_the_pack_on_every_kind_of_stack(marks_installed):
    retained = our_policy_config()
    assert program_violations("prod", HEROKU_STACK, retained) == {}
    assert program_violations("dev", HEROKU_STACK, retained) == {}
    url_stack = {"source": "url", "database_url": "postgres://owner:pw@db.example.com:5432/stitch"}
    assert program_violations("local", url_stack, retained, secret=("database_url",)) == {}


def test_without_the_retained_grants_config_our_program_gets_only_the_reminder(marks_installed):
    found = program_violations("prod", HEROKU_STACK)
    assert list(found) == ["postgresql-database-grant-retain-on-delete"]
    assert len(found["postgresql-database-grant-retain-on-delete"]) == 1
