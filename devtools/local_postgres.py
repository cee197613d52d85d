"""A throwaway PostgreSQL cluster on loopback with SSL on, shaped like a Heroku database.

The tests start one per session; `python -m devtools.local_postgres start` starts one for a local
try-out. initdb and postgres refuse to run as root, so as root they run as the `postgres` user.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

SERVICE_USER = "postgres"
STATE_FILE = "cluster.json"


def find_bin_dir() -> Path:
    """Debian keeps initdb out of PATH, under /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: install them with `apt-get install postgresql`")
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """One PostgreSQL server in base_dir; the superuser reaches it over a Unix socket with trust."""

    base_dir: Path
    port: int
    ssl: bool = True

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    def _run(self, *argv: str) -> None:
        command = [str(find_bin_dir() / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        """Make the cluster and start its server."""
        self.create()
        self.launch()

    def create(self) -> None:
        """initdb, the settings, pg_hba.conf and the certificate; the server is not started yet."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chmod(self.base_dir, 0o755)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "20",
            "shared_buffers": "16MB",
            "fsync": "off",
            "ssl": "on" if self.ssl else "off",
        }
        hba = ["local all all trust"]
        if self.ssl:
            self._make_certificate()
            settings |= {"ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"}
            hba.append("hostssl all all 127.0.0.1/32 scram-sha-256")
        else:
            hba.append("host all all 127.0.0.1/32 scram-sha-256")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.data_dir / "pg_hba.conf").write_text("\n".join(hba) + "\n")

    def launch(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def _make_certificate(self) -> None:
        """A self-signed certificate made now: Heroku's is not verifiable by Stitch either (sslmode=require)."""
        key, crt = self.data_dir / "server.key", self.data_dir / "server.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=localhost"],
            capture_output=True, check=True,
        )  # fmt: skip
        os.chmod(key, 0o600)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVICE_USER)
            for path in (key, crt):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def shutdown(self, mode: str = "immediate") -> None:
        """Stop the server and keep its files, so `launch` can start it again."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def stop(self) -> None:
        """Stop the server and remove the cluster's folder (all of it is the cluster's)."""
        self.shutdown()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def superuser(self, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser session over the Unix socket, for setting up roles and databases."""
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def url(self, user: str, password: str, dbname: str) -> str:
        return f"postgres://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def create_role(self, name: str, password: str) -> None:
        with self.superuser() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))

    def create_database(self, name: str, owner: str) -> None:
        """A database as Heroku makes it: owned by the credential, PUBLIC keeps CONNECT and TEMPORARY."""
        with self.superuser() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
        with self.superuser(name) as conn:
            # PostgreSQL 15 no longer lets PUBLIC create in schema public; the owner keeps it.
            conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))


@dataclass(frozen=True)
class StitchDatabase:
    """A Heroku-like database: the owner credential, and a second credential without CREATE."""

    owner_url: str
    stitch_url: str


def provision_stitch_database(
    cluster: Cluster, *, database: str = "stitch", owner: str = "heroku_owner", stitch_role: str = "stitch_loader"
) -> StitchDatabase:
    """Make the database and both credentials; passwords are random, as Heroku's are."""
    owner_password, stitch_password = os.urandom(12).hex(), os.urandom(12).hex()
    cluster.create_role(owner, owner_password)
    cluster.create_role(stitch_role, stitch_password)
    cluster.create_database(database, owner)
    return StitchDatabase(
        owner_url=cluster.url(owner, owner_password, database),
        stitch_url=cluster.url(stitch_role, stitch_password, database),
    )


CLUSTER_SUBDIR = "cluster"
TEMP_PREFIX = "stitch-heroku-pg-"


def cluster_dir_for(base_dir: Path) -> Path:
    """Where the server's files go. As root they go to a fresh folder under the system temp dir:
    the `postgres` user must reach them, and a checkout under /root is closed to it."""
    if os.geteuid() == 0:
        return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    return base_dir / CLUSTER_SUBDIR


def made_by_start(base_dir: Path, cluster_dir: Path) -> bool:
    """Whether cluster_dir is a folder `start` makes, so `stop` may delete it: never trust a path
    read from a file blindly, since `stop` deletes what it names."""
    if cluster_dir == base_dir / CLUSTER_SUBDIR:
        return True
    return cluster_dir.resolve().parent == Path(tempfile.gettempdir()).resolve() and cluster_dir.name.startswith(TEMP_PREFIX)


def _state_path(base_dir: Path) -> Path:
    return base_dir / STATE_FILE


