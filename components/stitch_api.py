"""A small client for the destination calls of Stitch's Connect API (v4), as Stitch documents them.

urllib3 does the HTTP, with a Retry per request: reads and idempotent writes back off on 429 and
5xx, while a POST, which could create a second destination, is never repeated blindly. HTTPS_PROXY
and NO_PROXY are honoured as curl and the Heroku CLI honour them. No header or body is ever logged
or raised, so the token and the database password stay out of every message.

Sources, all in the stitchdata/docs repository:
  destinations  _developer-files/connect/api/objects/destinations/v4/*.md (create, update, delete, list)
  errors        _data/connect/response-codes/destinations.yml, _data/connect/response-codes/sources.yml,
                _data/connect/response-codes/general-codes.yml
  report cards  _developer-content/connect/guides/api/create-configure-destination-connect-api.md
  checks        _developer-files/connect/api/objects/connection-checks/connection-check-object-v4.md
  loads         _developer-files/connect/api/objects/loads/list-last-loads-for-account.md, load-object.md,
                _data/connect/response-codes/loads.yml
  pagination    _developer-files/connect/api/documentation/api-pagination.md
  rate limits   _developer-files/connect/api/documentation/api-rate-limits.md, _data/connect/rate-limits/jobs.yml
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util import make_headers, parse_url
from urllib3.util.retry import Retry

from .connection import hide_known

DEFAULT_API_URL = "https://api.stitchdata.com"
DESTINATION_TYPE = "postgres"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FULLY_CONFIGURED = "fully_configured"
TOKEN_FIX = "set a valid Connect API token: pulumi config set --secret stitch:accessToken (it prompts; or export STITCH_ACCESS_TOKEN)"
# _data/stitch/subscription-plans/{standard,advanced,premium}.yml: api-access false on Standard, true on
# Advanced and Premium; the free trial runs on the Advanced feature set.
PLAN_FIX = (
    "Connect API access comes with Stitch's free trial and the Advanced and Premium plans (Standard has none): "
    "check the plan of the token's Stitch account"
)
# https://www.stitchdata.com/docs/destinations/multiple-destinations: 3 on Advanced, 5 on Premium, add-ons raise it.
LIMIT_FIX = (
    "the Stitch account is at its destination limit (3 on Advanced, 5 on Premium, more with add-ons): adopt the "
    "existing destination with pulumi config set stitch_destination_id <id>, delete one in Stitch first, or raise the limit"
)
# _data/connect/response-codes/destinations.yml (two wordings over the years) for the limit; the PUT's unknown id.
LIMIT_WORDS = ("destination limit", "at most one destination")
UNKNOWN_PUT_WORDS = "invalid connection id"
UNKNOWN_DELETE_WORDS = "unable to locate dest"
# list-last-loads-for-account.md: `rate-limit-type: "jobs"`, and jobs.yml: 30 requests per 10 minutes per client
# id, in aggregate over the loads and extractions endpoints. A run reads the list once; at 100 loads a page
# (api-pagination.md) this many pages (2,000 streams) leaves the rest of the budget to the account's other tools.
JOBS_REQUESTS, JOBS_MINUTES = 30, 10
MAX_LOAD_PAGES = 20
LOADS_PAGE_SIZE = 100
RATE_LIMIT_FIX = (
    f"Stitch allows {JOBS_REQUESTS} requests to its jobs endpoints (loads, extractions) per {JOBS_MINUTES} minutes per account, "
    "and this account has used them up (other tools reading loads or extractions, or runs too close together): "
    "the next scheduled run reads the loads again; run the reconcile at most every few minutes"
)
RETRY_AFTER_MAX = 60
"""The longest Retry-After a run waits out; beyond it the next scheduled run asks again."""
UNCONFIRMED_AFTER = 60.0
"""Seconds to watch a report card that never leaves fully_configured after a POST or PUT before calling it unconfirmed."""

log = logging.getLogger(__name__)


class StitchApiError(Exception):
    """Stitch refused a call, or could not be reached. The message names the call, the HTTP status,
    Stitch's own words and the fix, with every secret the client knows replaced by [secret]."""

    def __init__(self, method: str, path: str, status: int | None, stitch_message: str, fix: str):
        self.method, self.path, self.status, self.stitch_message = method, path, status, stitch_message
        self.retry_after: str | None = None
        """Stitch's Retry-After header on the refusal, if any."""
        answer = f"{status} {_reason(status)}" if status else "no answer"
        super().__init__(f"Stitch Connect API: {method} {path} got {answer}: {stitch_message}. Fix: {fix}")

    @property
    def server_side(self) -> bool:
        """Stitch's trouble rather than ours (or no answer at all): worth asking again later."""
        return self.status is None or self.status in RETRY_STATUSES


