"""The guardrails policy pack run by the real engine: `pulumi preview --policy-pack policies`, through the
Automation API, on small throwaway programs against a real PostgreSQL, and on this project's own stack.

The pack runs in its own virtualenv, made from policies/requirements.txt as the README tells a team to make
it (the CLI installs nothing for a local --policy-pack). Where the toolchain has no Python language host, the
CLI starts the pack through tests/doubles/policy_shim.py, which runs it exactly as the language host's RunPlugin
would. The engine, the analyzer protocol, the enforcement and the printed report are the CLI's own.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pulumi
import pytest
import yaml
from pulumi import automation as auto
from pulumi.automation.events import EngineEvent, PolicyEvent

from devtools import pulumi_toolchain
from devtools.local_postgres import Cluster, StitchDatabase, provision_stitch_database
from devtools.postgresql_standin import read_privileges
from tests.doubles import policy_shim
from tests.support.real_engine import GRANT_NAME, GrantProgram, RealStack, has_language_host, throwaway_stack

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "policies"
PACK_NAME = "stitch-heroku-guardrails"
OUR_POLICY_CONFIG = PACK / "stitch-heroku-config.json"
KEEPS_CONNECT_TEMPORARY = "postgresql-database-grant-keeps-connect-temporary"
REQUIRES_SSL = "postgresql-provider-requires-ssl"
RETAIN_ON_DELETE = "postgresql-database-grant-retain-on-delete"
EVERY_DATABASE_PRIVILEGE = ["CONNECT", "CREATE", "TEMPORARY"]

_names = itertools.count(1)


def pack_virtualenv() -> Path:
    """The pack's virtualenv, made once per requirements.txt and Python and kept beside the toolchain's cache:
    `python3 -m venv` and `pip install -r policies/requirements.txt`, as the README has a team do it."""
    requirements = PACK / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes() + sys.version.encode() + sys.base_prefix.encode())
    target = pulumi_toolchain.cache_root() / f"policy-pack-venv-{key.hexdigest()[:16]}"
    made = target / ".made"
    with pulumi_toolchain.locked(target.with_suffix(".lock")):
        if made.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)  # a half-made one from an interrupted run
        steps = (
            [sys.executable, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(requirements)],
        )
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                pytest.fail(f"making the policy pack's virtualenv failed ({' '.join(step[:4])} ...):\n{result.stderr[-3000:]}")
        made.write_text(requirements.read_text())
    return target


@pytest.fixture(scope="session")
def policy_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """policies/ as it is in the repo, with its virtualenv at `venv` where PulumiPolicy.yaml names it."""
    pack = tmp_path_factory.mktemp("pack") / "policies"
    shutil.copytree(PACK, pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    (pack / "venv").symlink_to(pack_virtualenv(), target_is_directory=True)
    return pack


def ran_from(pack: Path) -> dict[str, str]:
    """The engine's summary of a run that loaded our pack from that folder, at PulumiPolicy.yaml's version."""
    version = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["version"]
    return {f"{PACK_NAME}|local|{pack}": version}


def policy_path(bin_dir: Path, base_dir: Path) -> tuple[Path, ...]:
    """Where the toolchain has no Python language host, the stand-in for its RunPlugin, first on PATH."""
    if has_language_host(bin_dir):
        return ()
    shim_dir = base_dir / "language-host-standin"
    policy_shim.install(shim_dir)
    return (shim_dir,)


@dataclass
class PolicyEvents:
    """The engine's structured events of one operation: its policy violations and the packs it ran."""

    violations: list[PolicyEvent] = field(default_factory=list)
    packs_run: dict[str, str] = field(default_factory=dict)
    """As the summary names them: `<pack name>|local|<path>` -> version, for a pack run from a folder."""

    def __call__(self, event: EngineEvent) -> None:
        if event.policy_event is not None:
            self.violations.append(event.policy_event)
        if event.summary_event is not None:
            self.packs_run.update(event.summary_event.policy_packs)

    def found(self) -> list[tuple[str, str, str]]:
        """(policy, enforcement level, resource name) of each violation, in a stable order."""
        return sorted((v.policy_name, v.enforcement_level, (v.resource_urn or "").rsplit("::", 1)[-1]) for v in self.violations)


@contextmanager
def stack_of(base_dir: Path, bin_dir: Path, stack_name: str, program: Callable[[], None] | None = None) -> Iterator[RealStack]:
    """A fresh stack (the throwaway program, or this project's __main__.py), destroyed and removed afterwards."""
    with throwaway_stack(base_dir, stack_name, path_prefix=policy_path(bin_dir, base_dir), program=program) as real:
        yield real


