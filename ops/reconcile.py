"""`stitch-heroku reconcile --stack NAME`: bring a stack's Destinations back to working Stitch destinations, or say why not.

What a schedule runs, hourly, in the project folder: refresh the stack safely (the program runs, so the
postgresql provider signs in with the credentials Heroku hands out now, never the rotated ones saved in
the state), `up` what drifted, then for each Destination the state holds (found by its type): verify the database
as Stitch's role, and read Stitch's own view of the destination and its loads. A destination paused by a person or
deleted in Stitch is reported, never undone: a person decided that; one Stitch paused itself is healed (its settings
sent again) and still reported: no API call resumes it. A failing load is reported with its cause
(components/stitch_loads.py). Many stacks in one run: ops/fleet.py.
Exit codes: 0 in-sync or healed, 1 failing, 2 usage or config error, 3 drift found with --preview-only.
"""

from __future__ import annotations

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
from stitch_heroku.stitch_loads import LoadsCache, LoadsView, read_loads
from stitch_heroku.suggestions import did_you_mean
from stitch_heroku.up_command import pulumi_up
from stitch_heroku.verification import URL_CHANGED, rerun_only

from . import destination_state, verdict, workspace
from .destination_state import StateDestination

EXIT_OK, EXIT_FAILING, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3
STATUS_EXIT = {"in-sync": EXIT_OK, "healed": EXIT_OK, "failing": EXIT_FAILING, "drift": EXIT_DRIFT, "error": EXIT_USAGE}

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


@dataclass(frozen=True)
class Project:
    """The project folder and how its stacks are opened: the `pulumi` on PATH, the backend it is logged in to."""

    folder: Path
    name: str
    options: auto.LocalWorkspaceOptions
    inline: bool

    @property
    def own(self) -> bool:
        """Whether it is this repository's program, whose Destination's settings are the stack's config."""
        return self.name == workspace.PROJECT

    def stack_names(self) -> list[str]:
        """The project's stacks in the current backend (`pulumi stack ls`)."""
        try:
            found = auto.LocalWorkspace(**_workspace_args(self.options)).list_stacks()
        except auto.CommandError as error:
            raise UsageError(f"cannot list the stacks of {self.folder}: {_last_line(error)}") from None
        return [summary.name.rsplit("/", 1)[-1] for summary in found]

    def open(self, name: str) -> auto.Stack:
        try:
            return workspace.open_stack(name, self.folder, self.options, inline=self.inline, create=False, project_name=self.name)
        except auto.StackNotFoundError:
            hint = did_you_mean(name, self._names_quietly())
            raise UsageError(f"stack {name!r} does not exist in this backend{hint}: pulumi stack ls lists the stacks") from None
        except auto.CommandError as error:
            raise UsageError(f"cannot open stack {name!r}: {_last_line(error)}") from None

    def _names_quietly(self) -> list[str]:
        try:
            return self.stack_names()
        except UsageError:
            return []


def _workspace_args(options: auto.LocalWorkspaceOptions) -> dict[str, Any]:
    return {"work_dir": options.work_dir, "env_vars": options.env_vars, "pulumi_command": options.pulumi_command}


def open_project(project: Path) -> Project:
    """The project in `project`, through the `pulumi` on PATH (wherever it is installed: any folder, any name); inline
    where the CLI has no Python language host (then said on stderr)."""
    if not (project / "Pulumi.yaml").is_file():
        raise UsageError(f"no Pulumi.yaml in {project}: run stitch-heroku reconcile in the project folder")
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
    # PulumiCommand(root=...) runs root/bin/pulumi, which exists only for a CLI in a folder named bin: the command is
    # the one found on PATH instead, wherever it lives (a symlink in ~/tools, a package manager's folder).
    command = auto.PulumiCommand(skip_version_check=True)
    command.command = found
    options = auto.LocalWorkspaceOptions(work_dir=str(project), env_vars=env, pulumi_command=command)
    return Project(project, name_of_project or workspace.PROJECT, options, inline)


def open_project_stack(name: str, project: Path) -> auto.Stack:
    """The user's stack, through the `pulumi` on PATH and the backend it is logged in to."""
    return open_project(project).open(name)


