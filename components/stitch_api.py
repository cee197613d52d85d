"""A small client for the destination calls of Stitch's Connect API (v4).

urllib3 does the HTTP, with a Retry per request: reads and idempotent writes back off on 429 and
5xx, while a POST, which could create a second destination, is never repeated blindly. No header
or body is ever logged or raised, so the token and the database password stay out of every message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util.retry import Retry

DEFAULT_API_URL = "https://api.stitchdata.com"
DESTINATION_TYPE = "postgres"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FULLY_CONFIGURED = "fully_configured"
TOKEN_FIX = "set a valid Connect API token: pulumi config set --secret stitch:accessToken <token> (or export STITCH_ACCESS_TOKEN)"
REDACTED = "[secret]"

log = logging.getLogger(__name__)


class StitchApiError(Exception):
    """Stitch refused a call, or could not be reached. The message names the call, the HTTP status,
    Stitch's own words and the fix, with every secret the client knows replaced by [secret]."""

    def __init__(self, method: str, path: str, status: int | None, stitch_message: str, fix: str):
        self.method, self.path, self.status, self.stitch_message = method, path, status, stitch_message
        answer = f"{status} {_reason(status)}" if status else "no answer"
        super().__init__(f"Stitch Connect API: {method} {path} got {answer}: {stitch_message}. Fix: {fix}")

    @property
    def server_side(self) -> bool:
        """Stitch's trouble rather than ours (or no answer at all): worth asking again later."""
        return self.status is None or self.status in RETRY_STATUSES


