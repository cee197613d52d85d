"""Connection mistakes stop `preview` and `up` before any step (issue 26, item 7), on the real engine against real
PostgreSQL servers: a wrong password, a host that does not resolve, a database that does not exist, a server
without SSL. The message names the setting, the part that is wrong and the fix, never the password; and a
refused `up` of a new stack leaves no resource in the state (the stack and its components aside, which are
only names)."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from pulumi import automation as auto

from devtools.local_postgres import StitchDatabase, provision_stitch_database
from tests.support.real_engine import RealStack, throwaway_stack
from tests.test_real_engine import assert_no_secret_anywhere, configure, passwords_of

_names = itertools.count(1)


@pytest.fixture
def db(ssl_server) -> StitchDatabase:
    n = next(_names)
    return provision_stitch_database(ssl_server.cluster, database=f"guard_{n}", owner=f"guard_owner_{n}", stitch_role=f"guard_loader_{n}")


@pytest.fixture
def stack(toolchain, tmp_path):
    with throwaway_stack(tmp_path, "guards") as real:
        yield real


def with_part(url: str, **parts: str) -> str:
    """The URL with some of its parts (user, password, host, dbname) replaced."""
    info = psycopg.conninfo.conninfo_to_dict(url) | parts
    return f"postgres://{info['user']}:{info['password']}@{info['host']}:{info['port']}/{info['dbname']}"


def made(stack: RealStack) -> list[str]:
    """The resources a run made: every custom resource but the providers (the stack and components are names only)."""
    resources = stack.stack.export_stack().deployment.get("resources") or []
    return [r["urn"] for r in resources if r.get("custom") and not r["type"].startswith("pulumi:providers:")]


def refused(run) -> str:
    with pytest.raises(auto.CommandError) as failed:
        run()
    return str(failed.value)


def test_a_wrong_password_in_database_url_stops_preview_and_up_makes_nothing(stack, db):
    wrong = with_part(db.owner_url, password="not-the-password")
    configure(stack, StitchDatabase(wrong, db.stitch_url))
    owner = psycopg.conninfo.conninfo_to_dict(db.owner_url)["user"]

    for run in (stack.preview, stack.up):
        message = refused(run)
        assert f'database_url: authentication failed for user "{owner}"' in message, message[-3000:]
        assert "pulumi config set --secret database_url" in message and "Nothing was changed" in message
        assert message.count("authentication failed for user") <= 2, message[-3000:]  # the part, and the server's words
    assert made(stack) == [], "a refused up made resources"
    assert_no_secret_anywhere(stack, "not-the-password", *passwords_of(db.owner_url, db.stitch_url))

    configure(stack, db)
    assert stack.up().summary.result == "succeeded", "the right URL does not converge"


@pytest.mark.parametrize(
    ("parts", "said"),
    [
        ({"host": "nowhere.invalid"}, "database_url: the host name nowhere.invalid does not resolve"),
        ({"dbname": "no_such_database"}, 'database_url: the database "no_such_database" does not exist'),
    ],
)
def test_a_wrong_host_or_database_in_database_url_stops_preview(stack, db, parts, said):
    configure(stack, StitchDatabase(with_part(db.owner_url, **parts), with_part(db.stitch_url, **parts)))  # the same database
    message = refused(stack.preview)
    assert said in message, message[-3000:]
    assert made(stack) == []
    assert_no_secret_anywhere(stack, *passwords_of(db.owner_url, db.stitch_url))


def test_a_server_without_ssl_stops_preview(stack, plain_server):
    configure(stack, plain_server)
    message = refused(stack.preview)
    assert "database_url: the server at 127.0.0.1 does not offer SSL" in message, message[-3000:]
    assert "Stitch connects to Heroku only with SSL" in message
    assert_no_secret_anywhere(stack, *passwords_of(plain_server.owner_url, plain_server.stitch_url))


def test_a_wrong_password_in_stitch_url_stops_preview_naming_stitch_url(stack, db):
    configure(stack, StitchDatabase(db.owner_url, with_part(db.stitch_url, password="not-the-password")))
    loader = psycopg.conninfo.conninfo_to_dict(db.stitch_url)["user"]
    message = refused(stack.up)
    assert f'stitch_url: authentication failed for user "{loader}"' in message, message[-3000:]
    assert made(stack) == []
    assert_no_secret_anywhere(stack, "not-the-password", *passwords_of(db.owner_url, db.stitch_url))


def test_a_configuration_problem_is_shown_once_without_a_traceback(stack, db):
    """The config's problems reach the user once (issue 26, item 8): the inline runner would print a RunError's
    message twice, once logged and once as "an unhandled error occurred" (ops/workspace.py inline_program). The
    engine's progress lines repeat the first line of each error; its Diagnostics list each error once."""
    configure(stack, db, stitch_url=with_part(db.stitch_url, dbname="another_database"))  # not the source database
    for run in (stack.preview, stack.up):
        message = refused(run)
        diagnostics = message.partition("Diagnostics:")[2].partition("Resources:")[0]
        assert diagnostics.count("has 1 configuration problem") == 1, diagnostics
        assert diagnostics.count("stitch_url: points at") == 1, diagnostics
        assert "Traceback" not in message
    assert made(stack) == []
