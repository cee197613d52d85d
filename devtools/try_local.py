"""`python -m devtools.try_local`: the whole flow on this machine, without Heroku or the cloud.

Starts the Heroku-shaped local PostgreSQL, points the `local` stack at it (its URLs set as secrets
through stdin), runs `pulumi up` through the Automation API against a local state backend while
streaming the engine's progress, and prints the verification checklist, which passes because the
program granted CREATE to the Stitch credential. The stack runs in a copy of the project under
.pulumi-local/, so its config file (the encrypted URLs) never lands in the checkout.

The Pulumi CLI comes from, in this order: the toolchain this project builds from the Go module proxy
(`python -m devtools.pulumi_toolchain`), a `pulumi` on PATH, a CLI that the Automation API installs
into .pulumi-cli/ here, or, where that cannot download, the toolchain built now (needs Go).

`--env` prints the shell lines that make the try-out's stack usable by hand, as `eval "$(ssh-agent)"` does:
the venv, the CLI and the stand-in plugin on PATH, the local backend and its passphrase, and a `cd` into the
project copy, the one folder whose stack config holds the try-out's (encrypted) URLs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto
from stitch_heroku.checks import Expectation, verify
from stitch_heroku.ops import workspace
from stitch_heroku.verify import settings_of

from devtools import local_postgres, postgresql_standin, pulumi_toolchain
from devtools.project_copy import copy_project
from devtools.secret_config import SecretConfigError, set_secret

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / ".pulumi-local"
DB_DIR = ROOT / ".local-postgres"
CLI_DIR = ROOT / ".pulumi-cli"
STACK = "local"
PASSPHRASE = "local-try-out"
"""The try-out's state passphrase: fixed and public, since the state and the database it guards live on this
machine only (never reuse it for a real stack: `--env` sets it in the shell that evals it)."""
EXPORTED = (
    "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_RUNTIME_VIRTUALENV",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)  # fmt: skip
"""What `--env` exports of engine_env: how the try-out's engine ran, so a shell's `pulumi` runs alike."""
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


def find_cli(*, install: bool = True) -> Cli:
    """The CLI to drive; install=False (for --env) only finds one, since the try-out that ran first had one."""
    built = pulumi_toolchain.built_bin_dir()
    if built is not None:
        say(f"using the Pulumi toolchain built from the Go module proxy ({built})")
        return Cli(built, offline=True)
    on_path = shutil.which("pulumi")
    if on_path:
        say(f"using the Pulumi CLI on PATH ({on_path})")
        return Cli(Path(on_path).resolve().parent, offline=False)
    if not install:
        if (CLI_DIR / "bin" / "pulumi").exists():
            return Cli(CLI_DIR / "bin", offline=False)
        raise SystemExit("try_local: no Pulumi CLI found (none on PATH, none built, none installed here): run the try-out first")
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
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_RUNTIME_VIRTUALENV": sys.prefix,
    }
    if cli.offline:
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env["PATH"] = os.pathsep.join([*engine_path(cli, work_dir), str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    return env


def engine_path(cli: Cli, work_dir: Path) -> list[str]:
    """The folders the engine needs first on PATH: the CLI's, and the postgresql stand-in's where the toolchain
    has no real plugin (installed there now)."""
    path = [str(cli.bin_dir)]
    if cli.offline and not (cli.bin_dir / postgresql_standin.PLUGIN_NAME).exists():
        say(
            "the real postgresql plugin cannot be built here (the Go proxy does not serve it): "
            "using the local stand-in, devtools/postgresql_standin.py, which runs the same SQL"
        )
        postgresql_standin.install(work_dir / "standin-bin")
        path.append(str(work_dir / "standin-bin"))
    return path


def shell_lines(env: Mapping[str, str], project: Path) -> list[str]:
    """The lines `--env` prints for `eval`: every value quoted (a path may hold spaces or `$`), `$PATH` left for
    the shell to expand, and nothing secret: the passphrase only when it is the try-out's public one (one taken
    from this shell's environment is already there, and is never printed).

    The `cd` is there because the program's day-two commands read the stack's config from the folder they run
    in (Pulumi.local.yaml beside Pulumi.yaml): in the copy it holds the try-out's URLs, encrypted under a
    passphrase everyone knows, which is exactly why they are kept out of the checkout. The copy holds the
    program, `ops/` and a `.venv` link, so the README's commands run there as written."""
    venv_bin = str(Path(sys.prefix) / "bin")
    path = env["PATH"].split(os.pathsep)
    first = os.pathsep.join([venv_bin, *path[: path.index(venv_bin)]])
    lines = [f'export PATH={shlex.quote(first)}"{os.pathsep}$PATH"']
    for key in EXPORTED:
        if key in env and (key != "PULUMI_CONFIG_PASSPHRASE" or env[key] == PASSPHRASE):
            lines.append(f"export {key}={shlex.quote(env[key])}")
    lines.append(f"cd {shlex.quote(str(project))}")
    lines.append(f"echo {shlex.quote(f'try_local: this shell now uses the try-out stack {STACK!r} (in {project}); `cd -` goes back')} >&2")
    return lines


