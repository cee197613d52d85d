"""Which of Stitch's loads are this destination's, and the cause and fix of each failing one: the server's own
words taken from a real PostgreSQL server (the SSL fixture), the loads from the Stitch double as documented."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from stitch_heroku import postgres_sql as pg
from stitch_heroku.connection import parse_database_url
from stitch_heroku.stitch_api import StitchClient
from stitch_heroku.stitch_loads import BY_SCHEMA, ONLY_DESTINATION, PASSWORD_SENT_FIX, judge, read_loads, schemas_present

from tests.doubles.fake_stitch import CLIENT_ID, FakeStitch, StitchServer, load_error

ROLE = "stitch_loader"


def server_error(url: str, statement: str) -> psycopg.Error:
    """What the real server says when Stitch's role runs this statement."""
    with psycopg.connect(url, sslmode="require", autocommit=True) as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute(statement)
    return raised.value


@pytest.fixture
def shop(ssl_server):
    """A schema `shop_<n>` with a table orders that the owner made and Stitch's role may not write."""
    schema = f"shop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ssl_server.owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(schema, "orders")))
    yield schema
    with psycopg.connect(ssl_server.owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def cause_of(error: psycopg.Error, schema: str, **kwargs) -> pg.LoadCause:
    return pg.load_error_cause(error.diag.message_primary or str(error), error.diag.sqlstate, schema=schema, role=ROLE, **kwargs)


# -- the fix for each cause, from the server's real words ---------------------------------------------


def test_permission_denied_on_a_table_names_the_table_and_the_grant_and_on_heroku_the_plan_too(ssl_server, shop):
    with psycopg.connect(ssl_server.owner_url, sslmode="require", autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(shop), sql.Identifier(ROLE)))
    error = server_error(ssl_server.no_create_url, f"INSERT INTO {shop}.orders VALUES (1)")
    assert error.diag.sqlstate == "42501" and "permission denied for table orders" in str(error)
    url_fix = cause_of(error, shop, source="url")
    assert url_fix.cause == "privilege"
    assert f"lacks INSERT, UPDATE or DELETE on table {shop}.orders" in url_fix.fix
    assert f'GRANT INSERT, UPDATE, DELETE ON "{shop}"."orders" TO "{ROLE}";' in url_fix.fix and "plan" not in url_fix.fix
    heroku_fix = cause_of(error, shop, source="heroku")
    assert heroku_fix.cause == "privilege" and "GRANT INSERT" in heroku_fix.fix
    assert (
        "over its plan's storage limit and Heroku restricted it" in heroku_fix.fix
        and "pulumi config set plan essential-1" in heroku_fix.fix
    )
    capacity = cause_of(error, shop, source="heroku", over_capacity=True)
    assert capacity.cause == "storage" and "GRANT" not in capacity.fix, "never a GRANT that fights Heroku's enforcement"
    assert capacity.fix.startswith("The database is over its plan's storage limit") and "or delete data" in capacity.fix


def test_permission_denied_on_a_schema_names_usage_and_create(ssl_server, shop):
    error = server_error(ssl_server.no_create_url, f"INSERT INTO {shop}.orders VALUES (1)")
    assert "permission denied for schema" in str(error)
    fix = cause_of(error, shop, source="url")
    assert fix.cause == "privilege" and f'GRANT USAGE, CREATE ON SCHEMA "{shop}" TO "{ROLE}";' in fix.fix


def test_no_create_on_the_database_gives_the_grant_and_says_up_grants_it(ssl_server):
    error = server_error(ssl_server.no_create_url, "CREATE SCHEMA stitch_new_source")
    assert "permission denied for database stitch" in str(error)
    fix = cause_of(error, "stitch_new_source", source="url")
    assert fix.cause == "privilege" and 'GRANT CREATE ON DATABASE "stitch" TO "stitch_loader";' in fix.fix
    assert "pulumi up (or the reconcile) grants it" in fix.fix
    # Stitch's own words for the same (loading-errors.yml, cannot-create-schema), with no server message.
    stitch = pg.load_error_cause("Encountered error while attempting to create new schema.", None, schema="x", role=ROLE, source="url")
    assert stitch.cause == "privilege" and "lacks CREATE on the database, so it cannot create schema x" in stitch.fix


