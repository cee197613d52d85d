"""How our Python stand-ins become Pulumi plugins: an executable on PATH, and the port handshake.

The engine finds a plugin by its file name on PATH (`pulumi-resource-<name>`, `pulumi-language-<name>`),
starts it, and reads the port of its gRPC server from the first line of its stdout. The stand-ins in
devtools/ (and the test-only language host in tests/) all start that way, so it is written once here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from threading import Event
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def install_script(bin_dir: Path, name: str, module: str, python: str = sys.executable) -> Path:
    """Write bin_dir/name, which runs `python -u -P -m module` with the project on PYTHONPATH.

    -P (Python 3.11): `-m` does not put the working folder first on sys.path. The engine starts a plugin in the
    program's folder, and a folder holding an older checkout (tests/test_upgrade.py runs the program of an
    earlier commit) would otherwise serve that commit's stand-in instead of this one."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / name
    path = f'PYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"'
    target.write_text(f'#!/bin/sh\n{path} exec "{python}" -u -P -m {module} "$@"\n')
    target.chmod(0o755)
    return target


def installer(name: str, module: str) -> Callable[[Path], Path]:
    """A stand-in's `install(bin_dir)`: writes bin_dir/name (to go first on PATH), which runs `module` with this Python."""
    return lambda bin_dir: install_script(bin_dir, name, module)


def start_server(add_servicer: Callable[[Any, Any], None], servicer: Any, address: str = "127.0.0.1:0") -> tuple[Any, int]:
    """The servicer's gRPC server, started on loopback; the port it listens on."""
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    add_servicer(servicer, server)
    port = server.add_insecure_port(address)
    server.start()
    return server, port


def serve_forever(add_servicer: Callable[[Any, Any], None], servicer: Any) -> None:  # pragma: no cover - a plugin process
    """What the engine runs: the port alone on stdout, then serve until the engine ends the process."""
    server, port = start_server(add_servicer, servicer)
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        Event().wait()
    except KeyboardInterrupt:  # the CLI ends its plugins with SIGINT: a normal end
        server.stop(0)