def preview_with_pack(stack: RealStack, pack: Path, config: Path | None = None) -> tuple[PolicyEvents, auto.CommandError | None]:
    """`pulumi preview --policy-pack <pack> [--policy-pack-config <config>]`; the events, and the error if it failed."""
    events = PolicyEvents()
    configs = {"policy_pack_configs": [str(config)]} if config else {}
    try:
        stack.preview(policy_packs=[str(pack)], on_event=events, **configs)
    except auto.CommandError as error:
        return events, error
    return events, None


# --- throwaway programs: what another team might write against its own database ------------------------


@dataclass(frozen=True)
class Database:
    cluster: Cluster
    db: StitchDatabase
    name: str
    owner: str
    loader: str

    @property
    def owner_password(self) -> str:
        return str(psycopg.conninfo.conninfo_to_dict(self.db.owner_url)["password"])

    def own_privileges(self, role: str) -> set[str] | None:
        """What the role holds on the database in its own name (pg_database.datacl), as the provider reads it."""
        with self.cluster.superuser(self.name) as conn:
            return read_privileges(conn, self.name, role)


def passwords_of(db: StitchDatabase) -> list[str]:
    return [str(psycopg.conninfo.conninfo_to_dict(url)["password"]) for url in (db.owner_url, db.stitch_url)]


@pytest.fixture
def database(ssl_server) -> Database:
    """A fresh Heroku-shaped database per test on the session's SSL server: its owner, and a loader without CREATE."""
    n = next(_names)
    names = {"name": f"policy_{n}", "owner": f"policy_owner_{n}", "loader": f"policy_loader_{n}"}
    db = provision_stitch_database(ssl_server.cluster, database=names["name"], owner=names["owner"], stitch_role=names["loader"])
    return Database(ssl_server.cluster, db, **names)


def test_a_create_only_database_grant_is_blocked_with_the_reason_and_the_fix(toolchain, policy_pack, database, tmp_path):
    program = GrantProgram(database.db, database.owner, ["CREATE"])
    with stack_of(tmp_path, toolchain, "trap", program) as stack:
        events, failed = preview_with_pack(stack, policy_pack)

        assert failed is not None, "the preview of a CREATE-only database Grant passed the pack"
        assert events.found() == [(KEEPS_CONNECT_TEMPORARY, "mandatory", GRANT_NAME), (RETAIN_ON_DELETE, "advisory", GRANT_NAME)]
        printed = stack.all_printed() + str(failed)
        heading = f"[mandatory] [severity: high]  {KEEPS_CONNECT_TEMPORARY}  (postgresql:index:Grant: {GRANT_NAME})"
        assert heading in printed, printed[-3000:]
        assert (
            f'postgresql.Grant "{GRANT_NAME}" grants CREATE on database "{database.name}" to role "{database.owner}" '
            "without CONNECT and TEMPORARY. Why: the postgresql provider runs REVOKE ALL PRIVILEGES ON DATABASE"
        ) in printed
        assert 'Fix: privileges=["CONNECT", "CREATE", "TEMPORARY"].' in printed
        assert database.owner_password not in printed


def test_up_of_the_blocked_grant_never_reaches_the_server_which_it_would_have_changed(toolchain, policy_pack, database, tmp_path):
    program = GrantProgram(database.db, database.owner, ["CREATE"])
    with stack_of(tmp_path, toolchain, "trap", program) as stack:
        with pytest.raises(auto.CommandError) as blocked:
            stack.up(policy_packs=[str(policy_pack)])
        assert KEEPS_CONNECT_TEMPORARY in str(blocked.value) + stack.all_printed()
        assert database.own_privileges(database.owner) == set(), "the blocked Grant reached the server"

        # The same program without the pack: the trap is real. The owner's own privileges become CREATE alone.
        assert stack.up().summary.result == "succeeded"
        assert database.own_privileges(database.owner) == {"CREATE"}


