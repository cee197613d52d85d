"""The database's capacity against its limits, and Heroku's enforcement recognised rather than fought.

An ETL destination only grows. Over its plan's storage, Heroku restricts the database (Dev Center, "Heroku
Postgres Over Plan Capacity": `Over Plan Capacity: Action Required`, then `Access Restricted`, read, DELETE
and TRUNCATE only; Advanced plans lose CREATE and INSERT after 7 days, returned once usage drops). So the
verification measures the size and the tables against two limits kept apart: the Heroku plan's, which Heroku
enforces, and the user's own `storage_limit_gb`, which only this check knows. It warns at 80%, fails at 100%
of either, estimates when the database will be full, and names a privilege Heroku took as `over plan
capacity` (from the plan's limit only) with the two ways out; nothing in this project grants it back. Pure
logic and one query: no Pulumi here.
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
from .config import PROGRAM_TERMS, Terms
from .heroku_plans import DEV_CENTER, GB, larger_plan, plan_limits
from .up_command import pulumi_up

WARN_PERCENT = 80.0
FAIL_PERCENT = 100.0
SAMPLE_SPACING_SECONDS = 3600
"""A new measurement is kept only this long after the newest kept one: most runs change nothing kept."""
DAY_SECONDS = 86400
HOURLY_SECONDS = 25 * 3600
"""Measurements this recent are kept hourly (the last day, and an hour more so that one always lies about a
whole number of days after the oldest); older ones one a day."""
DAILY_KEPT = 7
"""Older measurements kept, one a day: a week's window when the reconcile runs hourly, longer when runs are rare."""
MIN_FORECAST_SECONDS = DAY_SECONDS
"""The forecast needs measurements a day apart at least: a day sees a day's loads, an hour sees one of them."""
WHOLE_DAY_SLACK_SECONDS = 90 * 60
"""How far from a whole number of days two measurements may be and still cancel a daily pattern."""
OVER_PLAN = "over plan capacity"
USER_LIMIT = "storage_limit_gb"
# The checks that fail when a privilege is missing: on a Heroku plan over its limit, Heroku took it.
PRIVILEGE_CHECKS = ("create", "dry-run load", "write access")
OVER_CAPACITY_DOC = "https://devcenter.heroku.com/articles/heroku-postgres-over-plan-capacity"
FREE_SPACE = "drop the tables or schemas of integrations Stitch no longer needs, or shorten what they keep, then VACUUM FULL"


@dataclass(frozen=True)
class CapacityLimits:
    """The limits the capacity check measures against: the Heroku plan's, and the user's own, never mixed up."""

    plan_bytes: int | None
    """The Heroku plan's storage (components/heroku_plans.py): past it Heroku restricts the database."""
    table_limit: int | None
    """The plan's table limit (Essential: 4,000); None: none."""
    plan: str | None
    """The Heroku plan (e.g. essential-0); None when the database is not Heroku's: then Heroku enforces nothing."""
    source: str | None
    """The stack's `source`, so that the fix names the command that changes the plan."""
    origin: str
    """Where the plan's limits come from, or why none is known."""
    user_bytes: int | None = None
    """`storage_limit_gb` (or `--storage-limit-gb`): the user's own limit, to be warned early; Heroku knows nothing of it."""

    @property
    def storage_bytes(self) -> int | None:
        """The storage limit reached first: the one `limit_bytes`, `percent` and `days_to_full` refer to."""
        known = [b for b in (self.user_bytes, self.plan_bytes) if b]
        return min(known) if known else None

    @property
    def user_text(self) -> str | None:
        """e.g. `storage_limit_gb 2`, as the user set it; None without one."""
        return f"{USER_LIMIT} {self.user_bytes / GB:g}" if self.user_bytes else None

    def storage_from(self) -> str:
        """Where `storage_bytes` comes from."""
        if self.user_bytes and self.storage_bytes == self.user_bytes:
            return str(self.user_text)
        return self.origin

    def to_props(self) -> dict[str, Any]:
        """The Verification's input, in the shape it has always had (storage_limit_gb's where set, else the plan's),
        so that an existing stack's next `up` sees no change; from_props tells the two apart again."""
        storage = self.user_bytes if self.user_bytes else self.plan_bytes
        return {"storage_bytes": storage, "table_limit": self.table_limit, "plan": self.plan, "source": self.source,
                "origin": self.user_text or self.origin}  # fmt: skip

    @classmethod
    def from_props(cls, props: Mapping[str, Any] | None) -> CapacityLimits | None:
        """The limits back from to_props (the Verification's input); None for a stack from before them."""
        if not props:
            return None
        names = {"limit_bytes": "storage_bytes", "table_limit": "table_limit", "plan": "plan", "source": "source", "limit_from": "origin"}
        return limits_from_report({key: props.get(name) for key, name in names.items()})

    def over_plan(self, usage: Usage) -> bool:
        """At or over the Heroku plan's own limits, where Heroku restricts the database; never from storage_limit_gb."""
        if self.plan is None:
            return False
        return bool((self.plan_bytes and usage.used_bytes >= self.plan_bytes) or (self.table_limit and usage.tables >= self.table_limit))


