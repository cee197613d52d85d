"""The guards' questions to a real PostgreSQL, without the engine: which part of a URL is wrong (issue 26, item 7),
and whether a role of Stitch's name is one this stack made and its destroy kept (item 13)."""

from __future__ import annotations

import itertools
import traceback
from unittest import mock

import grpc
import psycopg
import pytest
from psycopg import sql
from stitch_heroku import postgres_sql as pg
from stitch_heroku.provider_failure import fail_with
from stitch_heroku.source_guard import connection_refusal, credential_refusal
from stitch_heroku.stitch_role import role_marker
from stitch_heroku.verification import VerificationFailed

from devtools.local_postgres import StitchDatabase, provision_stitch_database

_names = itertools.count(1)


@pytest.fixture
def db(ssl_server) -> StitchDatabase:
    n = next(_names)
    made = provision_stitch_database(ssl_server.cluster, database=f"gu_{n}", owner=f"gu_owner_{n}", stitch_role=f"gu_loader_{n}")
    with ssl_server.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(f"gu_owner_{n}")))
    return made


def with_part(url: str, **parts: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url) | parts
    return f"postgres://{info['user']}:{info['password']}@{info['host']}:{info['port']}/{info['dbname']}"


def test_a_right_url_passes(db):
    urls = {"owner_url": db.owner_url, "owner_key": "database_url", "stitch_url": db.stitch_url, "stitch_key": "stitch_url"}
    assert connection_refusal(urls) is None


def test_a_wrong_password_names_the_key_and_the_user_never_the_password(db):
    wrong = with_part(db.stitch_url, password="not-the-password")
    refusal = connection_refusal({"owner_url": db.owner_url, "owner_key": "database_url", "stitch_url": wrong, "stitch_key": "stitch_url"})
    user = psycopg.conninfo.conninfo_to_dict(db.stitch_url)["user"]
    assert refusal and refusal.startswith(f'stitch_url: authentication failed for user "{user}"'), refusal
    assert "not-the-password" not in refusal and "pulumi config set --secret" in refusal


def test_a_host_heroku_has_not_published_yet_is_left_to_the_verification(db):
    """A new Heroku database's host may take minutes to resolve: only a URL the user typed is wrong for it."""
    unresolved = with_part(db.owner_url, host="nowhere.invalid")
    assert connection_refusal({"owner_url": unresolved, "owner_key": "DATABASE_URL (the add-on's config var)"}) is None
    typed = connection_refusal({"owner_url": unresolved, "owner_key": "database_url"})
    assert typed and typed.startswith("database_url: the host name nowhere.invalid does not resolve"), typed


def test_a_server_that_is_only_busy_is_no_mistake_in_the_url():
    assert pg.wrong_part("FATAL: too many connections for role \"x\"", user="x", host="h", database="d") is None
    assert pg.wrong_part("the database system is starting up", user="x", host="h", database="d") is None


def kept(db: StitchDatabase, role: str, comment: str | None) -> dict:
    """A role of Stitch's name on the server, with `comment`; the guard's inputs for a new stack naming it."""
    owner = psycopg.conninfo.conninfo_to_dict(db.owner_url)
    with psycopg.connect(db.owner_url, autocommit=True, sslmode="require") as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        if comment:
            conn.execute(pg.comment_on_role(role, comment))
    marker = role_marker("stitch-heroku", "prod", kept=True)
    assert owner["user"] != role
    return {"source": "url", "stitch_credential": "dedicated", "stitch_role": role, "owner_url": db.owner_url, "kept_role_marker": marker}


def test_a_role_this_stack_made_and_kept_is_let_through(db):
    news = kept(db, "gu_kept_" + next_name(), role_marker("stitch-heroku", "prod", kept=True))
    assert credential_refusal({}, news) is None


@pytest.mark.parametrize(
    "comment",
    [None, role_marker("stitch-heroku", "prod"), role_marker("stitch-heroku", "staging", kept=True)],
    ids=["by-hand", "still-managed-elsewhere", "another-stacks"],
)
def test_a_role_not_provably_kept_by_this_stack_stops_naming_the_key_in_the_callers_terms(db, comment):
    from stitch_heroku.config import CALLER_PROJECT

    role = "gu_other_" + next_name()
    news = kept(db, role, comment)
    refusal = credential_refusal({}, news)
    assert refusal and refusal.startswith("stitch_role_name:") and "already exists" in refusal, refusal
    assert f"pulumi config set stitch_role_name {role}_2" in refusal and "stitchRoleName" not in refusal, refusal
    theirs = credential_refusal({}, {**news, CALLER_PROJECT: "acme-warehouse"})
    assert theirs and "the Destination's input `stitch_role_name` (`stitchRoleName` in TypeScript and YAML)" in theirs, theirs


def next_name() -> str:
    return str(next(_names))


def sdk_wrapper(context: grpc.ServicerContext, step) -> None:
    """What the dynamic provider host does around a step (pulumi/dynamic/__main__.py, _abort_with_traceback)."""
    try:
        step()
    except Exception:  # as the SDK does
        context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())


def test_an_expected_failure_reaches_the_engine_as_its_message_alone():
    context = mock.Mock(spec=grpc.ServicerContext)
    abort = context.abort
    abort.side_effect = RuntimeError("aborted")  # grpc's abort raises, ending the call
    with pytest.raises(RuntimeError, match="aborted"):
        sdk_wrapper(context, lambda: fail_with(VerificationFailed("[FAIL] connect ...\nNOT READY: connect failed.")))
    abort.assert_called_once_with(grpc.StatusCode.UNKNOWN, "[FAIL] connect ...\nNOT READY: connect failed.")


def test_an_unexpected_failure_keeps_its_traceback_and_outside_the_host_the_error_is_raised():
    context = mock.Mock(spec=grpc.ServicerContext)
    sdk_wrapper(context, lambda: 1 / 0)
    assert context.abort.call_args.args[1].startswith("Traceback (most recent call last)")
    with pytest.raises(VerificationFailed, match="NOT READY"):
        fail_with(VerificationFailed("NOT READY"))
