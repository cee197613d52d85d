"""The checks that prove Stitch will connect and load, run over one SSL connection.

Each check uses the database the way Stitch will; a failure carries the server's own words and
the fix. Used by the `verify` CLI and by the Verification resource inside `pulumi up`.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from . import capacity as cap
from . import postgres_sql as pg
from .config import PROGRAM_TERMS, Terms
from .connection import ConnectionSettings, redact
from .up_command import pulumi_up

Status = Literal["pass", "warn", "fail", "skip"]

# Warn when fewer free connection slots than this remain: Stitch holds a few while it loads.
HEADROOM_WARNING = 5

# While waiting for a server that does not answer yet, look again this often. An attempt is cheap
# (a refused TCP connect costs microseconds), and this bounds how late a server that comes up is
# seen: within about one interval, however long the wait has already lasted.
POLL_SECONDS = 1.0


def utc_now() -> str:
    """The current time as UTC ISO 8601, to the second: when a report was made."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    checked_at: str = field(default_factory=utc_now)
    """When the database was checked (UTC, ISO 8601): an exported report may be old."""
    capacity: dict[str, object] | None = None
    """The database's size and tables against its limits (components/capacity.py); None when not measured."""

    @property
    def ready(self) -> bool:
        # A skip is a check that could not apply (no known storage limit; a load without CREATE, which fails itself).
        return bool(self.checks) and all(c.status in ("pass", "warn", "skip") for c in self.checks)

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "ready": self.ready,
            "checked_at": self.checked_at,
            "attempts": self.attempts,
            "checks": [{k: v for k, v in asdict(c).items() if v is not None} for c in self.checks],
            "capacity": self.capacity,
        }

    def render(self) -> str:
        """The checklist for people: one line a check, the fixes, then the verdict."""
        marks = {"pass": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
        lines = [f"Stitch destination check: {self.target} (checked {self.checked_at})"]
        lines += [f"  [{marks[c.status]}] {c.name:<15} {c.detail}" for c in self.checks]
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


def verify(
    settings: ConnectionSettings,
    *,
    connect_timeout: int = 10,
    wait_seconds: float = 0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    source: str | None = None,
    credential: str | None = None,
    owner_reason: str | None = None,
    limits: cap.CapacityLimits | None = None,
    samples: Sequence[Mapping[str, object]] = (),
    terms: Terms = PROGRAM_TERMS,
) -> Report:
    """Run every check; while the server does not answer, look again every POLL_SECONDS for wait_seconds.

    Only a server that does not answer is waited for: one that answers and refuses (no CREATE, bad
    password) will not change its mind by waiting. Between full attempts a bare TCP connect, bounded
    by the poll interval, tells whether anything listens yet, so an address that swallows packets
    cannot hold a look for a whole connect_timeout. clock and sleep are replaceable for tests. source is
    the stack's `source`, so that fix texts name the command for it (None from the CLI). credential is the
    stack's `stitch_credential` (None: the user's own, or the CLI) and owner_reason why the owner's
    credential is used, for the least-privilege check. limits are the database's storage and table limits and
    samples the measurements an earlier run kept, for the capacity check (components/capacity.py). terms: how the
    fixes name a setting, this program's config key or a Destination's input (config.terms_of).
    """
    privilege = Expectation(credential, owner_reason)
    measure = Capacity(limits, tuple(samples))
    deadline = clock() + max(wait_seconds, 0)
    report = verify_once(settings, connect_timeout, source, privilege, measure, terms)
    attempts = 1
    while _not_answering(report) and (now := clock()) < deadline:
        sleep(min(POLL_SECONDS, deadline - now))
        attempts += 1
        if _listening(settings.host, settings.port, timeout=POLL_SECONDS):
            report = verify_once(settings, connect_timeout, source, privilege, measure, terms)
    report.attempts = attempts
    report.checked_at = utc_now()
    return report


def _not_answering(report: Report) -> bool:
    first = report.checks[0]
    return first.name == "connect" and first.status == "fail" and pg.is_not_answering(first.detail)


def _listening(host: str, port: int, *, timeout: float) -> bool:
    """Whether a TCP connect to host:port succeeds now.

    A Unix socket directory or a list of hosts is left to libpq: the answer is always "try".
    """
    if host.startswith("/") or "," in host:
        return True
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, ValueError):  # refused, unreachable, timed out, not resolved; ValueError: a NUL in the name
        return False