@dataclass(frozen=True)
class ConnectionCheck:
    """One connection check job (connection-check-object-v4.md): running, succeeded or failed."""

    status: str
    error: str | None = None
    name: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True)
class Snapshot:
    """What Stitch showed of a destination just before our PUT: a verdict is only ours if it is newer."""

    check_job_name: str | None
    check_name: str | None
    check_seen: bool
    """Whether the check endpoint answered, so that check_name means something."""


@dataclass(frozen=True)
class Verdict:
    """Where a destination stands after our POST or PUT.

    status: succeeded (a connection check newer than our POST or PUT passed, visibly), unconfirmed
    (fully_configured, but Stitch showed nothing newer than our change), failed (Stitch's check said no), running (not fully_configured
    when the time was up)."""

    status: str
    step: str | None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.status in ("succeeded", "unconfirmed")


class StitchClient:
    """The destination endpoints, one method each, over one connection pool.

    secrets: values besides the token (the database password) that must never appear in a
    message, even when Stitch quotes them back in an error.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not token:
            raise ValueError(f"no Stitch token: {TOKEN_FIX}")
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff = retries, backoff
        self._sleep = sleep
        self._timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "stitch-heroku"}
        self.proxy = proxy_for(self.base_url)
        if self.proxy is None:
            self._pool: urllib3.PoolManager = urllib3.PoolManager(headers=headers)
        else:
            self._pool = urllib3.ProxyManager(
                self.proxy.url, headers=headers, proxy_headers=make_headers(proxy_basic_auth=self.proxy.auth) if self.proxy.auth else None
            )
        proxy_secrets = (self.proxy.auth,) if self.proxy and self.proxy.auth else ()
        self._secrets = tuple(s for s in (token, *secrets, *proxy_secrets) if s)
        # The destination check endpoint is unpublished (connection-check-object-v4.md has it commented
        # out): ask it only while it answers, and never treat its silence as a verdict.
        self._check_endpoint: bool | None = None

    # -- the endpoints ------------------------------------------------------------------------

    def destination_type(self, type_: str = DESTINATION_TYPE) -> dict[str, Any]:
        """The report card of a destination type: its form's properties and `details.access`."""
        return self._call("GET", f"/v4/destination-types/{type_}")

    def list_destinations(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v4/destinations") or [])

    def find_destination(self, destination_id: str) -> dict[str, Any] | None:
        """The destination with this id, or None when the account has none (v4 has no GET by id)."""
        return next((d for d in self.list_destinations() if str(d.get("id")) == str(destination_id)), None)

    def find_destination_named(self, name: str) -> dict[str, Any] | None:
        """The live destination with this name; one Stitch lists as deleted (deleted_at set) is none."""
        return next((d for d in self.list_destinations() if d.get("name") == name and not d.get("deleted_at")), None)

    def create_destination(
        self,
        name: str,
        properties: dict[str, Any],
        *,
        ignore_unmapped_sources: bool = True,
        type_: str = DESTINATION_TYPE,
        description: str | None = None,
    ) -> dict[str, Any]:
        """POST the destination. create-a-destination-v4.md: without ignore_unmapped_sources true,
        Stitch maps every unmapped source of the account to the new destination; `description` is an
        optional string that the destination object carries back.

        After a 5xx, look before asking again, because Stitch may have created it before failing and a
        second one would hit the account's destination limit; with a description, only one carrying it is ours."""
        body = {"type": type_, "name": name, "properties": properties, "ignore_unmapped_sources": ignore_unmapped_sources}
        if description:
            body["description"] = description
        for attempt in range(self.retries + 1):
            try:
                return self._call("POST", "/v4/destinations", body, repeatable=False)
            except StitchApiError as error:
                # A 429 was refused and already retried by urllib3; a 4xx will not change.
                if error.status == 429 or not error.server_side or attempt == self.retries:
                    raise
                created = self.find_destination_named(name)
                if created is not None and (description is None or created.get("description") == description):
                    log.info("POST /v4/destinations failed but Stitch created destination %s; using it", created.get("id"))
                    return created
                self._sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def update_destination(self, destination_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """PUT new properties. update-a-destination-v4.md documents `properties` as the only argument,
        a partial update; renaming is not documented, so no name is sent."""
        return self._call("PUT", f"/v4/destinations/{destination_id}", {"properties": properties})

    def delete_destination(self, destination_id: str) -> bool:
        """Delete it; False when it was already gone, which is what deleting wanted anyway.

        delete-a-destination-v4.md: success is 200 with `{}`; an id Stitch does not know is a 400
        "Unable to locate dest (<id>) for client (<account>) to delete", also when it was deleted already."""
        try:
            self._call("DELETE", f"/v4/destinations/{destination_id}")
        except StitchApiError as error:
            already_gone = error.status == 400 and UNKNOWN_DELETE_WORDS in error.stitch_message.lower()
            if already_gone or error.status == 404:
                return False
            raise
        return True

    def last_connection_check(self, destination_id: str) -> ConnectionCheck | None:
        """The destination's last connection check, or None where Stitch does not answer that.

        Older copies of the reference list GET /v4/destinations/{id}/last-connection-check; the current
        one comments it out. A 404 means it is not there: stop asking. Any other error is only this
        look's loss; the report card stays the signal either way."""
        if self._check_endpoint is False:
            return None
        try:
            answer = self._call("GET", f"/v4/destinations/{destination_id}/last-connection-check", retries=0)
        except StitchApiError as error:
            if error.status == 404:
                self._check_endpoint = False
            log.info("no connection check from Stitch for destination %s (%s); watching the report card", destination_id, error.status)
            return None
        self._check_endpoint = True
        if not isinstance(answer, dict):
            return None
        return ConnectionCheck(status=str(answer.get("status") or "running"), error=self._check_error(answer), name=answer.get("name"))

    def list_loads(self, stitch_client_id: int | str, *, max_pages: int = MAX_LOAD_PAGES) -> LoadList:
        """Every page of GET /v4/{stitch_client_id}/loads: the last load attempt of each stream of the account.

        list-last-loads-for-account.md: the client id is a path parameter ("must be associated with the provided
        access token"; destination objects carry it as `stitch_client_id`); each page holds up to 100 loads in
        `data`, with `page`, `total` and `links.next` (a path such as /v4/116078/loads?page=2) while more follow;
        api-pagination.md: "continue paging until the response no longer contains a next property", and records
        may shift between pages while paging, so a stream seen twice is kept once. The endpoint is of the
        rate-limited "jobs" type (30 requests per 10 minutes per client): a 429 is asked again once, after its
        Retry-After if Stitch sends one (no 429 is documented), and then raised with the rate limit's fix. The
        walk stops after max_pages pages, at a link that leaves the API (the token must not travel elsewhere)
        and at a page seen before, so it can never loop."""
        path = f"/v4/{stitch_client_id}/loads"
        seen_paths: set[str] = set()
        seen: set[tuple[str, str]] = set()
        loads: list[dict[str, Any]] = []
        total: int | None = None
        pages = 0
        next_path: str | None = path
        while next_path is not None and pages < max_pages and next_path not in seen_paths:
            seen_paths.add(next_path)
            answer = self._rate_limited_get(next_path)
            pages += 1
            if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
                raise StitchApiError(
                    "GET", next_path, 200, "the answer has no `data` list of loads", "check stitch_api_url points at the Connect API"
                )
            for load in answer["data"]:
                if isinstance(load, dict) and (key := (str(load.get("source_name")), str(load.get("stream_name")))) not in seen:
                    seen.add(key)
                    loads.append(load)
            total = answer.get("total") if isinstance(answer.get("total"), int) else total
            link = (answer.get("links") or {}).get("next")
            next_path = self._same_api_path(link)
            if link and next_path is None:
                log.info("GET %s: links.next leaves %s; stopped there", path, self.base_url)
                return LoadList(loads=loads, total=total, pages=pages, complete=False)
        return LoadList(loads=loads, total=total, pages=pages, complete=next_path is None)

    def _rate_limited_get(self, path: str) -> Any:
        """GET on a jobs endpoint: a 429 is asked again once, after Stitch's Retry-After when it gives one of at
        most a minute (an immediate retry only spends the budget again), then raised with the rate limit's fix."""
        for attempt in (1, 2):
            try:
                return self._call("GET", path, rate_limited=True)
            except StitchApiError as error:
                if error.status != 429:
                    raise
                wait = _seconds(error.retry_after)
                if attempt == 2 or wait is None or wait > RETRY_AFTER_MAX:
                    raise StitchApiError("GET", path, 429, error.stitch_message, RATE_LIMIT_FIX) from None
                self._sleep(wait)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _same_api_path(self, link: Any) -> str | None:
        """The path of a `links.next` value when it stays on this API (a path, or a URL on our base), else None."""
        if not isinstance(link, str) or not link:
            return None
        if link.startswith(self.base_url + "/"):
            link = link[len(self.base_url) :]
        return link if link.startswith("/v4/") else None

    def snapshot(self, destination: dict[str, Any]) -> Snapshot:
        """Record what Stitch shows before our PUT, so that no verdict older than it is taken for ours."""
        check = self.last_connection_check(str(destination["id"]))
        return Snapshot(destination.get("check_job_name") or None, check.name if check else None, check is not None)

    def wait_for_verdict(
        self, destination_id: str, *, before: Snapshot | None, answer: dict[str, Any], timeout: float, poll_seconds: float
    ) -> Verdict:
        """Poll GET /v4/destinations until Stitch shows a verdict on our change, or until `timeout` seconds
        have passed. before: None for a destination we just created, else the snapshot taken before our PUT.

        The documented signal (create-configure-destination-connect-api.md, "Check the destination's
        configuration status") is report_card.current_step_type. But a card that says fully_configured is
        no verdict on its own: create-a-destination-v4.md's example answers the POST itself with
        fully_configured, before any check can have run. So `succeeded` needs a connection check newer
        than our POST or PUT to be visible: the card seen at the form after our change and then at
        fully_configured, or a finished check that is ours (check_job_name newer than the snapshot, or the
        check endpoint where it answers). A card that never leaves fully_configured is `unconfirmed`."""
        job = _newer(answer.get("check_job_name"), before)
        # A new destination whose POST answer is still at the form: the card's next fully_configured is a check's.
        fresh = before is None and report_card_step(answer) != FULLY_CONFIGURED
        started = time.monotonic()
        while True:
            found = self.find_destination(destination_id)
            if destination_status(found) == "deleted":
                return Verdict("failed", None, "the destination is no longer in GET /v4/destinations (deleted in Stitch meanwhile?)")
            assert found is not None
            step = report_card_step(found)
            job = job or _newer(found.get("check_job_name"), before)
            check = self.last_connection_check(destination_id)
            ours = check is not None and _is_ours(check, job, before)
            if ours and check.status == "failed":
                return Verdict("failed", step, check.error or "Stitch gave no message")
            if step != FULLY_CONFIGURED:
                fresh = True  # the card went back to the form for our change: what comes next is about it
            elif (ours and check.status == "succeeded") or (fresh and not (ours and check.status == "running")):
                return Verdict("succeeded", step)
            waited = time.monotonic() - started
            if step == FULLY_CONFIGURED and not ours and waited >= min(timeout, UNCONFIRMED_AFTER):
                return Verdict("unconfirmed", step)
            if waited + poll_seconds > timeout:
                return Verdict("unconfirmed" if step == FULLY_CONFIGURED else "running", step)
            self._sleep(poll_seconds)

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def known_secrets(self) -> tuple[str, ...]:
        """The token, the given secrets and the proxy's credentials: what redact replaces."""
        return self._secrets

    def redact(self, text: str) -> str:
        """Replace every secret the client knows by the marker, for text that came from outside."""
        return hide_known(text, self._secrets)

    def _retry(self, repeatable: bool, retries: int, rate_limited: bool = False) -> Retry:
        # rate_limited: a jobs endpoint, whose 429s list_loads handles itself (see _rate_limited_get).
        # A refused connection never reached Stitch, so it is safe to try again even for a POST;
        # a lost answer (read) is not, since Stitch may have acted on it. 429 and Retry-After are not
        # in Stitch's docs; honouring them costs nothing if Stitch never sends them.
        return Retry(
            total=retries,
            connect=retries,
            read=retries if repeatable else 0,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=None,
            status_forcelist=(RETRY_STATUSES - {429} if rate_limited else RETRY_STATUSES) if repeatable else {429},
            backoff_factor=self.backoff,
            backoff_max=30,
            retry_after_max=RETRY_AFTER_MAX,
            # urllib3 retries any 429 that carries Retry-After, whatever the forcelist says.
            respect_retry_after_header=not rate_limited,
            raise_on_status=False,
        )

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        repeatable: bool = True,
        retries: int | None = None,
        rate_limited: bool = False,
    ) -> Any:
        try:
            response = self._pool.request(
                method,
                self.base_url + path,
                json=body,
                timeout=self._timeout,
                retries=self._retry(repeatable, self.retries if retries is None else retries, rate_limited),
                redirect=False,
            )
        except TransportError as error:
            # urllib3's own message holds only the URL (no credentials in it), but say it our way.
            reason = type(getattr(error, "reason", None) or error).__name__
            via = f" through the proxy {self.proxy.url}" if self.proxy else ""
            log.info("%s %s -> no answer (%s)", method, path, reason)
            raise StitchApiError(
                method,
                path,
                None,
                f"could not reach {self.base_url}{via} ({reason})",
                "check the network and HTTPS_PROXY/NO_PROXY, or retry when Stitch is up",
            ) from None
        log.info("%s %s -> %s", method, path, response.status)
        if response.status >= 400:
            message = self._stitch_message(response.data)
            refused = StitchApiError(method, path, response.status, message, _fix_for(response.status, message))
            refused.retry_after = response.headers.get("Retry-After")
            raise refused
        if not response.data:
            return None
        try:
            return json.loads(response.data)
        except ValueError:
            raise StitchApiError(
                method, path, response.status, "the answer is not JSON", "check stitch_api_url points at the Connect API"
            ) from None

    def _stitch_message(self, data: bytes) -> str:
        """Stitch's own words from an error body, whatever its shape (see message_in)."""
        text = data.decode("utf-8", "replace").strip()
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return self.redact(" ".join(message_in(parsed, text).split())[:500]) or "(no message)"

    def _check_error(self, answer: dict[str, Any]) -> str | None:
        # connection-check-object-v4.md documents `error` as a flag and one message per phase; a
        # destination's check has no documented phase, so take the first message there is.
        for key in ("error_message", "target_error_message", "tap_error_message", "discovery_error_message"):
            value = answer.get(key)
            if isinstance(value, str) and value.strip():
                return self.redact(value.strip())
        return "Stitch gave no message" if answer.get("status") == "failed" else None


@dataclass(frozen=True)
class LoadList:
    """The account's last loads as Stitch listed them (load-object.md), one a stream."""

    loads: list[dict[str, Any]]
    total: int | None
    """Stitch's `total`: how many loads the account has, on all pages."""
    pages: int
    complete: bool
    """False when the walk stopped before the last page (max_pages, or a link off the API)."""


@dataclass(frozen=True)
class Proxy:
    url: str
    """The proxy's URL without credentials: safe to show."""
    auth: str | None
    """user:password from the proxy URL, sent as Proxy-Authorization; secret."""


def proxy_for(base_url: str) -> Proxy | None:
    """The proxy for base_url from HTTPS_PROXY/HTTP_PROXY, unless NO_PROXY exempts its host; None for none.

    urllib.request reads these variables the way curl does (either case, NO_PROXY suffixes and "*");
    urllib3's PoolManager ignores them, so the client picks a ProxyManager itself."""
    parts = urlsplit(base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.netloc):
        return None
    parsed = parse_url(proxy if "://" in proxy else f"http://{proxy}")
    return Proxy(parsed._replace(auth=None).url, parsed.auth)


def message_in(parsed: Any, text: str = "") -> str:
    """Stitch's message from any of its documented error shapes: a plain string (destinations.yml),
    {"error": "X", "data": {"message", "bad_properties"}} (sources.yml), {"code", "message"}
    (general-codes.yml), and {"error": {"type", "message"}}."""
    if isinstance(parsed, str):
        return parsed
    if not isinstance(parsed, dict):
        return text
    error, data = parsed.get("error"), parsed.get("data")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or text)
    if isinstance(data, dict) and data.get("message"):
        bad = data.get("bad_properties")
        detail = f" ({', '.join(map(str, bad))})" if isinstance(bad, list) and bad else ""
        return f"{error}: {data['message']}{detail}" if error else f"{data['message']}{detail}"
    if parsed.get("message"):
        return f"{parsed['code']}: {parsed['message']}" if parsed.get("code") else str(parsed["message"])
    return str(error) if error else text


