"""Whether the Python the engine runs our dynamic providers with has this package: said before any resource.

The component's children (the guards, the verification, Stitch's destination) are Pulumi dynamic resources:
the engine runs them in `pulumi-resource-pulumi-python`, which starts `$PULUMI_RUNTIME_VIRTUALENV/bin/python`,
else `$PULUMI_PYTHON_CMD`, else `python3` from PATH (the script shipped beside the CLI). A Python program's
language host sets PULUMI_RUNTIME_VIRTUALENV from Pulumi.yaml; a program in another language (YAML,
TypeScript, ...) does not, nor does an inline Automation API program; without the package (or pulumi) in that
Python every child would fail with a bare "No module named 'stitch_heroku'" (or 'pulumi'). So the component
asks first, in any language, and says what to set.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

FIX = (
    "activate the virtualenv that has the package before running pulumi (. <venv>/bin/activate), or export "
    "PULUMI_RUNTIME_VIRTUALENV=<venv> (the folder made by python3 -m venv, with pip install stitch-heroku in it)"
)


INLINE_FIX = 'LocalWorkspaceOptions(env_vars={"PULUMI_RUNTIME_VIRTUALENV": sys.prefix}) (docs/component.md)'


def dynamic_python(environ: Mapping[str, str], cwd: Path) -> str | None:
    """The interpreter pulumi-resource-pulumi-python starts, found as that script finds it."""
    venv = environ.get("PULUMI_RUNTIME_VIRTUALENV", "").rstrip("/")
    if venv:
        return str((cwd / venv) / "bin" / "python")
    command = environ.get("PULUMI_PYTHON_CMD") or "python3"
    return shutil.which(command, path=environ.get("PATH"))


def missing_package(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> str | None:
    """None when the dynamic providers' Python imports stitch_heroku; else the message with the fix."""
    python = dynamic_python(environ, cwd or Path.cwd())
    if python is None or not Path(python).exists():
        return f"the Pulumi dynamic provider host finds no Python ({python or 'python3 not on PATH'}): {FIX}"
    if Path(python).parent.parent.resolve() == Path(sys.prefix).resolve():
        return None  # this very virtualenv, which has the package: nothing to ask
    if not _imports_the_package(python, tuple(sorted(environ.items()))):
        return f"the Python that runs this package's dynamic resources ({python}) cannot import stitch_heroku: {FIX}"
    return None


def missing_in_this_run() -> str | None:
    """missing_package() for a Destination being declared; None under Pulumi's mocks, whose dynamic resources
    never reach a Python (read from sys.modules, so that a program does not load the mocks to ask)."""
    import pulumi.runtime.settings

    mocks = sys.modules.get("pulumi.runtime.mocks")
    if mocks is not None and isinstance(pulumi.runtime.settings.get_monitor(), mocks.MockMonitor):
        return None
    environ, cwd, inline = engine_environ()
    missing = missing_package(environ, cwd)
    return f"{missing}; or, in this inline Automation API program, {INLINE_FIX}" if missing and inline else missing


def engine_environ() -> tuple[Mapping[str, str], Path, bool]:
    """The environment and folder the engine starts the dynamic providers in: this process's, except for an
    inline Automation API program, whose CLI runs as a child of this process (`pulumi up --client=...`) with the
    workspace's env_vars added, where the program cannot see them; read from that child's /proc entry, so that
    a PULUMI_RUNTIME_VIRTUALENV given only in env_vars counts. Elsewhere (no /proc) this process's. Last, whether
    the program runs inline."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != os.getpid():  # the field after the name: the parent
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if not any(arg.startswith(b"--client=") for arg in argv):
                continue
            items = (stat.parent / "environ").read_bytes().decode(errors="replace").split("\0")
            return dict(item.split("=", 1) for item in items if "=" in item), Path(os.readlink(stat.parent / "cwd")), True
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile, or not ours to read
    return os.environ, Path.cwd(), False


@functools.cache
def _imports_the_package(python: str, environ: tuple[tuple[str, str], ...]) -> bool:
    """Whether `python` imports the package: asked once a process for each Python (a program may declare many)."""
    probe = [python, "-c", "import stitch_heroku.destination"]
    return subprocess.run(probe, capture_output=True, text=True, check=False, env=dict(environ)).returncode == 0
