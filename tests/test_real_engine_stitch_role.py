"""Source url with a role of Stitch's own (`stitch_credential: dedicated`, the default), on the real engine:
the postgresql provider's Role through the stand-in, our dynamic providers in the real provider host, a real
PostgreSQL with SSL, and the Stitch double checking the destination by really connecting.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest
from psycopg import sql
from pulumi import automation as auto

from devtools.local_postgres import Cluster, StitchDatabase, provision_stitch_database
from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real
from tests.support.real_engine import RealStack, throwaway_stack
from tests.test_real_engine import assert_no_secret_anywhere, passwords_of, stack_db

_names = itertools.count(1)


class Scenario:
    """A fresh database whose owner may create roles (as `source: url` needs), and the role name to use."""

    def __init__(self, cluster: Cluster, n: int):
        self.cluster = cluster
        self.db: StitchDatabase = provision_stitch_database(
            cluster, database=f"lp_{n}", owner=f"lp_owner_{n}", stitch_role=f"lp_unused_{n}"
        )
        self.owner = psycopg.conninfo.conninfo_to_dict(self.db.owner_url)["user"]
        self.role = f"lp_stitch_{n}"
        self.database = stack_db(self.db)

    def allow_create_role(self, allowed: bool = True) -> None:
        with self.cluster.superuser() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} " + ("CREATEROLE" if allowed else "NOCREATEROLE")).format(sql.Identifier(self.owner)))

    def attributes(self) -> dict | None:
        with self.cluster.superuser(self.database) as conn:
            return (
                conn.cursor(row_factory=psycopg.rows.dict_row)
                .execute(
                    "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolconnlimit, "
                    "has_database_privilege(rolname, current_database(), 'CONNECT') AS can_connect, "
                    "has_database_privilege(rolname, current_database(), 'CREATE') AS can_create, "
                    "has_database_privilege(rolname, current_database(), 'TEMPORARY') AS can_temp "
                    "FROM pg_roles WHERE rolname = %s",
                    (self.role,),
                )
                .fetchone()
            )

    def owner_run(self, *statements: str) -> None:
        with psycopg.connect(self.db.owner_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def owner_of(self, kind: str, name: str) -> str:
        query = {
            "schema": "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
            "table": "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
        }[kind]
        with self.cluster.superuser(self.database) as conn:
            row = conn.execute(query, (name,)).fetchone()
        assert row is not None, f"{kind} {name} is gone"
        return row[0]


@pytest.fixture
def scenario(ssl_server) -> Scenario:
    return Scenario(ssl_server.cluster, next(_names))


@pytest.fixture
def stack(toolchain, tmp_path):
    with throwaway_stack(tmp_path, "lp") as real:
        yield real


def configure(stack: RealStack, scenario: Scenario, **values: str) -> None:
    """Source url; the scenario's role name unless the stack keeps Stitch on the owner's credential."""
    named = {} if values.get("stitch_credential") == "owner" else {"stitch_role_name": scenario.role}
    stack.set_config(
        {
            "stitch-heroku:source": "url",
            "stitch-heroku:verify_timeout": "20",
            **{f"stitch-heroku:{key}": value for key, value in (named | values).items()},
        },
        secrets={"stitch-heroku:database_url": scenario.db.owner_url},
    )


def with_stitch(stack: RealStack, stitch: StitchServer) -> None:
    stack.set_config(
        {"stitch-heroku:stitch_api_url": stitch.url, "stitch-heroku:stitch_check_timeout": "30"},
        secrets={"stitch:accessToken": stitch.token},
    )


def forget_the_credential_in_the_guard(stack: RealStack) -> None:
    """Make the state look like one written before the guard remembered Stitch's credential."""
    deployment = stack.stack.export_stack()
    (guard,) = [r for r in deployment.deployment["resources"] if r["type"] == "pulumi-python:dynamic/stitch:SourceGuard"]
    assert guard["inputs"]["stitch_credential"] == "owner"
    for section in ("inputs", "outputs"):
        for key in ("stitch_credential", "stitch_role", "owner_url", "connect_timeout"):
            guard.get(section, {}).pop(key, None)
    stack.stack.import_stack(deployment)


def least_privilege(stack: RealStack) -> dict:
    checks = stack.outputs()["verification"].value["checks"]
    return next(c for c in checks if c["name"] == "least privilege")