def destination_status(destination: dict[str, Any] | None) -> str:
    """active, paused (by the user), system_paused (by Stitch) or deleted, from destination-object-v4.md's
    deleted_at, paused_at and system_paused_at (null while active); None (not listed) is deleted too."""
    if destination is None or destination.get("deleted_at"):
        return "deleted"
    if destination.get("paused_at"):
        return "paused"
    if destination.get("system_paused_at"):
        return "system_paused"
    return "active"


def _newer(job: Any, before: Snapshot | None) -> str | None:
    """A check job name that is not the one from before our change, or None."""
    return job if job and (before is None or job != before.check_job_name) else None


def _is_ours(check: ConnectionCheck, job: str | None, before: Snapshot | None) -> bool:
    if job is not None:
        return check.name == job
    if before is None:
        return True  # a new destination has had no other check
    return before.check_seen and check.name is not None and check.name != before.check_name


def report_card_step(destination: dict[str, Any]) -> str | None:
    """Where the destination's report card stands (destination-object-v4.md: report_card.current_step_type)."""
    return (destination.get("report_card") or {}).get("current_step_type")


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After in seconds when given as a number (the HTTP-date form is left unread: no wait)."""
    try:
        return max(float(retry_after), 0.0) if retry_after is not None else None
    except ValueError:
        return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _fix_for(status: int, stitch_message: str) -> str:
    words = stitch_message.lower()
    if status == 401:
        return TOKEN_FIX
    if status == 403 or (status == 400 and ("accessdenied" in words or "do not have access" in words)):
        return PLAN_FIX
    if status == 400 and any(limit in words for limit in LIMIT_WORDS):
        return LIMIT_FIX
    if status == 400 and UNKNOWN_PUT_WORDS in words:
        return (
            "the destination is not in this Stitch account (deleted in its UI?): run pulumi refresh, and the next pulumi up "
            "says how to create a new one on purpose"
        )
    if status == 404:
        return "the destination is not in this Stitch account: check stitch_destination_id, or run pulumi refresh"
    if status in RETRY_STATUSES:
        return (
            "Stitch is busy or failing; the call was retried with backoff. Run pulumi up again later, or see https://status.stitchdata.com"
        )
    return "check the settings named in Stitch's message"
