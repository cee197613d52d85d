"""Drive this project with the real Pulumi engine through the Automation API, as a user's `pulumi up` would.

Each scenario gets its own copy of the project (the program, `components/`, Pulumi.yaml), its own file
state backend, PULUMI_HOME and passphrase in a temp dir, and the toolchain built from the Go module
proxy first on PATH. When the toolchain has the Python language host, the CLI runs `__main__.py` the
way `pulumi up` does; without it, the Automation API's inline mode runs the same `__main__.py` in this
process as the language runtime. Either way the engine, the providers (the postgresql plugin, or its
stand-in where the Go proxy does not serve it: devtools/postgresql_standin.py, and our
dynamic providers in `pulumi-resource-pulumi-python`) and the state are real.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pulumi
import pulumi_postgresql as postgresql
from pulumi import automation as auto
from stitch_heroku.ops import workspace
from stitch_heroku.ops.workspace import has_language_host

from devtools import postgresql_standin, pulumi_toolchain
from devtools.local_postgres import StitchDatabase
from devtools.project_copy import copy_project
from devtools.secret_config import set_secret
from tests.doubles import heroku_standin

ROOT = Path(__file__).resolve().parents[2]
PROJECT = workspace.PROJECT
PASSPHRASE = "real-engine-tests"


def toolchain_bin() -> Path:
    """The toolchain (built the first time), else a Pulumi CLI on PATH; ToolchainError says why neither can be had."""
    return pulumi_toolchain.cli_bin_dir()


@dataclass
class Captured:
    """Everything the engine printed in one operation, kept so tests can search it for secrets."""

    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class RealStack:
    """One stack of a private copy of the project, with its own backend, on the real engine."""

    stack: auto.Stack
    workspace_dir: Path
    state_dir: Path
    pulumi: Path
    env: dict[str, str]
    printed: list[Captured] = field(default_factory=list)

    def _capture(self) -> Captured:
        captured = Captured()
        self.printed.append(captured)
        return captured

    def set_config(self, values: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        """Plain values through the Automation API; secrets through stdin, as a user's tools should."""
        if values:
            self.stack.set_all_config({key: auto.ConfigValue(value) for key, value in values.items()})
        for key, value in (secrets or {}).items():
            set_secret(self.pulumi, stack=self.stack.name, key=key, value=value, cwd=self.workspace_dir, env=self.env)

    def remove_config(self, *keys: str) -> None:
        self.stack.remove_all_config(list(keys))

    def up(self, **kwargs: Any) -> auto.UpResult:
        return self.stack.up(on_output=self._capture(), color="never", **kwargs)

    def preview(self, **kwargs: Any) -> auto.PreviewResult:
        return self.stack.preview(on_output=self._capture(), color="never", **kwargs)

    def refresh(self, **kwargs: Any) -> auto.RefreshResult:
        return self.stack.refresh(on_output=self._capture(), color="never", **kwargs)

    def preview_refresh(self, **kwargs: Any) -> auto.PreviewResult:
        """`pulumi refresh --preview-only`: what Pulumi Deployments' drift detection runs."""
        return self.stack.preview_refresh(on_output=self._capture(), color="never", **kwargs)

    def destroy(self, **kwargs: Any) -> auto.DestroyResult:
        return self.stack.destroy(on_output=self._capture(), color="never", **kwargs)

    def outputs(self) -> dict[str, auto.OutputValue]:
        return self.stack.outputs()

    def state_text(self) -> str:
        """The raw checkpoint file, as anyone with access to the backend could read it."""
        files = list((self.state_dir / ".pulumi" / "stacks").rglob("*.json"))
        return "\n".join(path.read_text() for path in files)

    def all_printed(self) -> str:
        return "\n".join(captured.text for captured in self.printed)


def plugin_dirs(bin_dir: Path, base_dir: Path) -> list[Path]:
    """The toolchain, and a stand-in for each provider plugin the toolchain lacks (the Go proxy's refusals)."""
    standin = base_dir / "standin-bin"
    for module in (postgresql_standin, heroku_standin):
        if not (bin_dir / module.PLUGIN_NAME).exists():
            module.install(standin)
    return [bin_dir, standin] if standin.exists() else [bin_dir]


