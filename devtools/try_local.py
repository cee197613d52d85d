"""`python -m devtools.try_local`: the whole flow on this machine, without Heroku or the cloud.

Starts the Heroku-shaped local PostgreSQL, points the `local` stack at it (secrets set with
--secret), runs `pulumi up` against a local state backend, and prints the verification, which
passes because the program granted CREATE to the Stitch credential.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devtools import local_postgres

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".pulumi-local"
DB_DIR = ROOT / ".local-postgres"
INSTALL_HINT = (
    "The Pulumi CLI is not installed. Install it (https://www.pulumi.com/docs/install/, e.g. "
    "`curl -fsSL https://get.pulumi.com | sh`), then run this command again."
)


def pulumi_env() -> dict[str, str]:
    """A local file backend and a fixed passphrase: nothing leaves this machine."""
    STATE_DIR.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{STATE_DIR}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "local-try-out"),
    }


def pulumi(*args: str, env: dict[str, str], secret_input: str | None = None) -> None:
    """Run the Pulumi CLI; a secret goes through stdin, never on the command line."""
    subprocess.run(["pulumi", *args], cwd=ROOT, env=env, input=secret_input, text=True, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.try_local", description=__doc__)
    parser.add_argument("--down", action="store_true", help="destroy the local stack and stop the local PostgreSQL")
    args = parser.parse_args(argv)
    if shutil.which("pulumi") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    env = pulumi_env()
    if args.down:
        pulumi("destroy", "--stack", "local", "--yes", env=env)
        return local_postgres.main(["stop", "--dir", str(DB_DIR)])
    if not (DB_DIR / local_postgres.STATE_FILE).exists():
        local_postgres.main(["start", "--dir", str(DB_DIR)])
    urls = json.loads((DB_DIR / local_postgres.STATE_FILE).read_text())
    pulumi("stack", "select", "--create", "local", env=env)
    pulumi("config", "set", "--secret", "--stack", "local", "database_url", env=env, secret_input=urls["database_url"])
    pulumi("config", "set", "--secret", "--stack", "local", "stitch_url", env=env, secret_input=urls["stitch_url"])
    pulumi("up", "--stack", "local", "--yes", env=env)
    pulumi("stack", "output", "verification", "--stack", "local", env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
