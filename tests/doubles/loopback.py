"""How every HTTP double of ours is served: on 127.0.0.1, a free port, in a thread, for a `with` block."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, TypeVar

Double = TypeVar("Double")


class LoopbackServer(Generic[Double]):
    """Serves `double` through `handler`; `with` gives the double, its `url` set, and stops serving after.

    tls (certificate, key) serves HTTPS instead; on_exit runs once serving stopped (e.g. drop databases)."""

    def __init__(
        self,
        double: Double,
        handler: type[BaseHTTPRequestHandler],
        name: str,
        *,
        tls: tuple[Path, Path] | None = None,
        on_exit: Callable[[], Any] | None = None,
    ):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.double, self.on_exit = double, on_exit
        double.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"  # type: ignore[attr-defined]
        # A short poll interval, so a test's `with` block ends without waiting.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name=name, daemon=True)

    def __enter__(self) -> Double:
        self.thread.start()
        return self.double

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.on_exit is not None:
            self.on_exit()
