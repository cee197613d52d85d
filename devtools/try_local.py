"""`python -m devtools.try_local`: the whole flow on this machine, without Heroku or the cloud.

Starts the Heroku-shaped local PostgreSQL, points the `local` stack at it (its URLs set as secrets
through stdin), runs `pulumi up` through the Automation API against a local state backend while
streaming the engine's progress, and prints the verification checklist, which passes because the
program granted CREATE to the Stitch credential. The stack runs in a copy of the project under
.pulumi-local/, so its config file (the encrypted URLs) never lands in the checkout.

The Pulumi CLI comes from, in this order: the toolchain this project builds from the Go module proxy
(`python -m devtools.pulumi_toolchain`), a `pulumi` on PATH, a CLI that the Automation API installs
into .pulumi-cli/ here, or, where that cannot download, the toolchain built now (needs Go).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto
from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url
from stitch_heroku.ops import workspace

from devtools import local_postgres, postgresql_standin, pulumi_toolchain
from devtools.project_copy import copy_project
from devtools.secret_config import SecretConfigError, set_secret

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / ".pulumi-local"
DB_DIR = ROOT / ".local-postgres"
CLI_DIR = ROOT / ".pulumi-cli"
STACK = "local"
NO_CLI = (
    "No Pulumi CLI could be had: the Automation API could not download one ({error}), and Go, which builds "
    "it from the Go module proxy, is not installed. Do one of these, then run this command again:\n"
    "  - install Go 1.26.6+ (https://go.dev/doc/install): this command then builds the CLI itself\n"
    "  - install the Pulumi CLI: https://www.pulumi.com/docs/install/ (e.g. `curl -fsSL https://get.pulumi.com | sh`)"
)


def say(message: str) -> None:
    print(f"try_local: {message}", flush=True)


@dataclass(frozen=True)
class Cli:
    """Which CLI runs, and whether plugins must come from this machine (no download possible)."""

    bin_dir: Path
    offline: bool
    """The toolchain: nothing may be downloaded, plugins it lacks come from here."""

    @property
    def pulumi(self) -> Path:
        return self.bin_dir / "pulumi"

    @property
    def has_language_host(self) -> bool:
        return workspace.has_language_host(self.bin_dir) or not self.offline


def find_cli() -> Cli:
    built = pulumi_toolchain.built_bin_dir()
    if built is not None:
        say(f"using the Pulumi toolchain built from the Go module proxy ({built})")
        return Cli(built, offline=True)
    on_path = shutil.which("pulumi")
    if on_path:
        say(f"using the Pulumi CLI on PATH ({on_path})")
        return Cli(Path(on_path).resolve().parent, offline=False)
    say(f"no Pulumi CLI found: installing one into {CLI_DIR.relative_to(ROOT)}/ with the Automation API")
    try:
        command = auto.PulumiCommand.install(root=str(CLI_DIR))
        return Cli(Path(command.command).parent, offline=False)
    except Exception as error:  # the installer's own failure (no network here) is reported and we go on
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        if shutil.which("go") is None:
            raise SystemExit(NO_CLI.format(error=reason)) from None
        say(f"the download failed ({reason}); building the toolchain from the Go module proxy instead (minutes, once)")
        try:
            return Cli(pulumi_toolchain.ensure(only=(pulumi_toolchain.CLI,)), offline=True)  # no YAML program here
        except pulumi_toolchain.ToolchainError as build_error:
            raise SystemExit(f"try_local: {build_error}") from None


def engine_env(cli: Cli, work_dir: Path) -> dict[str, str]:
    """A local file backend and a fixed passphrase: nothing leaves this machine."""
    state = work_dir / "state"
    state.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "local-try-out"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_RUNTIME_VIRTUALENV": sys.prefix,
    }
    path = [str(cli.bin_dir)]
    if cli.offline:
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
        if not (cli.bin_dir / postgresql_standin.PLUGIN_NAME).exists():
            say(
                "the real postgresql plugin cannot be built here (the Go proxy does not serve it): "
                "using the local stand-in, devtools/postgresql_standin.py, which runs the same SQL"
            )
            postgresql_standin.install(work_dir / "standin-bin")
            path.append(str(work_dir / "standin-bin"))
    env["PATH"] = os.pathsep.join([*path, str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    return env


def open_stack(cli: Cli, env: dict[str, str], project: Path) -> auto.Stack:
    """The `local` stack of the project copy; the program runs through the language host when the CLI has
    one, else in this process through the Automation API's inline mode (same __main__.py, same engine)."""
    command = auto.PulumiCommand(root=str(cli.bin_dir.parent), skip_version_check=True)
    options = auto.LocalWorkspaceOptions(work_dir=str(project), env_vars=env, pulumi_command=command)
    os.environ.update({key: env[key] for key in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")})
    if not cli.has_language_host:
        say("the toolchain has no Python language host (not served by the Go proxy): running __main__.py in this process")
    return workspace.open_stack(STACK, project, options, inline=not cli.has_language_host)


def print_checklist(stitch_url: str) -> bool:
    """The checklist as it stands now, from this machine: what Stitch would see."""
    report = verify(parse_database_url(stitch_url, name="stitch_url"), connect_timeout=10, wait_seconds=0)
    print(report.render(), flush=True)
    return report.ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.try_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", action="store_true", help="destroy the local stack and stop the local PostgreSQL")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep the state, the project copy and the database here (default: .pulumi-local and .local-postgres)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    work_dir = (args.workdir or WORK_DIR).resolve()
    db_dir = work_dir / "postgres" if args.workdir else DB_DIR
    cli = find_cli()
    env = engine_env(cli, work_dir)
    project = copy_project(work_dir / "project", stack_files=(f"Pulumi.{STACK}.yaml",))
    stack = open_stack(cli, env, project)
    stream = {"on_output": lambda line: print(line, flush=True), "color": "never"}
    if args.down:
        stack.destroy(**stream)
        problem = local_postgres.stop(db_dir) if (db_dir / local_postgres.STATE_FILE).exists() else None
        say(problem or f"stopped the local PostgreSQL of {db_dir}")
        return 1 if problem else 0
    if not (db_dir / local_postgres.STATE_FILE).exists():
        # The library, not the CLI: `local_postgres start` prints the URLs, which hold the passwords.
        started = local_postgres.start(db_dir, 0)
        if isinstance(started, str):
            print(f"try_local: {started}", file=sys.stderr)
            return 1
        say(f"started a Heroku-shaped local PostgreSQL with SSL on 127.0.0.1:{started['port']} ({db_dir})")
    urls = json.loads((db_dir / local_postgres.STATE_FILE).read_text())
    try:
        for key in ("database_url", "stitch_url"):
            set_secret(cli.pulumi, stack=STACK, key=key, value=urls[key], cwd=project, env=env)
    except SecretConfigError as error:
        print(f"try_local: {error}", file=sys.stderr)
        return 1
    say("pulumi up (stack local)")
    try:
        stack.up(**stream)
    except auto.CommandError as error:
        print(f"try_local: pulumi up failed; the engine's output is above.\n{str(error).strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    say("the verification, run again now against the Stitch credential:")
    return 0 if print_checklist(urls["stitch_url"]) else 1


if __name__ == "__main__":
    sys.exit(main())