NO_LIMIT = CapacityLimits(
    None, None, None, None, "no storage limit is known: set storage_limit_gb (pulumi config set storage_limit_gb 1), or --storage-limit-gb"
)


def limits_for(source: str | None, plan: str | None, storage_limit_gb: float | None) -> CapacityLimits:
    """The limits of a stack: the Heroku plan's (heroku_plans.PLANS), and `storage_limit_gb` where set.

    plan: for `heroku` the configured plan, for `heroku-existing` the add-on's as Heroku reports it, None for
    `url` (or when Heroku's answer is unknown)."""
    known = plan_limits(plan)
    heroku_plan = plan if source in ("heroku", "heroku-existing") and plan else None
    tables = known.tables if known else None
    user = int(storage_limit_gb * GB) if storage_limit_gb is not None else None
    if known is not None and heroku_plan:
        return CapacityLimits(known.storage_bytes, tables, heroku_plan, source, f"plan {heroku_plan} ({DEV_CENTER})", user)
    if heroku_plan:
        why = f"plan {heroku_plan} is not in the table of Heroku plans (components/heroku_plans.py)"
    elif source in ("heroku", "heroku-existing"):
        why = "the add-on's plan could not be read from Heroku"
    else:
        why = f"source {source or 'url'} has no plan"
    return CapacityLimits(None, tables, heroku_plan, source, f"no storage limit is known: {why}: set storage_limit_gb", user)


