"""The checks that prove Stitch will connect and load, run over one SSL connection.

Each check uses the database the way Stitch will; a failure carries the server's own words and
the fix. Used by the `verify` CLI and by the Verification resource inside `pulumi up`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Literal

import psycopg

from components import postgres_sql as pg
from components.connection import ConnectionSettings

Status = Literal["pass", "warn", "fail", "skip"]

# Warn when fewer free connection slots than this remain: Stitch holds a few while it loads.
HEADROOM_WARNING = 5


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Report:
    """The outcome of one verification; holds no secret, so it may be printed and exported."""

    target: str
    checks: list[CheckResult] = field(default_factory=list)
    attempts: int = 1

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.status in ("pass", "warn") for c in self.checks)

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "ready": self.ready,
            "attempts": self.attempts,
            "checks": [{k: v for k, v in asdict(c).items() if v is not None} for c in self.checks],
        }

    def render(self) -> str:
        """The checklist for people: one line a check, the fixes, then the verdict."""
        marks = {"pass": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
        lines = [f"Stitch destination check: {self.target}"]
        lines += [f"  [{marks[c.status]}] {c.name:<14} {c.detail}" for c in self.checks]
        fixes = [c for c in self.checks if c.fix and c.status in ("fail", "warn")]
        if fixes:
            lines.append("")
            lines += [f"  fix {c.name}: {c.fix}" for c in fixes]
        lines.append("")
        if self.ready:
            lines.append("READY: Stitch will connect and load with these settings (SSL on).")
        else:
            names = ", ".join(c.name for c in self.failed())
            lines.append(f"NOT READY: {names} failed.")
        return "\n".join(lines)


def verify(settings: ConnectionSettings, *, connect_timeout: int = 10, wait_seconds: float = 0) -> Report:
    """Run every check; while the server does not answer, retry with backoff for wait_seconds.

    Only a failed connection is retried: a database that answers and refuses (no CREATE, bad
    password) will not change its mind by waiting.
    """
    deadline = time.monotonic() + max(wait_seconds, 0)
    delay = 1.0
    attempts = 0
    while True:
        attempts += 1
        report = _verify_once(settings, connect_timeout)
        report.attempts = attempts
        first = report.checks[0]
        retryable = first.name == "connect" and first.status == "fail" and pg.is_not_answering(first.detail)
        if not retryable or time.monotonic() + delay > deadline:
            return report
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def _verify_once(settings: ConnectionSettings, connect_timeout: int) -> Report:
    report = Report(target=settings.describe())
    started = time.perf_counter()
    try:
        conn = psycopg.connect(
            settings.conninfo(connect_timeout=connect_timeout, application_name="stitch-heroku-verify"),
            autocommit=True,
        )
    except psycopg.Error as error:
        message = _server_words(error, settings.password)
        report.checks.append(
            CheckResult(
                "connect",
                "fail",
                f"could not connect to {settings.host}:{settings.port}: {message}",
                pg.connect_error_fix(message, f"{settings.host}:{settings.port}"),
            )
        )
        return report
    with conn:
        elapsed = (time.perf_counter() - started) * 1000
        report.checks.append(CheckResult("connect", "pass", f"authenticated as {settings.username} in {elapsed:.0f} ms"))
        report.checks += _run_checks(conn)
    return report


def _run_checks(conn: psycopg.Connection) -> list[CheckResult]:
    facts = conn.execute(pg.FACTS_QUERY).fetchone()
    assert facts is not None  # pg_stat_ssl always has a row for this backend
    (ssl, ssl_version, cipher, user, database, can_create, can_temp, max_conn, reserved, in_use) = facts
    results = [_ssl_check(ssl, ssl_version, cipher), _version_check(conn.info.server_version)]
    results.append(_create_check(can_create, database, user))
    results.append(_load_check(conn, can_create, can_temp))
    results.append(_catalog_check(conn))
    results.append(_headroom_check(max_conn, reserved, in_use))
    return results


def _ssl_check(ssl: bool, version: str | None, cipher: str | None) -> CheckResult:
    if ssl:
        return CheckResult("ssl", "pass", f"the server reports this session encrypted: {version} ({cipher})")
    return CheckResult(
        "ssl",
        "fail",
        "the server reports this session as unencrypted",
        'Heroku requires SSL: turn on "Connect using SSL" in Stitch, and SSL on the server.',
    )


def _version_check(version_num: int) -> CheckResult:
    shown = f"{version_num // 10000}.{version_num % 10000}" if version_num >= 100000 else str(version_num)
    if version_num >= pg.MINIMUM_SERVER_VERSION:
        return CheckResult("server version", "pass", f"PostgreSQL {shown} (Stitch needs 9.3 or newer)")
    return CheckResult(
        "server version",
        "fail",
        f"PostgreSQL {shown} is older than 9.3, Stitch's minimum",
        "Upgrade the database (heroku pg:upgrade) to a supported version.",
    )


def _create_check(can_create: bool, database: str, user: str) -> CheckResult:
    if can_create:
        return CheckResult("create", "pass", f'{user} has CREATE on database "{database}"')
    return CheckResult(
        "create",
        "fail",
        f'{user} lacks CREATE on database "{database}", so Stitch cannot run CREATE SCHEMA IF NOT EXISTS',
        f"As the database owner, run: {pg.grant_create_text(database, user)} (or `pulumi up`, which grants it)",
    )


def _load_check(conn: psycopg.Connection, can_create: bool, can_temp: bool) -> CheckResult:
    if not can_create:
        return CheckResult("dry-run load", "skip", "needs CREATE on the database")
    schema = f"stitch_probe_{secrets.token_hex(4)}"
    try:
        with conn.transaction(force_rollback=True):
            # Pipelined: the statements go out together instead of one round trip each.
            with conn.pipeline():
                for statement in pg.dry_run_load_statements(schema):
                    conn.execute(statement)
            with conn.cursor() as cursor:
                with cursor.copy(pg.copy_statement(schema)) as copy:
                    for row in ((1, "alpha", None), (2, "beta", None), (3, "gamma", None)):
                        copy.write_row(row)
                loaded = cursor.rowcount
    except psycopg.Error as error:
        hint = "" if can_temp else " (the user also lacks TEMPORARY on the database)"
        return CheckResult(
            "dry-run load",
            "fail",
            f"{_server_words(error)}{hint}",
            "Stitch needs CREATE and TEMPORARY on the database and ownership of what it creates; "
            "check the database's privileges with \\l in psql.",
        )
    return CheckResult(
        "dry-run load",
        "pass",
        f"schema, table, COPY of {loaded} rows, ALTER, COMMENT and temp table all worked; rolled back",
    )


def _catalog_check(conn: psycopg.Connection) -> CheckResult:
    try:
        with conn.transaction():
            conn.execute(pg.ALL_CATALOGS_QUERY).fetchall()
        return CheckResult("catalogs", "pass", "information_schema and pg_catalog are readable")
    except psycopg.Error:
        pass  # find out which ones, below
    denied = []
    for name, query in pg.CATALOG_QUERIES.items():
        try:
            with conn.transaction():
                conn.execute(query).fetchall()
        except psycopg.Error as error:
            denied.append(f"{name} ({_server_words(error)})")
    return CheckResult(
        "catalogs",
        "fail",
        "cannot read " + "; ".join(denied),
        "Stitch reads these to see schemas, tables and columns; restore PUBLIC's default SELECT on "
        "them (Heroku grants it by default: ask Heroku support if it is gone).",
    )


def _headroom_check(max_connections: int, reserved: int, in_use: int) -> CheckResult:
    free = max_connections - reserved - in_use
    detail = f"{free} of {max_connections - reserved} connections free ({in_use} in use)"
    if free >= HEADROOM_WARNING:
        return CheckResult("connections", "pass", detail)
    return CheckResult(
        "connections",
        "warn",
        detail,
        "Stitch needs a few connections while it loads: close idle clients or choose a larger plan.",
    )


def _server_words(error: psycopg.Error, password: str | None = None) -> str:
    """The server's own message, one line, with the password scrubbed if libpq echoed it."""
    diag = getattr(error, "diag", None)
    message = (diag.message_primary if diag is not None and diag.message_primary else str(error)) or type(error).__name__
    message = " ".join(message.split())
    if password:
        message = message.replace(password, "********")
    return message