def read_config(stack: auto.Stack, project: str = workspace.PROJECT) -> stack_config.StackConfig:
    """This repository's stack config, validated exactly as the program validates it (secrets decrypted in this process)."""
    try:
        values = stack.get_all_config()
    except auto.CommandError as error:
        raise UsageError(f"cannot read the config of stack {stack.name!r}: {_last_line(error)}") from None
    plain = {key: value.value for key, value in values.items()}
    try:
        return stack_config.load(project, stack.name, plain, lambda key: bool(values[key].secret) if key in values else False)
    except stack_config.ConfigError as error:
        raise UsageError(str(error)) from None


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
    urn: str = ""
    parent: str = ""
    """The parent's URN, so each step is told to the Destination it belongs to."""


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
                urn=meta.urn,
                parent=str((new.parent if new else None) or (old.parent if old else None) or ""),
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

    # Stitch's own role (source url) declares no memberships and no power: a refresh that found some granted by hand
    # is followed by the Role's update, which revokes them (the provider's revokeRoles, then ALTER ROLE ... NO...).
    role_type, powers = "postgresql:index/role:Role", {
        "superuser": "SUPERUSER", "createRole": "CREATEROLE", "createDatabase": "CREATEDB",
        "replication": "REPLICATION", "bypassRowLevelSecurity": "BYPASSRLS",
    }  # fmt: skip
    for refreshed in (s for s in steps if s.type == role_type and s.op == "refresh" and s.diffs):
        before, after = refreshed.old_outputs, refreshed.new_outputs
        joined = sorted(set(after.get("roles") or []) - set(before.get("roles") or []))
        given = [word for key, word in powers.items() if after.get(key) and not before.get(key)]
        gained = ([f"made a member of {', '.join(joined)}"] if joined else []) + ([f"given {', '.join(given)}"] if given else [])
        if not gained:
            continue
        role = after.get("name") or "the Stitch role"
        healed = any(s.type == role_type and s.name == refreshed.name for s in changing)
        tail = ("taken back" if applied else "up would take it back") if healed else "not taken back"
        add(f"Stitch's role {role} had been {' and '.join(gained)} by hand; {tail}", refreshed.name)

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
    """One Destination's verdict: its printable result (already scrubbed of secrets) and the checklist."""

    status: str
    result: dict[str, Any]
    report: Report | None
    loads: LoadsView | None = None

    @property
    def name(self) -> str:
        return str(self.result.get("name") or self.result.get("stack"))


@dataclass
class StackOutcome:
    """One stack's verdict: the worst of its Destinations', or the error that kept it from being judged."""

    stack: str
    status: str
    destinations: list[Outcome] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT[self.status]

    def to_dict(self) -> dict[str, Any]:
        error = {"error": self.error} if self.error is not None else {}
        return {"stack": self.stack, "status": self.status, **error, "destinations": [o.result for o in self.destinations]}

    @property
    def first_failing(self) -> Outcome | None:
        """The Destination the one line names: the first whose status is the stack's."""
        return next((o for o in self.destinations if o.status == self.status), None)


RANK = ("in-sync", "healed", "drift", "failing", "error")
"""Statuses from best to worst: a stack's is its worst Destination's, a fleet's its worst stack's."""


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=RANK.index, default="in-sync")


def laid_out_before_the_component(deployment: Mapping[str, Any]) -> bool:
    """Whether the state is as 0.1.0 left it: our resources, but no Destination component above them."""
    types = {resource.get("type") for resource in deployment.get("resources") or []}
    return VERIFICATION in types and DESTINATION_TYPE not in types


def moved_by_the_next_up(deployment: Mapping[str, Any]) -> bool:
    """Whether the state is as 0.1.0 left it, or holds resources named as before 0.3.0 (components/moved.py): either
    way the next `up` moves them through aliases, which the engine's refresh with the program trips over."""
    return laid_out_before_the_component(deployment) or bool(named_as_before(deployment.get("resources") or []))


@dataclass
class Before:
    """One Destination before the engine runs: its settings, Stitch's view of it and the secrets it holds."""

    destination: StateDestination | None
    """None for a state laid out before the component (0.1.0): its outputs are then the stack's own."""
    cfg: stack_config.StackConfig
    outputs: Mapping[str, auto.OutputValue]
    view: StitchView
    secrets: set[str]

    @property
    def name(self) -> str:
        return self.destination.name if self.destination is not None else workspace.PROJECT


