"""Stitch's own loads into this stack's destination: which loads are ours, which failed and why, and how fresh.

The reconcile and `python -m components.verify --stack` read Stitch's list of the account's last loads
(GET /v4/{stitch_client_id}/loads, stitchdata/docs _developer-files/connect/api/objects/loads/) once per run,
keep the loads of this destination's sources, and turn each error_state into the cause and its fix. How a load
is attributed to a destination is explained in docs/day-two.md ("Stitch's loads").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from . import postgres_sql as pg
from .connection import ConnectionSettings, hide_known
from .stitch_api import LoadList, StitchApiError, StitchClient

# How a load was found to be ours (docs/day-two.md).
BY_SCHEMA = "schema"
"""Its source_name (the schema Stitch loads it into, load-object.md) is a schema of this database."""
ONLY_DESTINATION = "only destination"
"""This is the account's only live destination, so every source of the account loads here."""

PASSWORD_SENT_FIX = (
    "this run sent Stitch the stack's current credential (the destination was updated): the error clears at Stitch's next "
    "load of this source; if it does not, the password in Stitch was typed by hand after it: run the reconcile again"
)


@dataclass(frozen=True)
class LoadFailure:
    """One stream of ours whose last load failed, with Stitch's words, the server's words and the fix."""

    source: str
    stream: str
    cause: str
    """privilege, password, storage, connections or other (postgres_sql.load_error_cause)."""
    message: str
    warehouse_message: str | None
    fix: str

    @property
    def what(self) -> str:
        said = f"Stitch's last load of {self.source}.{self.stream} failed ({self.cause}): {self.message}"
        return f"{said}; the database said: {self.warehouse_message}" if self.warehouse_message else said


@dataclass(frozen=True)
class SourceLoads:
    """One source of ours: its streams and when a batch of it last reached the database."""

    source: str
    streams: int
    failing: int
    last_batch_loaded_at: str | None
    """The newest last_batch_loaded_at of its streams; None while all of them are in an error state."""
    attributed: str


@dataclass
class LoadsView:
    """What Stitch's loads say about this destination; `read` is False when they could not be read."""

    read: bool
    error: str | None = None
    sources: list[SourceLoads] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    """(what, fix) for each source that loaded nothing for longer than stitch_load_stale_hours."""
    other_loads: int = 0
    """Loads of the account that belong to other destinations' sources, not counted here."""
    unattributed: int = 0
    """Loads of sources with no schema here while the account has other destinations: not ours as far as we can tell."""
    complete: bool = True

    @property
    def failing(self) -> bool:
        return bool(self.failures)

    def problems(self) -> list[dict[str, str]]:
        """One problem a failing stream, for the reconcile's `problems`: the failing causes, first one first."""
        return [{"what": f.what, "fix": f.fix, "cause": f"stitch-load:{f.cause}"} for f in self.failures]

    def after_sending(self) -> LoadsView:
        """This run sent Stitch the stack's current credential: a refused password says so, and clears at the next load."""
        for i, failure in enumerate(self.failures):
            if failure.cause == "password":
                self.failures[i] = replace(failure, fix=PASSWORD_SENT_FIX)
        return self

    def warnings(self) -> list[dict[str, str]]:
        found = [{"what": what, "fix": fix} for what, fix in self.stale]
        if not self.read:
            found.append({"what": f"Stitch's loads could not be read: {self.error}", "fix": "the next run reads them again"})
        elif not self.complete:
            found.append(
                {"what": "Stitch's loads were read only in part (page limit reached, or a link off the API)",
                 "fix": "the loads of the pages not read are not judged in this run"}
            )  # fmt: skip
        return found

    def to_dict(self) -> dict[str, Any]:
        if not self.read:
            return {"read": False, "error": self.error}
        return {
            "read": True,
            "complete": self.complete,
            "sources": [
                {
                    "source": s.source,
                    "streams": s.streams,
                    "failing": s.failing,
                    "last_batch_loaded_at": s.last_batch_loaded_at,
                    "attributed": s.attributed,
                }
                for s in self.sources
            ],
            "failing": [
                {
                    "source": f.source,
                    "stream": f.stream,
                    "cause": f.cause,
                    "message": f.message,
                    "warehouse_message": f.warehouse_message,
                    "fix": f.fix,
                }
                for f in self.failures
            ],
            "other_destinations_loads": self.other_loads,
            "unattributed_loads": self.unattributed,
        }

    def summary(self, most: int = 3) -> str:
        """For the one line: each source's last batch (the first few), or why there is nothing to say."""
        if not self.read:
            return "Stitch loads not read"
        if not self.sources:
            return "no Stitch loads yet"
        shown = [f"{s.source} {s.last_batch_loaded_at or 'never'}" for s in self.sources[:most]]
        more = f" and {len(self.sources) - most} more" if len(self.sources) > most else ""
        failing = f", {len(self.failures)} failing" if self.failures else ""
        return f"Stitch loads{failing}: last batch {', '.join(shown)}{more}"

    def render(self) -> str:
        """Lines for people: one a source, then each failure with its fix."""
        if not self.read:
            return f"Stitch loads: not read: {self.error}"
        lines = [f"Stitch loads ({len(self.sources)} source{'s' if len(self.sources) != 1 else ''} of this destination):"]
        for s in self.sources:
            state = f", {s.failing} of {s.streams} streams failing" if s.failing else f", {s.streams} streams"
            lines.append(f"  {s.source}: last batch loaded at {s.last_batch_loaded_at or 'never'}{state}")
        for f in self.failures:
            lines += [f"  FAIL {f.what}", f"    fix: {f.fix}"]
        for what, fix in self.stale:
            lines += [f"  warn {what}", f"    fix: {fix}"]
        return "\n".join(lines)


