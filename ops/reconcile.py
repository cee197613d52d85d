"""`python -m ops.reconcile --stack NAME`: bring one stack back to a working Stitch destination, or say why not.

What a schedule runs, hourly, in the project folder: refresh the stack safely (the program runs, so the
postgresql provider signs in with the credentials Heroku hands out now, never the rotated ones saved in
the state), `up` what drifted, verify the database as Stitch's role, and read Stitch's own view of the
destination and its loads. A destination paused by a person or deleted in Stitch is reported, never undone: a
person decided that; one Stitch paused itself is healed (its settings sent again) and still reported: no API call
resumes it. A failing load is reported with its cause (components/stitch_loads.py).
Exit codes: 0 in-sync or healed, 1 failing, 2 usage or config error, 3 drift found with --preview-only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from stitch_heroku import capacity as cap
from stitch_heroku import config as stack_config
from stitch_heroku.checks import Expectation, Report, verify
from stitch_heroku.connection import ConnectionSettings, hide_known
from stitch_heroku.moved import named_as_before
from stitch_heroku.state_record import DESTINATION_TYPE
from stitch_heroku.stitch_api import FULLY_CONFIGURED, StitchApiError, StitchClient
from stitch_heroku.stitch_loads import LoadsView, read_loads
from stitch_heroku.verification import URL_CHANGED, rerun_only

from . import destination_state, verdict, workspace

EXIT_OK, EXIT_FAILING, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3
STATUS_EXIT = {"in-sync": EXIT_OK, "healed": EXIT_OK, "failing": EXIT_FAILING, "drift": EXIT_DRIFT}

GRANT = "postgresql:index/grant:Grant"
OWNER_PROVIDER = "pulumi:providers:postgresql"
VERIFICATION = "pulumi-python:dynamic/stitch:Verification"
DESTINATION = "pulumi-python:dynamic/stitch:Destination"
# Engine operations that change something (or would, in a preview); same, read and refresh do not.
CHANGING = frozenset({"create", "update", "delete", "replace", "create-replacement", "delete-replaced", "import"})
# The Verification's inputs that hold the capacity check's limits (storage_limit_gb, the plan).
LIMITS = ("capacity_limits",)
# The Destination's check verdicts after which nothing needs doing (components/stitch_destination.py SETTLED).
SETTLED = (None, "succeeded", "unconfirmed")


class UsageError(Exception):
    """Bad arguments, no CLI, an unknown stack or a config the program would refuse: exit code 2."""


def say(message: str) -> None:
    print(f"reconcile: {message}", file=sys.stderr, flush=True)


# -- the stack ------------------------------------------------------------------------------------


def open_project_stack(name: str, project: Path) -> auto.Stack:
    """The user's stack, through the `pulumi` on PATH and the backend it is logged in to; inline where the
    CLI has no Python language host (then said on stderr)."""
    if not (project / "Pulumi.yaml").is_file():
        raise UsageError(f"no Pulumi.yaml in {project}: run python -m ops.reconcile in the project folder")
    found = shutil.which("pulumi")
    if found is None:
        raise UsageError("no Pulumi CLI on PATH: install it (https://www.pulumi.com/docs/install/) and log in to the stack's backend")
    bin_dir = Path(found).resolve().parent
    name_of_project, runtime = destination_state.project_of(project)
    inline = runtime == "python" and not workspace.has_language_host(bin_dir)
    env: dict[str, str] = {"PULUMI_SKIP_UPDATE_CHECK": os.environ.get("PULUMI_SKIP_UPDATE_CHECK", "true")}
    if inline:
        say(f"the Pulumi CLI in {bin_dir} has no Python language host: running __main__.py in this process (inline), as try_local does")
        # The dynamic-provider host runs this interpreter's Python (the language host would set it from Pulumi.yaml).
        env["PULUMI_RUNTIME_VIRTUALENV"] = os.environ.get("PULUMI_RUNTIME_VIRTUALENV", sys.prefix)
        os.environ.setdefault("PULUMI_RUNTIME_VIRTUALENV", sys.prefix)
    command = auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True)
    options = auto.LocalWorkspaceOptions(work_dir=str(project), env_vars=env, pulumi_command=command)
    try:
        return workspace.open_stack(name, project, options, inline=inline, create=False, project_name=name_of_project or workspace.PROJECT)
    except auto.StackNotFoundError:
        raise UsageError(f"stack {name!r} does not exist in this backend: pulumi stack ls lists the stacks") from None
    except auto.CommandError as error:
        raise UsageError(f"cannot open stack {name!r}: {_last_line(error)}") from None


def read_config(stack: auto.Stack, project: str = workspace.PROJECT) -> stack_config.StackConfig:
    """The stack's config, validated exactly as the program validates it (secrets decrypted in this process).

    A project of another name holds a Destination in a program of its own: then the settings it was given,
    as the Destination recorded them in the state (the Stitch token from STITCH_ACCESS_TOKEN)."""
    if project != workspace.PROJECT:
        return settings_of_destination(stack)
    try:
        values = stack.get_all_config()
    except auto.CommandError as error:
        raise UsageError(f"cannot read the config of stack {stack.name!r}: {_last_line(error)}") from None
    plain = {key: value.value for key, value in values.items()}
    try:
        return stack_config.load(project, stack.name, plain, lambda key: bool(values[key].secret) if key in values else False)
    except stack_config.ConfigError as error:
        raise UsageError(str(error)) from None


def settings_of_destination(stack: auto.Stack) -> stack_config.StackConfig:
    outputs = destination_state.destination_outputs(stack)
    recorded = destination_state.recorded_settings(outputs or {})
    if recorded is None:
        raise UsageError(f"stack {stack.name!r} holds no stitch-heroku Destination (one, run with pulumi up since 0.2.0)")
    raw: dict[str, str | stack_config.Deferred | None] = dict(recorded.get("settings") or {})
    # Secret inputs are only named in the record: present, and never needed here (the outputs carry the credential).
    raw |= {key: stack_config.Deferred(None) for key in recorded.get("secrets") or () if key in stack_config.PROJECT_KEYS}
    token = os.environ.get(stack_config.STITCH_TOKEN_ENV)
    try:
        return stack_config.validate(
            stack.name, raw, secret_keys=set(stack_config.SECRET_KEYS), heroku_key="env", stitch_token=("env", token) if token else None
        )
    except stack_config.ConfigError as error:
        raise UsageError(str(error)) from None


def stitch_outputs(stack: auto.Stack, outputs: Mapping[str, auto.OutputValue]) -> Mapping[str, auto.OutputValue]:
    """The stack's outputs when they are the Destination's (this repository's program exports them all); else
    the Destination's own, from the state."""
    if "host" in outputs:
        return outputs
    return destination_state.destination_outputs(stack) or outputs


# -- what the engine did ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One resource step of the engine, as its event shows it (secret values already masked by the engine)."""

    name: str
    type: str
    op: str
    diffs: tuple[str, ...]
    old_inputs: Mapping[str, Any]
    new_inputs: Mapping[str, Any]
    old_outputs: Mapping[str, Any]
    new_outputs: Mapping[str, Any]


@dataclass
class EngineEvents:
    """The Automation API's on_event callback: keeps each resource's step and the engine's error messages."""

    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __call__(self, event: auto.EngineEvent) -> None:
        diagnostic = event.diagnostic_event
        if diagnostic is not None and diagnostic.severity == "error":
            self.errors.append(diagnostic.message.strip())
        done = event.res_outputs_event
        if done is None:
            return
        meta = done.metadata
        old, new = meta.old, meta.new
        self.steps.append(
            Step(
                name=meta.urn.rsplit("::", 1)[-1],
                type=meta.type,
                op=meta.op.value if hasattr(meta.op, "value") else str(meta.op),
                diffs=tuple(meta.diffs or ()),
                old_inputs=(old.inputs or {}) if old else {},
                new_inputs=(new.inputs or {}) if new else {},
                old_outputs=(old.outputs or {}) if old else {},
                new_outputs=(new.outputs or {}) if new else {},
            )
        )


def describe_changes(steps: Sequence[Step], cfg: stack_config.StackConfig, *, applied: bool) -> list[dict[str, Any]]:
    """What changed (or, in a preview, would change) and why, one entry a cause, in words a person reads.

    The causes are told apart by which resource the engine changed and which property: a Verification
    updated while its other inputs stayed the same means the Stitch credential's URL changed (a
    rotation); a Grant whose refresh found privileges missing and was then updated means they had been
    revoked; a Destination updated while its last check had failed means Stitch held stale settings."""
    changes: list[dict[str, Any]] = []
    used: set[str] = set()

    def add(summary: str, *names: str) -> None:
        changes.append({"summary": summary, "resources": list(names)})
        used.update(names)

    # verify_on_every_up re-runs the Verification on purpose every time: that alone changed nothing.
    changing = [s for s in steps if s.op in CHANGING and not (s.type == VERIFICATION and rerun_only(s.old_inputs, s.new_inputs))]
    verification = next((s for s in changing if s.type == VERIFICATION), None)
    destination = next((s for s in changing if s.type == DESTINATION), None)
    owner = next((s for s in changing if s.type == OWNER_PROVIDER and "password" in s.diffs), None)
    url_changed = verification is not None and (
        verification.new_inputs[URL_CHANGED] is True
        if URL_CHANGED in verification.new_inputs
        else all(verification.old_inputs.get(key) == verification.new_inputs.get(key) for key in ("connect_timeout", "run_token", *LIMITS))
    )
    limits_changed = verification is not None and any(verification.old_inputs.get(k) != verification.new_inputs.get(k) for k in LIMITS)
    stitch_was_failing = (
        destination is not None and destination.op == "update" and destination.old_outputs.get("connection_check") not in SETTLED
    )

    # Stitch's own Heroku credential mid-rotation: its URL holds a temporary username, and Stitch is sent nothing.
    held = any(s.type == DESTINATION and s.new_inputs.get("hold") is True for s in steps)
    if verification is not None and url_changed and held:
        cause = "Heroku is rotating the Stitch credential (its URL holds a temporary username until the rotation ends)"
        tail = "; verified again as that username, nothing sent to Stitch until it ends" if applied else "; up would verify it again"
        add(cause + tail, verification.name)
    elif verification is not None and url_changed:
        credential = f"the Stitch credential ({cfg.stitch_config_var})" if cfg.stitch_config_var else "the Stitch credential"
        if cfg.source == "url":
            cause = f"{credential}'s URL changed in the stack's config (stitch_url or database_url)"
        elif cfg.stitch_config_var or cfg.stitch_url:
            cause = f"Heroku rotated {credential}'s password"
        else:
            cause = "Heroku rotated the Stitch credential's password (the database's default credential, DATABASE_URL)"
        names = [verification.name, *([owner.name] if owner and not cfg.stitch_config_var else [])]
        if destination is not None and destination.op == "update":
            names.append(destination.name)
            tail = "; verified again as the Stitch role and Stitch updated" if applied else "; up would verify it and update Stitch"
        else:
            tail = "; verified again as the Stitch role" if applied else "; up would verify it again"
        add(cause + tail, *names)
    if verification is not None and limits_changed and not url_changed:
        was = (verification.old_inputs.get("capacity_limits") or {}).get("origin") or "none"
        now = (verification.new_inputs.get("capacity_limits") or {}).get("origin") or "none"
        add(f"the capacity limits changed (from {was} to {now}){'; verified again' if applied else '; up would verify again'}",
            verification.name)  # fmt: skip
    if owner is not None and owner.name not in used:
        who = "the stack's database_url changed" if cfg.source == "url" else "Heroku rotated the database owner's password"
        add(f"{who}; the grant's connection {'uses' if applied else 'would use'} the new one", owner.name)

    for refreshed in (s for s in steps if s.type == GRANT and s.op == "refresh" and "privileges" in s.diffs):
        wanted = {str(p).upper() for p in refreshed.old_outputs.get("privileges") or []}
        held = {str(p).upper() for p in refreshed.new_outputs.get("privileges") or []}
        missing = ", ".join(sorted(wanted - held)) or "a privilege"
        role, database = refreshed.new_inputs.get("role", "the Stitch role"), refreshed.new_inputs.get("database", "the database")
        healed = any(s.type == GRANT and s.name == refreshed.name for s in changing)
        tail = ("granted again" if applied else "up would grant it again") if healed else "not granted again"
        add(f'{missing} on database "{database}" had been revoked from {role}; {tail}', refreshed.name)

    if destination is not None and destination.name not in used:
        destination_id = destination.old_outputs.get("destination_id") or destination.new_outputs.get("destination_id") or "?"
        if stitch_was_failing:
            step = destination.old_outputs.get("report_card_step") or "?"
            head = (
                f"Stitch's connection check of destination {destination_id} was failing (report card at {step!r}): Stitch "
                "held settings that no longer connect, such as an old password"
            )
            tail = "; sent the current settings again and Stitch's check passed" if applied else "; up would send them again"
            add(head + tail, destination.name)
        elif destination.op == "create":
            add("the destination is not in Stitch; pulumi up would create a new one (the reconcile never does)", destination.name)
        else:
            add(
                f"destination {destination_id} in Stitch {'was' if applied else 'would be'} updated with the stack's settings",
                destination.name,
            )

    for step in changing:
        if step.name not in used:
            detail = f" ({', '.join(step.diffs)})" if step.diffs else ""
            add(f"{step.op} of {step.type} {step.name!r}{detail}{'' if applied else ' (pending)'}", step.name)
    return changes


# -- Stitch's view and our verification ------------------------------------------------------------


@dataclass
class StitchView:
    """What Stitch shows of the destination (destination-object-v4.md), and what blocks a heal."""

    data: dict[str, Any]
    blocked: str | None = None
    """Why the destination is not loading: a pause or a deletion made in Stitch, or no destination yet."""
    fix: str | None = None
    heal_anyway: bool = False
    """The pause is Stitch's own (system_paused_at), most likely for the very cause a heal removes (a rotated
    password it never got): heal and send the settings, and still report the pause. A person's pause or
    deletion is theirs to undo: nothing is written then."""
    destination: dict[str, Any] | None = None
    """The destination object as listed, for its stitch_client_id (the loads' account)."""
    destinations: list[dict[str, Any]] = field(default_factory=list)
    """The account's whole list, to know whether ours is its only destination."""
    client: StitchClient | None = None


def look_at_stitch(cfg: stack_config.StackConfig, destination_id: str | None, secrets: Iterable[str], stack: str) -> StitchView:
    """Find the destination by the stack's `stitch_destination_id` output and read its report card, its pause
    and delete times and its last connection check. Read-only: GET calls only."""
    if cfg.stitch is None:
        return StitchView({"managed": False, "note": "no Stitch token: the destination in Stitch is a manual step"})
    data: dict[str, Any] = {"managed": True, "destination_id": destination_id}
    if not destination_id:
        return StitchView(
            data, "the stack has a Stitch token but no destination in its state yet",
            f"run pulumi up --stack {stack} once to register the destination; the reconcile never creates one",
        )  # fmt: skip
    client = StitchClient(cfg.stitch.access_token, base_url=cfg.stitch.api_url, secrets=list(secrets))
    try:
        listed = client.list_destinations()
        found = next((d for d in listed if str(d.get("id")) == str(destination_id)), None)
        check = client.last_connection_check(destination_id) if found is not None else None
    except StitchApiError as error:
        data["error"] = str(error)
        return StitchView(data, "Stitch could not be read", "see the error; the reconcile runs again at the next schedule")
    if found is None:
        data["found"] = False
        return StitchView(data, f"destination {destination_id} is gone from Stitch (deleted in its UI?)", _deleted_fix(stack))
    seen = {"destination": found, "destinations": listed, "client": client}
    data |= {
        "found": True,
        "name": found.get("name"),
        "report_card_step": (found.get("report_card") or {}).get("current_step_type"),
        # destination-object-v4.md (stitchdata/docs, _developer-files/connect/api/objects/destinations/v4/):
        # paused_at: paused by the user; system_paused_at: paused by the system; deleted_at: when it was deleted.
        "paused_at": found.get("paused_at"),
        "system_paused_at": found.get("system_paused_at"),
        "deleted_at": found.get("deleted_at"),
        "last_connection_check": {"status": check.status, "error": check.error} if check is not None else None,
    }
    if found.get("deleted_at"):
        return StitchView(data, f"destination {destination_id} was deleted in Stitch at {found['deleted_at']}", _deleted_fix(stack))
    if found.get("paused_at"):
        return StitchView(
            data, f"destination {destination_id} was paused in Stitch by a user at {found['paused_at']}: nothing loads until it is resumed",
            "if the pause was not meant, resume the destination in Stitch, then run the reconcile again; it never resumes it itself",
            **seen,
        )  # fmt: skip
    if found.get("system_paused_at"):
        # The Connect API has no call that resumes a destination: update-a-destination-v4.md takes only
        # `properties`, and api.yml lists pause and unpause for sources alone. So the heal's PUT leaves it paused.
        return StitchView(
            data, f"Stitch paused destination {destination_id} itself at {found['system_paused_at']} (usually after repeated load errors)",
            "read the destination's notifications in Stitch; the reconcile heals the database side and sends Stitch the current "
            "settings, but no Connect API call resumes a destination: resume it in Stitch, then run the reconcile again",
            heal_anyway=True,
            **seen,
        )  # fmt: skip
    return StitchView(data, **seen)


def _deleted_fix(stack: str) -> str:
    return (
        f"to register a new destination run pulumi up --stack {stack} (its sources must then be mapped to it again), or adopt another "
        f"with pulumi config set stitch_destination_id <id> --stack {stack}; the reconcile never re-creates a destination deleted in Stitch"
    )


def stitch_settings(outputs: Mapping[str, auto.OutputValue]) -> ConnectionSettings | None:
    """Stitch's connection settings from the stack's outputs; None before the first up."""
    try:
        return ConnectionSettings(
            host=str(outputs["host"].value),
            port=int(outputs["port"].value),
            username=str(outputs["username"].value),
            password=str(outputs["password"].value),
            database=str(outputs["database"].value),
        )
    except (KeyError, TypeError, ValueError):
        return None


def verify_as_stitch(
    outputs: Mapping[str, auto.OutputValue], cfg: stack_config.StackConfig, expected: Expectation
) -> tuple[dict[str, Any], Report | None]:
    """The verification checklist, run here and now as the Stitch role, with the credential from the stack's outputs,
    judging least privilege as the stack's Verification does (expected: Expectation.in_state)."""
    settings = stitch_settings(outputs)
    if settings is None:
        return {"ready": False, "error": "the stack has no Stitch outputs yet: run pulumi up first"}, None
    # The limits the program measured against in its last verification, and the measurements kept since.
    previous = outputs.get("verification")
    limits, samples = cap.earlier(previous.value if previous is not None else None)
    report = verify(
        settings, connect_timeout=cfg.connect_timeout, wait_seconds=0, source=cfg.source, credential=expected.credential,
        owner_reason=expected.owner_reason, limits=limits, samples=samples,
    )  # fmt: skip
    return report.to_dict(), report


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One run's verdict: its printable result (already scrubbed of secrets) and the checklist."""

    status: str
    result: dict[str, Any]
    report: Report | None
    loads: LoadsView | None = None


def laid_out_before_the_component(stack: auto.Stack) -> bool:
    """Whether the state is as 0.1.0 left it (our resources, but no Destination component above them), or holds
    resources named as before 0.3.0 (components/moved.py): either way the next `up` moves them through aliases."""
    resources = stack.export_stack().deployment.get("resources") or []
    types = {resource.get("type") for resource in resources}
    return (VERIFICATION in types and DESTINATION_TYPE not in types) or bool(named_as_before(resources))


def reconcile(stack: auto.Stack, cfg: stack_config.StackConfig, *, preview_only: bool) -> Outcome:
    before = stitch_outputs(stack, stack.outputs())
    destination_id = before.get("stitch_destination_id")
    secrets = _secret_values(before, cfg)
    view = look_at_stitch(cfg, str(destination_id.value) if destination_id and destination_id.value else None, secrets, stack.name)
    problems: list[dict[str, str]] = []
    if view.blocked:
        problems.append({"what": view.blocked, "fix": view.fix or ""})

    # Never a plain refresh: it configures the postgresql provider from the state, whose password Heroku
    # may have rotated ("password authentication failed"). --run-program refreshes with the program's
    # current settings (tests/test_real_engine.py proves both); refresh and update run as one operation.
    events = EngineEvents()
    engine = {"on_event": events, "on_output": lambda _line: None, "color": "never", "refresh": True, "run_program": True}
    dry_run = preview_only or (view.blocked is not None and not view.heal_anyway)
    failed = None
    outputs = before
    try:
        if laid_out_before_the_component(stack):
            # Resources of 0.1.0 still sit at the stack's root: the engine's refresh with the program trips over their
            # aliases (pulumi v3.274 engine/deployment.go assertSeen: "URN ... had not been marked as seen"), so they
            # are moved under the Destination first, by the plain up (or preview) any upgrade takes (CHANGELOG.md).
            engine["refresh"] = False
            if not dry_run:
                stack.up(suppress_progress=True, **engine)
                engine["refresh"] = True
        if dry_run:
            stack.preview(**engine)
        else:
            outputs = stitch_outputs(stack, stack.up(suppress_progress=True, **engine).outputs)
    except auto.CommandError as error:
        failed = "\n".join(events.errors) or _last_line(error)
        problems.append(
            {
                "what": f"pulumi {'preview' if dry_run else 'up'} failed: {failed}",
                "fix": "fix what the engine's message names (the verification shows the database's side), then run the reconcile again",
            }
        )

    changes = describe_changes(events.steps, cfg, applied=not dry_run and failed is None)
    secrets |= _secret_values(outputs, cfg)
    try:
        expected = Expectation.in_state(stack.export_stack().deployment)
    except auto.CommandError as error:
        expected = Expectation()
        problems.append({"what": f"cannot read the stack's state: {_last_line(error)}", "fix": "run the reconcile again"})
    verification, report = verify_as_stitch(outputs, cfg, expected)
    if report is not None and not report.ready:
        fixes = "; ".join(f"{c.name}: {c.fix}" for c in report.checks if c.fix and c.status == "fail")
        problems.append(
            {"what": f"the verification as the Stitch role failed ({', '.join(c.name for c in report.failed())})", "fix": fixes}
        )
    elif report is None:
        problems.append({"what": verification["error"], "fix": f"pulumi up --stack {stack.name}"})
    # Over a Heroku plan's capacity Heroku restricts the database: never healed here, failing even in a preview.
    over_plan = cap.problem(report.capacity if report is not None else None)
    if over_plan is not None:
        problems.insert(0, over_plan)
        changes = [_not_fought(change) for change in changes]

    if not dry_run and not failed and changes:
        view = look_at_stitch(cfg, _value(outputs.get("stitch_destination_id")), secrets, stack.name)  # Stitch after the heal
        if view.blocked and all(problem["what"] != view.blocked for problem in problems):
            problems.append({"what": view.blocked, "fix": view.fix or ""})
    step = view.data.get("report_card_step")
    if view.data.get("found") and step != FULLY_CONFIGURED and not view.blocked and not dry_run:
        problems.append(
            {"what": f"Stitch's report card is at {step!r}, not {FULLY_CONFIGURED!r}", "fix": "look at the destination in Stitch"}
        )

    sent = _sent_to_stitch(events.steps, applied=not dry_run and not failed)
    over = cap.over_plan(report.capacity if report is not None else None)
    loads = loads_of(view, cfg, stitch_settings(outputs), secrets, sent=sent, over_capacity=over)
    problems += loads.problems() if loads is not None else []
    warnings = loads.warnings() if loads is not None else []

    halted = view.blocked is not None or failed is not None or over_plan is not None
    status = verdict.status(problems, blocked=halted, dry_run=dry_run, changed=bool(changes))
    result = {"stack": stack.name, "status": status, "preview_only": preview_only, "changes": changes, "verification": verification,
              "capacity": report.capacity if report is not None else None, "stitch": view.data,
              "loads": loads.to_dict() if loads is not None else None, "problems": problems, "warnings": warnings}  # fmt: skip
    return Outcome(status, scrub(result, secrets), report, loads)


def loads_of(
    view: StitchView,
    cfg: stack_config.StackConfig,
    settings: ConnectionSettings | None,
    secrets: Iterable[str],
    *,
    sent: bool,
    over_capacity: bool | None = None,
) -> LoadsView | None:
    """Stitch's loads into this destination, read once per run (all pages); None where there is nothing to read them
    with (no token, or no destination in Stitch)."""
    if cfg.stitch is None or view.client is None or view.destination is None:
        return None
    loads = read_loads(
        view.client, view.destination, view.destinations, settings, connect_timeout=cfg.connect_timeout, source=cfg.source,
        secrets=secrets, stale_hours=cfg.stitch.load_stale_hours, over_capacity=over_capacity,
    )  # fmt: skip
    return loads.after_sending() if sent else loads


def _sent_to_stitch(steps: Sequence[Step], *, applied: bool) -> bool:
    """Whether this run sent Stitch the stack's settings (the Destination was updated), so a refused password clears."""
    return applied and any(s.type == DESTINATION and s.op == "update" for s in steps)


def _not_fought(change: dict[str, Any]) -> dict[str, Any]:
    """A privilege found revoked while the database is over its Heroku plan: Heroku's enforcement, said so."""
    if "not granted again" in change["summary"]:
        return {**change, "summary": change["summary"].replace("not granted again", f"not granted again: the database is {cap.OVER_PLAN}")}
    return change


def _secret_values(outputs: Mapping[str, auto.OutputValue], cfg: stack_config.StackConfig) -> set[str]:
    """Every secret this run holds, so none can reach what it prints, whatever a message quotes."""
    found = {str(o.value) for o in outputs.values() if o.secret and isinstance(o.value, str) and o.value}
    found |= {s for s in (cfg.database_url, cfg.stitch_url, cfg.stitch.access_token if cfg.stitch else None) if s}
    return found


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """value with every secret replaced by the marker, however deep (strings in dicts and lists)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return hide_known(value, secrets)
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    return value


def _value(output: auto.OutputValue | None) -> str | None:
    return str(output.value) if output is not None and output.value else None


def _last_line(error: BaseException) -> str:
    """The CLI's own last error line (it never prints a secret value)."""
    lines = [
        line.strip() for line in str(error).splitlines() if line.strip() and not line.strip().startswith(("code:", "stdout:", "stderr:"))
    ]
    errors = [line for line in lines if line.lower().startswith("error:")]
    return (errors or lines or [type(error).__name__])[-1]


def one_line(outcome: Outcome) -> str:
    """The verdict for people: status, what changed, the verification and Stitch, on one line."""
    result = outcome.result
    said = "; ".join(c["summary"] for c in result["changes"]) or "nothing to heal"
    ready = "READY" if result["verification"].get("ready") else "NOT READY"
    stitch = result["stitch"]
    where = ""
    capacity = result.get("capacity")
    if capacity and capacity.get("limit_bytes") and _capacity_status(outcome) in ("warn", "fail"):
        where += f"; capacity {cap.capacity_line(capacity)}"
    if stitch.get("managed"):
        where += f"; Stitch destination {stitch.get('destination_id')}: {stitch.get('report_card_step') or 'not found'}"
    if outcome.loads is not None:
        where += f"; {outcome.loads.summary()}"
    cause = verdict.first_cause(result["problems"]) if outcome.status in ("failing", "drift") else None
    head = f"{outcome.status} ({cause})" if cause else outcome.status
    return f"{result['stack']}: {head}: {said}; verification {ready}{where}"


def _capacity_status(outcome: Outcome) -> str | None:
    check = next((c for c in outcome.report.checks if c.name == "capacity"), None) if outcome.report is not None else None
    return check.status if check is not None else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.reconcile",
        description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 in-sync or healed, 1 failing, 2 usage or config error, 3 drift found with --preview-only.",
    )
    parser.add_argument("--stack", required=True, metavar="NAME", help="the stack to reconcile (run in the project folder)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout, for monitoring")
    parser.add_argument(
        "--preview-only", action="store_true",
        help="change nothing (refresh and update as a preview, no write to Stitch); drift found exits 3",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stack = open_project_stack(args.stack, Path.cwd())
        cfg = read_config(stack, destination_state.project_of(Path.cwd())[0] or workspace.PROJECT)
    except UsageError as error:
        if args.json:
            print(json.dumps({"stack": args.stack, "status": "error", "error": str(error)}))
        print(f"reconcile: {error}", file=sys.stderr)
        return EXIT_USAGE
    outcome = reconcile(stack, cfg, preview_only=args.preview_only)
    if args.json:
        print(json.dumps(outcome.result, indent=2))
        return STATUS_EXIT[outcome.status]
    print(one_line(outcome))
    if outcome.status in ("failing", "drift"):
        if outcome.report is not None and not outcome.report.ready:
            print(outcome.report.render())
        for problem in outcome.result["problems"]:
            print(f"  problem: {problem['what']}\n  fix: {problem['fix']}")
    for warning in outcome.result["warnings"]:
        print(f"  warning: {warning['what']}\n  fix: {warning['fix']}")
    return STATUS_EXIT[outcome.status]


if __name__ == "__main__":
    sys.exit(main())