def reconcile_stack(
    stack: auto.Stack, own_cfg: stack_config.StackConfig | None, *, preview_only: bool, cache: LoadsCache | None = None,
    environ: Mapping[str, str] = os.environ,
) -> StackOutcome:  # fmt: skip
    """Every Destination of the stack, judged; the engine's refresh and up run once for all of them.

    own_cfg: this repository's stack config (its program hands it to its one Destination); None for a project of
    another name, whose Destinations' settings are their day-two records, each with the token it was given, else the
    run's (stitch:accessToken, STITCH_ACCESS_TOKEN)."""
    deployment = _deployment(stack)
    found = destination_state.destinations_of(deployment)
    legacy = own_cfg is not None and not found and laid_out_before_the_component(deployment)
    if not found and not legacy:
        raise UsageError(f"stack {stack.name!r} holds no stitch-heroku Destination: run pulumi up --stack {stack.name} first")
    token = None if own_cfg is not None else destination_state.run_token(_config(stack), environ)
    befores = [_before(stack, d, own_cfg, token) for d in (found or [None])]

    # Never a plain refresh: it configures the postgresql provider from the state, whose password Heroku
    # may have rotated ("password authentication failed"). --run-program refreshes with the program's
    # current settings (tests/test_real_engine.py proves both); refresh and update run as one operation, once a stack.
    events = EngineEvents()
    engine = {"on_event": events, "on_output": lambda _line: None, "color": "never", "refresh": True, "run_program": True}
    held_by = [b for b in befores if b.view.blocked is not None and not b.view.heal_anyway]
    dry_run = preview_only or bool(held_by)
    failed = None
    try:
        if moved_by_the_next_up(deployment):
            # Resources of 0.1.0 still sit at the stack's root, or 0.2.0's carry their short names: the engine's refresh
            # with the program trips over their aliases (pulumi v3.274 engine/deployment.go assertSeen: "URN ... had not
            # been marked as seen"), so they are moved first, by the plain up (or preview) any upgrade takes (CHANGELOG.md).
            engine["refresh"] = False
            if not dry_run:
                workspace.up_without_readback(stack, suppress_progress=True, **engine)
                engine["refresh"] = True
        if dry_run:
            stack.preview(**engine)
        else:
            workspace.up_without_readback(stack, suppress_progress=True, **engine)
    except auto.CommandError as error:
        failed = "\n".join(events.errors) or _last_line(error)

    after, state_problem = deployment, None
    if not dry_run:
        try:
            after = stack.export_stack().deployment
        except auto.CommandError as error:
            state_problem = {"what": f"cannot read the stack's state: {_last_line(error)}", "fix": "run the reconcile again"}
    now = {d.urn: d for d in destination_state.destinations_of(after)}
    parents = _parents(deployment, after, events.steps)
    secrets = set().union(*(b.secrets for b in befores))
    outcomes = []
    for before in befores:
        destination = now.get(before.destination.urn) if before.destination is not None else next(iter(now.values()), None)
        steps = events.steps if len(befores) == 1 else [s for s in events.steps if _under(s, before.destination, parents)]
        outputs = destination.outputs if destination is not None else (stack.outputs() if legacy else before.outputs)
        resources = destination.record.resources if destination is not None else after.get("resources") or []
        problems = [state_problem] if state_problem else []
        if failed is not None:
            problems.append(
                {"what": f"pulumi {'preview' if dry_run else 'up'} failed: {failed}",
                 "fix": "fix what the engine's message names (the verification shows the database's side), then run the reconcile again"}
            )  # fmt: skip
        others = [b.name for b in held_by if b is not before]
        expected = Expectation.in_state({"resources": resources})
        flags = {"dry_run": dry_run, "preview_only": preview_only, "failed": failed is not None, "held_by": others}
        outcomes.append(judge_destination(stack.name, before, steps, outputs, expected, problems, **flags, cache=cache, secrets=secrets))
    return StackOutcome(stack.name, worst(o.status for o in outcomes), outcomes)


