"""The offline toolchain: what it builds, where it caches, and what it says without Go."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devtools import pulumi_toolchain as toolchain


def test_pins_are_read_from_requirements(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pulumi==3.272.0  # the SDK\npsycopg[binary]==3.3.9\nurllib3>=2\n")
    assert toolchain.pinned_versions(requirements) == {"pulumi": "3.272.0", "psycopg": "3.3.9"}


def test_the_cli_version_is_the_one_its_wrapper_pins():
    (cli,) = toolchain.programs()
    go_mod = (toolchain.WRAPPERS / "cli" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 {cli.version}" in go_mod
    assert f"github.com/pulumi/pulumi/sdk/v3 {cli.version}" in go_mod, "pkg/v3 and sdk/v3 must be at the same version"


def test_a_changed_wrapper_builds_into_a_new_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(toolchain.CACHE_ENV, str(tmp_path / "cache"))
    wrappers = tmp_path / "toolchain"
    (wrappers / "cli").mkdir(parents=True)
    (wrappers / "cli" / "go.mod").write_text("module x\n")
    monkeypatch.setattr(toolchain, "WRAPPERS", wrappers)
    program = toolchain.GoProgram("pulumi", "cli", "x/cmd", "v1.0.0", "x.Version")
    before = toolchain.toolchain_dir([program], "go1.26.8")
    assert before.parent == tmp_path / "cache"
    (wrappers / "cli" / "go.mod").write_text("module x\n\nrequire y v1.0.1\n")
    assert toolchain.toolchain_dir([program], "go1.26.8") != before
    assert toolchain.toolchain_dir([program], "go1.27.3") != toolchain.toolchain_dir([program], "go1.26.8")


def test_without_go_it_says_what_to_do_instead(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert toolchain.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Go is not installed" in captured.err and "https://www.pulumi.com/docs/install/" in captured.err


@pytest.fixture(scope="module")
def built() -> Path:
    try:
        return toolchain.ensure()
    except toolchain.ToolchainError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"needs the toolchain: {error}")


def test_the_built_cli_reports_its_version_and_the_shims_are_executable(built):
    (cli,) = toolchain.programs()
    version = subprocess.run([str(built / "pulumi"), "version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == cli.version
    for name in toolchain.PYTHON_SHIMS.values():
        assert os.access(built / name, os.X_OK), f"{name} is not executable"


def test_a_second_run_reuses_the_cache_and_prints_the_folder_last(built, capfd):
    stamp = (built / "pulumi").stat().st_mtime_ns
    assert toolchain.main([]) == 0
    out, err = capfd.readouterr()
    assert out.strip().splitlines()[-1] == str(built)
    assert "cached" in err and (built / "pulumi").stat().st_mtime_ns == stamp
