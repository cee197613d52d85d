"""A membership granted by hand to the role this stack made for Stitch is taken back by `up --refresh --run-program`
(what the reconcile runs), on the real engine: the postgresql provider's Role declares no `roles`, and its refresh
reads them from pg_auth_members (devtools/postgresql_standin.py replays resource_postgresql_role.go)."""

from __future__ import annotations

import itertools

import pytest
from psycopg import sql
from stitch_heroku import config as stack_config
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url
from stitch_heroku.ops.reconcile import EngineEvents, Step, describe_changes

from tests.support.real_engine import throwaway_stack
from tests.test_real_engine_stitch_role import Scenario, configure, least_privilege

_names = itertools.count(1001)  # apart from tests/test_real_engine_stitch_role.py's scenarios in the same session


@pytest.fixture
def scenario(ssl_server) -> Scenario:
    return Scenario(ssl_server.cluster, next(_names))


def config_of(scenario: Scenario) -> stack_config.StackConfig:
    """The stack's config as the reconcile reads it, for describe_changes."""
    raw = {"source": "url", "database_url": scenario.db.owner_url, "stitch_role_name": scenario.role}
    return stack_config.validate("lpm", raw, secret_keys={"database_url"}, heroku_key="env")


def memberships(scenario: Scenario) -> list[str]:
    with scenario.cluster.superuser() as conn:
        rows = conn.execute(
            "SELECT pg_get_userbyid(roleid) FROM pg_auth_members WHERE member = (SELECT oid FROM pg_roles WHERE rolname = %s)",
            (scenario.role,),
        ).fetchall()
    return sorted(row[0] for row in rows)


def test_a_built_in_role_granted_to_stitchs_role_is_revoked_by_the_next_refreshed_up(toolchain, tmp_path, scenario):
    scenario.allow_create_role()
    with throwaway_stack(tmp_path, "lpm") as stack:
        configure(stack, scenario)
        stack.up()
        assert least_privilege(stack)["status"] == "pass", least_privilege(stack)
        with scenario.cluster.superuser() as conn:  # someone lets Stitch read every table
            conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(scenario.role)))
        assert memberships(scenario) == ["pg_read_all_data"]
        password = stack.outputs()["password"].value
        as_stitch = parse_database_url(scenario.cluster.url(scenario.role, password, scenario.database))
        check = {c.name: c for c in verify(as_stitch, credential="dedicated").checks}["least privilege"]
        assert check.status == "fail" and f'REVOKE pg_read_all_data FROM "{scenario.role}";' in (check.fix or ""), check

        events = EngineEvents()
        healed = stack.up(refresh=True, run_program=True, on_event=events)

        assert memberships(scenario) == [], "the Role declares no memberships: its update revokes what was granted"
        assert healed.summary.resource_changes.get("update", 0) >= 1, healed.summary.resource_changes
        check = {c.name: c for c in verify(as_stitch, credential="dedicated").checks}["least privilege"]
        assert check.status == "pass", check
        said = [c["summary"] for c in describe_changes(events.steps, config_of(scenario), applied=True)]
        assert f"Stitch's role {scenario.role} had been made a member of pg_read_all_data by hand; taken back" in said, said
        again = stack.up(refresh=True, run_program=True)
        assert "update" not in (again.summary.resource_changes or {}), again.summary.resource_changes


def test_a_preview_says_what_up_would_take_back_attributes_included():
    """No engine: the steps as the Automation API's events carry them (tests/test_reconcile_changes.py's shape)."""
    role = "postgresql:index/role:Role"
    before = {"name": "stitch", "roles": [], "createRole": False}
    after = {"name": "stitch", "roles": ["pg_monitor"], "createRole": True}
    refreshed = Step("role", role, "refresh", ("roles", "createRole"), before, after, before, after)
    update = Step("role", role, "update", ("roles", "createRole"), after, before, after, before)
    cfg = stack_config.validate("lpm", {"source": "url", "database_url": "postgres://o:p@db.example.com:5432/d"},
                                secret_keys={"database_url"}, heroku_key="env")  # fmt: skip
    (change,) = describe_changes([refreshed, update], cfg, applied=False)
    assert change == {
        "summary": "Stitch's role stitch had been made a member of pg_monitor and given CREATEROLE by hand; up would take it back",
        "resources": ["role"],
    }
