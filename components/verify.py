"""`python -m components.verify`: check on demand that Stitch will connect and load.

Run it after Heroku maintenance rotates the credentials, or before writing to support. With --stack and a
Stitch token in the stack's config (or STITCH_ACCESS_TOKEN), it also reads Stitch's own loads into the stack's
destination (components/stitch_loads.py): a failing load makes it not ready.
Exit codes: 0 ready, 1 not ready, 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import capacity as cap
from . import config as stack_config
from . import state_record
from .checks import VERIFICATION_TYPE, Capacity, Expectation, verify
from .connection import ConnectionSettings, InvalidDatabaseUrl, parse_database_url
from .stitch_api import StitchApiError, StitchClient
from .stitch_loads import LoadsCache, LoadsView, read_loads
from .suggestions import did_you_mean
from .up_command import pulumi_up

EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2
FROM_STDIN = "-"
PIPE_EXAMPLE = "heroku config:get DATABASE_URL -a <app> | python -m components.verify --database-url -"
PROJECT = "stitch-heroku"
"""Pulumi.yaml's name: the prefix of the project's config keys."""


class UsageError(Exception):
    """Bad arguments or a stack we cannot read: exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.verify",
        description=(
            "Prove that Stitch will connect to and load into a PostgreSQL destination: connect with SSL, "
            "check the server version and CREATE on the database, dry-run a load (rolled back), read the "
            "catalogs Stitch reads, warn when few connections are left, check write access to the tables Stitch "
            "loaded, and measure the database against its storage and table limits."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "The database comes from --stack, else --database-url, else the DATABASE_URL environment variable.\n"
            "A URL holds a password: give it as `--database-url -` (read from stdin, or asked for without echo)\n"
            "or in DATABASE_URL, not on the command line, where ps and the shell history see it:\n\n"
            f"  {PIPE_EXAMPLE}\n\n"
            "Exit codes: 0 ready, 1 not ready, 2 bad usage."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--database-url",
        metavar="URL",
        help="postgres://user:password@host:port/dbname, or - to read it from stdin (safe: not visible in ps or shell history)",
    )
    source.add_argument(
        "--stack", metavar="NAME", help="read the connection settings from this Pulumi stack's outputs (needs the Pulumi CLI)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON, for machines")
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="keep retrying for this long while the database does not answer (a new Heroku database takes minutes)",
    )
    parser.add_argument(
        "--storage-limit-gb",
        type=float,
        metavar="GB",
        help="the database's storage limit for the capacity check (with --stack: overrides the limit its last verification used)",
    )
    parser.add_argument(
        "--connect-timeout", type=int, default=10, metavar="SECONDS", help="give up on one connection attempt after this long (default 10)"
    )
    return parser


@dataclass
class StackDestination:
    """One Destination of a stack, as its state holds it: what to check, and with which token to read Stitch's loads."""

    name: str
    urn: str | None
    outputs: dict[str, Any]
    expected: Expectation
    token: str | None
    managed: bool
    settings: ConnectionSettings | None = None
    capacity: Capacity = field(default_factory=Capacity)
    token_fix: str = ""
    """How to give it a token, in the terms of the program at hand."""


def stack_destinations(stack: str, environ: Mapping[str, str], folder: Path | None = None) -> list[StackDestination]:
    """Every Destination of the stack, found by its type in the state (`pulumi stack export --show-secrets`, the
    stack owner's own right), never by output names: a program's own output named `host` is not ours. A state laid
    out before the component (0.1.0, this repository's program) has no Destination: its stack outputs are then ours."""
    exported = _pulumi_json(stack, "state", "stack", "export", "--show-secrets")
    deployment = (exported.get("deployment") if isinstance(exported, dict) else None) or {}
    records = state_record.destinations(deployment)
    token = _run_token(stack, environ)
    folder = folder or Path.cwd()
    own = not (folder / "Pulumi.yaml").is_file() or state_record.project_of(folder)[0] == PROJECT
    found = []
    for record in records:
        expected = Expectation.in_state({"resources": record.resources})
        token_of = record.given_token or token
        found.append(StackDestination(record.name, record.urn, record.plain_outputs(), expected, token_of, record.managed_in_stitch))
    if not found and any(r.get("type") == VERIFICATION_TYPE for r in deployment.get("resources") or []):
        outputs = _pulumi_json(stack, "outputs", "stack", "output", "--json", "--show-secrets")
        found.append(
            StackDestination(PROJECT, None, outputs if isinstance(outputs, dict) else {}, Expectation.in_state(deployment), token, False)
        )
    if not found:
        raise UsageError(f"stack {stack!r} holds no stitch-heroku Destination: run `pulumi up --stack {stack}` first")
    for destination in found:
        destination.settings, destination.capacity = settings_of(stack, destination.outputs)
        destination.token_fix = state_record.token_fix(stack, own_program=own)
    return found