def engine_env(bin_dir: Path, base_dir: Path, extra: dict[str, str] | None = None, path_prefix: tuple[Path, ...] = ()) -> dict[str, str]:
    """Only what the engine needs, nothing of the user's own Pulumi setup (no ~/.pulumi, no login).
    path_prefix: folders searched before the toolchain (e.g. a stand-in for a plugin the toolchain lacks)."""
    path = [*path_prefix, *plugin_dirs(bin_dir, base_dir), Path(sys.prefix) / "bin"]
    env = {
        "PATH": os.pathsep.join([*map(str, path), os.environ.get("PATH", "")]),
        "HOME": os.environ.get("HOME", str(base_dir)),
        "PULUMI_HOME": str(base_dir / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{base_dir / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # The dynamic-provider shim runs this venv's python (the language host would set it from Pulumi.yaml).
        "PULUMI_RUNTIME_VIRTUALENV": sys.prefix,
    }
    return env | (extra or {})


@contextmanager
def real_stack(
    base_dir: Path,
    stack_name: str,
    *,
    env: dict[str, str] | None = None,
    program: Callable[[], None] | None = None,
    path_prefix: tuple[Path, ...] = (),
) -> Iterator[RealStack]:
    """A fresh stack of a project copy; removed with its state afterwards, whatever happened.

    program: another program to run instead of the project's __main__.py (the benchmark's baseline).
    """
    bin_dir = toolchain_bin()
    project_dir = copy_project(base_dir / "project")
    (base_dir / "state").mkdir(exist_ok=True)
    variables = engine_env(bin_dir, base_dir, env, path_prefix)
    command = auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True)
    options = auto.LocalWorkspaceOptions(work_dir=str(project_dir), env_vars=variables, pulumi_command=command)
    # The CLI's own processes see `variables`; this process runs the inline program and needs the same view.
    with process_environ(variables):
        if program is not None:
            stack = auto.create_or_select_stack(stack_name, project_name=PROJECT, program=program, opts=options)
        else:
            stack = workspace.open_stack(stack_name, project_dir, options, inline=not has_language_host(bin_dir))
        yield RealStack(stack, project_dir, base_dir / "state", bin_dir / "pulumi", variables)


@contextmanager
def process_environ(variables: Mapping[str, str]) -> Iterator[None]:
    """This process's environment with `variables` set, for an inline program (which runs here and reads it), and
    as it was afterwards, whatever happened."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def throwaway_stack(base_dir: Path, stack_name: str, **options: Any) -> Iterator[RealStack]:
    """real_stack, destroyed and removed afterwards whatever the test did, so nothing is left in the backend."""
    with real_stack(base_dir, stack_name, **options) as real:
        try:
            yield real
        finally:
            try:
                real.destroy()
            finally:
                real.stack.workspace.remove_stack(stack_name, force=True)


def configure_by_cli(pulumi: Path, stack: str, folder: Path, env: dict[str, str], values: dict[str, str], secrets: dict[str, str]) -> None:
    """A stack's config set with the CLI in its project folder, as a user sets it: secrets through stdin."""
    for key, value in values.items():
        command = [str(pulumi), "config", "set", "--stack", stack, key, value]
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    for key, value in secrets.items():
        set_secret(pulumi, stack=stack, key=key, value=value, cwd=folder, env=env)


_apps = itertools.count(1)


def new_app_name(kind: str) -> str:
    """A Heroku app name no other scenario of this run uses (3-30 characters, as config requires)."""
    return f"acme-{kind}-{next(_apps)}-{os.getpid() % 1000}"


GRANT_NAME = "create-on-database"


@dataclass(frozen=True)
class GrantProgram:
    """A throwaway program: an explicit postgresql provider signed in as the database owner, and one Grant
    on the database (the policy tests' subject, and the benchmark's baseline)."""

    db: StitchDatabase
    role: str
    privileges: list[str]
    sslmode: str = "require"

    def __call__(self) -> None:
        owner = psycopg.conninfo.conninfo_to_dict(self.db.owner_url)
        provider = postgresql.Provider(
            "owner",
            host=owner["host"],
            port=int(owner["port"]),
            username=owner["user"],
            password=pulumi.Output.secret(owner["password"]),
            database=owner["dbname"],
            sslmode=self.sslmode,
            superuser=False,
        )
        postgresql.Grant(
            GRANT_NAME,
            database=owner["dbname"],
            role=self.role,
            object_type="database",
            privileges=self.privileges,
            opts=pulumi.ResourceOptions(provider=provider, retain_on_delete=True),
        )
