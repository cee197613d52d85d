"""Heroku Postgres add-ons: no retired plan (mandatory), and protected outside dev stacks (advisory).

The add-on is pulumiverse_heroku's `heroku:addon/addon:Addon`; its `plan` input is "<service>:<plan>",
e.g. "heroku-postgresql:essential-0" (Heroku Platform API, add-on create).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .declare import guardrail
from .resource_view import config_strings, label, read, stack_of, strings_config, violation

ADDON_TYPE = "heroku:addon/addon:Addon"
POSTGRES_SERVICE = "heroku-postgresql"

# Heroku's free hobby plans ended in 2022; mini and basic, which replaced them, were in turn replaced by
# the Essential plans. The same list components/config.py refuses (tests/test_policies.py keeps them equal).
RETIRED_PLANS_KEY = "retiredPlans"
RETIRED_PLANS_HELP = "Retired Heroku Postgres plans (glob patterns on the part after heroku-postgresql:)."
DEFAULT_RETIRED_PLANS = ("hobby-*", "mini", "basic")
NO_RETIRED_PLAN_CONFIG = strings_config(RETIRED_PLANS_KEY, RETIRED_PLANS_HELP, DEFAULT_RETIRED_PLANS)
# The current plan closest to each retired one (Heroku moved mini and basic databases to these).
_SUCCESSOR = {"hobby-dev": "essential-0", "mini": "essential-0", "hobby-basic": "essential-1", "basic": "essential-1"}

UNPROTECTED_PREFIXES_KEY = "unprotectedStackPrefixes"
UNPROTECTED_PREFIXES_HELP = "Stack name prefixes whose databases may go unprotected (throwaway stacks)."
DEFAULT_UNPROTECTED_PREFIXES = ("dev",)
PROTECTED_OUTSIDE_DEV_CONFIG = strings_config(UNPROTECTED_PREFIXES_KEY, UNPROTECTED_PREFIXES_HELP, DEFAULT_UNPROTECTED_PREFIXES)


def postgres_plan(args: ResourceValidationArgs) -> str | None:
    """The plan name (after "heroku-postgresql:") of a Heroku Postgres add-on; "" for the service's default
    plan; None for anything else."""
    if args.resource_type != ADDON_TYPE:
        return None
    plan = read(args.props, "plan")
    if not isinstance(plan, str):
        return None
    service, _, tier = plan.strip().lower().partition(":")
    return tier if service == POSTGRES_SERVICE else None


@guardrail("heroku-postgres-no-retired-plan", mandatory=True, severity=Severity.HIGH, config=NO_RETIRED_PLAN_CONFIG)
def no_retired_plan(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A Heroku Postgres add-on must use a plan Heroku still offers (not hobby-*, mini or basic).

    Fix: Use a current plan, e.g. plan="heroku-postgresql:essential-0".
    """
    tier = postgres_plan(args)
    if not tier:
        return
    retired = config_strings(args.get_config(), RETIRED_PLANS_KEY, DEFAULT_RETIRED_PLANS)
    if not any(fnmatchcase(tier, pattern.strip().lower()) for pattern in retired):
        return
    successor = _SUCCESSOR.get(tier)
    fix = (
        f'plan="{POSTGRES_SERVICE}:{successor}", or another current plan (essential-*, standard-*, premium-*, private-*, shield-*)'
        if successor
        else f"a plan Heroku still offers (`heroku addons:plans {POSTGRES_SERVICE}` lists them)"
    )
    what = f'{label("heroku.addon.Addon", args.name)} asks for the retired Heroku Postgres plan "{POSTGRES_SERVICE}:{tier}"'
    why = (
        "Heroku no longer offers it (hobby-dev and hobby-basic ended with the free plans, mini and basic were "
        "replaced by the Essential plans; retiredPlans config may list more), so the preview passes and `pulumi up` "
        "fails when Heroku refuses the add-on"
    )
    report_violation(violation(what, why, fix), None)


@guardrail("heroku-postgres-protected", mandatory=False, severity=Severity.MEDIUM, config=PROTECTED_OUTSIDE_DEV_CONFIG)
def protected_outside_dev(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A Heroku Postgres add-on on a stack that is not a dev stack should be protected from deletion.

    Fix: Declare the add-on with opts=pulumi.ResourceOptions(protect=True).
    """
    if postgres_plan(args) is None or args.opts.protect:
        return
    stack = stack_of(args.urn)
    prefixes = config_strings(args.get_config(), UNPROTECTED_PREFIXES_KEY, DEFAULT_UNPROTECTED_PREFIXES)
    if any(stack.startswith(prefix) for prefix in prefixes):
        return
    what = f'{label("heroku.addon.Addon", args.name)} is a Heroku Postgres database on stack "{stack}" and is not protected'
    why = (
        "`pulumi destroy`, removing it from the program, or a change that replaces it (a new app, another "
        "`version`) deletes the database and every row in it"
    )
    fix = (
        "opts=pulumi.ResourceOptions(protect=True) on the add-on (and on its heroku.app.App, whose deletion takes "
        f"the add-on with it). Stacks whose names start with {', '.join(repr(p) for p in prefixes)} are exempt "
        f"({UNPROTECTED_PREFIXES_KEY} config)"
    )
    report_violation(violation(what, why, fix), None)