def test_a_refused_password_is_a_rotation_stitch_has_not_got(ssl_server):
    settings = parse_database_url(ssl_server.no_create_url)
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(settings.conninfo(connect_timeout=5).replace(settings.password, "wrong-one"))
    text = str(raised.value)
    assert "password authentication failed" in text
    fix = pg.load_error_cause(text, None, schema="heroku_1", role=ROLE, source="heroku")
    assert fix.cause == "password"
    assert "a rotation Stitch has not got" in fix.fix and "the reconcile sends Stitch the stack's current credential" in fix.fix


def test_a_full_disk_is_the_plan_and_names_both_ways_out():
    # Stitch's reference (loading-errors.yml, no-space-on-device) quotes the server's words.
    words = 'ERROR: could not extend file "base/16389/t2_285302": No space left on device'
    heroku = pg.load_error_cause(words, "53100", schema="s", role=ROLE, source="heroku")
    assert heroku.cause == "storage" and "The PostgreSQL instance is full" in heroku.fix
    assert "pulumi config set plan essential-1" in heroku.fix and "or delete data" in heroku.fix
    url = pg.load_error_cause(words, None, schema="s", role=ROLE, source="url")
    assert url.cause == "storage" and "give the server more storage" in url.fix and "plan" not in url.fix


def test_too_many_connections_and_an_unknown_error_have_their_own_fixes():
    busy = pg.load_error_cause(f'FATAL: too many connections for role "{ROLE}"', "53300", schema="s", role=ROLE, source="heroku")
    assert busy.cause == "connections" and "close idle clients of this role" in busy.fix
    other = pg.load_error_cause("Field collision on id", None, schema="s", role=ROLE, source="url")
    assert other.cause == "other" and pg.LOADING_ERRORS_PAGE in other.fix


# -- attribution ----------------------------------------------------------------------------------


def a_load(source: str, stream: str = "orders", *, error: dict | None = None, at: str | None = "2026-11-28T10:00:00Z") -> dict:
    return {"stitch_client_id": CLIENT_ID, "source_name": source, "stream_name": stream,
            "last_batch_loaded_at": None if error else at, "error_state": error}  # fmt: skip


DENIED = load_error("Encountered error while loading", "ERROR: permission denied for table orders", sql_state="42501")


def view_of(loads, **kwargs):
    kwargs = {"client_id": CLIENT_ID, "schemas_here": None, "only_destination": True, "role": ROLE, "source": "heroku"} | kwargs
    return judge(loads, **kwargs)


def test_with_the_account_holding_only_our_destination_every_load_is_ours_even_without_its_schema():
    view = view_of([a_load("heroku_1", error=DENIED), a_load("brand_new", error=DENIED)])
    assert [(s.source, s.attributed) for s in view.sources] == [("brand_new", ONLY_DESTINATION), ("heroku_1", ONLY_DESTINATION)]
    assert len(view.failures) == 2 and view.other_loads == 0


def test_with_other_destinations_only_the_loads_into_our_schemas_count_and_never_anothers():
    loads = [a_load("heroku_1", error=DENIED), a_load("recurly", "accounts", error=DENIED), a_load("shopify")]
    view = view_of(loads, schemas_here={"heroku_1"}, only_destination=False)
    assert [(s.source, s.attributed) for s in view.sources] == [("heroku_1", BY_SCHEMA)]
    assert [f.source for f in view.failures] == ["heroku_1"] and view.other_loads == 2
    unknown = view_of(loads, schemas_here=None, only_destination=False)
    assert unknown.failures == [] and unknown.unattributed == 3, "schemas unknown: nothing is blamed on ours"


def test_a_load_of_another_account_is_never_ours():
    assert view_of([{**a_load("heroku_1", error=DENIED), "stitch_client_id": 1}]).failures == []


def test_a_failure_quotes_stitch_and_the_server_through_the_redaction_and_the_source_keeps_its_last_batch():
    error = load_error("establish a connection to your data warehouse (postgres://u9abc:hunter2-S3cret@db)",
                       'FATAL: password authentication failed for user "u9abc" (password hunter2-S3cret)', sql_state="28P01")  # fmt: skip
    view = view_of([a_load("heroku_1", "customers", error=error), a_load("heroku_1", "orders", at="2026-11-28T09:15:00Z"),
                    a_load("heroku_1", "items", at="2026-11-28T09:45:00Z")], secrets=["hunter2-S3cret"])  # fmt: skip
    (failure,) = view.failures
    assert (failure.source, failure.stream, failure.cause) == ("heroku_1", "customers", "password")
    assert failure.message == "establish a connection to your data warehouse (postgres://u9abc:[secret]@db)"
    assert "[secret]" in (failure.warehouse_message or "") and "hunter2" not in failure.what
    assert failure.what.startswith("Stitch's last load of heroku_1.customers failed (password): establish a connection")
    assert "the database said: FATAL: password authentication failed" in failure.what
    (source,) = view.sources
    assert (source.streams, source.failing, source.last_batch_loaded_at) == (3, 1, "2026-11-28T09:45:00Z")
    assert view.to_dict()["sources"][0]["last_batch_loaded_at"] == "2026-11-28T09:45:00Z"
    assert view.after_sending().failures[0].fix == PASSWORD_SENT_FIX


