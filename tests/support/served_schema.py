"""Start a component provider as the engine does and talk to it over gRPC: the proof that a plugin serves.

The engine starts a plugin with its own address as the argument and reads the plugin's gRPC port from the first
line of its stdout; GetSchema needs no engine behind that address, so a test can ask without one.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NO_ENGINE = "127.0.0.1:9"  # an address nothing listens on: GetSchema and a failing Construct never call the engine


@contextmanager
def provider_stub(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None, engine: str = NO_ENGINE) -> Iterator[Any]:
    """A ResourceProvider stub on the plugin started by `command <engine>`; AssertionError with its stderr if it dies."""
    import grpc
    from pulumi.runtime.proto import provider_pb2_grpc

    plugin = subprocess.Popen([*command, engine], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = plugin.stdout.readline() if plugin.stdout else ""
        if not first.strip().isdigit():  # a provider prints its port first, as the engine expects
            plugin.kill()
            _, stderr = plugin.communicate(timeout=30)
            raise AssertionError(f"{' '.join(command)} did not serve (printed {first!r}):\n{stderr[-3000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{int(first)}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        plugin.kill()
        plugin.wait()


def served_schema(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The schema the plugin answers GetSchema with."""
    from pulumi.runtime.proto import provider_pb2

    with provider_stub(command, cwd, env) as stub:
        return json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=120).schema)