@dataclass(frozen=True)
class ConnectionCheck:
    """Stitch's last connection check of a destination: running, succeeded or failed."""

    status: str
    error: str | None = None
    name: str | None = None
    """The check job's name, to tell the check of our change from an older one."""

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


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
        self._secrets = tuple(s for s in (token, *secrets) if s)
        self._sleep = sleep
        self._timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        self._pool = urllib3.PoolManager(
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "stitch-heroku",
            }
        )

    # -- the endpoints ------------------------------------------------------------------------

    def destination_type(self, type_: str = DESTINATION_TYPE) -> dict[str, Any]:
        """The report card of a destination type: the steps and properties its form asks for."""
        return self._call("GET", f"/v4/destination-types/{type_}")

    def list_destinations(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v4/destinations") or [])

    def find_destination(self, destination_id: str) -> dict[str, Any] | None:
        """The destination with this id, or None when the account has none (v4 has no GET by id)."""
        return next((d for d in self.list_destinations() if str(d.get("id")) == str(destination_id)), None)

    def find_destination_named(self, name: str) -> dict[str, Any] | None:
        return next((d for d in self.list_destinations() if d.get("name") == name), None)

    def create_destination(self, name: str, properties: dict[str, str], type_: str = DESTINATION_TYPE) -> dict[str, Any]:
        """POST the destination; after a 5xx, look before asking again, because Stitch may have
        created it before failing and a second one would hit the account's destination limit."""
        body = {"type": type_, "name": name, "properties": properties}
        for attempt in range(self.retries + 1):
            try:
                return self._call("POST", "/v4/destinations", body, repeatable=False)
            except StitchApiError as error:
                # A 429 was refused and already retried by urllib3; a 4xx will not change.
                if error.status == 429 or not error.server_side or attempt == self.retries:
                    raise
                created = self.find_destination_named(name)
                if created is not None:
                    log.info("POST /v4/destinations failed but Stitch created destination %s; using it", created.get("id"))
                    return created
                self._sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def update_destination(self, destination_id: str, name: str, properties: dict[str, str]) -> dict[str, Any]:
        return self._call("PUT", f"/v4/destinations/{destination_id}", {"name": name, "properties": properties})

    def delete_destination(self, destination_id: str) -> bool:
        """Delete it; False when it was already gone, which is what deleting wanted anyway."""
        try:
            self._call("DELETE", f"/v4/destinations/{destination_id}")
        except StitchApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    def last_connection_check(self, destination_id: str) -> ConnectionCheck:
        answer = self._call("GET", f"/v4/destinations/{destination_id}/last-connection-check") or {}
        return ConnectionCheck(status=str(answer.get("status") or "running"), error=self._check_error(answer), name=answer.get("name"))

    def wait_for_connection_check(
        self, destination_id: str, *, job_name: str | None, timeout: float, poll_seconds: float
    ) -> ConnectionCheck:
        """Poll until the check Stitch started for our change (job_name, from the create or update
        answer) has finished, or until `timeout` seconds have passed. Right after an update the
        last check can still be the previous one, whose verdict says nothing about the new settings."""
        deadline = time.monotonic() + timeout
        while True:
            check = self.last_connection_check(destination_id)
            ours = job_name is None or check.name == job_name
            if (ours and check.finished) or time.monotonic() + poll_seconds > deadline:
                return check if ours else ConnectionCheck("running", None, job_name)
            self._sleep(poll_seconds)

    # -- plumbing -----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Replace every secret the client knows by [secret], for text that came from outside."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _retry(self, repeatable: bool) -> Retry:
        # A refused connection never reached Stitch, so it is safe to try again even for a POST;
        # a lost answer (read) is not, since Stitch may have acted on it.
        return Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries if repeatable else 0,
            status=self.retries,
            other=0,
            redirect=0,
            allowed_methods=None,
            status_forcelist=RETRY_STATUSES if repeatable else {429},
            backoff_factor=self.backoff,
            backoff_max=30,
            retry_after_max=60,
            raise_on_status=False,
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, repeatable: bool = True) -> Any:
        try:
            response = self._pool.request(
                method,
                self.base_url + path,
                json=body,
                timeout=self._timeout,
                retries=self._retry(repeatable),
                redirect=False,
            )
        except TransportError as error:
            # urllib3's own message holds only the URL (no credentials in it), but say it our way.
            reason = type(getattr(error, "reason", None) or error).__name__
            log.info("%s %s -> no answer (%s)", method, path, reason)
            raise StitchApiError(
                method, path, None, f"could not reach {self.base_url} ({reason})", "check the network, or retry when Stitch is up"
            ) from None
        log.info("%s %s -> %s", method, path, response.status)
        if response.status >= 400:
            message = self._stitch_message(response.data)
            raise StitchApiError(method, path, response.status, message, _fix_for(response.status, message))
        if not response.data:
            return None
        try:
            return json.loads(response.data)
        except ValueError:
            raise StitchApiError(
                method, path, response.status, "the answer is not JSON", "check stitch_api_url points at the Connect API"
            ) from None

    def _stitch_message(self, data: bytes) -> str:
        """Stitch's own words from an error body ({"error": {"message"}}, {"message"} or text)."""
        text = data.decode("utf-8", "replace").strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            error = parsed.get("error")
            found = error.get("message") if isinstance(error, dict) else error
            text = str(found or parsed.get("message") or text)
        return self.redact(" ".join(text.split())[:500]) or "(no message)"

    def _check_error(self, answer: dict[str, Any]) -> str | None:
        # The object documents `error` as a flag and the messages per phase; take the first words.
        for key in ("error_message", "target_error_message", "tap_error_message", "discovery_error_message", "error"):
            value = answer.get(key)
            if isinstance(value, str) and value.strip():
                return self.redact(value.strip())
        return "Stitch gave no message" if answer.get("status") == "failed" else None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _fix_for(status: int, stitch_message: str) -> str:
    if status == 401:
        return TOKEN_FIX
    if status == 403:
        return "the token's account may not use the Connect API: it needs Stitch Advanced or Premium, or the trial"
    if status == 404:
        return "the destination is not in this Stitch account: check stitch_destination_id, or run pulumi refresh"
    if status == 400 and "limit" in stitch_message.lower():
        return (
            "the Stitch account is at its destination limit (Standard plans allow one): adopt the existing destination "
            "with pulumi config set stitch_destination_id <id>, remove it in Stitch first, or upgrade the plan"
        )
    if status in RETRY_STATUSES:
        return (
            "Stitch is busy or failing; the call was retried with backoff. Run pulumi up again later, or see https://status.stitchdata.com"
        )
    return "check the settings named in Stitch's message"
