"""Shared fixtures: real PostgreSQL 15 clusters on loopback, one of each kind per test session."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The program and its components import as the Pulumi runtime would: from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools import pulumi_toolchain
from devtools.local_postgres import Cluster, StitchDatabase, free_port, provision_stitch_database
from tests.doubles.fake_heroku import FakeHeroku, PostgresTarget, serve
from tests.doubles.fake_stitch import FakeStitch, StitchServer


@dataclass(frozen=True)
class Server:
    """A Heroku-shaped database on a real server, with its three kinds of credential."""

    cluster: Cluster
    db: StitchDatabase
    granted_url: str
    hidden_catalog_url: str

    @property
    def owner_url(self) -> str:
        return self.db.owner_url

    @property
    def no_create_url(self) -> str:
        return self.db.stitch_url


def _start(ssl: bool) -> Cluster:
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="stitch-heroku-pg-")), free_port(), ssl=ssl)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def ssl_server():
    """SSL on, as Heroku: an owner, a role without CREATE, a role granted CREATE, and a database
    whose system catalogs PUBLIC may not read."""
    cluster = _start(ssl=True)
    try:
        db = provision_stitch_database(cluster)
        cluster.create_role("granted_loader", "granted-pw")
        with cluster.superuser("stitch") as conn:
            conn.execute("GRANT CREATE ON DATABASE stitch TO granted_loader")
        cluster.create_role("hidden_owner", "hidden-pw")
        cluster.create_database("hidden", "hidden_owner")
        with cluster.superuser("hidden") as conn:
            conn.execute("REVOKE USAGE ON SCHEMA information_schema FROM PUBLIC")
            conn.execute("REVOKE SELECT ON pg_catalog.pg_namespace, pg_catalog.pg_class FROM PUBLIC")
        yield Server(
            cluster,
            db,
            granted_url=cluster.url("granted_loader", "granted-pw", "stitch"),
            hidden_catalog_url=cluster.url("hidden_owner", "hidden-pw", "hidden"),
        )
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def plain_server():
    """A second cluster without SSL, for the case Stitch (and Heroku) refuse."""
    cluster = _start(ssl=False)
    try:
        yield provision_stitch_database(cluster)
    finally:
        cluster.stop()


@pytest.fixture
def stitch_api():
    """A fresh Stitch Connect API on loopback for each test: no destinations, nothing recorded."""
    with StitchServer(FakeStitch()) as stitch:
        yield stitch


def _or_skip(get: Callable[[], Path], needs: str) -> Path:
    """What get() returns; where it cannot be had, a skip with the reason, but never under CI=true."""
    try:
        return get()
    except pulumi_toolchain.ToolchainError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{needs}: {error}")


@pytest.fixture(scope="session")
def toolchain() -> Path:
    """The Pulumi CLI for the real-engine tests: the toolchain built from the Go module proxy (on first use),
    or, on a machine without Go, a `pulumi` on PATH."""
    return _or_skip(pulumi_toolchain.cli_bin_dir, "the real-engine tests need a Pulumi CLI")


@pytest.fixture(scope="session")
def built_toolchain() -> Path:
    """The toolchain itself, for the tests of how it is built (they need Go)."""
    return _or_skip(pulumi_toolchain.ensure, "building the toolchain needs Go")


@pytest.fixture
def heroku(ssl_server: Server) -> Iterator[FakeHeroku]:
    """A Heroku Platform and Data API double on loopback, whose add-ons are real databases on the SSL server;
    the team "acme" exists, for team apps."""
    yield from serve(PostgresTarget.for_cluster(ssl_server.cluster), teams=frozenset({"acme"}))
