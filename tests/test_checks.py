"""The verification checks against real PostgreSQL servers: no mock of the database."""

from __future__ import annotations

import time

import psycopg
import pytest

from components.checks import verify
from components.connection import InvalidDatabaseUrl, parse_database_url


def run(url: str, **kwargs):
    return verify(parse_database_url(url), **kwargs)


def by_name(report):
    return {check.name: check for check in report.checks}


def test_owner_credential_is_ready(ssl_server):
    report = run(ssl_server.owner_url)
    assert report.ready, report.render()
    assert [c.name for c in report.checks] == ["connect", "ssl", "server version", "create", "dry-run load", "catalogs", "connections"]
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
    assert "pulumi refresh" in report.checks[0].fix


def test_nothing_listening_fails_within_the_bound():
    started = time.monotonic()
    report = run("postgres://u:p@127.0.0.1:1/db", connect_timeout=2)
    assert time.monotonic() - started < 5
    assert report.checks[0].status == "fail" and "Nothing answered at 127.0.0.1:1" in report.checks[0].fix


def test_wait_retries_with_backoff_then_gives_up_within_the_bound():
    started = time.monotonic()
    report = run("postgres://u:p@127.0.0.1:1/db", connect_timeout=1, wait_seconds=3.5)
    elapsed = time.monotonic() - started
    assert report.attempts >= 2, "the connection must be retried while waiting"
    assert elapsed < 3.5 + 2, f"waited {elapsed:.1f}s, beyond the 3.5s bound"


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
