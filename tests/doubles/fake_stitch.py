"""A Stitch Connect API (v4) on loopback, for the destination and loads endpoints, as Stitch documents them.

Every behaviour names its source in the stitchdata/docs repository. It keeps destinations and
sources in memory, records every request, and can be told to fail: an injected status (and body)
for the next calls to a path, an account at its destination limit, a plan without access, or a
connection check that fails. Its connection check is a function of the destination's properties,
so a test can make it connect to the real PostgreSQL server as Stitch would.

Where the docs disagree with each other, it accepts both shapes and has a switch for the answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tests.doubles.loopback import LoopbackServer

# The postgres form, from GET /v4/destination-types/postgres in create-configure-destination-connect-api.md.
FORM: dict[str, dict[str, Any]] = {
    "database": {"type": "string"},
    "encryption_host": {"type": "string"},
    "encryption_port": {"type": "string", "pattern": r"^\d+$"},
    "encryption_type": {"type": "string", "pattern": r"^(ssh|none)$"},
    "encryption_username": {"type": "string"},
    "host": {"type": "string"},
    "password": {"type": "string"},
    "port": {"type": "string", "pattern": r"^\d+$"},
    "ssl": {"type": "boolean"},
    "sslrootcert": {"type": "string"},
    "username": {"type": "string"},
}
REQUIRED = ("database", "encryption_type", "host", "password", "port", "ssl", "username")
CREDENTIALS = ("password",)
# The two ways the reference writes the ssl property's schema: create-a-destination-v4.md and the guide.
SSL_SCHEMAS = {"boolean": {"type": "boolean"}, "string": {"type": "string", "pattern": "^(true|false)$"}}
# _data/connect/response-codes/destinations.yml: the destination limit, in its newer and older wording.
LIMIT_MESSAGE = "you are at your destination limit"
ONE_DESTINATION_MESSAGE = "an account can have at most one destination"
# create-a-destination-v4.md's arguments: type and properties (required), ignore_unmapped_sources, name and
# description (optional strings, since the 2022 multi-destination update, stitchdata/docs 279db566e).
POST_KEYS = frozenset({"type", "name", "description", "properties", "ignore_unmapped_sources"})
CLIENT_ID = 116078
# list-last-loads-for-account.md: up to 100 load records a page; jobs.yml: the "jobs" resource type (loads and
# extractions, counted together: api-rate-limits.md) takes 30 requests per 10 minutes per client id.
LOADS_PAGE = 100
JOBS_LIMIT, JOBS_WINDOW = 30, 600.0

Outcome = tuple[str, str | None]
Answer = tuple[int, dict[str, str], Any]


def always_succeeds(_properties: dict[str, Any]) -> Outcome:
    return "succeeded", None


def connects_for_real(properties: dict[str, Any]) -> Outcome:
    """What Stitch's check does: connect with the destination's properties (ssl as sent: bool or string)."""
    try:
        with psycopg.connect(
            host=properties["host"],
            port=str(properties["port"]),
            user=properties["username"],
            password=properties["password"],
            dbname=properties["database"],
            sslmode="require" if str(properties.get("ssl")).lower() == "true" else "disable",
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
    body: Any
    times: int
    retry_after: str | None
    after_effect: bool
    """Do the work, then answer with the failure: Stitch acted but the answer was lost."""
    after: int = 0
    """Let this many matching calls through first."""


@dataclass
class Hold:
    """A test's hand on one call: the handler stops there until `release` is set (crash-safety tests
    interrupt the client while Stitch is inside its POST or PUT). Not Stitch behaviour: a test hook."""

    method: str
    path: str
    before_effect: bool
    """Stop before doing the work (Stitch never saw the call) or after it (the answer is not sent yet)."""
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    timeout: float = 120.0
    """A bound on the stop, so a test that forgets to release never hangs the server."""
    dropped: bool = False
    """Released by drop(): the call never reaches Stitch (the client died with it in flight)."""

    def drop(self) -> None:
        self.dropped = True
        self.release.set()

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and re.fullmatch(self.path, path) is not None

    def stop(self) -> None:
        self.reached.set()
        self.release.wait(self.timeout)


@dataclass
class FakeStitch:
    token: str = "stitch-token-s3cr3t"
    limit: int | None = None
    limit_message: str = LIMIT_MESSAGE
    access: bool = True
    """details.access of the postgres destination type: whether the account's plan may create one."""
    ssl_schema: str = "boolean"
    """How the type's form describes ssl: "boolean" or "string" (the reference shows both)."""
    check_outcome: Callable[[dict[str, Any]], Outcome] = always_succeeds
    running_polls: int = 1
    """How many looks at GET /v4/destinations still see a new check running."""
    check_endpoint: bool = False
    """Answer GET /v4/destinations/{id}/last-connection-check: older copies of the reference list it,
    connection-check-object-v4.md comments it out; off by default, so 404 as for any unknown URI."""
    job_names: bool = True
    """Name the check job in check_job_name (the guide and update-a-destination-v4.md do; an older
    create example has null there)."""
    card_resets_on_update: bool = True
    """Whether a PUT's check takes the report card back to the form step until it passes (undocumented)."""
    string_properties: bool = True
    """Answer properties as strings plus "status": "1" (create-a-destination-v4.md), else as sent
    (the older list-destinations example shows numbers and booleans)."""
    configured_on_post: bool = False
    """Answer the POST with the card at fully_configured while the check still runs, as the example of
    create-a-destination-v4.md does (current_step_type "fully_configured" in the POST's own answer); a
    failing check then takes the card back to the form. Off: the card starts at the form (the guide)."""
    report_card_required: tuple[str, ...] = REQUIRED
    soft_delete: bool = False
    """Keep a deleted destination in GET /v4/destinations with `deleted_at` set. destination-object-v4.md documents
    deleted_at ("The time at which the destination object was deleted") but no page says whether the list
    still shows such a destination: off, it is gone from the list (list-destinations-v4.md: "one for each
    destination connected to the account"); on, it stays with deleted_at. Either way it is no longer usable."""
    destinations: dict[int, dict[str, Any]] = field(default_factory=dict)
    sources: dict[int, int | None] = field(default_factory=dict)
    """Source id -> the destination it loads into, or None when unmapped."""
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    """The account's last load of each stream (load-object.md), of every destination's sources."""
    jobs_limit: int = JOBS_LIMIT
    jobs_window: float = JOBS_WINDOW
    jobs_clock: Callable[[], float] = time.monotonic
    jobs_calls: list[float] = field(default_factory=list)
    """When each request to a jobs endpoint came, for the rate limit."""
    rate_limit_retry_after: str | None = None
    """A Retry-After header on the 429 (api-rate-limits.md documents neither the 429 nor the header)."""
    between_pages: Callable[[FakeStitch], None] | None = None
    """Called after a loads page other than the last is served, with the double's lock held (change `loads`
    directly): a test changes the list while the client pages (api-pagination.md, Limitations: "records may
    shift between pages")."""
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
        body: Any = None,
        times: int = 1,
        retry_after: str | None = None,
        after_effect: bool = False,
        after: int = 0,
    ) -> None:
        """Answer `times` calls (after the first `after`) with this status. body: any JSON value, or
        bytes sent as they are; by default {"error": {"type", "message"}}."""
        answer = body if body is not None else {"error": {"type": "bad_request" if status < 500 else "server_error", "message": message}}
        self.failures.append(Failure(method, path, status, answer, times, retry_after, after_effect, after))

    def hold(self, method: str, path: str, *, before_effect: bool) -> Hold:
        """Stop the next call matching method and the regex path, before or after its effect, until released."""
        hold = Hold(method, path, before_effect)
        with self._lock:
            self.holds.append(hold)
        return hold

    def add_destination(self, name: str, properties: dict[str, Any], type_: str = "postgres", description: str | None = None) -> int:
        """A destination made by hand in Stitch's UI (or by another POST), its check passed."""
        with self._lock:
            made = self._store(name, type_, dict(properties), resets=True, outcome=("succeeded", None), polls=0)
            made["description"] = description
            return made["id"]

    def fail_check_now(self, destination_id: int, message: str) -> None:
        """A later check fails (the password changed under Stitch): the card goes back to the form."""
        with self._lock:
            self._start_check(self.destinations[destination_id], resets=True, outcome=("failed", message), polls=0)

    def delete_in_ui(self, destination_id: int) -> None:
        """Someone deletes the destination in Stitch's UI: as a DELETE would (soft_delete decides how it shows)."""
        with self._lock:
            self._delete(str(destination_id))

    def pause(self, destination_id: int, *, by_system: bool = False, at: str = "2026-11-26T08:00:00Z") -> None:
        """destination-object-v4.md: paused_at when the user paused it, system_paused_at when Stitch did."""
        with self._lock:
            self.destinations[destination_id]["system_paused_at" if by_system else "paused_at"] = at

    def resume(self, destination_id: int) -> None:
        """destination-object-v4.md: both pause timestamps are null while the destination is active."""
        with self._lock:
            self.destinations[destination_id].update(paused_at=None, system_paused_at=None)

    def add_load(
        self, source: str, stream: str, *, loaded_at: str | None = "2026-11-28T10:00:00Z", error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Stitch's last load of one stream (load-object.md): last_batch_loaded_at is null while the stream is in
        an error state. error: an error_state, e.g. from load_error()."""
        load = {
            "stitch_client_id": CLIENT_ID,
            "source_name": source,
            "stream_name": stream,
            "last_batch_loaded_at": None if error is not None else loaded_at,
            "error_state": error,
        }
        with self._lock:
            self.loads = [x for x in self.loads if (x["source_name"], x["stream_name"]) != (source, stream)] + [load]
        return load

    def mapped_to(self, destination_id: int) -> list[int]:
        return sorted(s for s, d in self.sources.items() if d == destination_id)

    def calls(self, method: str | None = None) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests if method in (None, r.method)]

    # -- the API ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None, body: Any) -> Answer:
        path, _, query = target.partition("?")
        hold = self._take_hold(method, path)
        if hold is not None and hold.before_effect:
            hold.stop()
            if hold.dropped:
                return 503, {}, {"error": {"type": "server_error", "message": "the call never reached Stitch"}}
        answer = self._handle(method, path, query, target, authorization, body)
        if hold is not None and not hold.before_effect:
            hold.stop()
        return answer

    def _take_hold(self, method: str, path: str) -> Hold | None:
        with self._lock:
            hold = next((h for h in self.holds if h.matches(method, path)), None)
            if hold is not None:
                self.holds.remove(hold)
            return hold

    def _handle(self, method: str, path: str, query: str, target: str, authorization: str | None, body: Any) -> Answer:
        with self._lock:
            self.requests.append(Recorded(method, target, authorization, body))
            if authorization != f"Bearer {self.token}":
                # general-codes.yml: 401 "The request doesn't have a valid API access token".
                return 401, {}, {"error": {"type": "unauthorized", "message": "Not authorized: invalid or expired access token"}}
            failure = self._take_failure(method, path)
            if failure and not failure.after_effect:
                return self._failure_answer(failure)
            answer = self._route(method, path, query, body)
            return self._failure_answer(failure) if failure else answer

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and failure.path == path and failure.times > 0:
                if failure.after > 0:
                    failure.after -= 1
                    return None
                failure.times -= 1
                return failure
        return None

    @staticmethod
    def _failure_answer(failure: Failure) -> Answer:
        headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
        return failure.status, headers, failure.body

    def _route(self, method: str, path: str, query: str, body: Any) -> Answer:
        if (method, path) == ("GET", "/v4/destination-types/postgres"):
            return 200, {}, self._destination_type()
        if (method, path) == ("GET", "/v4/destinations"):
            if query and not all(p.split("=")[0] in ("source_id", "destination_id") for p in query.split("&")):
                # destinations.yml: 400 for query parameters other than source_id and destination_id.
                return 400, {}, "GET may only include the params: source_id and/or destination_id"
            for destination in self.destinations.values():
                self._look(destination)
            return 200, {}, [self._public(d) for d in self.destinations.values()]
        if (method, path) == ("POST", "/v4/destinations"):
            return self._create(body)
        loads = re.fullmatch(r"/v4/([^/]+)/loads", path)
        if loads and method == "GET":
            return self._loads_page(loads.group(1), query)
        match = re.fullmatch(r"/v4/destinations/([^/]*)(/last-connection-check)?", path)
        if match and method == "DELETE" and not match.group(2):
            return self._delete(match.group(1))
        if match and method == "PUT" and not match.group(2):
            destination = self._live(match.group(1))
            # destinations.yml: an unknown id on PUT is a 400 "invalid connection id".
            return self._update(destination, body) if destination else (400, {}, "invalid connection id")
        if match and method == "GET" and match.group(2) and self.check_endpoint:
            destination = self._live(match.group(1))
            if destination is not None:
                return 200, {}, self._check_object(destination)
        # general-codes.yml: 404 when "the URI requested is invalid" or the resource does not exist.
        return 404, {}, f"No route {method} {path}"

    def _loads_page(self, client_id: str, query: str) -> Answer:
        """GET /v4/{stitch_client_id}/loads (list-last-loads-for-account.md)."""
        now = self.jobs_clock()
        self.jobs_calls = [t for t in self.jobs_calls if now - t < self.jobs_window]
        if len(self.jobs_calls) >= self.jobs_limit:
            # api-rate-limits.md: Stitch "may block" a client over the limit; the status and body are not
            # documented, so the double answers as HTTP does (429) with the general error shape.
            headers = {"Retry-After": self.rate_limit_retry_after} if self.rate_limit_retry_after is not None else {}
            return 429, headers, {"error": {"type": "rate_limited", "message": "Rate limit exceeded"}}
        self.jobs_calls.append(now)
        if client_id != str(CLIENT_ID):
            # loads.yml: 401 when the token "doesn't have access to the provided Stitch client ID".
            return 401, {}, {"error": {"type": "unauthorized", "message": f"Not authorized for client {client_id}"}}
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        page = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
        # The page's order-by is stream_name, ascending (A-Z).
        ordered = sorted(self.loads, key=lambda load: load["stream_name"])
        total = len(ordered)
        last = max((total + LOADS_PAGE - 1) // LOADS_PAGE, 1)
        links: dict[str, str] = {}
        if total >= LOADS_PAGE + 1:  # "This object will be empty if ... total < 101"
            if page < last:
                links["next"] = f"/v4/{CLIENT_ID}/loads?page={page + 1}"
            if page > 1:
                links["previous"] = f"/v4/{CLIENT_ID}/loads?page={page - 1}"
        answer = {"data": ordered[(page - 1) * LOADS_PAGE : page * LOADS_PAGE], "page": page, "total": total, "links": links}
        if "next" in links and self.between_pages is not None:
            self.between_pages(self)
        return 200, {}, answer

    def _create(self, body: Any) -> Answer:
        if not isinstance(body, dict) or set(body) - POST_KEYS or not isinstance(body.get("properties"), dict) or "type" not in body:
            # destinations.yml (v4): "POST body may only include a type and map of properties".
            return 400, {}, "POST body may only include a type and map of properties"
        if not all(isinstance(body.get(key), str) for key in ("name", "description") if key in body):
            # create-a-destination-v4.md types name and description as strings.
            return 400, {}, "POST body may only include a type and map of properties"
        if body["type"] != "postgres":
            # The InvalidType shape of sources.yml; destinations.yml documents no message for it.
            return 400, {}, {"error": "InvalidType", "data": {"message": f"invalid destination type ({body['type']})"}}
        if not self.access:
            # sources.yml's AccessDenied, for a type the plan does not include (details.access false).
            return 400, {}, {"error": "AccessDenied", "data": {"message": "you do not have access to destination type (postgres)"}}
        bad = self._bad_properties(body["properties"], creating=True)
        if bad:
            return 400, {}, {"error": "InvalidProperties", "data": {"message": "properties do not match schema", "bad_properties": bad}}
        if self.limit is not None and sum(not d.get("deleted_at") for d in self.destinations.values()) >= self.limit:
            return 400, {}, self.limit_message
        destination = self._store(
            body.get("name") or "Default Warehouse", "postgres", dict(body["properties"]), resets=not self.configured_on_post
        )
        # The examples of create, update and list-destinations-v4.md answer with the description given at create;
        # the PUT (update-a-destination-v4.md) takes only properties, so nothing changes it afterwards.
        destination["description"] = body.get("description")
        if not body.get("ignore_unmapped_sources", False):
            # create-a-destination-v4.md: leaving it out or false maps all unmapped sources to the destination.
            for source, mapped in self.sources.items():
                if mapped is None:
                    self.sources[source] = destination["id"]
        return 200, {}, self._public(destination)

    def _update(self, destination: dict[str, Any], body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return 400, {}, "PUT body must include a map of properties"
        if body.get("type", destination["type"]) != destination["type"]:
            return 400, {}, "this API endpoint does not support modifying destination type"
        bad = self._bad_properties(body["properties"], creating=False)
        if bad:
            return 400, {}, {"error": "InvalidProperties", "data": {"message": "properties do not match schema", "bad_properties": bad}}
        # update-a-destination-v4.md: properties is the only argument, and a partial update (the example
        # sends just a username). Anything else in the body is not documented and changes nothing.
        destination["properties"].update(body["properties"])
        destination["updated_at"] = "2026-11-25T12:05:00Z"
        self._start_check(destination, resets=self.card_resets_on_update)
        return 200, {}, self._public(destination)

    def _delete(self, raw_id: str) -> Answer:
        if not raw_id.isdigit():
            # destinations.yml: a missing or non-numeric id on DELETE is a 502.
            return 502, {}, "Bad Gateway"
        destination = self._live(raw_id)
        if destination is None:
            # destinations.yml: also when "the destination has already been deleted".
            return 400, {}, f"Unable to locate dest ({raw_id}) for client ({CLIENT_ID}) to delete"
        if self.soft_delete:
            destination["deleted_at"] = "2026-11-26T09:00:00Z"
        else:
            del self.destinations[destination["id"]]
        for source, mapped in self.sources.items():
            if mapped == destination["id"]:
                self.sources[source] = None
        return 200, {}, {}  # delete-a-destination-v4.md: the response is {}

    def _live(self, raw_id: str) -> dict[str, Any] | None:
        """The destination with this id unless it was deleted (a soft-deleted one counts as unknown: undocumented)."""
        destination = self.destinations.get(int(raw_id)) if raw_id.isdigit() else None
        return destination if destination is not None and not destination.get("deleted_at") else None

    def _bad_properties(self, properties: dict[str, Any], *, creating: bool) -> list[str]:
        """The names whose values break the form's schema; sources.yml: also an empty string."""
        schemas = self._form()
        bad = {key for key in properties if key not in schemas}
        for key, value in properties.items():
            schema = schemas.get(key)
            if schema is not None and not _fits(value, schema, lenient=key in ("ssl", "port")):
                bad.add(key)
        if creating:
            bad |= set(self.report_card_required) - set(properties)
        return sorted(bad)

    def _store(
        self, name: str, type_: str, properties: dict[str, Any], *, resets: bool, outcome: Outcome | None = None, polls: int | None = None
    ) -> dict[str, Any]:
        destination = {
            "id": self.next_id,
            "name": name,
            "type": type_,
            "properties": properties,
            "created_at": "2026-11-25T12:00:00Z",
            "updated_at": "2026-11-25T12:00:00Z",
            "configured": not resets,  # resets=False: the card shows fully_configured from the start
        }
        self.next_id += 1
        self.destinations[destination["id"]] = destination
        self._start_check(destination, resets=resets, outcome=outcome, polls=polls)
        return destination

    def _start_check(self, destination: dict[str, Any], *, resets: bool, outcome: Outcome | None = None, polls: int | None = None) -> None:
        """Stitch checks the connection after every create and update (the destination guide); the
        report card reaches fully_configured when the check passes."""
        if resets:
            destination["configured"] = False
        destination["check"] = {
            "name": f"{CLIENT_ID}.{destination['id']}.check.{uuid.uuid4()}",
            "polls_left": self.running_polls if polls is None else polls,
            "finished": False,
            "outcome": outcome or self.check_outcome(dict(destination["properties"])),
        }
        if destination["check"]["polls_left"] == 0:
            self._finish(destination)

    def _look(self, destination: dict[str, Any]) -> None:
        """One look at the destination: a running check counts down, then finishes and sets the card."""
        check = destination["check"]
        if check["finished"]:
            return
        if check["polls_left"] > 0:
            check["polls_left"] -= 1
        else:
            self._finish(destination)

    @staticmethod
    def _finish(destination: dict[str, Any]) -> None:
        destination["check"]["finished"] = True
        destination["configured"] = destination["check"]["outcome"][0] == "succeeded"

    def _check_object(self, destination: dict[str, Any]) -> dict[str, Any]:
        """connection-check-object-v4.md; a destination's check has no tap, so its message goes in
        target_error_message (documented as always null for sources)."""
        check = destination["check"]
        answer: dict[str, Any] = {"name": check["name"], "mode": "check", "start_time": "2026-11-25T12:00:01Z"}
        if not check["finished"]:
            return answer | {"status": "running", "error": False, "check_exit_status": None, "completion_time": None}
        status, message = check["outcome"]
        failed = status == "failed"
        return answer | {
            "status": status,
            "error": failed,
            "check_exit_status": 1 if failed else 0,
            "completion_time": "2026-11-25T12:00:04Z",
            "discovery_exit_status": None,
            "discovery_error_message": None,
            "tap_exit_status": None,
            "tap_error_message": None,
            "target_exit_status": 1 if failed else 0,
            "target_error_message": message,
        }

    def _form(self) -> dict[str, dict[str, Any]]:
        return FORM | {"ssl": SSL_SCHEMAS[self.ssl_schema]}

    def _form_step(self, provided: dict[str, Any] | None) -> dict[str, Any]:
        names = sorted(set(self._form()) | set(self.report_card_required))
        return {
            "type": "form",
            "properties": [
                {
                    "name": name,
                    "is_required": name in self.report_card_required,
                    "is_credential": name in CREDENTIALS,
                    "system_provided": False,
                    "property_type": "user_provided",
                    "json_schema": self._form().get(name, {"type": "string"}),
                    "provided": provided is not None and name in provided,
                }
                for name in names
            ],
        }

    def _destination_type(self) -> dict[str, Any]:
        """get-a-destination-type.md and details-object.md."""
        return {
            "type": "postgres",
            "current_step": 1,
            "current_step_type": "form",
            "steps": [self._form_step(None), {"type": "fully_configured", "properties": []}],
            "details": {"pricing_tier": "standard", "pipeline_state": "released", "protocol": "postgres", "access": self.access},
        }

    def _public(self, destination: dict[str, Any]) -> dict[str, Any]:
        """The destination object (destination-object-v4.md and the examples of create, update and list):
        credentials never come back, optional properties only when given."""
        shown = {k: v for k, v in destination["properties"].items() if k not in CREDENTIALS}
        if self.string_properties:
            shown = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in shown.items()} | {"status": "1"}
        configured = destination["configured"]
        return {
            "id": destination["id"],
            "name": destination["name"],
            "type": destination["type"],
            "display_name": None,
            "description": destination.get("description"),
            "stitch_client_id": CLIENT_ID,
            "created_at": destination["created_at"],
            "updated_at": destination["updated_at"],
            # destination-object-v4.md's timestamps: null while active.
            "deleted_at": destination.get("deleted_at"),
            "paused_at": destination.get("paused_at"),
            "system_paused_at": destination.get("system_paused_at"),
            "check_job_name": destination["check"]["name"] if self.job_names else None,
            "properties": shown,
            "report_card": {
                "type": destination["type"],
                "current_step": 2 if configured else 1,
                "current_step_type": "fully_configured" if configured else "form",
                "steps": [self._form_step(destination["properties"]), {"type": "fully_configured", "properties": []}],
            },
        }


