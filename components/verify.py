"""`python -m components.verify`: check on demand that Stitch will connect and load.

Run it after Heroku maintenance rotates the credentials, or before writing to support.
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
from typing import TextIO

from components import state_record
from components.checks import verify
from components.connection import ConnectionSettings, InvalidDatabaseUrl, parse_database_url

EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2
FROM_STDIN = "-"
PIPE_EXAMPLE = "heroku config:get DATABASE_URL -a <app> | python -m components.verify --database-url -"


class UsageError(Exception):
    """Bad arguments or a stack we cannot read: exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.verify",
        description=(
            "Prove that Stitch will connect to and load into a PostgreSQL destination: connect with SSL, "
            "check the server version and CREATE on the database, dry-run a load (rolled back), read the "
            "catalogs Stitch reads, and warn when few connections are left."
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
        "--connect-timeout", type=int, default=10, metavar="SECONDS", help="give up on one connection attempt after this long (default 10)"
    )
    return parser


def settings_from_stack(stack: str) -> ConnectionSettings:
    """Read the stack's Stitch outputs through the Pulumi CLI (secrets shown only to this process)."""
    if shutil.which("pulumi") is None:
        raise UsageError("--stack needs the Pulumi CLI on PATH: install it (https://www.pulumi.com/docs/install/) or pass --database-url")
    done = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise UsageError(f"could not read the outputs of stack {stack!r}: {done.stderr.strip() or 'pulumi failed'}")
    try:
        outputs = json.loads(done.stdout)
        if "host" not in outputs:  # a program of another project, which need not export them: its Destination's
            outputs = destination_outputs_of(stack) or outputs
        return ConnectionSettings(
            host=outputs["host"],
            port=int(outputs["port"]),
            username=outputs["username"],
            password=outputs["password"],
            database=outputs["database"],
        )
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"stack {stack!r} has no Stitch outputs yet: run `pulumi up --stack {stack}` first") from None


def destination_outputs_of(stack: str) -> dict[str, object] | None:
    """The stack's Destination's outputs, from its state (components/state_record.py)."""
    done = subprocess.run(["pulumi", "stack", "export", "--show-secrets", "--stack", stack], capture_output=True, text=True, check=False)
    found = state_record.destination_outputs(json.loads(done.stdout).get("deployment") or {}) if done.returncode == 0 else None
    return None if found is None else {key: value for key, (value, _secret) in found.items()}


def read_url_from_stdin(stdin: TextIO) -> str:
    """The URL piped in, or typed at a prompt that does not echo it."""
    try:
        if stdin.isatty():
            return getpass.getpass("database URL (not shown): ").strip()
        return stdin.readline().strip()
    except EOFError:
        return ""


def resolve_settings(args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO) -> ConnectionSettings:
    if args.stack:
        return settings_from_stack(args.stack)
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
        return parse_database_url(url, name=name)
    except InvalidDatabaseUrl as error:
        raise UsageError(str(error)) from None


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, stdin: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (math.isfinite(args.wait) and args.wait >= 0) or args.connect_timeout < 1:
        parser.error("--wait must be 0 or more and --connect-timeout 1 or more seconds")
    try:
        settings = resolve_settings(args, os.environ if environ is None else environ, sys.stdin if stdin is None else stdin)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = verify(settings, connect_timeout=args.connect_timeout, wait_seconds=args.wait)
    except KeyboardInterrupt:
        print("interrupted: the database was not checked to the end", file=sys.stderr)
        return EXIT_NOT_READY
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return EXIT_READY if report.ready else EXIT_NOT_READY


if __name__ == "__main__":
    sys.exit(main())