def settings_of(stack: str, outputs: Mapping[str, Any]) -> tuple[ConnectionSettings | None, Capacity]:
    """Stitch's connection settings from a Destination's outputs (None before its first up); and, from its last
    verification, the capacity limits and the measurements kept for the growth rate."""
    try:
        settings = ConnectionSettings(
            host=outputs["host"], port=int(outputs["port"]), username=outputs["username"], password=outputs["password"],
            database=outputs["database"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None, Capacity()
    return settings, Capacity(*cap.earlier(outputs.get("verification")))


def _pulumi_json(stack: str, what: str, *command: str) -> Any:
    if shutil.which("pulumi") is None:
        raise UsageError("--stack needs the Pulumi CLI on PATH: install it (https://www.pulumi.com/docs/install/) or pass --database-url")
    done = subprocess.run(["pulumi", *command, "--stack", stack], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = done.stderr.strip() or "pulumi failed"
        if "no stack named" in said:
            raise UsageError(
                f"stack {stack!r} does not exist in this backend{did_you_mean(stack, _stack_names())}: pulumi stack ls lists the stacks"
            )
        raise UsageError(f"could not read the {what} of stack {stack!r}: {said}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise UsageError(f"`pulumi {' '.join(command)}` of stack {stack!r} printed no JSON") from None


def _stack_names() -> list[str]:
    """The project's stacks (`pulumi stack ls --json`), for a "did you mean"; none when they cannot be listed."""
    done = subprocess.run(["pulumi", "stack", "ls", "--json"], capture_output=True, text=True, check=False)
    try:
        return [str(item["name"]).rsplit("/", 1)[-1] for item in json.loads(done.stdout) if isinstance(item, dict) and "name" in item]
    except (ValueError, TypeError, KeyError):
        return []


def _stack_config(stack: str) -> dict[str, Any]:
    """The stack's config, secrets decrypted for this process only; empty when it cannot be read."""
    done = subprocess.run(["pulumi", "config", "--json", "--show-secrets", "--stack", stack], capture_output=True, text=True, check=False)
    try:
        return {key: item.get("value") for key, item in json.loads(done.stdout).items() if isinstance(item, dict)}
    except (ValueError, AttributeError):
        return {}


def _run_token(stack: str, environ: Mapping[str, str]) -> str | None:
    """The run's own Stitch token: the stack's stitch:accessToken, else STITCH_ACCESS_TOKEN."""
    return stack_config.find_stitch_token(_stack_config(stack), environ)


def loads_of_stack(
    stack: str, destination: StackDestination, settings: ConnectionSettings, cache: LoadsCache, over_capacity: bool | None = None
) -> LoadsView | None:
    """Stitch's loads into the Destination's destination, read once a run and account (all pages); None when it has no
    destination in Stitch. Only the few settings the loads need are read (the Destination's day-two record, else this
    repository's config keys), with the parsers of components/config.py, so a config problem elsewhere (the Heroku
    login) does not keep the database from being checked."""
    destination_id = destination.outputs.get("stitch_destination_id")
    if not destination_id or destination_id == "released":
        return None
    if not destination.token:
        return LoadsView(read=False, error=f"Destination {destination.name!r} is managed in Stitch but this run has no Stitch token for it")
    record = destination.outputs.get("day_two") if isinstance(destination.outputs.get("day_two"), dict) else None
    given = (
        dict((record or {}).get("settings") or {})
        if record
        else {k.removeprefix(f"{PROJECT}:"): v for k, v in _stack_config(stack).items()}
    )
    try:
        api_url = stack_config.parse_api_url(str(given.get("stitch_api_url") or stack_config.DEFAULT_API_URL))
        stale = given.get("stitch_load_stale_hours")
        stale_hours = stack_config.parse_positive_number(str(stale)) if stale else None
    except stack_config.Invalid as error:
        return LoadsView(read=False, error=f"the stack's Stitch settings: {error}")
    client = StitchClient(str(destination.token), base_url=api_url, secrets=[settings.password])
    try:
        listed = client.list_destinations()
    except StitchApiError as error:
        return LoadsView(read=False, error=str(error))
    found = next((d for d in listed if str(d.get("id")) == str(destination_id) and not d.get("deleted_at")), None)
    if found is None:
        return LoadsView(
            read=False, error=f"destination {destination_id} is not in Stitch (deleted?): stitch-heroku reconcile --stack {stack} says more"
        )
    return read_loads(
        client, found, listed, settings, connect_timeout=10, source=str(given.get("source") or "heroku"),
        secrets=[settings.password, str(destination.token)], stale_hours=stale_hours, over_capacity=over_capacity, cache=cache,
    )  # fmt: skip


def read_url_from_stdin(stdin: TextIO) -> str:
    """The URL piped in, or typed at a prompt that does not echo it."""
    try:
        if stdin.isatty():
            return getpass.getpass("database URL (not shown): ").strip()
        return stdin.readline().strip()
    except EOFError:
        return ""


def resolve_settings(args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO) -> tuple[ConnectionSettings, Capacity]:
    """The database to check, and what the capacity check measures against (a stack's; else --storage-limit-gb)."""
    if args.database_url == FROM_STDIN:
        url, name = read_url_from_stdin(stdin), "the URL read from stdin"
        if not url:
            raise UsageError(f"--database-url -: nothing came on stdin: pipe the URL in, e.g. {PIPE_EXAMPLE}")
    elif args.database_url:
        url, name = args.database_url, "--database-url"
        print(
            "note: a URL on the command line is visible to other users (ps) and stays in the shell history; "
            "use --database-url - (stdin) or DATABASE_URL instead",
            file=sys.stderr,
        )
    elif environ.get("DATABASE_URL"):
        url, name = environ["DATABASE_URL"], "DATABASE_URL"
    else:
        raise UsageError("no database given: pass --database-url - (and the URL on stdin) or --stack NAME, or set DATABASE_URL")
    try:
        settings = parse_database_url(url, name=name)
    except InvalidDatabaseUrl as error:
        raise UsageError(str(error)) from None
    return settings, Capacity(cap.with_storage_limit(None, args.storage_limit_gb) if args.storage_limit_gb is not None else None)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, stdin: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (math.isfinite(args.wait) and args.wait >= 0) or args.connect_timeout < 1:
        parser.error("--wait must be 0 or more and --connect-timeout 1 or more seconds")
    if args.storage_limit_gb is not None and not (math.isfinite(args.storage_limit_gb) and args.storage_limit_gb > 0):
        parser.error("--storage-limit-gb must be a positive number of GB (10**9 bytes), e.g. 1")
    environ = os.environ if environ is None else environ
    try:
        if args.stack:
            return verify_stack(args, stack_destinations(args.stack, environ))
        settings, capacity = resolve_settings(args, environ, sys.stdin if stdin is None else stdin)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # A URL is judged as a credential the user named.
        report = verify(
            settings, connect_timeout=args.connect_timeout, wait_seconds=args.wait, limits=capacity.limits, samples=capacity.samples
        )
    except KeyboardInterrupt:
        print("interrupted: the database was not checked to the end", file=sys.stderr)
        return EXIT_NOT_READY
    print(
        json.dumps(report.to_dict() | {"ready": report.ready, "database_ready": report.ready}, indent=2) if args.json else report.render()
    )
    return EXIT_READY if report.ready else EXIT_NOT_READY


def verify_stack(args: argparse.Namespace, destinations: Sequence[StackDestination]) -> int:
    """Each Destination of the stack checked as its own Verification judges it, with Stitch's loads read with its own
    token (once a run and account); ready only when every one is. The JSON keeps the one Destination's report at the
    top level (the first that is not ready, where there are several) and lists them all in `destinations`."""
    cache = LoadsCache()
    judged: list[dict[str, Any]] = []
    texts: list[str] = []
    for destination in destinations:
        try:
            entry, text = judge_destination(args, destination, cache)
        except KeyboardInterrupt:
            print("interrupted: the database was not checked to the end", file=sys.stderr)
            return EXIT_NOT_READY
        judged.append(entry)
        texts.append(text)
    ready = all(entry["ready"] for entry in judged)
    if args.json:
        shown = next((entry for entry in judged if not entry["ready"]), judged[0])
        several = len(judged) > 1
        warnings = [{**w, "what": f"{e['name']}: {w['what']}"} if several else w for e in judged for w in e["warnings"]]
        print(json.dumps({k: v for k, v in shown.items() if k not in ("name", "urn")} | {"ready": ready, "warnings": warnings,
                          "destinations": judged}, indent=2))  # fmt: skip
    else:
        print("\n\n".join(texts))
        if len(judged) > 1:
            failing = [entry["name"] for entry in judged if not entry["ready"]]
            print(f"\n{'NOT READY: ' + ', '.join(failing) if failing else 'READY'} ({len(judged)} Destinations)")
    return EXIT_READY if ready else EXIT_NOT_READY


def judge_destination(args: argparse.Namespace, destination: StackDestination, cache: LoadsCache) -> tuple[dict[str, Any], str]:
    """One Destination's verdict: its JSON entry and its text for people."""
    head = f"Destination {destination.name}" + (f" ({destination.urn})" if destination.urn else "")
    if destination.settings is None:
        what = f"Destination {destination.name!r} has no Stitch outputs yet: run {pulumi_up(args.stack)} first"
        entry = {"name": destination.name, "urn": destination.urn, "ready": False, "database_ready": False, "error": what,
                 "loads": None, "problems": [{"what": what, "fix": f"pulumi up --stack {args.stack}"}], "warnings": []}  # fmt: skip
        return entry, f"{head}\nNOT READY: {what}"
    capacity = destination.capacity
    if args.storage_limit_gb is not None:
        capacity = Capacity(cap.with_storage_limit(capacity.limits, args.storage_limit_gb), capacity.samples)
    report = verify(
        destination.settings, connect_timeout=args.connect_timeout, wait_seconds=args.wait, credential=destination.expected.credential,
        owner_reason=destination.expected.owner_reason, limits=capacity.limits, samples=capacity.samples,
    )  # fmt: skip
    loads = loads_of_stack(args.stack, destination, destination.settings, cache, cap.over_plan(report.capacity))
    problems = [{"what": f"{c.name}: {c.detail}", "fix": c.fix or ""} for c in report.failed()]
    problems += loads.problems() if loads is not None else []
    if destination.managed and not destination.token:
        problems.append({"what": f"Destination {destination.name!r} is managed in Stitch but this run has no Stitch token for it, so its "
                         "loads cannot be read", "fix": destination.token_fix})  # fmt: skip
    # Every warning reaches the verdict: the checklist's (least privilege, capacity, connections), then the loads'.
    warnings = [{"what": f"{c.name}: {c.detail}", "fix": c.fix or ""} for c in report.checks if c.status == "warn"]
    warnings += loads.warnings() if loads is not None and loads.read else []
    ready = not problems
    entry = {"name": destination.name, "urn": destination.urn} | report.to_dict() | {
        "ready": ready, "database_ready": report.ready, "loads": loads.to_dict() if loads is not None else None, "problems": problems,
        "warnings": warnings,
    }  # fmt: skip
    lines = [head, report.render()]
    if loads is not None:
        lines.append("\n" + loads.render())
    if not ready and report.ready:
        lines.append(f"\nNOT READY: {problems[0]['what']}")
    return entry, "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
