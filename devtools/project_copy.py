"""A private copy of the Pulumi project, so that a stack's config file (with its encrypted secrets) is
written beside the copy and never into the checkout: the try-out and the real-engine tests run there.

The copy holds what `pulumi up` reads (the program, `components/`, Pulumi.yaml and the requirements)
and the day-two commands a user runs in the project folder (`ops/`, e.g. `python -m ops.reconcile`);
`.venv` links to the interpreter that runs us (Pulumi.yaml names `.venv`).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "requirements.txt", "components", "ops")


def copy_project(target: Path, *, stack_files: tuple[str, ...] = ()) -> Path:
    """Refresh the program files in target (the code as it is now); stack files listed are copied only
    when target has none yet, so the config a stack already has there (its secrets) is kept."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source, copied = ROOT / name, target / name
        if source.is_dir():
            shutil.rmtree(copied, ignore_errors=True)
            shutil.copytree(source, copied, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copied)
    for name in stack_files:
        if not (target / name).exists():
            shutil.copy2(ROOT / name, target / name)
    venv = target / ".venv"
    if not venv.is_symlink():
        venv.symlink_to(Path(sys.prefix))
    return target
