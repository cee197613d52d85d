"""The verification checks against real PostgreSQL servers: no mock of the database."""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from stitch_heroku.checks import POLL_SECONDS, VERIFICATION_TYPE, Expectation, verify
from stitch_heroku.connection import ConnectionSettings, InvalidDatabaseUrl, parse_database_url, redact

from devtools.local_postgres import free_port


def run(url: str, **kwargs):
    return verify(parse_database_url(url), **kwargs)


def by_name(report):
    return {check.name: check for check in report.checks}


def test_owner_credential_is_ready(ssl_server):
    report = run(ssl_server.owner_url)
    assert report.ready, report.render()
    assert [c.name for c in report.checks] == [
        "connect", "ssl", "server version", "create", "dry-run load", "catalogs", "least privilege", "connections",
        "write access", "capacity",
    ]  # fmt: skip
    assert "TLS" in by_name(report)["ssl"].detail, "the server, not the client, must report the encryption"
    assert "PostgreSQL 15." in by_name(report)["server version"].detail


def test_role_granted_create_is_ready(ssl_server):
    assert run(ssl_server.granted_url).ready


def test_role_without_create_fails_with_the_quoted_grant(ssl_server):
    report = run(ssl_server.no_create_url)
    checks = by_name(report)
    assert not report.ready
    assert checks["create"].status == "fail"
    assert 'GRANT CREATE ON DATABASE "stitch" TO "stitch_loader";' in checks["create"].fix
    assert checks["dry-run load"].status == "skip"
    assert "NOT READY: create failed." in report.render()


def test_server_without_ssl_fails_at_connect_with_the_ssl_fix(plain_server):
    report = run(plain_server.owner_url)
    (connect,) = report.checks
    assert connect.status == "fail" and "SSL" in connect.detail
    assert "does not offer SSL" in connect.fix and "Connect using SSL" in connect.fix


def test_wrong_password_fails_and_is_never_echoed(ssl_server):
    settings = parse_database_url(ssl_server.owner_url)
    wrong = settings.__class__(settings.host, settings.port, settings.username, "Wr0ng-S3cret-pw", settings.database)
    report = verify(wrong)
    assert by_name(report)["connect"].status == "fail"
    assert "password authentication failed" in report.checks[0].detail
    text = report.render() + str(report.to_dict())
    assert "Wr0ng-S3cret-pw" not in text
    assert "heroku config:get DATABASE_URL" in report.checks[0].fix and "pulumi up" in report.checks[0].fix


def test_nothing_listening_fails_with_the_wait_fix():
    report = run("postgres://u:p@127.0.0.1:1/db", connect_timeout=2)
    assert report.checks[0].status == "fail" and "Nothing answered at 127.0.0.1:1" in report.checks[0].fix
    assert report.attempts == 1, "without --wait there is one attempt"