@dataclass(frozen=True)
class Expectation:
    """What the stack chose for Stitch's credential, so the least-privilege check knows how strict to be."""

    credential: str | None = None
    """`dedicated`, `owner`, or None (the user's own credential, or the CLI)."""
    owner_reason: str | None = None
    """Why the owner's credential is used (e.g. a plan with one credential), shown in the warn."""

    @classmethod
    def of(cls, recorded: Mapping[str, Any]) -> Expectation:
        """From the Verification resource's inputs (or the outputs it recorded, which repeat them)."""
        return cls(recorded.get("stitch_credential"), recorded.get("owner_reason"))

    @classmethod
    def in_state(cls, deployment: Mapping[str, Any]) -> Expectation:
        """What the stack's Verification last judged with, from a `pulumi stack export` deployment.

        The program decides whose credential Stitch gets (for Heroku it asks Heroku for the plan) and hands
        it to the Verification; the reconcile and `verify --stack` read that decision back from the state
        rather than decide again, so all three judge least privilege alike. Its outputs are what the last
        check ran with; a state without a Verification (or from before it kept the kind) gives None, the
        lenient judgement of a credential the user named."""
        for resource in deployment.get("resources") or []:
            if resource.get("type") == VERIFICATION_TYPE:
                return cls.of({**(resource.get("inputs") or {}), **(resource.get("outputs") or {})})
        return cls()


# The Verification's type token in the state (components/verification.py: module stitch, name Verification).
VERIFICATION_TYPE = "pulumi-python:dynamic/stitch:Verification"


@dataclass(frozen=True)
class Capacity:
    """What the capacity check measures against: the limits, and the measurements an earlier run kept."""

    limits: cap.CapacityLimits | None = None
    samples: tuple[Mapping[str, object], ...] = ()


def verify_once(
    settings: ConnectionSettings,
    connect_timeout: int,
    source: str | None = None,
    privilege: Expectation | None = None,
    capacity: Capacity | None = None,
    terms: Terms = PROGRAM_TERMS,
) -> Report:
    """One attempt: connect, then run every check over that one connection."""
    report = Report(target=settings.describe())
    started = time.perf_counter()
    try:
        conn = psycopg.connect(
            settings.conninfo(connect_timeout=connect_timeout, application_name="stitch-heroku-verify"),
            autocommit=True,
        )
    except (psycopg.Error, OSError, ValueError) as error:  # libpq's errors, and a host name Python cannot look up
        message = _server_words(error, settings)
        report.checks.append(
            CheckResult(
                "connect",
                "fail",
                f"could not connect to {settings.host}:{settings.port}: {message}",
                pg.connect_error_fix(
                    message,
                    f"{settings.host}:{settings.port}",
                    host=settings.host,
                    role=settings.username,
                    database=settings.database,
                    source=source,
                    credential=privilege.credential if privilege else None,
                    terms=terms,
                ),
            )
        )
        return report
    with conn:
        elapsed = (time.perf_counter() - started) * 1000
        report.checks.append(CheckResult("connect", "pass", f"authenticated as {settings.username} in {elapsed:.0f} ms"))
        try:
            report.checks += _run_checks(conn, privilege or Expectation(), terms)
            report.checks, report.capacity = _capacity(conn, report.checks, capacity or Capacity(), terms)
        except psycopg.OperationalError as error:  # the server went away mid-check (restart, failover)
            report.checks.append(
                CheckResult(
                    "session",
                    "fail",
                    f"the connection broke during the checks: {_server_words(error, settings)}",
                    f"Run the check again; if it keeps breaking, see {pg.HEROKU_STATUS_PAGE} and `heroku pg:info`.",
                )
            )
    return report