def is_ours(load: Mapping[str, Any], *, client_id: Any, schemas_here: set[str] | None, only_destination: bool) -> str | None:
    """How this load is ours (BY_SCHEMA, ONLY_DESTINATION), or None when it is another destination's.

    A source loads into exactly one destination (multiple-destinations.md: "You can't connect a single integration
    to multiple destinations"), into the schema named by its source_name (load-object.md), and source names are
    unique in an account (the Connect API's `name`). So a load whose schema is here is ours; when this is the
    account's only live destination every load is ours, even of a source whose first load failed before its schema
    existed; otherwise a load without a schema here is another destination's."""
    if str(load.get("stitch_client_id")) != str(client_id):
        return None
    if schemas_here is not None and str(load.get("source_name")) in schemas_here:
        return BY_SCHEMA
    return ONLY_DESTINATION if only_destination else None


def judge(
    loads: Sequence[Mapping[str, Any]],
    *,
    client_id: Any,
    schemas_here: set[str] | None,
    only_destination: bool,
    role: str,
    source: str | None,
    secrets: Iterable[str] = (),
    stale_hours: float | None = None,
    now: datetime | None = None,
    over_capacity: bool | None = None,
    complete: bool = True,
) -> LoadsView:
    """The view of this destination's loads: its sources, its failing streams with their causes, the stale sources.

    Every text that came from Stitch passes through hide_known with the secrets this run holds (Stitch may quote a
    connection string back)."""
    secrets = [s for s in secrets if s]
    view = LoadsView(read=True, complete=complete)
    ours: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for load in loads:
        how = is_ours(load, client_id=client_id, schemas_here=schemas_here, only_destination=only_destination)
        if how is None:
            if schemas_here is None and not only_destination:
                view.unattributed += 1
            else:
                view.other_loads += 1
            continue
        ours.setdefault(str(load.get("source_name")), []).append((load, how))
    for name in sorted(ours):
        entries = ours[name]
        failing = 0
        for load, _how in sorted(entries, key=lambda entry: str(entry[0].get("stream_name"))):
            failure = _failure(load, role=role, source=source, secrets=secrets, over_capacity=over_capacity)
            if failure is not None:
                failing += 1
                view.failures.append(failure)
        times = [str(load["last_batch_loaded_at"]) for load, _ in entries if load.get("last_batch_loaded_at")]
        last = max(times, key=_parse_time) if times else None
        view.sources.append(SourceLoads(name, len(entries), failing, last, entries[0][1]))
        if stale_hours is not None and last is not None and failing == 0:
            age = (now or datetime.now(UTC)) - _parse_time(last)
            if age > timedelta(hours=stale_hours):
                view.stale.append(
                    (f"Stitch loaded nothing of source {name} for {age.total_seconds() / 3600:.1f} hours (last batch {last}; "
                     f"stitch_load_stale_hours is {stale_hours:g})",
                     "look at the integration in Stitch: paused, its schedule, or extraction errors (Stitch pauses an integration "
                     "after 40 days without loads); raise stitch_load_stale_hours if it loads this rarely on purpose")
                )  # fmt: skip
    return view


