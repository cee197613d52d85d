"""`python -m devtools.pulumi_toolchain`: the Pulumi CLI and plugins, built from the Go module proxy.

The Pulumi CLI, its Python shims and the provider plugins are Go programs published as Go modules.
This machine reaches registries only, so we build them from the Go proxy (never from release
binaries) into a cache outside the repo, keyed by what was built, and reuse it on every later run.
The last line on stdout is the directory to put first on PATH; progress goes to stderr.

Each Go program is built from a small wrapper module of ours in devtools/toolchain/<name>/ (a go.mod
with the exact served versions and the `replace` lines the upstream modules need, and a go.sum that
pins every byte): `go install module@version` refuses modules whose go.mod has replace directives.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPERS = Path(__file__).resolve().parent / "toolchain"
CACHE_ENV = "STITCH_HEROKU_CACHE"
NO_GO_HINT = (
    "Go is not installed, so the Pulumi toolchain cannot be built here. Either install Go 1.26.6 or newer (pkg/v3 v3.274.0 asks for it) "
    "(https://go.dev/doc/install) and run `python -m devtools.pulumi_toolchain` again, or install the Pulumi CLI "
    "(https://www.pulumi.com/docs/install/), which fetches its plugins itself on a machine with internet access."
)
# `python -m pulumi.dynamic` etc. read nothing else from the SDK module; these are the files the CLI runs.
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
PYTHON_SHIMS = {
    "python/dist/pulumi-resource-pulumi-python": "pulumi-resource-pulumi-python",
    "python/cmd/pulumi-language-python-exec": "pulumi-language-python-exec",
}


PROGRESS_SECONDS = 20.0
"""How often a long build says how far it is: well inside the 30 s after which a silent terminal looks hung."""
CLI = "pulumi"
COLD_BUILD = "5 to 9 minutes on 2 cores"
"""Measured cold (empty Go caches) on a 2-core machine: the CLI in 318 s, and in 551 s with other work running
(docs/toolchain.md has the figures and the disk the Go caches take)."""
"""The CLI alone: what the try-out and the reconcile need (the YAML host only serves YAML programs)."""


class ToolchainError(Exception):
    """A build step failed; the message names the program, the module and what to do."""


@dataclass(frozen=True)
class GoProgram:
    """One binary built from one wrapper module in devtools/toolchain/<wrapper>/."""

    binary: str
    """The file name the CLI looks for on PATH (pulumi, pulumi-resource-<name>, pulumi-language-python)."""
    wrapper: str
    """The folder under devtools/toolchain/ holding go.mod, go.sum and any main package."""
    package: str
    """The Go package to build, as seen from the wrapper module."""
    version: str
    """The version the binary reports; for plugins, exactly what the Python SDK package asks for."""
    version_symbol: str
    """The linker symbol set with -X to that version (Go programs learn their version at link time)."""
    extra_files: dict[str, str] = field(default_factory=dict)
    """Files copied from the wrapper's module dependencies next to the binary: module-relative path -> name."""

    @property
    def wrapper_dir(self) -> Path:
        return WRAPPERS / self.wrapper

    def fingerprint(self) -> str:
        """What decides the build's bytes: the wrapper's files, the version and the Go release."""
        digest = hashlib.sha256(f"{self.binary}\0{self.package}\0{self.version}\0{self.version_symbol}".encode())
        for path in sorted(self.wrapper_dir.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(self.wrapper_dir).as_posix().encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]


def pinned_versions(requirements: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """The exact `name==version` pins of requirements.txt: the plugins must match the SDK packages."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.split("[", 1)[0].strip().lower()] = version.strip()
    return pins


def wrapper_requirement(wrapper: str, module: str) -> str:
    """The version of `module` that the wrapper's go.mod requires (the single source of that pin)."""
    for line in (WRAPPERS / wrapper / "go.mod").read_text().splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0] in (module, "require") and module in parts:
            return parts[parts.index(module) + 1]
    raise ToolchainError(f"devtools/toolchain/{wrapper}/go.mod does not require {module}")


NOT_SERVED = {
    "the Python language host": "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 (no tags; "
    "every pseudo-version tried is refused): programs run through the Automation API's inline mode",
    "the postgresql plugin": "github.com/pulumi/pulumi-postgresql/provider/v3 and "
    "github.com/cyrilgdn/terraform-provider-postgresql: devtools/postgresql_standin.py stands in on this machine",
    "the heroku plugin": "github.com/pulumiverse/pulumi-heroku/provider (bd91b6b19ec2) and "
    "github.com/heroku/terraform-provider-heroku/v5@v5.2.10: tests/doubles/heroku_standin.py stands in for the tests",
}
"""What the Go module proxy refused (403 "This module version is not available"), and what we do instead."""