@dataclass(frozen=True)
class ConnectionLimits:
    """The connection slots the server enforces for this login: server-wide, per role, per database."""

    max_connections: int
    reserved: int
    in_use: int
    role: str
    role_is_superuser: bool
    role_limit: int
    role_in_use: int
    database: str
    database_limit: int
    database_in_use: int


def _run_checks(conn: psycopg.Connection, privilege: Expectation, terms: Terms = PROGRAM_TERMS) -> list[CheckResult]:
    try:
        facts = conn.cursor(row_factory=dict_row).execute(pg.facts_query(conn.info.server_version)).fetchone()
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        return [
            CheckResult(
                "catalogs",
                "fail",
                "cannot read the server's own views (pg_stat_ssl, pg_stat_activity, pg_roles, pg_database, pg_auth_members, "
                f"pg_shdepend): {_server_words(error)}",
                "Stitch reads the system catalogs; restore PUBLIC's default SELECT on them (ask Heroku support if it is gone).",
            )
        ]
    assert facts is not None  # pg_stat_ssl always has a row for this backend
    limits = ConnectionLimits(
        max_connections=facts["max_connections"],
        reserved=facts["reserved_connections"],
        in_use=facts["in_use"],
        role=facts["login_role"],
        role_is_superuser=facts["login_role_is_superuser"],
        role_limit=facts["role_limit"],
        role_in_use=facts["role_in_use"],
        database=facts["database"],
        database_limit=facts["database_limit"],
        database_in_use=facts["database_in_use"],
    )
    return [
        _ssl_check(facts["ssl"], facts["ssl_version"], facts["ssl_cipher"]),
        _version_check(conn.info.server_version),
        _create_check(facts["can_create"], facts["database"], facts["username"]),
        _load_check(conn, facts["can_create"], facts["can_temp"]),
        _catalog_check(conn),
        least_privilege_check(conn, privilege, facts, terms),
        headroom_check(limits),
        write_access_check(conn),
    ]


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
        f"As the database owner, run: {pg.grant_create_text(database, user)} (or {pulumi_up()}, which grants it)",
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
    try:  # one statement in autocommit: no BEGIN and COMMIT round trips around it
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