class FakeClock:
    """Time that passes only when the code under test sleeps: the schedule, without timing anything."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_waiting_looks_again_every_poll_interval_until_the_deadline():
    time = FakeClock()
    report = run("postgres://u:p@127.0.0.1:1/db", connect_timeout=2, wait_seconds=4.5, clock=time.clock, sleep=time.sleep)
    assert time.sleeps == [POLL_SECONDS] * 4 + [0.5], "never a pause longer than the poll interval, and none past the deadline"
    assert report.attempts == 6, "the first attempt, then one look after every pause, the last one at the deadline"
    assert not report.ready and "Nothing answered" in report.checks[0].fix


def test_a_poll_interval_keeps_a_late_server_within_the_ready_goal():
    assert POLL_SECONDS <= 1.5, "a look each interval (plus a probe bounded by it) must keep 'ready' within 3 s"


def test_a_name_that_does_not_resolve_is_waited_out_with_its_own_fix():
    time = FakeClock()
    report = run("postgres://u:p@no-such-host.invalid:5432/db", connect_timeout=2, wait_seconds=2, clock=time.clock, sleep=time.sleep)
    connect = report.checks[0]
    assert connect.status == "fail" and "resolve" in connect.detail
    assert "no-such-host.invalid does not resolve (yet)" in connect.fix and "--wait" in connect.fix
    assert report.attempts == 3, "an unresolved name counts as 'not answering yet'"


class LateListener:
    """A TCP port that starts accepting only when told, then forwards to the real server.

    It plays a database that comes up while the verification waits: before `open()` nothing listens
    (connections are refused), after it every connection reaches the real PostgreSQL server.
    """

    def __init__(self, target_port: int):
        self.port = free_port()
        self.target_port = target_port
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_a_server_that_comes_up_while_waiting_is_seen_and_verified(ssl_server):
    real = parse_database_url(ssl_server.owner_url)
    late = LateListener(real.port)
    settings = ConnectionSettings(real.host, late.port, real.username, real.password, real.database)
    looks: list[float] = []

    def sleep(seconds: float) -> None:
        looks.append(seconds)
        if len(looks) == 2:  # the server starts listening during the second pause
            late.open()
        threading.Event().wait(seconds)

    try:
        report = verify(settings, connect_timeout=5, wait_seconds=60, sleep=sleep)
    finally:
        late.close()
    assert report.ready, report.render()
    assert report.attempts == 3, "seen at the first look after the server started listening"


def test_hidden_system_catalogs_fail_and_name_each_catalog(ssl_server):
    report = run(ssl_server.hidden_catalog_url)
    catalogs = by_name(report)["catalogs"]
    assert catalogs.status == "fail"
    for name in ("information_schema.tables", "pg_catalog.pg_namespace", "pg_catalog.pg_class"):
        assert name in catalogs.detail
    assert "permission denied" in catalogs.detail


def test_url_that_is_not_postgres_is_refused_before_connecting():
    with pytest.raises(InvalidDatabaseUrl, match='"mysql://"'):
        parse_database_url("mysql://root:pw@db/x")


CATALOG_SNAPSHOT = """
SELECT (SELECT array_agg(nspname ORDER BY nspname) FROM pg_namespace),
       (SELECT count(*) FROM pg_class),
       (SELECT datacl::text FROM pg_database WHERE datname = current_database())