def open_stack(cli: Cli, env: dict[str, str], project: Path) -> auto.Stack:
    """The `local` stack of the project copy; the program runs through the language host when the CLI has
    one, else in this process through the Automation API's inline mode (same __main__.py, same engine)."""
    command = auto.PulumiCommand(root=str(cli.bin_dir.parent), skip_version_check=True)
    options = auto.LocalWorkspaceOptions(work_dir=str(project), env_vars=env, pulumi_command=command)
    os.environ.update({key: env[key] for key in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")})
    if not cli.has_language_host:
        say("the toolchain has no Python language host (not served by the Go proxy): running __main__.py in this process")
    return workspace.open_stack(STACK, project, options, inline=not cli.has_language_host)


def print_checklist(outputs: Mapping[str, object], deployment: Mapping[str, object]) -> bool:
    """The checklist as it stands now, from this machine: what Stitch would see, judged as the stack judges it
    (its capacity limits and samples from its `verification` output, whose credential from its state), so the
    screen and the stack's JSON never disagree."""
    settings, capacity = settings_of(STACK, outputs)
    if settings is None:
        say("the stack has no Stitch outputs yet: run this command again")
        return False
    expected = Expectation.in_state(deployment)
    report = verify(
        settings, connect_timeout=10, wait_seconds=0, credential=expected.credential, owner_reason=expected.owner_reason,
        limits=capacity.limits, samples=capacity.samples,
    )  # fmt: skip
    print(report.render(), flush=True)
    return report.ready


FORM = (("Host", "host"), ("Port", "port"), ("Username", "username"), ("Database", "database"))


def next_steps(outputs: Mapping[str, object], ready: bool, command: str) -> str:
    """What to do now: Stitch's form from the outputs (the password only as the command that shows it), the shell
    for day two, the reconcile, and how to take it all down. `command` runs this tool as the user ran it."""
    form = [f"    {label:<10} {outputs.get(key)}" for label, key in FORM]
    form.append("    Password   `pulumi stack output password --show-secrets` (in the shell below)")
    form.append(f"    SSL        {'checked' if outputs.get('ssl') else 'unchecked'} (Connect using SSL)")
    head = "Next steps" if ready else "Next steps, once the failing checks above are fixed"
    return "\n".join([
        "", f"{head}:",
        "  Stitch's PostgreSQL form (a local database: Stitch's servers cannot reach it, the form is shown for practice):",
        *form,
        "  Day two on this stack, in your shell (PATH, backend and folder of the try-out):",
        f'    eval "$({command} --env)"',
        "    pulumi stack output --json",
        f"    stitch-heroku reconcile --stack {STACK}         # also --json, --preview-only",
        f"  Take it down (stack and database), in the checkout: {command} --down",
    ])  # fmt: skip


def own_command(work_dir: Path | None) -> str:
    """This tool's command, to run in the checkout: the interpreter as a path below it where it is, and the work
    folder when one was given."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    return shlex.join([str(python), "-m", "devtools.try_local", *(["--workdir", str(work_dir)] if work_dir else [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.try_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", action="store_true", help="destroy the local stack and stop the local PostgreSQL")
    parser.add_argument(
        "--env", action="store_true",
        help='print the shell lines that make the try-out\'s stack usable by hand: eval "$(python -m devtools.try_local --env)"',
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep the state, the project copy and the database here (default: .pulumi-local and .local-postgres)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    work_dir = (args.workdir or WORK_DIR).resolve()
    if args.env:
        return print_env(work_dir)
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
        result = stack.up(**stream)
    except auto.CommandError as error:
        print(f"try_local: pulumi up failed; the engine's output is above.\n{str(error).strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    say("the verification, run again now against the Stitch credential:")
    outputs = {key: output.value for key, output in result.outputs.items()}
    ready = print_checklist(outputs, stack.export_stack().deployment or {})
    print(next_steps(outputs, ready, own_command(args.workdir and work_dir)), flush=True)
    return 0 if ready else 1


def print_env(work_dir: Path) -> int:
    """`--env`: the shell lines on stdout, everything else on stderr, so `eval` runs only what is meant."""
    project = work_dir / "project"
    if not (project / f"Pulumi.{STACK}.yaml").exists() or not (work_dir / "state").is_dir():
        print(f"try_local: no try-out in {work_dir} yet: run `python -m devtools.try_local` first", file=sys.stderr)
        return 1
    with contextlib.redirect_stdout(sys.stderr):
        cli = find_cli(install=False)
        env = engine_env(cli, work_dir)
    print("\n".join(shell_lines(env, project)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
