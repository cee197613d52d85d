"""Whether the Python the engine runs our dynamic providers with has this package: said before any resource.

The component's children (the guards, the verification, Stitch's destination) are Pulumi dynamic resources:
the engine runs them in `pulumi-resource-pulumi-python`, which starts `$PULUMI_RUNTIME_VIRTUALENV/bin/python`,
else `$PULUMI_PYTHON_CMD`, else `python3` from PATH (the script shipped beside the CLI). A Python program's
language host sets PULUMI_RUNTIME_VIRTUALENV from Pulumi.yaml; a program in another language (YAML,
TypeScript, ...) does not, and without the package in that Python every child would fail to unpickle with
a bare "No module named 'stitch_heroku'". So the component provider asks first and says what to set.
"""

from __future__ import annotations

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
    probe = [python, "-c", "import stitch_heroku.destination"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False, env=dict(environ))
    if done.returncode != 0:
        return f"the Python that runs this package's dynamic resources ({python}) cannot import stitch_heroku: {FIX}"
    return None
