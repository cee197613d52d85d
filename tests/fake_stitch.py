"""A Stitch Connect API (v4) on loopback, for the destination endpoints, as Stitch documents them.

It keeps destinations in memory, records every request it receives, and can be told to fail:
an injected status for the next calls to a path, an account at its destination limit, or a
connection check that fails. Its connection check is a function of the destination's properties,
so a test can make it connect to the real PostgreSQL server as Stitch would.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

REQUIRED = ("host", "port", "username", "password", "database", "ssl", "encryption_type")
OPTIONAL = ("sslrootcert", "encryption_host", "encryption_port", "encryption_username")
CREDENTIALS = ("password",)
LIMIT_MESSAGE = "You are at your destination limit. Upgrade your plan or delete a destination to add another."

Outcome = tuple[str, str | None]


def always_succeeds(_properties: dict[str, str]) -> Outcome:
    return "succeeded", None


def connects_for_real(properties: dict[str, str]) -> Outcome:
    """What Stitch's check does: connect with SSL using the destination's properties."""
    try:
        with psycopg.connect(
            host=properties["host"],
            port=properties["port"],
            user=properties["username"],
            password=properties["password"],
            dbname=properties["database"],
            sslmode="require" if properties.get("ssl") == "true" else "disable",
            connect_timeout=5,
        ):
            return "succeeded", None
    except psycopg.Error as error:
        return "failed", str(error).strip()


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class Failure:
    method: str
    path: str
    status: int
    message: str
    times: int
    retry_after: str | None
    after_effect: bool
    """Do the work, then answer with the failure: Stitch acted but the answer was lost."""


@dataclass
class FakeStitch:
    token: str = "stitch-token-s3cr3t"
    limit: int | None = None
    check_outcome: Callable[[dict[str, str]], Outcome] = always_succeeds
    running_polls: int = 1
    """How many looks at a new check still see it running."""
    report_card_required: tuple[str, ...] = REQUIRED
    destinations: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    next_id: int = 110397
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests call ----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        message: str = "Internal server error",
        *,
        times: int = 1,
        retry_after: str | None = None,
        after_effect: bool = False,
    ) -> None:
        self.failures.append(Failure(method, path, status, message, times, retry_after, after_effect))

    def add_destination(self, name: str, properties: dict[str, str], type_: str = "postgres") -> int:
        """A destination made by hand in Stitch's UI, its check passed."""
        with self._lock:
            return self._store(name, type_, dict(properties), outcome=("succeeded", None))["id"]

    def calls(self, method: str | None = None) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests if method in (None, r.method)]

    # -- the API ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, authorization: str | None, body: Any) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(Recorded(method, path, authorization, body))
            if authorization != f"Bearer {self.token}":
                return 401, {}, {"error": {"type": "unauthorized", "message": "Not authorized: invalid or expired access token"}}
            failure = self._take_failure(method, path)
            if failure and not failure.after_effect:
                return self._failure_answer(failure)
            answer = self._route(method, path, body)
            return self._failure_answer(failure) if failure else answer

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and failure.path == path and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    @staticmethod
    def _failure_answer(failure: Failure) -> tuple[int, dict[str, str], Any]:
        headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
        kind = "bad_request" if failure.status < 500 else "server_error"
        return failure.status, headers, {"error": {"type": kind, "message": failure.message}}

    def _route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if (method, path) == ("GET", "/v4/destination-types/postgres"):
            return 200, {}, self._report_card_of_type()
        if (method, path) == ("GET", "/v4/destinations"):
            return 200, {}, [self._public(d) for d in self.destinations.values()]
        if (method, path) == ("POST", "/v4/destinations"):
            return self._create(body)
        match = re.fullmatch(r"/v4/destinations/(\d+)(/last-connection-check)?", path)
        if match:
            destination = self.destinations.get(int(match.group(1)))
            if destination is None:
                return 404, {}, {"error": {"type": "not_found", "message": f"Destination {match.group(1)} not found"}}
            if match.group(2) and method == "GET":
                return 200, {}, self._look_at_check(destination)
            if not match.group(2) and method == "PUT":
                return self._update(destination, body)
            if not match.group(2) and method == "DELETE":
                del self.destinations[destination["id"]]
                return 200, {}, self._public(destination)
        return 404, {}, {"error": {"type": "not_found", "message": f"No route {method} {path}"}}

    def _create(self, body: Any) -> tuple[int, dict[str, str], Any]:
        problem = self._invalid(body, creating=True)
        if problem:
            return 400, {}, {"error": {"type": "bad_request", "message": problem}}
        if self.limit is not None and len(self.destinations) >= self.limit:
            return 400, {}, {"error": {"type": "bad_request", "message": LIMIT_MESSAGE}}
        return 200, {}, self._public(self._store(body["name"], body["type"], dict(body["properties"])))

    def _update(self, destination: dict[str, Any], body: Any) -> tuple[int, dict[str, str], Any]:
        problem = self._invalid(body, creating=False)
        if problem:
            return 400, {}, {"error": {"type": "bad_request", "message": problem}}
        destination["properties"].update(body["properties"])
        destination["name"] = body.get("name", destination["name"])
        self._start_check(destination)
        return 200, {}, self._public(destination)

    def _invalid(self, body: Any, *, creating: bool) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return "Request body must be a JSON object with properties"
        if creating and body.get("type") != "postgres":
            return f"Unknown destination type {body.get('type')!r}"
        if not creating and "type" in body:
            return "A destination's type cannot be changed"
        properties = body["properties"]
        unknown = sorted(set(properties) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            return f"Unknown properties: {', '.join(unknown)}"
        not_strings = sorted(k for k, v in properties.items() if not isinstance(v, str))
        if not_strings:
            return f"Properties must be strings: {', '.join(not_strings)}"
        missing = sorted(set(REQUIRED) - set(properties)) if creating else []
        return f"Missing required properties: {', '.join(missing)}" if missing else None

    def _store(self, name: str, type_: str, properties: dict[str, str], outcome: Outcome | None = None) -> dict[str, Any]:
        destination = {"id": self.next_id, "name": name, "type": type_, "properties": properties, "created_at": "2026-11-25T12:00:00Z"}
        self.next_id += 1
        self.destinations[destination["id"]] = destination
        self._start_check(destination, outcome)
        return destination

    def _start_check(self, destination: dict[str, Any], outcome: Outcome | None = None) -> None:
        count = destination.get("checks", 0) + 1
        destination["checks"] = count
        destination["check"] = {
            "name": f"{destination['id']}.{count}.check.5ee35614",
            "polls_left": 0 if outcome else self.running_polls,
            "outcome": outcome or self.check_outcome(dict(destination["properties"])),
        }

    def _look_at_check(self, destination: dict[str, Any]) -> dict[str, Any]:
        check = destination["check"]
        answer: dict[str, Any] = {"name": check["name"], "mode": "check", "start_time": "2026-11-25T12:00:01Z"}
        if check["polls_left"] > 0:
            check["polls_left"] -= 1
            return answer | {"status": "running", "error": False, "check_exit_status": None, "completion_time": None}
        status, message = check["outcome"]
        failed = status == "failed"
        return answer | {
            "status": status,
            "error": failed,
            "check_exit_status": 1 if failed else 0,
            "completion_time": "2026-11-25T12:00:04Z",
            "target_exit_status": 1 if failed else 0,
            "target_error_message": message,
        }

    def _report_card_of_type(self) -> dict[str, Any]:
        names = sorted(set(REQUIRED) | set(OPTIONAL) | set(self.report_card_required))
        properties = [
            {
                "name": name,
                "is_required": name in self.report_card_required,
                "is_credential": name in CREDENTIALS,
                "system_provided": False,
                "property_type": "user_provided",
                "json_schema": {"type": "string"},
                "provided": False,
            }
            for name in names
        ]
        return {"type": "postgres", "current_step": 1, "current_step_type": "form", "steps": [{"type": "form", "properties": properties}]}

    def _public(self, destination: dict[str, Any]) -> dict[str, Any]:
        """The destination as the API shows it: credentials never come back."""
        passed = destination["check"]["polls_left"] == 0 and destination["check"]["outcome"][0] == "succeeded"
        return {
            "id": destination["id"],
            "name": destination["name"],
            "type": destination["type"],
            "created_at": destination["created_at"],
            "properties": {k: v for k, v in destination["properties"].items() if k not in CREDENTIALS},
            "check_job_name": destination["check"]["name"],
            "report_card": {"type": destination["type"], "current_step_type": "fully_configured" if passed else "form"},
        }


class _Handler(BaseHTTPRequestHandler):
    stitch: FakeStitch

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status, headers, answer = self.stitch.handle(self.command, self.path, self.headers.get("Authorization"), body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are recorded instead."""


class StitchServer:
    """Serves a FakeStitch on 127.0.0.1 in a thread, for a `with` block."""

    def __init__(self, stitch: FakeStitch):
        handler = type("Handler", (_Handler,), {"stitch": stitch})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        stitch.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.stitch = stitch
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-stitch", daemon=True)

    def __enter__(self) -> FakeStitch:
        self.thread.start()
        return self.stitch

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