def _deployment(stack: auto.Stack) -> dict[str, Any]:
    try:
        return stack.export_stack().deployment or {}
    except auto.CommandError as error:
        raise UsageError(f"cannot read the state of stack {stack.name!r}: {_last_line(error)}") from None


def _config(stack: auto.Stack) -> dict[str, auto.ConfigValue]:
    try:
        return stack.get_all_config()
    except auto.CommandError as error:
        raise UsageError(f"cannot read the config of stack {stack.name!r}: {_last_line(error)}") from None


def _before(stack: auto.Stack, destination: StateDestination | None, own_cfg: stack_config.StackConfig | None, token: str | None) -> Before:
    """A Destination's settings and Stitch's view of it; a managed one without a token is blocked, with how to give one."""
    if own_cfg is not None:
        cfg = own_cfg
    else:
        assert destination is not None
        try:
            cfg = destination_state.settings_of(destination, stack.name, destination.record.given_token or token)
        except stack_config.ConfigError as error:
            raise UsageError(f"Destination {destination.name!r}: {error}") from None
    outputs = destination.outputs if destination is not None else stack.outputs()
    secrets = _secret_values(outputs, cfg)
    destination_id = _value(outputs.get("stitch_destination_id"))
    if cfg.stitch is None and destination is not None and destination.managed_in_stitch:
        data = {"managed": True, "destination_id": destination_id, "token": None}
        what = (
            f"Destination {destination.name!r} is managed in Stitch (destination {destination_id}) but this run has no Stitch token for it"
        )
        view = StitchView(data, what, destination_state.token_fix(stack.name, own_program=own_cfg is not None))
    else:
        view = look_at_stitch(cfg, destination_id, secrets, stack.name)
    return Before(destination, cfg, outputs, view, secrets)


def _parents(*states_and_steps: Any) -> dict[str, str]:
    """Each URN's parent, from the states before and after and from the engine's steps (a resource a preview would create)."""
    *states, steps = states_and_steps
    parents = {str(r.get("urn")): str(r.get("parent") or "") for state in states for r in state.get("resources") or []}
    return parents | {s.urn: s.parent for s in steps if s.urn and s.parent}


def _under(step: Step, destination: StateDestination | None, parents: Mapping[str, str]) -> bool:
    if destination is None:
        return True
    urn, seen = step.urn, set()
    while urn and urn not in seen:
        if urn == destination.urn:
            return True
        seen.add(urn)
        urn = parents.get(urn, "")
    return False


