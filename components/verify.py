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
from typing import Any, TextIO

from . import capacity as cap
from . import config as stack_config
from . import state_record
from .checks import Capacity, Expectation, verify
from .connection import ConnectionSettings, InvalidDatabaseUrl, parse_database_url
from .stitch_api import StitchApiError, StitchClient
from .stitch_loads import LoadsView, read_loads
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


def stack_outputs(stack: str) -> dict[str, object]:
    """The stack's outputs through the Pulumi CLI (secrets shown only to this process)."""
    outputs = _pulumi_json(stack, "outputs", "stack", "output", "--json", "--show-secrets")
    return outputs if isinstance(outputs, dict) else {}


def settings_from_stack(stack: str, outputs: Mapping[str, object] | None = None) -> tuple[ConnectionSettings, Capacity]:
    """Stitch's connection settings from the stack's outputs; and, from its last verification, the capacity
    limits and the measurements kept for the growth rate."""
    outputs = stack_outputs(stack) if outputs is None else outputs
    try:
        if "host" not in outputs:  # a program of another project, which need not export them: its Destination's
            outputs = destination_outputs_of(stack) or outputs
        settings = ConnectionSettings(
            host=outputs["host"],
            port=int(outputs["port"]),
            username=outputs["username"],
            password=outputs["password"],
            database=outputs["database"],
        )
        return settings, Capacity(*cap.earlier(outputs.get("verification")))
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"stack {stack!r} has no Stitch outputs yet: run {pulumi_up(stack)} first") from None


def expectation_of_stack(stack: str) -> Expectation:
    """Whose credential the stack gives Stitch, as its Verification recorded it (`pulumi stack export`, secrets
    left encrypted), so this command judges least privilege as `pulumi up` and the reconcile do."""
    exported = _pulumi_json(stack, "state", "stack", "export")
    return Expectation.in_state(exported.get("deployment") or {} if isinstance(exported, dict) else {})


def _pulumi_json(stack: str, what: str, *command: str) -> Any:
    if shutil.which("pulumi") is None:
        raise UsageError("--stack needs the Pulumi CLI on PATH: install it (https://www.pulumi.com/docs/install/) or pass --database-url")
    done = subprocess.run(["pulumi", *command, "--stack", stack], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UsageError(f"could not read the {what} of stack {stack!r}: {done.stderr.strip() or 'pulumi failed'}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise UsageError(f"`pulumi {' '.join(command)}` of stack {stack!r} printed no JSON") from None


def loads_of_stack(
    stack: str, outputs: Mapping[str, object], settings: ConnectionSettings, environ: Mapping[str, str], over_capacity: bool | None = None
) -> LoadsView | None:
    """Stitch's loads into the stack's destination, read once (all pages); None when the stack has no Stitch token
    or no destination. Only the few config keys the loads need are read, with the parsers of components/config.py,
    so a config problem elsewhere (the Heroku login) does not keep the database from being checked."""
    destination_id = outputs.get("stitch_destination_id")
    if not destination_id:
        return None
    done = subprocess.run(["pulumi", "config", "--json", "--show-secrets", "--stack", stack], capture_output=True, text=True, check=False)
    try:
        config = {key: item.get("value") for key, item in json.loads(done.stdout).items() if isinstance(item, dict)}
    except (ValueError, AttributeError):
        config = {}
    token = config.get(stack_config.STITCH_TOKEN_KEY) or environ.get(stack_config.STITCH_TOKEN_ENV)
    if not token:
        return None
    try:
        api_url = stack_config.parse_api_url(str(config.get(f"{PROJECT}:stitch_api_url") or stack_config.DEFAULT_API_URL))
        stale = config.get(f"{PROJECT}:stitch_load_stale_hours")
        stale_hours = stack_config.parse_positive_number(str(stale)) if stale else None
    except stack_config.Invalid as error:
        return LoadsView(read=False, error=f"the stack's Stitch settings: {error}")
    client = StitchClient(str(token), base_url=api_url, secrets=[settings.password])
    try:
        listed = client.list_destinations()
    except StitchApiError as error:
        return LoadsView(read=False, error=str(error))
    found = next((d for d in listed if str(d.get("id")) == str(destination_id) and not d.get("deleted_at")), None)
    if found is None:
        return LoadsView(
            read=False, error=f"destination {destination_id} is not in Stitch (deleted?): python -m ops.reconcile --stack {stack} says more"
        )
    return read_loads(
        client, found, listed, settings, connect_timeout=10, source=str(config.get(f"{PROJECT}:source") or "heroku"),
        secrets=[settings.password, str(token)], stale_hours=stale_hours, over_capacity=over_capacity,
    )  # fmt: skip


def destination_outputs_of(stack: str) -> dict[str, object] | None:
    """The stack's Destination's outputs, from its state (components/state_record.py)."""
    exported = _pulumi_json(stack, "state", "stack", "export", "--show-secrets")
    found = state_record.destination_outputs(exported.get("deployment") or {}) if isinstance(exported, dict) else None
    return None if found is None else {key: value for key, (value, _secret) in found.items()}


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
    if args.stack:
        args.outputs = stack_outputs(args.stack)
        settings, capacity = settings_from_stack(args.stack, args.outputs)
        if args.storage_limit_gb is not None:
            capacity = Capacity(cap.with_storage_limit(capacity.limits, args.storage_limit_gb), capacity.samples)
        return settings, capacity
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
    try:
        settings, capacity = resolve_settings(args, os.environ if environ is None else environ, sys.stdin if stdin is None else stdin)
        # A URL is judged as a credential the user named; a stack as its own Verification judges it.
        expected = expectation_of_stack(args.stack) if args.stack else Expectation()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = verify(
            settings, connect_timeout=args.connect_timeout, wait_seconds=args.wait, credential=expected.credential,
            owner_reason=expected.owner_reason, limits=capacity.limits, samples=capacity.samples,
        )  # fmt: skip
    except KeyboardInterrupt:
        print("interrupted: the database was not checked to the end", file=sys.stderr)
        return EXIT_NOT_READY
    environ = os.environ if environ is None else environ
    over = cap.over_plan(report.capacity)
    loads = loads_of_stack(args.stack, args.outputs, settings, environ, over) if args.stack else None
    ready = report.ready and not (loads is not None and loads.failing)
    if args.json:
        printed = report.to_dict() | {"ready": ready, "database_ready": report.ready}
        if args.stack:
            printed["loads"] = loads.to_dict() if loads is not None else None
        print(json.dumps(printed, indent=2))
    else:
        print(report.render())
        if loads is not None:
            print("\n" + loads.render())
            if loads.failing:
                print(f"\nNOT READY: {loads.failures[0].what}")
    return EXIT_READY if ready else EXIT_NOT_READY


if __name__ == "__main__":
    sys.exit(main())