def programs() -> list[GoProgram]:
    """Everything we build, in build order: the CLI (its version is the one its wrapper's go.mod pins).

    A program whose module the proxy serves is added here with a wrapper folder of its own.
    """
    return [
        _command_of("pulumi", "cli", "github.com/pulumi/pulumi/pkg/v3", "github.com/pulumi/pulumi/sdk/v3/go/common/version", PYTHON_SHIMS),
        # The YAML language host: a Pulumi YAML program (`runtime: yaml`) uses the Destination component through
        # its plugin, pulumi-resource-stitch-heroku (tests/test_component_yaml.py).
        _command_of("pulumi-language-yaml", "yaml", "github.com/pulumi/pulumi-yaml", "github.com/pulumi/pulumi-yaml/pkg/version"),
    ]


def _command_of(
    binary: str, wrapper: str, module: str, version_package: str, extra_files: Mapping[str, str] | None = None
) -> GoProgram:
    """The command `binary` of a Go module (its `cmd/<binary>` package), at the version the wrapper's go.mod pins,
    with that version linked into `<version_package>.Version`, which a `go build` from the proxy leaves empty."""
    return GoProgram(
        binary=binary,
        wrapper=wrapper,
        package=f"{module}/cmd/{binary}",
        version=wrapper_requirement(wrapper, module),
        version_symbol=f"{version_package}.Version",
        extra_files=dict(extra_files or {}),
    )