def judge_destination(
    stack: str, before: Before, steps: Sequence[Step], outputs: Mapping[str, auto.OutputValue], expected: Expectation,
    problems: list[dict[str, str]], *, dry_run: bool, preview_only: bool, failed: bool, held_by: Sequence[str],
    cache: LoadsCache | None, secrets: set[str],
) -> Outcome:  # fmt: skip
    """One Destination after the engine ran: its changes, its verification as Stitch's role, Stitch's view and loads."""
    cfg, view = before.cfg, before.view
    if view.blocked:
        problems.insert(0, {"what": view.blocked, "fix": view.fix or ""})
    changes = describe_changes(steps, cfg, applied=not dry_run and not failed)
    if changes and held_by and not preview_only:
        problems.append(
            {"what": f"nothing of the stack was written: Destination {', '.join(held_by)} is blocked (see its problems)",
             "fix": "once that is resolved, the next run heals this one too"}
        )  # fmt: skip
    secrets = secrets | _secret_values(outputs, cfg)
    verification, report = verify_as_stitch(outputs, cfg, expected)
    if report is not None and not report.ready:
        fixes = "; ".join(f"{c.name}: {c.fix}" for c in report.checks if c.fix and c.status == "fail")
        problems.append(
            {"what": f"the verification as the Stitch role failed ({', '.join(c.name for c in report.failed())})", "fix": fixes}
        )
    elif report is None:
        problems.append({"what": verification["error"], "fix": pulumi_up(stack)})
    # Over a Heroku plan's capacity Heroku restricts the database: never healed here, failing even in a preview.
    over_plan = cap.problem(report.capacity if report is not None else None)
    if over_plan is not None:
        problems.insert(0, over_plan)
        changes = [_not_fought(change) for change in changes]

    if not dry_run and not failed and changes:
        view = look_at_stitch(cfg, _value(outputs.get("stitch_destination_id")), secrets, stack)  # Stitch after the heal
        if view.blocked and all(problem["what"] != view.blocked for problem in problems):
            problems.append({"what": view.blocked, "fix": view.fix or ""})
    step = view.data.get("report_card_step")
    if view.data.get("found") and step != FULLY_CONFIGURED and not view.blocked and not dry_run:
        problems.append(
            {"what": f"Stitch's report card is at {step!r}, not {FULLY_CONFIGURED!r}", "fix": "look at the destination in Stitch"}
        )

    sent = _sent_to_stitch(steps, applied=not dry_run and not failed)
    over = cap.over_plan(report.capacity if report is not None else None)
    loads = loads_of(view, cfg, stitch_settings(outputs), secrets, sent=sent, over_capacity=over, cache=cache)
    problems += loads.problems() if loads is not None else []
    # Every warning of every check reaches the verdict: the checklist's (least privilege, capacity, connections) first.
    warnings = [{"what": f"{c.name}: {c.detail}", "fix": c.fix or ""} for c in (report.checks if report else []) if c.status == "warn"]
    warnings += loads.warnings() if loads is not None else []

    halted = view.blocked is not None or failed or over_plan is not None or bool(changes and held_by and not preview_only)
    status = verdict.status(problems, blocked=halted, dry_run=dry_run, changed=bool(changes))
    identity = {"name": before.name, "urn": before.destination.urn if before.destination is not None else None}
    result = {"stack": stack, **identity, "status": status, "preview_only": preview_only, "changes": changes,
              "verification": verification, "capacity": report.capacity if report is not None else None, "stitch": view.data,
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
    cache: LoadsCache | None = None,
) -> LoadsView | None:
    """Stitch's loads into this destination, read once per run and account (all pages, the cache); None where there is
    nothing to read them with (no token, or no destination in Stitch)."""
    if cfg.stitch is None or view.client is None or view.destination is None:
        return None
    loads = read_loads(
        view.client, view.destination, view.destinations, settings, connect_timeout=cfg.connect_timeout, source=cfg.source,
        secrets=secrets, stale_hours=cfg.stitch.load_stale_hours, over_capacity=over_capacity, cache=cache,
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


def one_line(outcome: Outcome, label: str | None = None) -> str:
    """The verdict for people: status, what changed, the verification, Stitch and the warnings, on one line.

    label: what the line starts with (the stack's name; a Destination's, under a stack that holds several)."""
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
    warnings = result.get("warnings") or []
    if warnings:
        more = f" and {len(warnings) - 1} more" if len(warnings) > 1 else ""
        where += f"; warning: {warnings[0]['what']}{more}"
    cause = verdict.first_cause(result["problems"]) if outcome.status in ("failing", "drift") else None
    head = f"{outcome.status} ({cause})" if cause else outcome.status
    return f"{label or result['stack']}: {head}: {said}; verification {ready}{where}"


def stack_line(outcome: StackOutcome) -> str:
    """The stack's one line: its own verdict, naming the Destination that fails first where it holds several."""
    if outcome.error is not None:
        return f"{outcome.stack}: error: {outcome.error}"
    if len(outcome.destinations) == 1:
        return one_line(outcome.destinations[0])
    first = outcome.first_failing
    cause = verdict.first_cause(first.result["problems"]) if first is not None and outcome.status in ("failing", "drift") else None
    head = f"{outcome.status} ({first.name}: {cause})" if first is not None and cause else outcome.status
    return f"{outcome.stack}: {head}: " + ", ".join(f"{o.name} {o.status}" for o in outcome.destinations)


def _capacity_status(outcome: Outcome) -> str | None:
    check = next((c for c in outcome.report.checks if c.name == "capacity"), None) if outcome.report is not None else None
    return check.status if check is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ops.reconcile`: the same command as `stitch-heroku reconcile` (ops/fleet.py)."""
    from . import fleet

    return fleet.main(argv)


if __name__ == "__main__":
    sys.exit(main())
