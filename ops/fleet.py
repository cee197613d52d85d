"""`stitch-heroku reconcile`: one stack, several (`--stack` again and again) or every stack of the project
(`--all-stacks`), in one run.

A fleet pays the CLI's start-up, the project and Stitch's loads once: stacks run concurrently within --jobs (2 by
default, suited to a 2-core runner: each stack's engine and program take a core while the other waits on the
network), and the loads of each Stitch account are read once a run (components/stitch_loads.py LoadsCache), within
Stitch's 30 requests per 10 minutes per client on its jobs endpoints. A stack that cannot be opened is that stack's
error (exit 2 among the others), never the run's crash. The verdict is the worst of all: JSON `status`, exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stitch_heroku.stitch_loads import LoadsCache

from .reconcile import (
    EXIT_USAGE,
    STATUS_EXIT,
    Project,
    StackOutcome,
    UsageError,
    one_line,
    open_project,
    read_config,
    reconcile_stack,
    stack_line,
    worst,
)

DEFAULT_JOBS = 2
# Fields of a single stack's JSON that users read before 0.3.0 (its one Destination's): kept at the top level for one --stack.
SINGLE_FIELDS = ("changes", "verification", "capacity", "stitch", "loads")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stitch-heroku reconcile",
        description="Bring each stack's Destinations back to working Stitch destinations, or say why not.",
        epilog="Exit codes (the worst of all stacks): 0 in-sync or healed, 1 failing, 2 usage or config error, "
        "3 drift found with --preview-only.",
    )
    parser.add_argument(
        "--stack", action="append", default=[], metavar="NAME", help="a stack to reconcile (again for more; run in the project folder)"
    )
    parser.add_argument("--all-stacks", action="store_true", help="every stack of the project in the current backend (pulumi stack ls)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"stacks reconciled at once (default {DEFAULT_JOBS}, for a 2-core runner)",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout, for monitoring")
    parser.add_argument(
        "--preview-only", action="store_true",
        help="change nothing (refresh and update as a preview, no write to Stitch); drift found exits 3",
    )  # fmt: skip
    return parser


def run_stack(project: Project, name: str, *, preview_only: bool, cache: LoadsCache) -> StackOutcome:
    """One stack's verdict; whatever keeps it from being judged is its own error, never the fleet's."""
    try:
        stack = project.open(name)
        own_cfg = read_config(stack, project.name) if project.own else None
        return reconcile_stack(stack, own_cfg, preview_only=preview_only, cache=cache)
    except UsageError as error:
        return StackOutcome(name, "error", error=str(error))
    except Exception as error:
        return StackOutcome(name, "error", error=f"the reconcile of stack {name!r} stopped: {type(error).__name__}: {error}")


def run(project: Project, names: Sequence[str], *, preview_only: bool, jobs: int, cache: LoadsCache) -> list[StackOutcome]:
    """Every stack's verdict, in the order given, at most `jobs` at a time."""
    # Inline, every stack's program runs in this one interpreter, each in its own copy of the SDK's context (pulumi
    # automation/_server.py Run: contextvars.copy_context), so their engine runs may overlap as separate processes' do.
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(names)))) as pool:
        return list(pool.map(lambda name: run_stack(project, name, preview_only=preview_only, cache=cache), names))


def to_json(outcomes: Sequence[StackOutcome], *, preview_only: bool, single: bool) -> dict[str, Any]:
    """One object: the worst status and one entry a stack; for one --stack, also that stack's fields as before."""
    printed: dict[str, Any] = {"status": worst(o.status for o in outcomes), "preview_only": preview_only}
    if single:
        (only,) = outcomes
        printed = {"stack": only.stack, **printed}
        if only.error is not None:
            printed["error"] = only.error
        else:
            shown = only.first_failing or only.destinations[0]
            several = len(only.destinations) > 1
            printed |= {key: shown.result[key] for key in SINGLE_FIELDS}
            printed["problems"] = [_named(p, o.name, several) for o in only.destinations for p in o.result["problems"]]
            printed["warnings"] = [_named(w, o.name, several) for o in only.destinations for w in o.result["warnings"]]
    return printed | {"stacks": [o.to_dict() for o in outcomes]}


def _named(item: dict[str, Any], name: str, several: bool) -> dict[str, Any]:
    return {**item, "what": f"{name}: {item['what']}"} if several else item


def print_for_people(outcome: StackOutcome) -> None:
    print(stack_line(outcome))
    several = len(outcome.destinations) > 1
    for destination in outcome.destinations:
        if several:
            print("  " + one_line(destination, label=destination.name))
        if destination.status in ("failing", "drift"):
            if destination.report is not None and not destination.report.ready:
                print(destination.report.render())
            for problem in destination.result["problems"]:
                print(f"  problem: {problem['what']}\n  fix: {problem['fix']}")
        for warning in destination.result["warnings"]:
            print(f"  warning: {warning['what']}\n  fix: {warning['fix']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stack and not args.all_stacks:
        parser.error("name a stack: --stack NAME (again for more), or --all-stacks")
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    try:
        project = open_project(Path.cwd())
        names = list(dict.fromkeys([*args.stack, *(project.stack_names() if args.all_stacks else [])]))
        if not names:
            raise UsageError("the project has no stack in this backend: pulumi stack ls lists them")
    except UsageError as error:
        if args.json:
            print(json.dumps({"status": "error", "error": str(error), "stacks": []}))
        print(f"reconcile: {error}", file=sys.stderr)
        return EXIT_USAGE
    cache = LoadsCache()
    outcomes = run(project, names, preview_only=args.preview_only, jobs=args.jobs, cache=cache)
    for outcome in outcomes:
        if outcome.error is not None:
            print(f"reconcile: {outcome.stack}: {outcome.error}", file=sys.stderr)
    if args.json:
        print(json.dumps(to_json(outcomes, preview_only=args.preview_only, single=len(names) == 1 and not args.all_stacks), indent=2))
    else:
        for outcome in outcomes:
            print_for_people(outcome)
    return STATUS_EXIT[worst(o.status for o in outcomes)]


if __name__ == "__main__":
    sys.exit(main())