def test_a_safe_database_grant_passes_with_only_the_retain_reminder_until_configured(toolchain, policy_pack, database, tmp_path):
    program = GrantProgram(database.db, database.loader, EVERY_DATABASE_PRIVILEGE)
    with stack_of(tmp_path, toolchain, "safe", program) as stack:
        reminded, failed = preview_with_pack(stack, policy_pack)
        assert failed is None, str(failed)[-3000:]
        assert reminded.packs_run == ran_from(policy_pack)
        assert reminded.found() == [(RETAIN_ON_DELETE, "advisory", GRANT_NAME)]
        (reminder,) = reminded.violations
        assert "check that it is declared with retain_on_delete" in reminder.message
        assert f'add "{GRANT_NAME}" to this policy\'s retainedGrants config' in reminder.message

        config = tmp_path / "retained.json"
        config.write_text(json.dumps({RETAIN_ON_DELETE: {"retainedGrants": [GRANT_NAME]}}))
        quiet, failed = preview_with_pack(stack, policy_pack, config)
        assert failed is None, str(failed)[-3000:]
        assert quiet.packs_run == ran_from(policy_pack)
        assert quiet.found() == []
        assert database.owner_password not in stack.all_printed()


def test_a_provider_without_tls_is_blocked(toolchain, policy_pack, database, tmp_path):
    program = GrantProgram(database.db, database.loader, EVERY_DATABASE_PRIVILEGE, sslmode="disable")
    with stack_of(tmp_path, toolchain, "plain", program) as stack:
        events, failed = preview_with_pack(stack, policy_pack)

        assert failed is not None, "the preview of a provider with sslmode disable passed the pack"
        assert (REQUIRES_SSL, "mandatory", "owner") in events.found()
        printed = stack.all_printed() + str(failed)
        heading = f"[mandatory] [severity: high]  {REQUIRES_SSL}  (pulumi:providers:postgresql: owner)"
        assert heading in printed, printed[-3000:]
        assert 'postgresql.Provider "owner" connects with sslmode "disable". Why: it never uses TLS' in printed
        assert 'Fix: sslmode="require" on the Provider' in printed
        assert database.owner_password not in printed


def exports_a_url_plain_and_a_password_secret() -> None:
    """A program that forgot one Output.secret: what the stack policy exists to catch."""
    pulumi.export("database_url", "postgres://owner:not-a-real-password@db.example.com:5432/app")
    pulumi.export("password", pulumi.Output.secret("not-a-real-password"))
    pulumi.export("host", "db.example.com")


def test_the_stack_policy_tells_a_plain_credential_output_from_a_secret_one(toolchain, policy_pack, tmp_path):
    with stack_of(tmp_path, toolchain, "outputs", exports_a_url_plain_and_a_password_secret) as stack:
        events, failed = preview_with_pack(stack, policy_pack)

        assert failed is None, str(failed)[-3000:]
        assert events.found() == [("stack-outputs-no-plaintext-credentials", "advisory", "stitch-heroku-outputs")]
        (warning,) = events.violations
        assert 'Stack output "database_url" of stack "outputs" holds a database URL in plain text' in warning.message
        assert "not-a-real-password" not in warning.message


# --- this project's own stack ----------------------------------------------------------------------------


def test_our_own_local_stack_passes_the_pack(toolchain, policy_pack, database, tmp_path):
    with stack_of(tmp_path, toolchain, "local") as stack:
        stack.set_config(
            {"stitch-heroku:source": "url", "stitch-heroku:verify_timeout": "20"},
            secrets={"stitch-heroku:database_url": database.db.owner_url, "stitch-heroku:stitch_url": database.db.stitch_url},
        )
        # Without our config the pack runs and finds only what policies cannot see: our Grant's retain_on_delete.
        reminded, failed = preview_with_pack(stack, policy_pack)
        assert failed is None, str(failed)[-3000:]
        # Our Grant is named after its parents: the Destination "stitch-heroku", its "stitch" component.
        assert reminded.found() == [(RETAIN_ON_DELETE, "advisory", f"stitch-heroku-stitch-{GRANT_NAME}")]

        clean, failed = preview_with_pack(stack, policy_pack, OUR_POLICY_CONFIG)
        assert failed is None, str(failed)[-3000:]
        assert clean.packs_run == ran_from(policy_pack)
        assert clean.found() == []

        # `up` is where the stack policy sees the real outputs, secrets and all.
        events = PolicyEvents()
        result = stack.up(policy_packs=[str(policy_pack)], policy_pack_configs=[str(OUR_POLICY_CONFIG)], on_event=events)
        assert result.summary.result == "succeeded"
        assert events.packs_run == ran_from(policy_pack)
        assert events.found() == []
        assert stack.outputs()["verification"].value["ready"] is True
        printed = stack.all_printed()
        assert all(password not in printed for password in passwords_of(database.db)), "a password is in the engine's output"