def test_up_makes_a_role_of_stitchs_own_and_stitch_loads_as_it(stack, scenario):
    scenario.allow_create_role()
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch:
        configure(stack, scenario)
        with_stitch(stack, stitch)
        result = stack.up()

        assert result.summary.result == "succeeded"
        assert scenario.attributes() == {
            "rolcanlogin": True, "rolsuper": False, "rolcreaterole": False, "rolcreatedb": False, "rolreplication": False,
            "rolbypassrls": False, "rolconnlimit": 10, "can_connect": True, "can_create": True, "can_temp": True,
        }  # fmt: skip
        outputs = stack.outputs()
        assert outputs["username"].value == scenario.role
        password = outputs["password"].value
        assert outputs["password"].secret and len(password) >= 32
        assert least_privilege(stack)["status"] == "pass", least_privilege(stack)
        (destination,) = stitch.destinations.values()
        assert destination["properties"]["username"] == scenario.role
        assert destination["properties"]["password"] == password
        assert stack.outputs()["stitch_connection_check"].value == "succeeded"
        assert_no_secret_anywhere(stack, password, *passwords_of(scenario.db.owner_url))

        again = stack.up(diff=True)
        assert set(again.summary.resource_changes or {}) == {"same"}, again.stdout
        refreshed = stack.refresh()
        assert set(refreshed.summary.resource_changes or {}) == {"same"}, refreshed.summary.resource_changes

        stack.set_config({"stitch-heroku:stitch_password_version": "2"})
        rotated = stack.up()
        new_password = stack.outputs()["password"].value
        assert new_password != password and len(new_password) >= 32
        assert rotated.summary.resource_changes.get("update", 0) >= 3, rotated.summary.resource_changes
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(scenario.cluster.url(scenario.role, password, scenario.database), sslmode="require").close()
        psycopg.connect(scenario.cluster.url(scenario.role, new_password, scenario.database), sslmode="require").close()
        assert stack.outputs()["verification"].value["ready"] is True
        (destination,) = stitch.destinations.values()
        assert destination["properties"]["password"] == new_password, "Stitch did not receive the new password"
        assert_no_secret_anywhere(stack, password, new_password)

        destroyed = stack.destroy()
    assert destroyed.summary.result == "succeeded"
    role_lines = [line for line in destroyed.stdout.splitlines() if "postgresql:index:Role" in line]
    assert role_lines and all(line.endswith("[retain]") for line in role_lines), "destroy must say it keeps the role"
    assert scenario.attributes() is not None, "destroy dropped Stitch's role, which owns what Stitch loaded"


def test_an_owner_that_may_not_create_roles_stops_the_preview_with_the_ways_out(stack, scenario):
    scenario.allow_create_role(False)
    configure(stack, scenario)
    with pytest.raises(auto.CommandError) as refused:
        stack.preview()
    message = str(refused.value)
    assert "may not create roles" in message, message[-3000:]
    assert "CREATEROLE" in message and "pulumi config set stitch_credential owner" in message
    assert "stitch_url" in message
    assert scenario.attributes() is None
    assert_no_secret_anywhere(stack, *passwords_of(scenario.db.owner_url))


def test_a_database_url_whose_login_is_not_the_owner_stops_the_preview_and_makes_no_role(stack, scenario):
    """The login may create roles but does not own the database: the guard stops preview and up before any step."""
    login, password = f"{scenario.role}_login", "pw-" + scenario.role
    scenario.cluster.create_role(login, password)
    with scenario.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(login)))
    configure(stack, scenario)
    stack.set_config({}, secrets={"stitch-heroku:database_url": scenario.cluster.url(login, password, scenario.database)})
    for run in (stack.preview, stack.up):
        with pytest.raises(auto.CommandError) as refused:
            run()
        message = str(refused.value)
        assert f'does not own the database "{scenario.database}" (its owner is "{scenario.owner}")' in message, message[-3000:]
        assert f'GRANT "{scenario.owner}" TO "{login}";' in message
    assert scenario.attributes() is None, "no role was made"
    assert_no_secret_anywhere(stack, password, *passwords_of(scenario.db.owner_url))