def _failure(
    load: Mapping[str, Any], *, role: str, source: str | None, secrets: list[str], over_capacity: bool | None
) -> LoadFailure | None:
    state = load.get("error_state")
    if not state:
        return None
    # load-object.md: error_state's structure "is subject to change": read what is there, never rely on it.
    data = state.get("notification_data") if isinstance(state, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    message = _text(data.get("message")) or _text(data.get("exception_message")) or _text(data.get("error")) or "Stitch gave no message"
    warehouse = _text(data.get("warehouse_message"))
    schema, stream = str(load.get("source_name")), str(load.get("stream_name"))
    cause = pg.load_error_cause(
        " ".join(t for t in (message, _text(data.get("exception_message")), warehouse) if t),
        _text(data.get("warehouse_sql_state")),
        schema=schema,
        role=role,
        source=source,
        over_capacity=over_capacity,
    )
    return LoadFailure(
        schema, stream, cause.cause, hide_known(message, secrets), hide_known(warehouse, secrets) if warehouse else None, cause.fix
    )


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def schemas_present(settings: ConnectionSettings, names: Iterable[str], *, connect_timeout: int) -> set[str] | None:
    """Which of these schemas exist in the database, asked as Stitch's role; None when it cannot be asked."""
    wanted = sorted(set(names))
    if not wanted:
        return set()
    try:
        with psycopg.connect(settings.conninfo(connect_timeout=connect_timeout, application_name="stitch-heroku-loads")) as conn:
            rows = conn.execute(pg.SCHEMAS_PRESENT_QUERY, {"names": wanted}).fetchall()
    except (psycopg.Error, OSError, ValueError):
        return None
    return {row[0] for row in rows}


class LoadsCache:
    """Stitch's loads of each account, read once a run however many stacks and Destinations share the account.

    GET /v4/{client_id}/loads is of the "jobs" type, 30 requests per 10 minutes per client (jobs.yml): a fleet that
    asked once a stack would spend the budget in one run. Keyed by what the answer depends on (the API's URL and the
    client id), as an HTTP client pools its connections; thread-safe (stacks run concurrently), each key read by one
    thread while the others wait for its answer; a refusal (a 429 after its one wait) is kept too, never asked again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self.reads = 0
        """How many accounts were read (one list_loads walk each), for the tests and the benchmark."""

    def list_loads(self, client: StitchClient, client_id: int | str) -> LoadList:
        with self._lock:
            entry = self._entries.setdefault((client.base_url, str(client_id)), _Entry())
        with entry.lock:
            if entry.answer is None and entry.error is None:
                self.reads += 1
                try:
                    entry.answer = client.list_loads(client_id)
                except StitchApiError as error:
                    entry.error = error
        if entry.error is not None:
            raise entry.error
        assert entry.answer is not None
        return entry.answer


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answer: LoadList | None = None
    error: StitchApiError | None = None


def read_loads(
    client: StitchClient,
    destination: Mapping[str, Any],
    destinations: Sequence[Mapping[str, Any]],
    settings: ConnectionSettings | None,
    *,
    connect_timeout: int,
    source: str | None,
    secrets: Iterable[str] = (),
    stale_hours: float | None = None,
    over_capacity: bool | None = None,
    cache: LoadsCache | None = None,
) -> LoadsView:
    """Read the account's loads once (all pages; once a run with a cache) and judge the ones of this destination.

    destination: our destination object (its stitch_client_id is the account's id, destination-object-v4.md);
    destinations: the account's list from GET /v4/destinations, to know whether ours is the only live one."""
    client_id = destination.get("stitch_client_id")
    if client_id in (None, ""):
        return LoadsView(read=False, error="the destination object has no stitch_client_id")
    try:
        listed = cache.list_loads(client, client_id) if cache is not None else client.list_loads(client_id)
    except StitchApiError as error:
        return LoadsView(read=False, error=str(error))
    only = not any(str(d.get("id")) != str(destination.get("id")) and not d.get("deleted_at") for d in destinations)
    schemas_here: set[str] | None = None
    if not only and settings is not None:
        schemas_here = schemas_present(settings, (str(x.get("source_name")) for x in listed.loads), connect_timeout=connect_timeout)
    return judge(
        listed.loads,
        client_id=client_id,
        schemas_here=schemas_here,
        only_destination=only,
        role=settings.username if settings else "the Stitch role",
        source=source,
        secrets=[*secrets, *client.known_secrets],
        stale_hours=stale_hours,
        over_capacity=over_capacity,
        complete=listed.complete,
    )