def cache_root() -> Path:
    """Outside the repo, so a clean clone reuses it: $STITCH_HEROKU_CACHE, else XDG's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stitch-heroku" / "pulumi-toolchain"


def go_version(go: str) -> str:
    return subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()


def toolchain_dir(programs_: list[GoProgram], go_release: str) -> Path:
    """One folder per CLI and Go release: a changed CLI pin builds afresh beside the old. The other programs
    (the YAML language host) are kept in the same folder and rebuilt when their own fingerprint in its
    manifest changes, so adding one does not rebuild the CLI."""
    digest = hashlib.sha256(go_release.encode())
    digest.update(programs_[0].fingerprint().encode())
    return cache_root() / digest.hexdigest()[:16]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Two test runs or shells building at once wait for each other instead of racing on one folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def say(message: str) -> None:
    print(f"pulumi-toolchain: {message}", file=sys.stderr, flush=True)


def build(program: GoProgram, go: str, bin_dir: Path) -> None:
    """Build one program from a scratch copy of its wrapper (go.mod and go.sum stay as committed)."""
    with tempfile.TemporaryDirectory(prefix=f"build-{program.binary}-") as scratch:
        work = Path(scratch) / "module"
        shutil.copytree(program.wrapper_dir, work)
        env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
        out = Path(scratch) / program.binary
        command = [
            go, "build", "-v", "-trimpath", "-o", str(out),
            "-ldflags", f"-s -w -X {program.version_symbol}={program.version}",
            program.package,
        ]  # fmt: skip
        started = time.monotonic()
        label = f"{program.binary} {program.version}"
        listed = run_go([go, "list", "-deps", program.package], cwd=work, env=env, label=label, started=started)
        total = len(listed.output.split()) if listed.returncode == 0 else None
        result = run_go(command, cwd=work, env=env, label=label, started=started, total=total)
        if result.returncode != 0:
            raise ToolchainError(
                f"building {program.binary} {program.version} from devtools/toolchain/{program.wrapper} failed "
                f"(go build {program.package}):\n{result.errors.strip()[-4000:]}"
            )
        if program.extra_files:
            sdk_dir = module_dir(go, work, env, SDK_MODULE)
            for module_path, name in program.extra_files.items():
                target = Path(scratch) / name
                # Module-cache files are read-only and not executable: copy, then mark executable.
                shutil.copyfile(sdk_dir / module_path, target)
                target.chmod(0o755)
                os.replace(target, bin_dir / name)
        os.replace(out, bin_dir / program.binary)
        say(f"built {program.binary} {program.version} in {time.monotonic() - started:.0f} s")


@dataclass
class GoRun:
    """What one go command printed and how it ended; its progress was said while it ran."""

    returncode: int
    output: str
    """stdout (go list's packages); stderr's last lines (go's own errors) are in `errors`."""
    errors: str = ""


@dataclass
class Progress:
    """How far a go command is, read from its stderr: modules downloaded, packages compiled (`go build -v`)."""

    label: str
    started: float
    total: int | None = None
    downloaded: int = 0
    compiled: int = 0
    last: str = ""

    def read(self, line: str) -> None:
        if line.startswith("go: downloading "):
            self.downloaded += 1
            self.last = line.removeprefix("go: downloading ")
        elif line and " " not in line and not line.startswith("#"):  # `go build -v` names each package it compiles
            self.compiled += 1
            self.last = line

    def line(self, now: float) -> str:
        phase = "resolving modules"
        if self.compiled:
            phase = f"compiled {self.compiled}{f' of about {self.total}' if self.total else ''} packages (last: {self.last})"
        elif self.downloaded:
            phase = f"downloading modules: {self.downloaded} so far (last: {self.last})"
        return f"{self.label}: {now - self.started:.0f} s so far, {phase}"


def run_go(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], label: str, started: float | None = None,
    total: int | None = None, interval: float | None = None,
) -> GoRun:  # fmt: skip
    """Run one go command, saying every `interval` seconds what it builds, how far it is and for how long, so a
    cold build of many minutes never looks hung."""
    progress = Progress(label, time.monotonic() if started is None else started, total)
    errors: deque[str] = deque(maxlen=100)
    done = threading.Event()
    every = PROGRESS_SECONDS if interval is None else interval

    def tick() -> None:
        while not done.wait(every):
            say(progress.line(time.monotonic()))

    with subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        collected: list[str] = []
        reader = threading.Thread(target=lambda: collected.append(process.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        for raw in process.stderr:
            line = raw.rstrip("\n")
            errors.append(line)
            progress.read(line)
        returncode = process.wait()
        reader.join()
        done.set()
        ticker.join()
    return GoRun(returncode, "".join(collected), "\n".join(errors))


def module_dir(go: str, work: Path, env: dict[str, str], module: str) -> Path:
    result = subprocess.run([go, "list", "-m", "-json", module], check=False, cwd=work, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"go list -m {module} failed: {result.stderr.strip()}")
    return Path(json.loads(result.stdout)["Dir"])


def built_bin_dir() -> Path | None:
    """The bin folder of a toolchain already built for the current pins and Go, or None (nothing is built)."""
    go = shutil.which("go")
    if go is None:
        return None
    bin_dir = toolchain_dir(programs(), go_version(go)) / "bin"
    return bin_dir if (bin_dir / "pulumi").exists() else None


def ensure(*, go: str | None = None, only: Sequence[str] | None = None) -> Path:
    """Build what is missing and return the bin folder (cached builds are reused as they are).

    only: the binaries wanted (e.g. (CLI,) for the try-out, which runs no YAML program); None builds them all, as
    the tests and CI need. The folder is the same either way, so a later call adds what an earlier one skipped."""
    go = go or shutil.which("go")
    if go is None:
        raise ToolchainError(NO_GO_HINT)
    every = programs()
    wanted = [program for program in every if only is None or program.binary in only]
    target = toolchain_dir(every, go_version(go))
    bin_dir = target / "bin"
    with locked(target.with_suffix(".lock")):
        bin_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = target / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        for step, program in enumerate(wanted, start=1):
            label = f"[{step}/{len(wanted)}] {program.binary} {program.version}"
            if manifest.get(program.binary) == program.fingerprint() and (bin_dir / program.binary).exists():
                say(f"{label}: cached")
                continue
            say(f"{label}: building from the Go module proxy ({COLD_BUILD} the first time; progress every {PROGRESS_SECONDS:.0f} s)")
            build(program, go, bin_dir)
            manifest[program.binary] = program.fingerprint()
            manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return bin_dir


def cli_bin_dir() -> Path:
    """The folder of the Pulumi CLI to drive: the toolchain where Go can build it (built now if need be),
    else the folder of a `pulumi` on PATH (a user's own install, which has its own language host)."""
    if shutil.which("go") is not None:
        return ensure()
    on_path = shutil.which("pulumi")
    if on_path is not None:
        return Path(on_path).resolve().parent
    raise ToolchainError(NO_GO_HINT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.pulumi_toolchain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli-only", action="store_true", help=f"build the {CLI} CLI alone, not the YAML language host")
    args = parser.parse_args(argv)
    sdk, cli = pinned_versions().get("pulumi"), programs()[0].version
    if sdk and f"v{sdk}" != cli:
        say(f"pulumi CLI {cli}: requirements.txt pins pulumi=={sdk}, which the Go proxy does not serve; {cli} is the nearest it does")
    for what, why in NOT_SERVED.items():
        say(f"not built, the Go module proxy does not serve {what}: {why}")
    try:
        bin_dir = ensure(only=(CLI,) if args.cli_only else None)
    except ToolchainError as error:
        print(f"pulumi-toolchain: {error}", file=sys.stderr)
        return 1
    print(bin_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