def test_a_source_quiet_for_longer_than_stitch_load_stale_hours_is_a_warning_not_a_failure():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    loads = [a_load("heroku_1", at="2026-11-27T10:00:00Z"), a_load("fresh", at="2026-11-28T11:00:00Z")]
    view = view_of(loads, stale_hours=24, now=now)
    assert not view.failing
    ((what, fix),) = view.stale
    assert "Stitch loaded nothing of source heroku_1 for 26.0 hours" in what and "stitch_load_stale_hours is 24" in what
    assert "raise stitch_load_stale_hours" in fix
    assert view_of(loads, stale_hours=30, now=now).stale == []


def test_schemas_are_looked_up_as_stitchs_role_on_the_real_server(ssl_server, shop):
    settings = parse_database_url(ssl_server.no_create_url)
    assert schemas_present(settings, [shop, "recurly"], connect_timeout=5) == {shop}
    wrong = parse_database_url(ssl_server.no_create_url.replace(settings.password, "nope"))
    assert schemas_present(wrong, [shop], connect_timeout=5) is None


def test_read_loads_asks_the_schemas_only_when_the_account_has_other_destinations(ssl_server, shop):
    settings = parse_database_url(ssl_server.no_create_url)
    with StitchServer(FakeStitch()) as stitch:
        ours = stitch.add_destination("ours", {"host": "h"})
        stitch.add_destination("the other team's", {"host": "h2"})
        stitch.add_load(shop, "orders", error=DENIED)
        stitch.add_load("recurly", "accounts", error=DENIED)
        client = StitchClient(stitch.token, base_url=stitch.url)
        listed = client.list_destinations()
        mine = next(d for d in listed if d["id"] == ours)
        view = read_loads(client, mine, listed, settings, connect_timeout=5, source="url")
        assert [f.source for f in view.failures] == [shop] and view.other_loads == 1
        alone = read_loads(client, mine, [mine], settings, connect_timeout=5, source="url")
        assert sorted(f.source for f in alone.failures) == sorted([shop, "recurly"])
        stitch.jobs_limit = 0
        refused = read_loads(client, mine, [mine], settings, connect_timeout=5, source="url")
        assert refused.read is False and "429" in (refused.error or "") and refused.warnings()


def test_the_cache_reads_an_accounts_loads_once_for_every_thread_and_keeps_a_429_without_asking_again():
    """A fleet's stacks run in threads and share an account: one walk of its pages, whoever asks; a refusal (the jobs
    endpoints' 30 requests per 10 minutes, stitchdata/docs _data/connect/rate-limits/jobs.yml) is not asked again."""
    from concurrent.futures import ThreadPoolExecutor

    from stitch_heroku.stitch_api import StitchApiError
    from stitch_heroku.stitch_loads import LoadsCache

    with StitchServer(FakeStitch()) as stitch:
        for n in range(150):
            stitch.add_load("heroku_1", f"stream_{n:03d}", loaded_at="2026-11-28T10:00:00Z")
        cache = LoadsCache()
        clients = [StitchClient(stitch.token, base_url=stitch.url) for _ in range(6)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda client: cache.list_loads(client, CLIENT_ID), clients))
        assert all(answer is answers[0] for answer in answers) and len(answers[0].loads) == 150
        assert [c for c in stitch.calls() if "/loads" in c] == [f"GET /v4/{CLIENT_ID}/loads", f"GET /v4/{CLIENT_ID}/loads?page=2"]
        assert cache.reads == 1

    with StitchServer(FakeStitch(jobs_limit=0)) as stitch:  # the account's budget is spent: every jobs request is a 429
        cache = LoadsCache()
        for _ in range(3):
            with pytest.raises(StitchApiError) as refused:
                cache.list_loads(StitchClient(stitch.token, base_url=stitch.url), CLIENT_ID)
            assert refused.value.status == 429 and "30 requests" in str(refused.value)
        assert [c for c in stitch.calls() if "/loads" in c] == [f"GET /v4/{CLIENT_ID}/loads"], "asked once, then kept"
