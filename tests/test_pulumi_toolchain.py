"""The offline toolchain: what it builds, where it caches, and what it says without Go."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


FAKE_GO = """#!{python}
import sys, time
args = sys.argv[1:]
if args[:2] == ["env", "GOVERSION"]:
    print("go1.26.8")
elif args[:2] == ["list", "-deps"]:
    for n in range(6):
        sys.stderr.write(f"go: downloading example.com/mod{{n}} v1.0.0\\n"); sys.stderr.flush(); time.sleep(0.1)
    print("\\n".join(f"example.com/mod{{n}}/pkg" for n in range(6)))
elif args[:1] == ["build"]:
    for n in range(6):
        sys.stderr.write(f"example.com/mod{{n}}/pkg\\n"); sys.stderr.flush(); time.sleep(0.15)
    open(args[args.index("-o") + 1], "w").write("built")
"""


@pytest.fixture
def slow_go(tmp_path):
    go = tmp_path / "go"
    go.write_text(FAKE_GO.format(python=sys.executable))
    go.chmod(0o755)
    return go


def test_a_long_go_command_says_how_far_it_is_while_it_runs(slow_go, tmp_path, capsys):
    where = {"cwd": tmp_path, "env": dict(os.environ), "label": "pulumi v1", "interval": 0.25}
    listed = pulumi_toolchain.run_go([str(slow_go), "list", "-deps", "x"], **where)
    assert listed.returncode == 0 and len(listed.output.split()) == 6
    built = pulumi_toolchain.run_go([str(slow_go), "build", "-o", str(tmp_path / "out"), "x"], total=6, **where)
    assert built.returncode == 0
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("pulumi-toolchain: pulumi v1: ")]
    assert len(said) >= 4, said
    assert any("downloading modules:" in line and "(last: example.com/mod" in line for line in said), said
    assert any(f"compiled {n} of about 6 packages" in line for line in said for n in range(1, 7)), said
    assert all(" s so far, " in line for line in said), said


def test_the_try_out_builds_the_cli_alone_and_the_tests_build_the_yaml_host_on_demand(tmp_path, monkeypatch, slow_go):
    monkeypatch.setenv(pulumi_toolchain.CACHE_ENV, str(tmp_path / "cache"))
    built: list[str] = []

    def fake_build(program, go, bin_dir):
        built.append(program.binary)
        (bin_dir / program.binary).write_text("built")

    monkeypatch.setattr(pulumi_toolchain, "build", fake_build)
    cli_only = pulumi_toolchain.ensure(go=str(slow_go), only=(pulumi_toolchain.CLI,))
    assert built == ["pulumi"]
    assert pulumi_toolchain.ensure(go=str(slow_go)) == cli_only, "the YAML host joins the same folder"
    assert built == ["pulumi", "pulumi-language-yaml"]


def test_a_build_lists_its_packages_first_then_counts_them_off(slow_go, tmp_path, monkeypatch, capsys):
    wrappers = tmp_path / "toolchain"
    (wrappers / "yaml").mkdir(parents=True)
    (wrappers / "yaml" / "go.mod").write_text("module x\n")
    monkeypatch.setattr(pulumi_toolchain, "WRAPPERS", wrappers)
    monkeypatch.setattr(pulumi_toolchain, "PROGRESS_SECONDS", 0.25)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = pulumi_toolchain.GoProgram("pulumi-language-yaml", "yaml", "x/cmd", "v1.0.0", "x.Version")
    pulumi_toolchain.build(program, str(slow_go), bin_dir)
    assert (bin_dir / "pulumi-language-yaml").read_text() == "built"
    err = capsys.readouterr().err
    assert "pulumi-language-yaml v1.0.0: " in err and "of about 6 packages" in err and "built pulumi-language-yaml v1.0.0 in " in err
