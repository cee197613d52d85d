"""The database's capacity against its limits, and Heroku's enforcement recognised rather than fought.

An ETL destination only grows. Over its plan's storage, Heroku restricts the database (Dev Center, "Heroku
Postgres Over Plan Capacity": `Over Plan Capacity: Action Required`, then `Access Restricted`, read, DELETE
and TRUNCATE only; Advanced plans lose CREATE and INSERT after 7 days, returned once usage drops). So the
verification measures the size and the tables, warns at 80%, fails at 100%, estimates when the database
will be full, and names a privilege Heroku took as `over plan capacity` with the two ways out; nothing in
this project grants it back. Pure logic and one query: no Pulumi here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from . import postgres_sql as pg
from .heroku_plans import DEV_CENTER, GB, larger_plan, plan_limits

WARN_PERCENT = 80.0
FAIL_PERCENT = 100.0
SAMPLE_SPACING_SECONDS = 3600
"""Two measurements at least this far apart give the growth rate: closer ones say more about one load than a trend."""
OVER_PLAN = "over plan capacity"
# The checks that fail when a privilege is missing: on a Heroku plan over its limit, Heroku took it.
PRIVILEGE_CHECKS = ("create", "dry-run load", "write access")
OVER_CAPACITY_DOC = "https://devcenter.heroku.com/articles/heroku-postgres-over-plan-capacity"


@dataclass(frozen=True)
class CapacityLimits:
    """The limits the capacity check measures against, and where they come from."""

    storage_bytes: int | None
    table_limit: int | None
    plan: str | None
    """The Heroku plan (e.g. essential-0); None when the database is not Heroku's: then Heroku enforces nothing."""
    source: str | None
    """The stack's `source`, so that the fix names the command that changes the plan."""
    origin: str
    """Where the storage limit comes from, or why none is known."""

    def to_props(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_props(cls, props: Mapping[str, Any] | None) -> CapacityLimits | None:
        """The limits back from to_props (the Verification's input); None for a stack from before them."""
        if not props:
            return None
        names = {"limit_bytes": "storage_bytes", "table_limit": "table_limit", "plan": "plan", "source": "source", "limit_from": "origin"}
        return limits_from_report({key: props.get(name) for key, name in names.items()})


NO_LIMIT = CapacityLimits(
    None, None, None, None, "no storage limit is known: set storage_limit_gb (pulumi config set storage_limit_gb 1), or --storage-limit-gb"
)


def limits_for(source: str | None, plan: str | None, storage_limit_gb: float | None) -> CapacityLimits:
    """The limits of a stack: `storage_limit_gb` where set, else the Heroku plan's (heroku_plans.PLANS).

    plan: for `heroku` the configured plan, for `heroku-existing` the add-on's as Heroku reports it, None for
    `url` (or when Heroku's answer is unknown)."""
    known = plan_limits(plan)
    heroku_plan = plan if source in ("heroku", "heroku-existing") and plan else None
    tables = known.tables if known else None
    if storage_limit_gb is not None:
        return with_storage_limit(CapacityLimits(None, tables, heroku_plan, source, ""), storage_limit_gb)
    if known is not None and heroku_plan:
        return CapacityLimits(known.storage_bytes, tables, heroku_plan, source, f"plan {heroku_plan} ({DEV_CENTER})")
    if heroku_plan:
        why = f"plan {heroku_plan} is not in the table of Heroku plans (components/heroku_plans.py)"
    elif source in ("heroku", "heroku-existing"):
        why = "the add-on's plan could not be read from Heroku"
    else:
        why = f"source {source or 'url'} has no plan"
    return CapacityLimits(None, None, heroku_plan, source, f"no storage limit is known: {why}: set storage_limit_gb")


def with_storage_limit(limits: CapacityLimits | None, storage_limit_gb: float) -> CapacityLimits:
    """limits (the plan's, or none) with the storage limit set by hand, as storage_limit_gb does."""
    base = limits or CapacityLimits(None, None, None, None, "")
    return dataclasses.replace(base, storage_bytes=int(storage_limit_gb * GB), origin=f"storage_limit_gb {storage_limit_gb:g}")


# -- measuring ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    used_bytes: int
    tables: int


def measure(conn: psycopg.Connection) -> Usage:
    """The database's size and its tables, now (one cheap query; any role with CONNECT may run it)."""
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(pg.CAPACITY_QUERY).fetchone()
    assert row is not None
    return Usage(int(row["used_bytes"]), int(row["tables"]))


def utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def valid_samples(samples: Any) -> list[dict[str, Any]]:
    """The measurements kept by an earlier run, oldest first; anything unreadable is dropped, never fatal."""
    kept = []
    for sample in samples if isinstance(samples, list) else []:
        try:
            kept.append({"at": _time_text(_parse_time(str(sample["at"]))), "used_bytes": int(sample["used_bytes"])})
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(kept, key=lambda s: s["at"])[-2:]


def next_samples(samples: Sequence[Mapping[str, Any]], used_bytes: int, now: datetime) -> list[dict[str, Any]]:
    """What to keep for the next run: at most two measurements, the newer at least an hour after the older.

    A new one is kept only once an hour has passed since the newest kept, so hourly runs (or many runs within
    an hour) always leave an anchor at least an hour old, and most runs change nothing that is kept."""
    kept = valid_samples(list(samples))
    current = {"at": _time_text(now), "used_bytes": used_bytes}
    if not kept:
        return [current]
    if (now - _parse_time(kept[-1]["at"])).total_seconds() >= SAMPLE_SPACING_SECONDS:
        return [kept[-1], current]
    return kept


def days_to_full(samples: Sequence[Mapping[str, Any]], used_bytes: int, limit: int | None, now: datetime) -> float | None:
    """Days until used_bytes reaches limit at the growth since the newest kept measurement an hour old or more;
    None when unknown: no limit, no such measurement yet, or the database is not growing."""
    if limit is None:
        return None
    anchors = [s for s in valid_samples(list(samples)) if (now - _parse_time(s["at"])).total_seconds() >= SAMPLE_SPACING_SECONDS]
    if not anchors:
        return None
    anchor = anchors[-1]
    seconds = (now - _parse_time(anchor["at"])).total_seconds()
    rate = (used_bytes - anchor["used_bytes"]) / seconds
    if rate <= 0:
        return None
    return round(max(limit - used_bytes, 0) / rate / 86400, 1)


# -- the check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """The capacity check's verdict and the `capacity` object of the report."""

    status: str
    detail: str
    fix: str | None
    data: dict[str, Any]
    over_plan: bool
    """On a Heroku plan, at or over its limit: a missing privilege is Heroku's enforcement."""


def assess(
    usage: Usage, limits: CapacityLimits | None, samples: Sequence[Mapping[str, Any]] = (), now: datetime | None = None
) -> Assessment:
    """Compare usage with the limits: pass below 80%, warn from 80%, fail from 100% of either limit."""
    limits = limits or NO_LIMIT
    now = now or datetime.now(UTC)
    storage_percent = usage.used_bytes * 100 / limits.storage_bytes if limits.storage_bytes else None
    table_percent = usage.tables * 100 / limits.table_limit if limits.table_limit else None
    percents = [p for p in (storage_percent, table_percent) if p is not None]
    full_in = days_to_full(samples, usage.used_bytes, limits.storage_bytes, now)
    data = {
        "used_bytes": usage.used_bytes,
        "limit_bytes": limits.storage_bytes,
        "percent": round(storage_percent, 1) if storage_percent is not None else None,
        "tables": usage.tables,
        "table_limit": limits.table_limit,
        "days_to_full": full_in,
        "plan": limits.plan,
        "source": limits.source,
        "limit_from": limits.origin,
        "samples": next_samples(samples, usage.used_bytes, now),
    }
    line = capacity_line(data)
    if not percents:
        return Assessment("skip", f"{line}; {limits.origin}", None, data, False)
    worst = max(percents)
    if worst >= FAIL_PERCENT:
        over_plan = limits.plan is not None
        what = "storage" if storage_percent is not None and storage_percent >= FAIL_PERCENT else "table"
        detail = f"{line}: at or over the {what} limit ({limits.origin})"
        if over_plan:
            detail = f"{OVER_PLAN}: {detail}; Heroku restricts the database ({OVER_CAPACITY_DOC})"
        return Assessment("fail", detail, ways_out(limits, taken=None), data, over_plan)
    if worst >= WARN_PERCENT:
        return Assessment("warn", f"{line}: near the limit ({limits.origin})", ways_out(limits, taken=None, ahead=True), data, False)
    return Assessment("pass", f"{line} ({limits.origin})", None, data, False)


def ways_out(limits: CapacityLimits, *, taken: str | None, ahead: bool = False) -> str:
    """The two ways out of a full database: a larger plan, or less data. Never a GRANT: on Heroku, what Heroku
    took over capacity comes back once usage is under the limit (Dev Center, "Heroku Postgres Over Plan Capacity")."""
    head = f"Heroku took {taken} because the database is {OVER_PLAN}; this stack does not grant it back. " if taken else ""
    bigger = larger_plan(limits.plan) or "a plan with more storage"
    if limits.source == "heroku":
        plan = (
            f"a larger plan: pulumi config set plan {bigger}, then pulumi up (the heroku provider changes the plan of the same "
            "add-on in place: resource_heroku_addon.go sends the new plan with AddOnUpdate, so the database, its data and its "
            "config var stay)"
        )
    elif limits.source == "heroku-existing":
        plan = f"a larger plan: heroku addons:upgrade <the add-on> heroku-postgresql:{bigger} (this stack does not manage the plan)"
    else:
        plan = "more storage for the database (then raise storage_limit_gb to match)"
    data = (
        "or delete data: drop the tables or schemas of integrations Stitch no longer needs, or shorten what they keep, then "
        "VACUUM FULL (or `heroku pg:info` until the size shows under the limit)"
    )
    when = "Before it fills: " if ahead else "Two ways out: "
    back = " Heroku gives back what it took once usage is under the limit; then run the verification again." if limits.plan else ""
    return f"{head}{when}{plan}; {data}.{back}"


def recognise_enforcement(checks: Sequence[Any], found: Assessment, limits: CapacityLimits | None) -> list[Any]:
    """The checks with each failed privilege check named as Heroku's enforcement when the database is over its
    Heroku plan: its fix gives the ways out instead of a GRANT or `pulumi up`, which would fight Heroku."""
    if not found.over_plan or limits is None:
        return list(checks)
    out = []
    for check in checks:
        if check.status == "fail" and (check.name in PRIVILEGE_CHECKS or "permission denied" in check.detail.lower()):
            taken = TAKEN.get(check.name, "a privilege Stitch's role needs")
            out.append(dataclasses.replace(check, detail=f"{OVER_PLAN}: {check.detail}", fix=ways_out(limits, taken=taken)))
        else:
            out.append(check)
    return out


TAKEN = {
    "create": "CREATE on the database",
    "dry-run load": "a privilege a load needs",
    "write access": "INSERT (and what else the check names) on Stitch's tables",
}


# -- for people -----------------------------------------------------------------------------------------------


def size_text(count: int) -> str:
    """Bytes in decimal units, three figures at most: 812 MB, 1 GB, 1.5 TB."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            shown = f"{value:.0f}" if value >= 100 or unit == "B" else f"{value:.3g}"
            return f"{shown} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def capacity_line(data: Mapping[str, Any]) -> str:
    """e.g. `812 MB of 1 GB (79%), 4,012 of 4,000 tables; full in about 4 days`."""
    used, limit = int(data["used_bytes"]), data.get("limit_bytes")
    storage = f"{size_text(used)} of {size_text(int(limit))} ({int(used * 100 // int(limit))}%)" if limit else size_text(used)
    table_limit = data.get("table_limit")
    tables = f"{data['tables']:,} of {int(table_limit):,} tables" if table_limit else f"{data['tables']:,} tables"
    days = data.get("days_to_full")
    tail = f"; full in about {days:g} day{'s' if days != 1 else ''}" if days is not None else ""
    return f"{storage}, {tables}{tail}"


def over_plan(capacity: Mapping[str, Any] | None) -> bool | None:
    """Whether the database is at or over its Heroku plan's limits; None when no plan limit was measured, so a
    load's "permission denied" may still be Heroku's enforcement (components/stitch_loads.py names both)."""
    if not capacity or not capacity.get("plan") or not capacity.get("limit_bytes"):
        return None
    return bool(
        capacity["used_bytes"] >= capacity["limit_bytes"] or (capacity.get("table_limit") and capacity["tables"] >= capacity["table_limit"])
    )


def problem(capacity: Mapping[str, Any] | None) -> dict[str, str] | None:
    """For the reconcile: the database over its Heroku plan, which no heal may undo; None otherwise."""
    if not over_plan(capacity):
        return None
    assert capacity is not None
    limits = limits_from_report(capacity) or NO_LIMIT
    return {"what": f"{OVER_PLAN}: {capacity_line(capacity)} on plan {capacity['plan']}", "fix": ways_out(limits, taken=None)}


def limits_from_report(capacity: Mapping[str, Any] | None) -> CapacityLimits | None:
    """The limits an earlier verification measured against (its `capacity` object), for a run that cannot ask
    the stack's config and Heroku itself: `components.verify --stack` and the reconcile's own check."""
    if not isinstance(capacity, Mapping):
        return None
    storage, tables = capacity.get("limit_bytes"), capacity.get("table_limit")
    return CapacityLimits(
        int(storage) if storage is not None else None,
        int(tables) if tables is not None else None,
        capacity.get("plan"),
        capacity.get("source"),
        str(capacity.get("limit_from") or NO_LIMIT.origin),
    )


def earlier(report: Any) -> tuple[CapacityLimits | None, list[dict[str, Any]]]:
    """The limits and the kept measurements of an earlier verification report (the stack output `verification`)."""
    capacity = report.get("capacity") if isinstance(report, Mapping) else None
    samples = capacity.get("samples") if isinstance(capacity, Mapping) else None
    return limits_from_report(capacity), valid_samples(samples)