def test_a_switch_from_the_owners_credential_hands_stitchs_schemas_to_its_role(stack, scenario):
    """Every stack made before this change gave Stitch the owner's credential; Stitch then created its schemas as
    the owner. Switching must give exactly those to the new role (never the app's tables) in the same `up`."""
    scenario.allow_create_role()
    configure(stack, scenario, stitch_credential="owner")
    stack.up()
    assert least_privilege(stack)["status"] == "warn"
    forget_the_credential_in_the_guard(stack)  # as in a stack made before stitch_credential existed
    # What Stitch and the app made as the owner: a Stitch schema (every table has _sdc_ columns) and the app's table.
    scenario.owner_run(
        "CREATE SCHEMA salesforce",
        "CREATE TABLE salesforce.account (id bigint PRIMARY KEY, name text, _sdc_batched_at timestamptz)",
        "INSERT INTO salesforce.account VALUES (1, 'acme', now())",
        "CREATE TABLE public.customers (id bigint PRIMARY KEY, email text)",
        "CREATE SCHEMA app",
        "CREATE TABLE app.orders (id bigint PRIMARY KEY)",
    )

    stack.remove_config("stitch-heroku:stitch_credential")
    stack.set_config({"stitch-heroku:stitch_role_name": scenario.role})
    preview = stack.preview(diff=True)
    assert "salesforce" in preview.stdout, "the preview does not show which schemas would be handed over"
    assert scenario.attributes() is None, "preview changed something"
    stack.up()

    assert scenario.owner_of("schema", "salesforce") == scenario.role
    assert scenario.owner_of("table", "salesforce.account") == scenario.role
    assert scenario.owner_of("table", "public.customers") == scenario.owner, "an app table was handed to Stitch"
    assert scenario.owner_of("schema", "app") == scenario.owner
    assert least_privilege(stack)["status"] == "pass"
    password = stack.outputs()["password"].value
    with psycopg.connect(scenario.cluster.url(scenario.role, password, scenario.database), sslmode="require", autocommit=True) as conn:
        # A load into the existing table, as Stitch runs it after the switch.
        conn.execute("ALTER TABLE salesforce.account ADD COLUMN _sdc_received_at timestamptz")
        conn.execute("INSERT INTO salesforce.account (id, name) VALUES (2, 'globex')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM public.customers")
    scenario.owner_run("SELECT count(*) FROM salesforce.account")  # the owner still reads what Stitch loads
    again = stack.up()
    assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes


def test_destroy_then_up_takes_the_kept_role_back_and_a_role_not_provably_ours_still_stops(stack, scenario):
    """`pulumi destroy` keeps Stitch's role (it owns what Stitch loaded) and writes on it that this stack let go of it;
    the next `up` takes it back, with a new password, instead of stopping at "role already exists" (issue 26, item 13).
    A role of that name without this stack's marker (made by hand, or kept by another stack) stops as before."""
    scenario.allow_create_role()
    configure(stack, scenario)
    stack.up()
    old_password = stack.outputs()["password"].value
    stack.destroy()
    assert scenario.attributes() is not None, "destroy dropped Stitch's role"
    with scenario.cluster.superuser() as conn:
        comment = conn.execute("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", (scenario.role,)).fetchone()
    assert comment and comment[0].endswith("; kept by its pulumi destroy") and "/lp" in comment[0], comment

    assert stack.up().summary.result == "succeeded", "the stack's own kept role was not taken back"
    outputs = stack.outputs()
    assert outputs["username"].value == scenario.role and outputs["verification"].value["ready"] is True
    new_password = outputs["password"].value
    assert new_password != old_password
    psycopg.connect(scenario.cluster.url(scenario.role, new_password, scenario.database), sslmode="require").close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(scenario.cluster.url(scenario.role, old_password, scenario.database), sslmode="require").close()
    stack.up()  # the Role's password, taken back without comparing it, is written into the state
    again = stack.up()
    assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes
    stack.destroy()

    others = "stitch-heroku: Stitch's role, made by stack stitch-heroku/other; kept by its pulumi destroy"
    for foreign, comment in ((f"{scenario.role}_hand", None), (f"{scenario.role}_other", others)):
        scenario.cluster.create_role(foreign, "pw-" + foreign)
        if comment:
            with scenario.cluster.superuser() as conn:
                conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(foreign), sql.Literal(comment)))
        stack.set_config({"stitch-heroku:stitch_role_name": foreign})
        with pytest.raises(auto.CommandError) as refused:
            stack.preview()
        message = str(refused.value)
        assert f'stitch_role_name: A role "{foreign}" already exists' in message, message[-3000:]
        assert f"pulumi config set stitch_role_name {foreign}_2" in message, "this program's own config key"
    assert_no_secret_anywhere(stack, old_password, new_password, *passwords_of(scenario.db.owner_url))