"""


def test_a_run_leaves_the_catalog_as_it_found_it(ssl_server):
    with ssl_server.cluster.superuser("stitch") as conn:
        before = conn.execute(CATALOG_SNAPSHOT).fetchone()
        assert run(ssl_server.owner_url).ready
        after = conn.execute(CATALOG_SNAPSHOT).fetchone()
    assert before == after, "the dry-run load must leave no schema, table or privilege behind"


def test_low_connection_headroom_warns_but_stays_ready(ssl_server):
    settings = parse_database_url(ssl_server.granted_url)
    held = []
    try:
        for _ in range(13):  # max_connections 20, 3 reserved: leave fewer than 5 free
            held.append(psycopg.connect(settings.conninfo(connect_timeout=5)))
        report = verify(settings)
    finally:
        for conn in held:
            conn.close()
    connections = by_name(report)["connections"]
    assert connections.status == "warn", connections
    assert report.ready, "few connections left is a warning, not a failure"


def test_the_report_says_when_it_was_checked(ssl_server):
    before = datetime.now(UTC).replace(microsecond=0)
    report = run(ssl_server.owner_url)
    checked = report.to_dict()["checked_at"]
    assert checked.endswith("Z"), checked
    assert datetime.fromisoformat(checked) >= before
    assert report.render().splitlines()[0].endswith(f"(checked {checked})")


# Redaction: the password goes wherever it could appear, and nothing else goes with it.


def test_a_short_password_does_not_eat_the_servers_words():
    report = run("postgres://u:p@127.0.0.1:1/db", connect_timeout=2)
    assert "port 1 failed" in report.checks[0].detail, report.checks[0].detail
    assert "*" not in report.checks[0].detail


def test_a_password_that_is_also_the_database_name_leaves_the_name_readable(ssl_server):
    with ssl_server.cluster.superuser() as conn:
        conn.execute("DROP ROLE IF EXISTS warehouse_loader")
        conn.execute("CREATE ROLE warehouse_loader LOGIN PASSWORD 'warehouse'")
    report = run(ssl_server.cluster.url("warehouse_loader", "warehouse", "warehouse"))
    assert 'database "warehouse" does not exist' in report.checks[0].detail, report.checks[0].detail
    assert "database name is wrong" in report.checks[0].fix


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        (
            'missing "=" after "postgres://loader:s3cr3t@db/x" in connection info string',
            None,
            'missing "=" after "postgres://loader:[secret]@db/x" in connection info string',
        ),
        ("invalid option: host=db password='a b\\'c' dbname=x", None, "invalid option: host=db password=[secret] dbname=x"),
        ("password=hunter2 user=x", None, "password=[secret] user=x"),
        ('unexpected value "Xy7-long-s3cret"', "Xy7-long-s3cret", 'unexpected value "[secret]"'),
        ("connection to server at 127.0.0.1, port 1 failed", "p", "connection to server at 127.0.0.1, port 1 failed"),
        ('database "postgres" does not exist', "postgres", 'database "[secret]" does not exist'),
    ],
)
def test_redaction_finds_passwords_in_urls_conninfo_and_whole_tokens(text, secret, expected):
    assert redact(text, secret) == expected


def test_redaction_spares_values_that_are_shown_anyway():
    assert redact('database "postgres" does not exist', "postgres", public=("u", "postgres")) == 'database "postgres" does not exist'


def test_a_password_with_a_bracket_is_a_valid_url():
    settings = parse_database_url("postgres://loader:p[a]ss@db.example.com:5432/stitch")
    assert (settings.password, settings.host) == ("p[a]ss", "db.example.com")


# Connection limits: the server's, the role's (how Heroku's Essential plans cap) and the database's.


def _limited(cluster, role: str, *, role_limit: int = -1, database: str = "stitch") -> str:
    with cluster.superuser() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT {}").format(
            sql.Identifier(role), sql.Literal(role_limit)))  # fmt: skip
    with cluster.superuser(database) as conn:
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role)))
    return cluster.url(role, "limited-pw", database)


@contextlib.contextmanager
def _holding(url: str, count: int):
    """count sessions of url held open for the block, as other clients of the database would be."""
    settings = parse_database_url(url)
    with contextlib.ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(psycopg.connect(settings.conninfo(connect_timeout=5)))
        yield


def test_the_roles_connection_limit_is_the_headroom_that_counts(ssl_server):
    url = _limited(ssl_server.cluster, "capped_loader", role_limit=6)
    with _holding(url, 3):
        report = run(url)
    connections = by_name(report)["connections"]
    assert connections.status == "warn", connections
    assert connections.detail == '2 of 6 connections free for role "capped_loader" (its connection limit; 4 in use)'
    assert "Essential plans cap connections per role" in connections.fix
    assert report.ready, "few connections left is a warning, not a failure"


def test_a_role_at_its_limit_cannot_connect_and_gets_its_own_fix(ssl_server):
    url = _limited(ssl_server.cluster, "full_loader", role_limit=2)
    with _holding(url, 2):
        report = run(url)
    connect = report.checks[0]
    assert connect.status == "fail" and 'too many connections for role "full_loader"' in connect.detail
    assert 'Every connection role "full_loader" may hold is in use' in connect.fix
    assert report.attempts == 1, "a server that answers and refuses is not waited for"


def test_the_databases_connection_limit_is_counted_across_roles(ssl_server):
    cluster = ssl_server.cluster
    with cluster.superuser() as conn:
        conn.execute("DROP DATABASE IF EXISTS capped WITH (FORCE)")
        conn.execute("CREATE DATABASE capped OWNER heroku_owner CONNECTION LIMIT 7")
    url = _limited(cluster, "capped_db_loader", database="capped")
    owner = parse_database_url(ssl_server.owner_url)
    with _holding(cluster.url(owner.username, owner.password, "capped"), 3):
        report = run(url)
    connections = by_name(report)["connections"]
    assert connections.detail == '3 of 7 connections free in database "capped" (its connection limit; 4 in use)'
    assert 'ALTER DATABASE "capped" CONNECTION LIMIT' in connections.fix


def test_the_expectation_is_read_from_the_verification_the_state_holds():
    """The reconcile and verify --stack judge least privilege with what the stack's Verification judged with."""
    verification = {"type": VERIFICATION_TYPE, "inputs": {"stitch_credential": "owner"},
                    "outputs": {"stitch_credential": "dedicated", "owner_reason": None}}  # fmt: skip
    other = {"type": "pulumi-python:dynamic/stitch:SourceGuard", "outputs": {"stitch_credential": "owner"}}
    assert Expectation.in_state({"resources": [other, verification]}) == Expectation("dedicated", None)
    assert Expectation.in_state({"resources": [other]}) == Expectation(), "no Verification: the lenient judgement"
    older = {"type": VERIFICATION_TYPE, "inputs": {"stitch_credential": "owner", "owner_reason": "one credential"}, "outputs": {}}
    assert Expectation.in_state({"resources": [older]}) == Expectation("owner", "one credential")
