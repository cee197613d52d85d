"""A project folder of its own and its one stack on a private file backend, driven one engine operation at a
time in a fresh interpreter (tests/support/program_run.py), as a user's `pulumi` commands would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.real_engine import configure_by_cli, engine_env, toolchain_bin

RUNNER = Path(__file__).parent / "program_run.py"


class ProgramFolder:
    """base/project holds the program (the caller writes it); base/state the backend. extra_env: beside the engine's."""

    def __init__(self, base: Path, stack: str, extra_env: dict[str, str] | None = None):
        self.dir, self.stack = base / "project", stack
        self.dir.mkdir(parents=True, exist_ok=True)
        (base / "state").mkdir()
        self.bin = toolchain_bin()
        self.env = {**os.environ, **engine_env(self.bin, base), **(extra_env or {})}

    def run(self, operation: str) -> dict:
        command = [sys.executable, str(RUNNER), str(self.dir), self.stack, operation]
        done = subprocess.run(command, check=False, env=self.env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{operation} failed:\n{done.stderr[-4000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def configure(self, values: dict[str, str], secrets: dict[str, str]) -> None:
        configure_by_cli(self.bin / "pulumi", self.stack, self.dir, self.env, values, secrets)

    def pulumi(self, *args: str) -> str:
        command = [str(self.bin / "pulumi"), *args, "--stack", self.stack]
        return subprocess.run(command, cwd=self.dir, env=self.env, capture_output=True, text=True, check=True).stdout

    def state(self) -> list[dict]:
        return json.loads(self.pulumi("stack", "export"))["deployment"]["resources"]

    def outputs(self) -> dict:
        return json.loads(self.pulumi("stack", "output", "--json", "--show-secrets"))
