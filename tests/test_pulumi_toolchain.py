"""The offline toolchain: what it builds, where it caches, and what it says without Go."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from devtools import pulumi_toolchain


def test_pins_are_read_from_requirements(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pulumi==3.272.0  # the SDK\npsycopg[binary]==3.3.9\nurllib3>=2\n")
    assert pulumi_toolchain.pinned_versions(requirements) == {"pulumi": "3.272.0", "psycopg": "3.3.9"}


def test_the_cli_version_is_the_one_its_wrapper_pins():
    cli = pulumi_toolchain.programs()[0]
    go_mod = (pulumi_toolchain.WRAPPERS / "cli" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 {cli.version}" in go_mod
    assert f"github.com/pulumi/pulumi/sdk/v3 {cli.version}" in go_mod, "pkg/v3 and sdk/v3 must be at the same version"


def test_a_changed_wrapper_builds_into_a_new_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(pulumi_toolchain.CACHE_ENV, str(tmp_path / "cache"))
    wrappers = tmp_path / "toolchain"
    (wrappers / "cli").mkdir(parents=True)
    (wrappers / "cli" / "go.mod").write_text("module x\n")
    monkeypatch.setattr(pulumi_toolchain, "WRAPPERS", wrappers)
    program = pulumi_toolchain.GoProgram("pulumi", "cli", "x/cmd", "v1.0.0", "x.Version")
    before = pulumi_toolchain.toolchain_dir([program], "go1.26.8")
    assert before.parent == tmp_path / "cache"
    (wrappers / "cli" / "go.mod").write_text("module x\n\nrequire y v1.0.1\n")
    assert pulumi_toolchain.toolchain_dir([program], "go1.26.8") != before
    assert pulumi_toolchain.toolchain_dir([program], "go1.27.3") != pulumi_toolchain.toolchain_dir([program], "go1.26.8")


def test_the_yaml_host_builds_beside_the_cli_without_moving_its_folder(built_toolchain):
    cli, yaml = pulumi_toolchain.programs()
    assert yaml.binary == "pulumi-language-yaml" and yaml.version == "v1.25.0"
    assert pulumi_toolchain.toolchain_dir([cli, yaml], "go1.26.8") == pulumi_toolchain.toolchain_dir([cli], "go1.26.8")
    assert os.access(built_toolchain / "pulumi-language-yaml", os.X_OK)
    manifest = json.loads((built_toolchain.parent / "manifest.json").read_text())
    assert manifest["pulumi-language-yaml"] == yaml.fingerprint() and manifest["pulumi"] == cli.fingerprint()
    assert yaml.version.encode() in (built_toolchain / "pulumi-language-yaml").read_bytes(), "the version is linked in (-X)"


def test_without_go_it_says_what_to_do_instead(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert pulumi_toolchain.main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Go is not installed" in captured.err and "https://www.pulumi.com/docs/install/" in captured.err


def test_the_built_cli_reports_its_version_and_the_shims_are_executable(built_toolchain):
    cli = pulumi_toolchain.programs()[0]
    version = subprocess.run([str(built_toolchain / "pulumi"), "version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == cli.version
    for name in pulumi_toolchain.PYTHON_SHIMS.values():
        assert os.access(built_toolchain / name, os.X_OK), f"{name} is not executable"


def test_a_second_run_reuses_the_cache_and_prints_the_folder_last(built_toolchain, capfd):
    stamp = (built_toolchain / "pulumi").stat().st_mtime_ns
    assert pulumi_toolchain.main([]) == 0
    out, err = capfd.readouterr()
    assert out.strip().splitlines()[-1] == str(built_toolchain)
    assert "cached" in err and (built_toolchain / "pulumi").stat().st_mtime_ns == stamp


def test_without_go_the_real_engine_tests_use_a_pulumi_cli_on_path(tmp_path, monkeypatch):
    user_bin = tmp_path / "user-bin"
    user_bin.mkdir()
    (user_bin / "pulumi").write_text("#!/bin/sh\necho v3.999.0\n")
    (user_bin / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", str(user_bin))
    assert pulumi_toolchain.cli_bin_dir() == user_bin


def test_without_go_or_a_pulumi_cli_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pulumi_toolchain.ToolchainError, match="install the Pulumi CLI"):
        pulumi_toolchain.cli_bin_dir()


def test_with_go_the_toolchain_comes_first(built_toolchain, tmp_path, monkeypatch):
    decoy = tmp_path / "pulumi"
    decoy.write_text("#!/bin/sh\nexit 1\n")
    decoy.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path), os.environ["PATH"]]))
    assert pulumi_toolchain.cli_bin_dir() == built_toolchain