def least_privilege_check(
    conn: psycopg.Connection, privilege: Expectation, facts: Mapping[str, Any], terms: Terms = PROGRAM_TERMS
) -> CheckResult:
    """Stitch, a third party, should hold no more than loading needs, judged by what the server allows: not the
    owner, no role it may use (inherited, or through SET ROLE) that is the owner, a built-in role with a power, a
    role with an attribute or one that owns objects; no role attribute that reaches beyond the database; no
    privilege on objects outside its own.

    facts: the FACTS row (the login's attributes and the roles it may use). A role this stack made for Stitch
    (`dedicated`) that holds more is a failure: something changed it. The owner's credential (`owner`) is a warn
    with the reason it is used; so is a credential the user named (stitch_url, stitch_config_var) that holds more,
    since the user chose it. Object privileges that cannot be read (hidden catalogs) are a failure naming the
    server's words: the check cannot vouch for what it cannot see.
    """
    role, owner = facts["login_role"], facts["owner"]
    powers = [text for column, text in pg.ROLE_POWERS.items() if facts[column]]
    owner_via: list[str] = next((m["via"] for m in facts["memberships"] if m["owner"]), [])
    memberships = [(m, words) for m in facts["memberships"] if not m["owner"] and (words := pg.membership_words(m))]
    excess = []
    if facts["is_owner"]:
        excess.append(f'is the database owner "{owner}" (it may read, change and drop every table, the app\'s too)')
    elif owner_via:
        through = [v for v in owner_via if v != owner]
        excess.append(
            f'is a member of the database owner "{owner}"'
            + (f" through {', '.join(pg.role_name_text(v) for v in through)}" if through else "")
            + " (it may act with all the owner's rights)"
        )
    if powers:
        excess.append("has " + ", ".join(powers))
    excess += [words for _, words in memberships]
    try:
        held = [] if facts["is_owner"] or owner_via else object_privileges(conn, facts["memberships"])
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        return CheckResult(
            "least privilege",
            "fail",
            f"cannot read what {role} may do to tables and schemas (pg_namespace, pg_class, pg_attribute): {_server_words(error)}",
            "Restore PUBLIC's default SELECT on the system catalogs (Stitch reads them too; ask Heroku support if it "
            "is gone), then check again.",
        )
    if held:
        excess.append(pg.object_privilege_words(held))
    if not excess:
        return CheckResult(
            "least privilege",
            "pass",
            f"{role} is not the database owner ({owner}) nor a member of it, has no SUPERUSER, CREATEROLE, CREATEDB, "
            "REPLICATION or BYPASSRLS, is a member of no role that gives more (built-in roles such as pg_read_all_data "
            "included, through SET ROLE too), and has no privilege on tables or schemas outside its own",
        )
    membership_revokes = [pg.revoke_membership_text(via, role) for via in owner_via]
    membership_revokes += [pg.revoke_membership_text(via, role) for m, _ in memberships for via in m["via"]]
    revokes = " ".join(dict.fromkeys(membership_revokes + pg.object_privilege_revokes(role, held)))
    detail = f"{role} " + "; ".join(excess)
    if privilege.credential == "owner":
        reason = privilege.owner_reason or "the stack is set to give Stitch the owner's credential (stitch_credential owner)"
        return CheckResult(
            "least privilege",
            "warn",
            f"{detail}: Stitch uses the owner's credential because {reason}",
            f"Give Stitch a credential of its own where the source allows it: {terms.remove('stitch_credential')} "
            f"(source url: a role this stack makes), or a role made by hand: {terms.set('stitch_url', secret=True)}.",
        )
    if privilege.credential == "dedicated":
        alter = (
            [f"ALTER ROLE {pg.quote_identifier(role)} NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;"]
            if powers
            else []
        )
        return CheckResult(
            "least privilege",
            "fail",
            f"{detail}, but it is the role this stack made for Stitch",
            "Take the extra rights away as a superuser or the owner: " + " ".join(alter + ([revokes] if revokes else [])),
        )
    return CheckResult(
        "least privilege",
        "warn",
        f"{detail}: Stitch, a third party, would hold more than loading needs",
        "Give Stitch a role with only CONNECT, CREATE and TEMPORARY on the database (docs/least-privilege.md)"
        + (f", or as a superuser or the owner: {revokes}" if revokes else "."),
    )