def start(base_dir: Path, port: int) -> dict[str, object] | str:
    """Start the cluster for base_dir; its saved state, or why not (a message for the user)."""
    if _state_path(base_dir).exists():
        return f"a local PostgreSQL already runs in {base_dir}: stop it first"
    if base_dir.exists() and not base_dir.is_dir():
        return f"{base_dir} is a file, not a folder: give --dir a new or empty folder"
    if base_dir.exists() and (found := sorted(entry.name for entry in base_dir.iterdir())):
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        return (
            f"{base_dir} already holds files that are not this tool's ({shown}): give --dir a new or empty folder, "
            "e.g. --dir .local-postgres (stop removes only what start made, and start will not mix with other files)"
        )
    try:
        find_bin_dir()
    except RuntimeError as error:
        return str(error)
    created = not base_dir.exists()
    base_dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(cluster_dir_for(base_dir), port or free_port())
    try:
        cluster.start()
        db = provision_stitch_database(cluster)
    except (RuntimeError, OSError, subprocess.CalledProcessError, psycopg.Error) as error:
        cluster.stop()  # nothing half-started is left behind
        if created:
            base_dir.rmdir()
        return f"could not start the local PostgreSQL: {error}"
    state: dict[str, object] = {
        "port": cluster.port,
        "cluster_dir": str(cluster.base_dir),
        "created_dir": created,
        "database_url": db.owner_url,
        "stitch_url": db.stitch_url,
    }
    path = _state_path(base_dir)
    path.touch(mode=0o600)  # the URLs hold passwords: readable by this user only, from the first byte
    path.write_text(json.dumps(state))
    return state


@contextmanager
def throwaway_cluster(prefix: str = "stitch-heroku-pg-", *, ssl: bool = True) -> Iterator[Cluster]:
    """A server in a new temp folder on a free port, for one run of a benchmark: stopped and removed after."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix=prefix)), free_port(), ssl=ssl)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def stop(base_dir: Path) -> str | None:
    """Stop the cluster and remove exactly what `start` made; None, or why not."""
    path = _state_path(base_dir)
    try:
        saved = json.loads(path.read_text())
        cluster_dir, port = Path(saved["cluster_dir"]), int(saved["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"{path} is not a state file this tool wrote: nothing was stopped or removed"
    if not made_by_start(base_dir, cluster_dir):
        return f"{path} names {cluster_dir}, which is not a folder start makes: nothing was removed; stop that server by hand"
    Cluster(cluster_dir, port).stop()
    path.unlink()
    if saved.get("created_dir", True) and base_dir.is_dir() and not any(base_dir.iterdir()):
        base_dir.rmdir()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.local_postgres",
        description="Start or stop a throwaway PostgreSQL with SSL on loopback, shaped like a Heroku database.",
    )
    parser.add_argument("action", choices=["start", "stop", "urls"])
    parser.add_argument(
        "--dir", type=Path, default=Path(".local-postgres"),
        help="a new or empty folder for the cluster's state (default .local-postgres); stop removes only what start made there",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--json", action="store_true", help="print the URLs as JSON")
    parser.add_argument(
        "--field", choices=["database_url", "stitch_url", "port"],
        help="print only this value, for a pipe: ... urls --field database_url | pulumi config set --secret database_url",
    )  # fmt: skip
    args = parser.parse_args(argv)
    base_dir = args.dir.resolve()
    state = _state_path(base_dir)
    if args.action == "stop":
        if not state.exists():
            print(f"no local PostgreSQL in {base_dir}", file=sys.stderr)
            return 0
        problem = stop(base_dir)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        print(f"stopped the local PostgreSQL of {base_dir} and removed its files")
        return 0
    if args.action == "urls":
        if not state.exists():
            print(f"no local PostgreSQL in {base_dir}: run `python -m devtools.local_postgres start`", file=sys.stderr)
            return 1
        urls = json.loads(state.read_text())
    else:
        started = start(base_dir, args.port)
        if isinstance(started, str):
            print(f"error: {started}", file=sys.stderr)
            return 1
        urls = started
    if args.field:
        print(urls[args.field])
    elif args.json:
        print(json.dumps(urls))
    else:
        here = "" if args.dir == Path(".local-postgres") else f" --dir {args.dir}"
        print(f"local PostgreSQL with SSL on 127.0.0.1:{urls['port']} (data in {urls['cluster_dir']})")
        print(f"  owner credential (like Heroku's default): {urls['database_url']}")
        print(f"  Stitch credential (no CREATE yet):        {urls['stitch_url']}")
        print("Give them to a stack without putting them on a command line:")
        for key in ("database_url", "stitch_url"):
            print(f"  python -m devtools.local_postgres urls{here} --field {key} | pulumi config set --secret {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
