"""What each Heroku Postgres plan holds: storage and tables, in one table, for the capacity check.

Source: Heroku Dev Center, "Heroku Postgres plans" (https://devcenter.heroku.com/articles/heroku-postgres-plans),
as collected in the team's facts (essential-0 1 GB, essential-1 10 GB, essential-2 32 GB; standard-0 and
premium-0 64 GB; -2 to -7: 256 GB, 512 GB, 768 GB, 1 TB, 1.5 TB, 2 TB). The Essential tier's 4,000 tables
are second-hand (a public PR quoting Heroku's add-on page); the Standard and Premium tiers have no table limit.
Heroku publishes "GB", not how many bytes one is: a GB here is 10**9 bytes, the smaller reading, so the
warning comes early rather than late. A plan missing here (a new one) has no known limit: the check says so
and `storage_limit_gb` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 10**9
TB = 1000 * GB
ESSENTIAL_TABLES = 4000

DEV_CENTER = "https://devcenter.heroku.com/articles/heroku-postgres-plans"


@dataclass(frozen=True)
class PlanLimits:
    """A plan's storage (bytes) and its table limit (None: none)."""

    storage_bytes: int
    tables: int | None


_TIER_SIZES = {"0": 64 * GB, "2": 256 * GB, "3": 512 * GB, "4": 768 * GB, "5": 1 * TB, "6": 1500 * GB, "7": 2 * TB}

PLANS: dict[str, PlanLimits] = {
    "essential-0": PlanLimits(1 * GB, ESSENTIAL_TABLES),
    "essential-1": PlanLimits(10 * GB, ESSENTIAL_TABLES),
    "essential-2": PlanLimits(32 * GB, ESSENTIAL_TABLES),
    **{f"{tier}-{size}": PlanLimits(storage, None) for tier in ("standard", "premium") for size, storage in _TIER_SIZES.items()},
}


def plan_limits(plan: str | None) -> PlanLimits | None:
    """The limits of a plan ("essential-0" or "heroku-postgresql:essential-0"); None when the table lacks it."""
    if not plan:
        return None
    return PLANS.get(plan.removeprefix("heroku-postgresql:"))


def larger_plan(plan: str | None) -> str | None:
    """The next plan up with more storage in the same tier (essential-0 -> essential-1), or None."""
    current = plan_limits(plan)
    if plan is None or current is None:
        return None
    tier = plan.removeprefix("heroku-postgresql:").rsplit("-", 1)[0]
    bigger = sorted(
        (limits.storage_bytes, name)
        for name, limits in PLANS.items()
        if name.startswith(f"{tier}-") and limits.storage_bytes > current.storage_bytes
    )
    if bigger:
        return bigger[0][1]
    return "standard-0" if tier == "essential" else None
