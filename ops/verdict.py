"""The reconcile's verdict from its failing causes: one rule for every cause, so a new check only adds problems.

A problem is `{"what", "fix"}` with an optional `cause` (e.g. `stitch-load:privilege`); the run's problems are in
the order they were found, and the first is the one the one-line text names. Nothing here knows what a cause
is about: the paused destination, the engine's error, the verification, Stitch's loads (components/stitch_loads.py)
and whatever comes next all fail the run the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def status(problems: Sequence[Mapping[str, str]], *, blocked: bool, dry_run: bool, changed: bool) -> str:
    """in-sync, healed, drift or failing.

    blocked: nothing could be written or run (a pause or deletion in Stitch, the engine failed): failing whatever
    else is true. A preview that found drift says drift (exit 3), its problems listed beside it; otherwise any
    problem is failing, so a run is never in-sync or healed while one cause fails."""
    if blocked:
        return "failing"
    if dry_run and changed:
        return "drift"
    if problems:
        return "failing"
    return "healed" if changed else "in-sync"


def first_cause(problems: Sequence[Mapping[str, str]]) -> str | None:
    """The first problem's words for the one-line text, with how many more there are."""
    if not problems:
        return None
    more = f"; and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}" if len(problems) > 1 else ""
    return f"{problems[0]['what']}{more}"
