"""The lowest versions pyproject.toml allows, installed alone: the package imports, serves its component and talks to Stitch.

A user's `pip install` may resolve to any version in the ranges, so a floor older than an API the code calls is a
crash waiting for the user who has that version: urllib3 before 2.6.3 has no Retry(retry_after_max=) (every Connect
API call raised TypeError), pulumi before 3.211.0 has no component_provider_host(version=) (the plugin never served).
Here the floors are installed exactly, from PyPI (pip's cache keeps a second run fast), then the package without its
dependencies, so nothing newer can hide a missing API.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.served_schema import served_schema

ROOT = Path(__file__).resolve().parents[1]


def floors() -> list[str]:
    """pyproject.toml's dependencies, each pinned to its lowest allowed version (`name[extras]==floor`)."""
    pinned = []
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        lowest = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert len(lowest) == 1, f"pyproject.toml: {line!r} needs one floor (>=) for this test to install"
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        pinned.append(f"{requirement.name}{extras}=={lowest[0]}")
    return pinned


@pytest.fixture(scope="module")
def floor_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("floors") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for step in (floors(), ["--no-deps", str(ROOT)]):
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, f"pip install {' '.join(step)} failed:\n{done.stderr[-3000:]}"
    return venv


def test_the_floors_are_what_the_venv_holds(floor_venv):
    listed = subprocess.run([str(floor_venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    installed = {package["name"].lower().replace("_", "-"): package["version"] for package in json.loads(listed.stdout)}
    for pin in floors():
        name, version = pin.split("==")
        has = installed.get(name.split("[")[0].lower())
        assert has is not None and Version(has) == Version(version), f"{pin}: the venv has {has}"


def test_at_the_floors_the_plugin_serves_the_destination_with_the_packages_version(floor_venv, tmp_path):
    schema = served_schema([str(floor_venv / "bin" / "pulumi-resource-stitch-heroku")], tmp_path)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert "stitch-heroku:index:Destination" in schema["resources"] and schema["version"] == version, schema.get("version")
    assert "requires" not in schema["language"]["python"], "an installed package has no checkout for an SDK to point at"


CONNECT_CALL = """\
import json, sys
from stitch_heroku.stitch_api import StitchClient
print(json.dumps(StitchClient(sys.argv[1], base_url=sys.argv[2], retries=1, backoff=0.01).destination_type()))
"""


def test_at_the_floors_a_connect_api_call_goes_through(floor_venv, stitch_api, tmp_path):
    command = [str(floor_venv / "bin" / "python"), "-c", CONNECT_CALL, stitch_api.token, stitch_api.url]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["type"] == "postgres"
    assert [(r.method, r.path) for r in stitch_api.requests] == [("GET", "/v4/destination-types/postgres")]