def object_privileges(conn: psycopg.Connection, memberships: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Privileges the session's role holds on tables and schemas outside its own (pg.OBJECT_PRIVILEGES_QUERY), each
    with `via`: the login's direct memberships that lead to the grantee, for the REVOKE."""
    usable = {m["role"]: m for m in memberships}
    params = {"table_privileges": list(pg.TABLE_PRIVILEGES), "usable": [m["oid"] for m in memberships]}
    rows = conn.cursor(row_factory=dict_row).execute(pg.OBJECT_PRIVILEGES_QUERY, params).fetchall()
    return [{**row, "via": usable[row["grantee"]]["via"] if row["grantee"] in usable else None} for row in rows]


def headroom_check(limits: ConnectionLimits) -> CheckResult:
    """Free connection slots under the tightest limit: the server's, the role's or the database's.

    The server keeps its reserved slots for superusers; a role's or database's CONNECTION LIMIT
    (-1: none) binds everyone but superusers. The limit with the fewest free slots is reported.
    """
    total = limits.max_connections - limits.reserved
    candidates = [(total - limits.in_use, f"{max(total - limits.in_use, 0)} of {total} connections free ({limits.in_use} in use)",
                   pg.SERVER_LIMIT_FIX)]  # fmt: skip
    if not limits.role_is_superuser:
        if limits.role_limit >= 0:
            free = limits.role_limit - limits.role_in_use
            detail = (f'{max(free, 0)} of {limits.role_limit} connections free for role "{limits.role}" '
                      f"(its connection limit; {limits.role_in_use} in use)")  # fmt: skip
            candidates.append((free, detail, pg.role_limit_fix(limits.role, limits.role_limit)))
        if limits.database_limit >= 0:
            free = limits.database_limit - limits.database_in_use
            detail = (f'{max(free, 0)} of {limits.database_limit} connections free in database "{limits.database}" '
                      f"(its connection limit; {limits.database_in_use} in use)")  # fmt: skip
            candidates.append((free, detail, pg.database_limit_fix(limits.database, limits.database_limit)))
    free, detail, fix = min(candidates, key=lambda candidate: candidate[0])
    if free >= HEADROOM_WARNING:
        return CheckResult("connections", "pass", detail)
    return CheckResult("connections", "warn", detail, fix)


def write_access_check(conn: psycopg.Connection) -> CheckResult:
    """Stitch upserts into the tables it loaded before: it needs INSERT, UPDATE and DELETE on each of them, and
    USAGE on their schema. A dry-run load only proves that new objects can be made; this reads the privileges
    of what exists (has_table_privilege), as Stitch's role, and names each table that lacks one."""
    try:  # one statement in autocommit: no BEGIN and COMMIT round trips around it
        rows = conn.cursor(row_factory=dict_row).execute(pg.WRITE_ACCESS_QUERY).fetchall()
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:  # the catalogs are hidden: the catalogs check names which
        return CheckResult("write access", "skip", f"cannot read the catalogs to find Stitch's tables: {_server_words(error)}")
    if not rows:
        return CheckResult("write access", "pass", "no tables loaded by Stitch yet (none with _sdc_ columns in Stitch's schemas)")
    role, total, schemas = rows[0]["role"], rows[0]["tables"], rows[0]["schemas"]
    lacking = []
    for row in rows:
        missing = [p for p in pg.TABLE_WRITE_PRIVILEGES if not row[p.lower()]]
        if not row["usage"]:
            missing.insert(0, "USAGE on the schema")
        if missing:
            lacking.append((row, missing))
    if not lacking:
        return CheckResult(
            "write access", "pass", f"{role} may INSERT, UPDATE and DELETE in all {total} tables of Stitch's {schemas} schema(s)"
        )
    shown = "; ".join(f"{row['schema']}.{row['table']} lacks {', '.join(missing)}" for row, missing in lacking[:5])
    more = f" (and {len(lacking) - 5} more tables)" if len(lacking) > 5 else ""
    row, missing = lacking[0]
    fixes = [pg.grant_write_text(row["schema"], row["table"], role, [p for p in missing if p in pg.TABLE_WRITE_PRIVILEGES])]
    if not row["usage"] or len(lacking) > 1:
        fixes = [pg.grant_schema_write_text(s, role) for s in dict.fromkeys(r["schema"] for r, _ in lacking)]
    return CheckResult(
        "write access",
        "fail",
        f"{role} cannot load into {len(lacking)} of {total} tables Stitch loaded before: {shown}{more}; "
        'Stitch\'s next load into them fails with "permission denied"',
        f'As the tables\' owner ("{row["table_owner"]}") or a superuser, run: {" ".join(fixes)}',
    )


def _capacity(
    conn: psycopg.Connection, checks: list[CheckResult], capacity: Capacity, terms: Terms = PROGRAM_TERMS
) -> tuple[list[CheckResult], dict[str, object] | None]:
    """The capacity check, last; and, on a Heroku plan over its limit, the privilege checks named as Heroku's
    enforcement, with the ways out instead of a GRANT (components/capacity.py)."""
    try:
        usage = cap.measure(conn)
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        return [*checks, CheckResult("capacity", "warn", f"could not measure the database's size: {_server_words(error)}")], None
    found = cap.assess(usage, capacity.limits, capacity.samples, terms=terms)
    checked = cap.recognise_enforcement(checks, found, capacity.limits, terms)
    return [*checked, CheckResult("capacity", found.status, found.detail, found.fix)], found.data


def _server_words(error: BaseException, settings: ConnectionSettings | None = None) -> str:
    """The server's own message, one line, with the password redacted where it can appear."""
    diag = getattr(error, "diag", None)
    message = (diag.message_primary if diag is not None and diag.message_primary else str(error)) or type(error).__name__
    message = " ".join(message.split())
    if settings is None:
        return redact(message)
    return redact(message, settings.password, public=(settings.username, settings.database, settings.host))