def load_error(
    message: str,
    warehouse_message: str | None,
    *,
    sql_state: str | None = None,
    action: str = "load",
    error: str = "LOADER_WAREHOUSE_ERROR",
) -> dict[str, Any]:
    """An error_state as the examples of load-object.md and list-last-loads-for-account.md show it."""
    return {
        "notification_data": {
            "message": message,
            "exception_message": message,
            "warehouse_error_code": None,
            "error": error,
            "new_column": None,
            "status": "ERROR",
            "warehouse_sql_state": sql_state,
            "action": action,
            "warehouse_message": warehouse_message,
            "column": None,
        },
        "exception_chain": [{"class": "clojure.lang.ExceptionInfo", "message": message, "chain_sequence_num": 0, "action": action}],
    }


def _fits(value: Any, schema: dict[str, Any], *, lenient: bool) -> bool:
    """Whether value fits the JSON schema of a form property. lenient: the docs send ssl and port both
    as JSON values (false, 5432) and as strings ("false", "5432"), so either form passes."""
    if lenient and isinstance(value, (bool, int)):
        value = str(value).lower()
    if schema.get("type") == "boolean":
        return isinstance(value, bool) or (lenient and value in ("true", "false"))
    if not isinstance(value, str) or not value:
        return False
    return re.search(schema["pattern"], value) is not None if "pattern" in schema else True


class _Handler(BaseHTTPRequestHandler):
    stitch: FakeStitch

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        # A proxy that forwards (rather than tunnels) sends the absolute URI.
        target = self.path if self.path.startswith("/") else urlsplit(self.path)._replace(scheme="", netloc="").geturl()
        status, headers, answer = self.stitch.handle(self.command, target, self.headers.get("Authorization"), body)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
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


class StitchServer(LoopbackServer[FakeStitch]):
    """Serves a FakeStitch on 127.0.0.1 in a thread, for a `with` block; over TLS when given a certificate."""

    def __init__(self, stitch: FakeStitch, *, tls: tuple[Path, Path] | None = None):
        super().__init__(stitch, type("Handler", (_Handler,), {"stitch": stitch}), "fake-stitch", tls=tls)
