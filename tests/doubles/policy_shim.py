"""A STAND-IN for the Python language host's RunPlugin, so the real CLI runs a Python policy pack on this machine.

`pulumi preview --policy-pack <folder>` starts a pack through the language host its PulumiPolicy.yaml names:
CLI v3.274 (pkg/resource/plugin/analyzer_plugin.go NewPolicyAnalyzer, then plugin.go ExecPlugin) starts
`pulumi-language-python` and calls its RunPlugin with the pack's folder and runtime options, the program's
folder as working directory, the CLI's environment and the engine's address as the one argument. That
language host is not served by the Go module proxy (docs/toolchain.md), and v3.274 has no
other way to run a folder of Python policies (the `pulumi-analyzer-policy-python` fallback of older CLIs
is gone from pkg/v3; only sdk/v3 still carries it). So `install` puts a `pulumi-language-python` on PATH
that serves exactly two calls of Pulumi's LanguageRuntime protocol: GetPluginInfo, and RunPlugin as
sdk/python/cmd/pulumi-language-python/main.go and sdk/python/toolchain/pip.go do it for a pack with a
`__main__.py` and the `pip` toolchain: `<virtualenv>/bin/python <pack folder> <engine address>`, the
virtualenv from the `virtualenv` option relative to the pack (`venv` when unset), run in the request's
working directory with the host's environment activated for the virtualenv (its bin first on PATH,
VIRTUAL_ENV set, PYTHONHOME dropped) and the request's environment after it, the last value of a name
winning as in Go's os/exec; output streamed back as it comes, the exit code sent when it is not 0.
Every other call answers UNIMPLEMENTED. Tests only: a user's Pulumi CLI ships the real language host.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

PLUGIN_NAME = "pulumi-language-python"
_CHUNK = 64 * 1024


def install(bin_dir: Path) -> Path:
    """Write the plugin into bin_dir, to go first on the CLI's PATH. It runs this file with this interpreter
    (whose packages have grpc and Pulumi's protocol), and adds nothing to the environment the pack inherits."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / PLUGIN_NAME
    target.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    target.chmod(0o755)
    return target


def pack_command(program_directory: str, root_directory: str, options: dict[str, Any], args: list[str]) -> list[str]:
    """RunPlugin's command for a folder with __main__.py: the virtualenv's python, the folder, the CLI's args.
    ValueError names what the pack's PulumiPolicy.yaml asks for that this stand-in cannot do, and the fix."""
    toolchain = str(options.get("toolchain") or "pip")
    if toolchain != "pip":
        raise ValueError(f"{root_directory}/PulumiPolicy.yaml asks for the {toolchain!r} toolchain; this stand-in runs only 'pip'.")
    if not (Path(program_directory) / "__main__.py").is_file():
        raise ValueError(f"{program_directory} has no __main__.py, the only kind of Python plugin this stand-in runs.")
    virtualenv = virtualenv_path(root_directory, options)
    python = virtualenv / "bin" / "python"
    if not python.is_file():
        raise ValueError(
            f"the 'virtualenv' option in {root_directory}/PulumiPolicy.yaml names {virtualenv}, which is not a virtual "
            f"environment. Make it: python3 -m venv {virtualenv} && {python} -m pip install -r {root_directory}/requirements.txt"
        )
    return [str(python), program_directory, *args]


def virtualenv_path(root_directory: str, options: dict[str, Any]) -> Path:
    """The `virtualenv` option relative to the pack's root, `venv` when unset (RunPlugin's default for pip)."""
    return Path(root_directory) / str(options.get("virtualenv") or "venv")


def pack_environment(host_environ: dict[str, str], virtualenv: Path, request_env: list[str]) -> dict[str, str]:
    """toolchain.ActivateVirtualEnv over the host's own environment, then the request's `NAME=value` entries."""
    env = {key: value for key, value in host_environ.items() if key.upper() not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(part for part in (str(virtualenv / "bin"), host_environ.get("PATH", "")) if part)
    env["VIRTUAL_ENV"] = str(virtualenv)
    for entry in request_env:
        key, _, value = entry.partition("=")
        env[key] = value
    return env


def serve() -> None:  # pragma: no cover - runs as the CLI's language plugin, exercised by tests/test_policies_real_engine.py
    import grpc
    from google.protobuf import json_format
    from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

    class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
        def GetPluginInfo(self, request: Any, context: Any) -> Any:
            return plugin_pb2.PluginInfo()  # no version: this is not a release of the language host

        def RunPlugin(self, request: Any, context: Any) -> Iterator[Any]:
            info = request.info
            options = json_format.MessageToDict(info.options) if info.HasField("options") else {}
            try:
                command = pack_command(info.program_directory, info.root_directory, options, list(request.args))
            except ValueError as error:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            env = pack_environment(dict(os.environ), virtualenv_path(info.root_directory, options), list(request.env))
            process = subprocess.Popen(command, cwd=request.pwd or None, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # As exec.CommandContext in the real host: the pack goes when the CLI ends the call.
            context.add_callback(process.kill)
            chunks: queue.Queue[tuple[str, bytes]] = queue.Queue()

            def pump(name: str, stream: Any) -> None:
                while data := os.read(stream.fileno(), _CHUNK):
                    chunks.put((name, data))
                chunks.put((name, b""))

            for name, stream in (("stdout", process.stdout), ("stderr", process.stderr)):
                threading.Thread(target=pump, args=(name, stream), daemon=True).start()
            open_streams = 2
            while open_streams:
                name, data = chunks.get()
                if not data:
                    open_streams -= 1
                    continue
                yield language_pb2.RunPluginResponse(**{name: data})
            code = process.wait()
            if code != 0:
                yield language_pb2.RunPluginResponse(exitcode=code)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # the CLI ends its plugins with SIGINT: a normal end, as for the real host
        server.stop(0)


if __name__ == "__main__":
    serve()
