"""Set a stack's secret config through the CLI's stdin, never its command line.

The Automation API's `set_config` passes values as arguments (`pulumi config set --secret key value`),
which puts a password in `ps` and in process accounting for as long as the command runs. The CLI also
reads the value from stdin when it is not given, so that is how our tools hand it over.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path


class SecretConfigError(Exception):
    """The CLI refused the value; the message names the key, never the value."""


def set_secret(pulumi: str | Path, *, stack: str, key: str, value: str, cwd: Path, env: Mapping[str, str]) -> None:
    done = subprocess.run(
        [str(pulumi), "config", "set", "--secret", "--stack", stack, key],
        input=value,
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        # The CLI's message is about the key or the stack; it does not echo a value read from stdin.
        raise SecretConfigError(f"pulumi config set --secret {key} (stack {stack}) failed: {done.stderr.strip()}")