def with_storage_limit(limits: CapacityLimits | None, storage_limit_gb: float) -> CapacityLimits:
    """limits (the plan's, or none) with the user's own storage limit set by hand, as --storage-limit-gb does."""
    return dataclasses.replace(limits or NO_LIMIT, user_bytes=int(storage_limit_gb * GB))


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
    """The measurements kept by an earlier run (of any version), oldest first; anything unreadable is dropped,
    never fatal, and no more than a thinned window holds (a hand-edited state cannot grow the report)."""
    kept = {}
    for sample in samples if isinstance(samples, list) else []:
        try:
            at = _time_text(_parse_time(str(sample["at"])))
            kept[at] = {"at": at, "used_bytes": int(sample["used_bytes"])}
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(kept.values(), key=lambda s: s["at"])[-(HOURLY_SECONDS // SAMPLE_SPACING_SECONDS + DAILY_KEPT + 2) :]


def next_samples(samples: Sequence[Mapping[str, Any]], used_bytes: int, now: datetime) -> list[dict[str, Any]]:
    """What to keep for the next run: one measurement an hour for the last 25 hours, one a day before that (the
    newest DAILY_KEPT of those), so that the forecast sees whole days; about 33 at most.

    A new one is kept only once an hour has passed since the newest kept, so many runs within an hour change
    nothing that is kept; the measurements an earlier version kept (two, an hour apart) are the start."""
    kept = valid_samples(list(samples))
    if kept and (now - _parse_time(kept[-1]["at"])).total_seconds() < SAMPLE_SPACING_SECONDS:
        return kept
    hourly: list[dict[str, Any]] = []
    daily: list[dict[str, Any]] = []
    for sample in [*kept, {"at": _time_text(now), "used_bytes": used_bytes}]:
        at = _parse_time(sample["at"])
        if (now - at).total_seconds() <= HOURLY_SECONDS:
            if not hourly or (at - _parse_time(hourly[-1]["at"])).total_seconds() >= SAMPLE_SPACING_SECONDS:
                hourly.append(sample)
        elif not daily or (at - _parse_time(daily[-1]["at"])).total_seconds() >= DAY_SECONDS:
            daily.append(sample)
    return [*daily[-DAILY_KEPT:], *hourly]


@dataclass(frozen=True)
class Forecast:
    """When the database reaches its limit, and what the estimate rests on."""

    days: float | None
    span_hours: float | None
    """How far apart the two measurements are whose growth gives the rate."""
    bytes_per_day: int | None
    note: str


def forecast(samples: Sequence[Mapping[str, Any]], used_bytes: int, limit: int | None, now: datetime) -> Forecast:
    """Days until used_bytes reaches limit, at the growth between the oldest kept measurement and the one (or now)
    that lies closest to a whole number of days after it, the longest such span.

    ETL loads come in daily patterns (a nightly batch, a busy afternoon): over whole days they cancel, so the
    rate of a database that grows 40 MB once a day is 40 MB a day at any hour, where two measurements an hour
    apart said 40 MB an hour or nothing. Unknown (days None, and the note says why) without a limit, before the
    measurements span a day, or while the database does not grow."""
    points = [*valid_samples(list(samples)), {"at": _time_text(now), "used_bytes": used_bytes}]
    oldest = points[0]
    start = _parse_time(oldest["at"])

    def span(point: Mapping[str, Any]) -> float:
        return (_parse_time(point["at"]) - start).total_seconds()

    def off_whole_days(point: Mapping[str, Any]) -> float:
        days = span(point) / DAY_SECONDS
        return abs(days - round(days)) * DAY_SECONDS

    def fitness(point: Mapping[str, Any]) -> tuple[bool, int, float]:
        """Within the slack of whole days, the most whole days, then the closest to them; else (rare runs) the closest."""
        whole = off_whole_days(point) <= WHOLE_DAY_SLACK_SECONDS
        return whole, round(span(point) / DAY_SECONDS) if whole else 0, -off_whole_days(point)

    later = [p for p in points if span(p) >= MIN_FORECAST_SECONDS]
    if not later:
        covered = max(span(points[-1]), 0) / 3600
        return Forecast(None, None, None, f"no forecast yet: the measurements span {covered:.0f} h of the 24 h it needs")
    end = max(later, key=fitness)
    seconds = span(end)
    hours = round(seconds / 3600, 1)
    per_day = (int(end["used_bytes"]) - int(oldest["used_bytes"])) * DAY_SECONDS / seconds
    if per_day <= 0:
        return Forecast(None, hours, int(per_day), f"not growing over {hours:g} h")
    if limit is None:
        return Forecast(None, hours, int(per_day), "no storage limit is known")
    days = round(max(limit - used_bytes, 0) / per_day, 1)
    return Forecast(days, hours, int(per_day), f"{size_text(int(per_day))} a day over {hours:g} h")


def days_to_full(samples: Sequence[Mapping[str, Any]], used_bytes: int, limit: int | None, now: datetime) -> float | None:
    """forecast()'s days, or None when unknown."""
    return forecast(samples, used_bytes, limit, now).days


# -- the check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """The capacity check's verdict and the `capacity` object of the report."""

    status: str
    detail: str
    fix: str | None
    data: dict[str, Any]
    over_plan: bool
    """On a Heroku plan, at or over its own limit: a missing privilege is Heroku's enforcement."""


def assess(
    usage: Usage, limits: CapacityLimits | None, samples: Sequence[Mapping[str, Any]] = (), now: datetime | None = None,
    terms: Terms = PROGRAM_TERMS,
) -> Assessment:  # fmt: skip
    """Compare usage with the limits: pass below 80%, warn from 80%, fail from 100% of any of them; `over plan
    capacity` only from the plan's own. terms: how the fixes name plan and storage_limit_gb (config.Terms)."""
    limits = limits or NO_LIMIT
    now = now or datetime.now(UTC)

    def percent_of(limit: int | None, used: int = usage.used_bytes) -> float | None:
        return used * 100 / limit if limit else None

    storage_percent = percent_of(limits.storage_bytes)
    ahead = forecast(samples, usage.used_bytes, limits.storage_bytes, now)
    data = {
        "used_bytes": usage.used_bytes,
        "limit_bytes": limits.storage_bytes,
        "percent": round(storage_percent, 1) if storage_percent is not None else None,
        "tables": usage.tables,
        "table_limit": limits.table_limit,
        "days_to_full": ahead.days,
        "plan": limits.plan,
        "source": limits.source,
        "limit_from": limits.storage_from(),
        "plan_limit_bytes": limits.plan_bytes,
        "plan_limit_from": limits.origin if limits.plan_bytes else None,
        "user_limit_bytes": limits.user_bytes,
        "forecast_span_hours": ahead.span_hours,
        "growth_bytes_per_day": ahead.bytes_per_day,
        "forecast_note": ahead.note,
        "samples": next_samples(samples, usage.used_bytes, now),
    }
    line = capacity_line(data)
    plan_percent, user_percent = percent_of(limits.plan_bytes), percent_of(limits.user_bytes)
    table_percent = percent_of(limits.table_limit, usage.tables)
    if plan_percent is None and user_percent is None and table_percent is None:
        return Assessment("skip", f"{line}; {limits.origin}", None, data, False)
    plan_words = _plan_words(limits)
    if max(p or 0 for p in (plan_percent, table_percent)) >= FAIL_PERCENT:
        over_plan = limits.over_plan(usage)
        what = "storage" if (plan_percent or 0) >= FAIL_PERCENT else "table"
        detail = f"{line}: at or over the {plan_words}{what} limit ({limits.origin})"
        if over_plan:
            detail = f"{OVER_PLAN}: {detail}; Heroku restricts the database ({OVER_CAPACITY_DOC})"
        return Assessment("fail", detail, ways_out(limits, taken=None, terms=terms), data, over_plan)
    if (user_percent or 0) >= FAIL_PERCENT:
        return Assessment("fail", f"{line}: over your {_user_limit_words(limits)}", own_limit_fix(limits, terms=terms), data, False)
    if max(p or 0 for p in (plan_percent, table_percent)) >= WARN_PERCENT:
        detail = f"{line}: near the {plan_words}limit ({limits.origin})"
        return Assessment("warn", detail, ways_out(limits, taken=None, ahead=True, terms=terms), data, False)
    if (user_percent or 0) >= WARN_PERCENT:
        detail = f"{line}: near your {_user_limit_words(limits)}"
        return Assessment("warn", detail, own_limit_fix(limits, ahead=True, terms=terms), data, False)
    return Assessment("pass", f"{line} ({limits.storage_from()})", None, data, False)


def _plan_words(limits: CapacityLimits) -> str:
    return f"plan {limits.plan}'s " if limits.plan else ""


def _user_limit_words(limits: CapacityLimits) -> str:
    """e.g. `storage_limit_gb 2 GB (your own limit; plan essential-1 holds 10 GB)`."""
    assert limits.user_bytes is not None
    plan = f"; plan {limits.plan} holds {size_text(limits.plan_bytes)}" if limits.plan and limits.plan_bytes else ""
    return f"{USER_LIMIT} {limits.user_bytes / GB:g} GB (your own limit{plan})"


def own_limit_fix(limits: CapacityLimits, *, ahead: bool = False, terms: Terms = PROGRAM_TERMS) -> str:
    """The way out of the user's own limit: less data, or a higher limit. No plan to buy: it is not Heroku's."""
    when = "Before it fills: free" if ahead else "Free"
    room = f" up to the plan's {size_text(limits.plan_bytes)}" if limits.plan and limits.plan_bytes else ""
    return f"{when} space ({FREE_SPACE}), or raise {terms.called(USER_LIMIT)}{room}."


def ways_out(limits: CapacityLimits, *, taken: str | None, ahead: bool = False, terms: Terms = PROGRAM_TERMS) -> str:
    """The two ways out of a full plan: a larger plan, or less data. Never a GRANT: on Heroku, what Heroku took over
    capacity comes back once usage is under the limit (Dev Center, "Heroku Postgres Over Plan Capacity")."""
    head = f"Heroku took {taken} because the database is {OVER_PLAN}; this stack does not grant it back. " if taken else ""
    bigger = larger_plan(limits.plan) or "a plan with more storage"
    if limits.source == "heroku":
        plan = (
            f"a larger plan: {terms.set('plan', bigger)}, then {pulumi_up()} (the heroku provider changes the plan of the same "
            "add-on in place: resource_heroku_addon.go sends the new plan with AddOnUpdate, so the database, its data and its "
            "config var stay)"
        )
    elif limits.source == "heroku-existing":
        plan = f"a larger plan: heroku addons:upgrade <the add-on> heroku-postgresql:{bigger} (this stack does not manage the plan)"
    else:
        plan = "more storage for the database"
    # `heroku pg:info` shows a Heroku database's size as Heroku counts it; elsewhere there is no such command.
    watch = " (or `heroku pg:info` until the size shows under the limit)" if limits.plan else ""
    when = "Before it fills: " if ahead else "Two ways out: "
    back = " Heroku gives back what it took once usage is under the limit; then run the verification again." if limits.plan else ""
    return f"{head}{when}{plan}; or delete data: {FREE_SPACE}{watch}.{back}"


def recognise_enforcement(
    checks: Sequence[Any], found: Assessment, limits: CapacityLimits | None, terms: Terms = PROGRAM_TERMS
) -> list[Any]:
    """The checks with each failed privilege check named as Heroku's enforcement when the database is over its
    Heroku plan: its fix gives the ways out instead of a GRANT or `pulumi up`, which would fight Heroku."""
    if not found.over_plan or limits is None:
        return list(checks)
    out = []
    for check in checks:
        if check.status == "fail" and (check.name in PRIVILEGE_CHECKS or "permission denied" in check.detail.lower()):
            taken = TAKEN.get(check.name, "a privilege Stitch's role needs")
            out.append(dataclasses.replace(check, detail=f"{OVER_PLAN}: {check.detail}", fix=ways_out(limits, taken=taken, terms=terms)))
        else:
            out.append(check)
    return out


TAKEN = {
    "create": "CREATE on the database",
    "dry-run load": "a privilege a load needs",
    "write access": "INSERT (and what else the check names) on Stitch's tables",
}


# -- for people -----------------------------------------------------------------------------------------------


def size_text(count: int | None) -> str:
    """Bytes in decimal units, three figures at most: 812 MB, 1 GB, 1.5 TB."""
    value = float(count or 0)
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
    """Whether the database is at or over its Heroku plan's own limits; None when no plan limit was measured, so
    a load's "permission denied" may still be Heroku's enforcement (components/stitch_loads.py names both)."""
    limits = limits_from_report(capacity)
    if capacity is None or limits is None or not limits.plan or not (limits.plan_bytes or limits.table_limit):
        return None
    return limits.over_plan(Usage(int(capacity["used_bytes"]), int(capacity.get("tables") or 0)))


def problem(capacity: Mapping[str, Any] | None) -> dict[str, str] | None:
    """For the reconcile: the database over its Heroku plan, which no heal may undo; None otherwise (over the user's
    own storage_limit_gb is the capacity check's failure, and a revoked privilege is healed as always)."""
    if not over_plan(capacity):
        return None
    assert capacity is not None
    limits = limits_from_report(capacity) or NO_LIMIT
    of_plan = capacity_line({**capacity, "limit_bytes": limits.plan_bytes})
    return {"what": f"{OVER_PLAN}: {of_plan} on plan {capacity['plan']}", "fix": ways_out(limits, taken=None)}


def _count(value: Any) -> int | None:
    return int(value) if value is not None else None


def limits_from_report(capacity: Mapping[str, Any] | None) -> CapacityLimits | None:
    """The limits an earlier verification measured against (its `capacity` object), for a run that cannot ask
    the stack's config and Heroku itself: `components.verify --stack` and the reconcile's own check.

    A report from before the two limits were told apart has one `limit_bytes`: storage_limit_gb's where its
    `limit_from` says so (the plan's then comes from the table of plans), else the plan's."""
    if not isinstance(capacity, Mapping):
        return None
    plan, source, limit_from = capacity.get("plan"), capacity.get("source"), str(capacity.get("limit_from") or "")
    if "plan_limit_bytes" in capacity or "user_limit_bytes" in capacity:  # either may be missing: Pulumi drops a null output
        plan_bytes, user_bytes = _count(capacity.get("plan_limit_bytes")), _count(capacity.get("user_limit_bytes"))
        origin = capacity.get("plan_limit_from") or limits_for(source, plan, None).origin
    elif limit_from.startswith(f"{USER_LIMIT} "):
        from_plan = limits_for(source, plan, None)
        plan_bytes, user_bytes, origin = from_plan.plan_bytes, _count(capacity.get("limit_bytes")), from_plan.origin
    else:
        plan_bytes, user_bytes, origin = _count(capacity.get("limit_bytes")), None, limit_from or NO_LIMIT.origin
    return CapacityLimits(plan_bytes, _count(capacity.get("table_limit")), plan, source, str(origin), user_bytes)


def earlier(report: Any) -> tuple[CapacityLimits | None, list[dict[str, Any]]]:
    """The limits and the kept measurements of an earlier verification report (the stack output `verification`)."""
    capacity = report.get("capacity") if isinstance(report, Mapping) else None
    samples = capacity.get("samples") if isinstance(capacity, Mapping) else None
    return limits_from_report(capacity), valid_samples(samples)
