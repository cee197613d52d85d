"""The Stitch destination itself, registered and kept in sync through Stitch's Connect API.

A Pulumi dynamic provider: create (or adopt) the postgres destination from the stack's own
settings and wait until its report card says fully_configured; PUT again when a setting changes
(Heroku rotated the credentials); see edits and deletions made in Stitch's UI on `pulumi refresh`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, ConfigureRequest, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from .checks import verify
from .config import PROGRAM_TERMS, Terms, caller_project, terms_of
from .connection import ConnectionSettings
from .provider_credentials import (
    GIVEN_STITCH_TOKEN,
    LEGACY_CREDENTIALS,
    configured_stitch_token,
    given_credential,
    given_first,
    without_credentials,
)
from .stitch_api import (
    DESTINATION_TYPE,
    FULLY_CONFIGURED,
    PLAN_FIX,
    TOKEN_FIX,
    Snapshot,
    StitchApiError,
    StitchClient,
    Verdict,
    destination_status,
    report_card_step,
)
from .up_command import pulumi_up

# Inputs that Stitch holds: a change means a PUT and a new wait for the report card.
STITCH_SIDE = ("properties",)
# Inputs that only we hold: a change is recorded in the state, with no call to Stitch.
# map_unmapped_sources only counts when the destination is created.
# No token among them: the provider takes the one the caller gave, else the run's (components.provider_credentials).
OUR_SIDE = ("api_url", "keep_on_delete", "check_timeout", "poll_seconds", "connect_timeout", "map_unmapped_sources")
SECRET_PROPS = ("properties",)
# Verdicts after which nothing needs doing; anything else (seen on refresh) is worth a new PUT.
SETTLED = (None, "succeeded", "unconfirmed")
# The id of a release recorded on a stack that had no destination in its state: no destination in Stitch.
RELEASED_ID = "released"

log = logging.getLogger(__name__)


class StitchDestinationError(Exception):
    """Stitch would not take the destination, or its connection check failed; no secret inside."""


class StitchDestinationProvider(ResourceProvider):
    """CRUD for one Stitch destination; the id is Stitch's destination id."""

    access_token: str | None = None
    """From configure(): the token of this run (stitch:accessToken, STITCH_ACCESS_TOKEN), used when the caller gave none."""

    def configure(self, req: ConfigureRequest) -> None:
        self.access_token = configured_stitch_token(req)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """A default name never renames: the destination keeps the name it was created with. (0.3.0 added the
        Destination's name to the default, for every program but this repository's: the destinations that
        stacks of other programs made under the old default keep it, where a rename would be refused.)"""
        news = dict(news or {})
        old_name = (olds or {}).get("name")
        if old_name and news.get("name_given") is False and not news.get("adopt_id") and not news.get("released"):
            news["name"] = old_name
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        terms = terms_of(props)
        if props.get("released"):
            # Released before it was ever managed here: a record only, nothing is sent to Stitch.
            return CreateResult(id_=RELEASED_ID, outs={**props, "connection_check": None, "stitch_status": "released"})
        if props.get("hold"):
            # A username that goes away when Heroku's rotation ends must never be registered.
            raise StitchDestinationError(
                f"Heroku is rotating Stitch's credential (its URL holds a temporary username): destination {props['name']!r} "
                f"was not registered; run {pulumi_up()} again once `heroku pg:credentials` shows the credential active"
            )
        client = client_for(props, given_first(props, GIVEN_STITCH_TOKEN, self.access_token))
        properties = _for_the_form(_destination_type(client, props["properties"]), props["properties"])
        adopt_id = props.get("adopt_id") or ""
        before: Snapshot | None = None
        if adopt_id:
            existing = _adoptable(client, adopt_id, props["name"], terms)
            before = client.snapshot(existing)
            answer = client.update_destination(adopt_id, properties)
            destination_id = adopt_id
        else:
            marker = props.get("description") or None
            twin = client.find_destination_named(props["name"])
            lost = _lost_to_a_crash(client, props["name"], marker) if twin is not None else None
            if twin is not None and lost is None:
                raise StitchDestinationError(
                    f"Stitch already has a destination named {props['name']!r} (id {twin.get('id')}) that this stack did not "
                    "make (its description is not this stack's marker): adopt it, "
                    f"{terms.set('stitch_destination_id', str(twin.get('id')))} (then kept in Stitch on pulumi destroy), "
                    f"or set another {terms.called('stitch_destination_name')}"
                )
            if lost is not None:
                log.warning(
                    "destination %s is named %r and carries this stack's marker: the one an interrupted pulumi up created "
                    "before it could record it (docs/crash-recovery.md)",
                    lost["id"],
                    props["name"],
                )
                before = client.snapshot(lost)
                answer = client.update_destination(str(lost["id"]), properties)
                destination_id = str(lost["id"])
            else:
                answer = client.create_destination(
                    props["name"], properties, ignore_unmapped_sources=not props.get("map_unmapped_sources", False), description=marker
                )
                destination_id = str(answer["id"])
        try:
            outs = _settle(client, destination_id, answer, before, props)
        except (StitchDestinationError, StitchApiError) as error:
            raise StitchDestinationError(f"{error}\n{_undo_create(client, destination_id, adopted=bool(adopt_id), terms=terms)}") from None
        return CreateResult(id_=destination_id, outs={**outs, "stitch_status": _surfaced(destination_id, answer)})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("released") or olds.get("released"):
            # Letting go records it in the state; taking it back (a token, managed again) PUTs the settings,
            # or, for a release recorded without any destination, creates one (the record goes without a call).
            changed = bool(news.get("released")) != bool(olds.get("released"))
            replaces = ["released"] if changed and id_ == RELEASED_ID else []
            changed = changed or any(key in olds for key in LEGACY_CREDENTIALS)
            return DiffResult(changes=changed, replaces=replaces, stables=[], delete_before_replace=False)
        replaces = []
        new_adopt = news.get("adopt_id") or ""
        if new_adopt != (olds.get("adopt_id") or "") and new_adopt != id_:
            # Another destination to manage: adopt it, then let go of this one.
            replaces.append("adopt_id")
        if not replaces and olds.get("stitch_status") == "deleted":
            # Seen by the last refresh. Never re-created behind the user's back: a new one has no sources mapped.
            raise StitchDestinationError(_deleted_in_stitch(id_, olds.get("name"), terms_of(news)))
        if not replaces and olds.get("name") != news.get("name"):
            # Errors before effects: the preview stops here, before anything is sent.
            raise StitchDestinationError(_cannot_rename(id_, olds.get("name"), news.get("name"), terms_of(news)))
        # While Heroku rotates Stitch's credential (hold), the settings Stitch has stay: no PUT of a temporary username.
        stitch_side = () if news.get("hold") else STITCH_SIDE
        # A token the caller gave anew (rotated) is recorded by an update that sends Stitch nothing.
        changed = [key for key in (*stitch_side, *OUR_SIDE, GIVEN_STITCH_TOKEN) if olds.get(key) != news.get(key)]
        # A token an earlier version saved: an update (never a replacement) takes it out of the state.
        changed += [key for key in LEGACY_CREDENTIALS if key in olds]
        # A check that failed since (seen on refresh) is worth a new PUT and check, too.
        if olds.get("connection_check") not in SETTLED:
            changed.append("connection_check")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, stables=[], delete_before_replace=False)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if news.get("released"):
            # The old outputs stay (secret, through additional_secret_outputs); nothing is sent to Stitch.
            log.info("destination %s is released: it stays in Stitch as it is, and this stack no longer manages it", id_)
            return UpdateResult(outs={**without_credentials(olds), "released": True, "stitch_status": "released"})
        if olds.get("name") != news.get("name"):
            raise StitchDestinationError(_cannot_rename(id_, olds.get("name"), news.get("name"), terms_of(news)))
        if news.get("hold") and not olds.get("released"):
            # Mid-rotation: the state keeps the settings Stitch has, so the first up after the rotation sends the new ones.
            log.info("destination %s: Heroku is rotating Stitch's credential; nothing is sent to Stitch until it ends", id_)
            return UpdateResult(outs={**news, "properties": olds.get("properties"), **_kept(olds)})
        stitch_side_changed = any(olds.get(key) != news.get(key) for key in STITCH_SIDE) or bool(olds.get("released"))
        if not stitch_side_changed and olds.get("connection_check") in SETTLED:
            return UpdateResult(outs={**news, **_kept(olds)})
        client = client_for(news, given_first(news, GIVEN_STITCH_TOKEN, self.access_token))
        properties = _for_the_form(_destination_type(client, news["properties"]), news["properties"])
        existing = client.find_destination(id_)
        if destination_status(existing) == "deleted":
            raise StitchDestinationError(_deleted_in_stitch(id_, news.get("name"), terms_of(news)))
        assert existing is not None
        before = client.snapshot(existing)
        answer = client.update_destination(id_, properties)
        try:
            outs = _settle(client, id_, answer, before, news)
        except StitchDestinationError as error:
            raise StitchDestinationError(
                f"{error}\nDestination {id_} has the new settings; the stack keeps the old state, so the next {pulumi_up()} tries again."
            ) from None
        return UpdateResult(outs={**outs, "stitch_status": _surfaced(id_, existing)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What Stitch holds now, with its status (stitch_status: active, paused, system_paused, deleted).
        Deleted in Stitch (not listed, or listed with deleted_at): it stays in the state as deleted, so the
        next `up` stops and asks for a decision rather than creating a new, unmapped destination.
        Stitch never shows the password, so a password typed into its UI cannot be seen here."""
        if props.get("released"):
            return ReadResult(id_=id_, outs=without_credentials(props))  # no longer ours to look at
        client = client_for(props, given_first(props, GIVEN_STITCH_TOKEN, self.access_token))
        found = client.find_destination(id_)
        if destination_status(found) == "deleted":
            log.warning("destination %s was deleted in Stitch", id_)
            return ReadResult(id_=id_, outs={**props, "stitch_status": "deleted"})
        assert found is not None
        ours = dict(props.get("properties") or {})
        # Stitch answers with strings plus a "status": "1" of its own (create-a-destination-v4.md), and
        # an older example with numbers and booleans: compare our keys only, as strings.
        seen = found.get("properties") or {}
        properties = {key: _as_property(seen[key]) if key in seen and key != "password" else value for key, value in ours.items()}
        step = report_card_step(found)
        outs = {
            **without_credentials(props),
            "name": found.get("name", props.get("name")),
            "properties": properties,
            "destination_id": str(id_),
            "connection_check": _status_on_read(client, id_, step),
            "report_card_step": step,
            "stitch_status": _surfaced(id_, found),
        }
        return ReadResult(id_=id_, outs=outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("released"):
            log.info("destination %s was released: it stays in Stitch, only the stack forgets it", id_)
            return
        # keep_on_delete is the value saved by the last `up`: `pulumi destroy` does not run the program,
        # so a changed stitch_keep_destination counts only after an `up` (see the README).
        if props.get("keep_on_delete"):
            log.info("destination %s stays in Stitch (stitch_keep_destination)", id_)
            return
        if not client_for(props, given_first(props, GIVEN_STITCH_TOKEN, self.access_token)).delete_destination(id_):
            log.info("destination %s was already gone from Stitch", id_)


def client_for(props: dict[str, Any], access_token: str | None) -> StitchClient:
    """A client with the run's token, that also keeps the database password out of any message."""
    if not access_token:
        which = props.get("destination_id") or props.get("name")
        raise StitchDestinationError(f"no Stitch Connect API token for destination {which!r}: {TOKEN_FIX}")
    password = (props.get("properties") or {}).get("password", "")
    return StitchClient(access_token, base_url=props["api_url"], secrets=[password])


def _destination_type(client: StitchClient, properties: dict[str, str]) -> dict[str, Any]:
    """The postgres destination type, once it is clear this account may create one and we set all it asks for.

    create-configure-destination-connect-api.md: `details.access` must be true to create the destination,
    and the required fields are those with `is_required` and `property_type: user_provided`."""
    card = client.destination_type(DESTINATION_TYPE)
    details = card.get("details") or {}
    if details.get("access") is not True:
        deprecated = details.get("pipeline_state") == "deprecated"
        why = "Stitch has deprecated this destination type" if deprecated else PLAN_FIX
        raise StitchDestinationError(
            f"Stitch will not let this account create a {DESTINATION_TYPE} destination (GET /v4/destination-types/{DESTINATION_TYPE} "
            f"says details.access is {details.get('access')!r}, pricing_tier {details.get('pricing_tier')!r}, "
            f"pipeline_state {details.get('pipeline_state')!r}): {why}; or register the destination by hand"
        )
    required = {prop["name"] for prop in _form_properties(card) if prop.get("is_required") and _user_provided(prop)}
    missing = sorted(required - properties.keys())
    if missing:
        raise StitchDestinationError(
            f"Stitch's {DESTINATION_TYPE} destination now requires {', '.join(missing)}, which stitch-heroku does not set: "
            "upgrade stitch-heroku, or register the destination by hand for now"
        )
    return card


def _form_properties(card: dict[str, Any]) -> list[dict[str, Any]]:
    steps = card.get("steps") or []
    return [prop for step in steps for prop in step.get("properties") or [] if isinstance(prop, dict) and prop.get("name")]


def _user_provided(prop: dict[str, Any]) -> bool:
    # Older copies of the reference have no property_type; system_provided said the same then.
    kind = prop.get("property_type")
    return kind == "user_provided" if kind is not None else not prop.get("system_provided")


def _for_the_form(card: dict[str, Any], properties: dict[str, str]) -> dict[str, Any]:
    """Our string properties as the form's JSON schema asks for them. The reference shows `ssl` both as
    {"type": "boolean"} (create-a-destination-v4.md) and as a "^(true|false)$" string (the destination
    guide): send a boolean only where the schema says boolean."""
    schemas = {prop["name"]: prop.get("json_schema") or {} for prop in _form_properties(card)}
    sent: dict[str, Any] = {}
    for key, value in properties.items():
        kind = schemas.get(key, {}).get("type")
        if kind == "boolean" and value in ("true", "false"):
            sent[key] = value == "true"
        elif kind == "integer" and value.isdigit():
            sent[key] = int(value)
        else:
            sent[key] = value
    return sent


def _adoptable(client: StitchClient, adopt_id: str, name: str, terms: Terms = PROGRAM_TERMS) -> dict[str, Any]:
    """The destination to adopt, once it is clear that taking it over changes nothing but its properties."""
    destinations = client.list_destinations()
    existing = next((d for d in destinations if str(d.get("id")) == adopt_id), None)
    if existing is None:
        ids = ", ".join(str(d.get("id")) for d in destinations)
        where = f"it has destinations {ids}" if ids else "it has no destinations"
        raise StitchDestinationError(
            f"stitch_destination_id {adopt_id}: this Stitch account has no such destination "
            f"({where}): set the right id, or {terms.remove('stitch_destination_id')} to create one"
        )
    if existing.get("type") != DESTINATION_TYPE:
        raise StitchDestinationError(
            f"stitch_destination_id {adopt_id}: is a {existing.get('type')!r} destination, not {DESTINATION_TYPE!r}: "
            "Stitch cannot change a destination's type; adopt a PostgreSQL destination or create one"
        )
    if existing.get("name") != name:
        raise StitchDestinationError(
            f"stitch_destination_id {adopt_id}: is named {existing.get('name')!r} in Stitch, and stitch_destination_name is {name!r}; "
            f"the Connect API cannot rename a destination: {terms.set('stitch_destination_name', repr(existing.get('name')))}, "
            "or rename it in Stitch first"
        )
    return existing


def _lost_to_a_crash(client: StitchClient, name: str, marker: str | None) -> dict[str, Any] | None:
    """The destination an interrupted `up` of this stack created and never recorded, or None.

    A `pulumi up` killed after Stitch's POST and before the engine wrote the result leaves a destination in
    Stitch and only a pending CREATE in the state; the engine never tells a provider about that pending
    CREATE (pulumi/pulumi pkg/resource/deploy/deployment_executor.go only prints a warning). So our POST
    sends a marker in the destination's `description` (create-a-destination-v4.md: an optional string; the
    destination objects of create, update and list carry it back), and the marker was made by an earlier
    step (DestinationMarker) whose result is in the state BEFORE the POST: the next `up` sends the same one.
    A same-named postgres destination is ours only when it carries that marker; anything else (made in
    Stitch's UI, by another stack, or the same place and user by hand) is someone else's and is refused,
    with stitch_destination_id as the way to adopt it on purpose.
    """
    if not marker:
        return None
    named = [d for d in client.list_destinations() if d.get("name") == name and not d.get("deleted_at")]
    return next((d for d in named if d.get("type") == DESTINATION_TYPE and d.get("description") == marker), None)


def _cannot_rename(id_: str, old: Any, new: Any, terms: Terms = PROGRAM_TERMS) -> str:
    return (
        f"stitch_destination_name: destination {id_} is named {old!r} in Stitch (or in the last state), and the stack now says {new!r}; "
        "Stitch's Connect API cannot rename a destination (its PUT takes only properties), and replacing it would unmap its sources: "
        f"rename it in Stitch's UI to {new!r} and run pulumi refresh, or set {terms.called('stitch_destination_name')} back to {old!r}"
    )


def _deleted_in_stitch(id_: str, name: Any, terms: Terms = PROGRAM_TERMS) -> str:
    return (
        f"destination {id_} ({name!r}) was deleted in Stitch. stitch-heroku does not create a new one by itself: a new "
        "destination starts with no sources mapped to it. To create a new one on purpose, let the stack forget the "
        f"deleted one: pulumi state delete '<its URN: pulumi stack --show-urns | grep stitch-destination>', then {pulumi_up()}. "
        f"To stop managing a destination from this stack instead: {terms.set('stitch_destination', 'released')}, then {pulumi_up()}."
    )


def _surfaced(id_: str, destination: dict[str, Any] | None) -> str:
    """The destination's status, with a warning when Stitch will not load into it as it is."""
    status = destination_status(destination)
    if status in ("paused", "system_paused"):
        by = "by Stitch" if status == "system_paused" else "by a user"
        log.warning("destination %s is paused in Stitch (%s): nothing loads into it until it is resumed in Stitch", id_, by)
    return status


def _undo_create(client: StitchClient, destination_id: str, *, adopted: bool, terms: Terms = PROGRAM_TERMS) -> str:
    """After a failed create: what became of the destination, in one sentence for the error."""
    if adopted:
        return f"Destination {destination_id} (adopted) keeps the new settings."
    # Created by us but not recorded (the create failed): take it away again, so no destination
    # lives outside Pulumi's state and the next `up` can simply create it.
    try:
        client.delete_destination(destination_id)
    except StitchApiError:
        return (
            f"Destination {destination_id} could not be removed again: delete it in Stitch, "
            f"or adopt it: {terms.set('stitch_destination_id', destination_id)}."
        )
    return f"Destination {destination_id} was removed again; fix the cause and run {pulumi_up()}."


def _settle(
    client: StitchClient, destination_id: str, answer: dict[str, Any], before: Snapshot | None, props: dict[str, Any]
) -> dict[str, Any]:
    """Wait until Stitch's report card shows the destination fully configured after our change; the outputs then."""
    verdict = client.wait_for_verdict(
        destination_id, before=before, answer=answer, timeout=float(props["check_timeout"]), poll_seconds=float(props["poll_seconds"])
    )
    if not verdict.usable:
        raise StitchDestinationError(_check_failed(destination_id, verdict, props))
    if verdict.status == "unconfirmed":
        log.warning(
            "destination %s is %s, but Stitch showed no connection check newer than our change; our own checks passed",
            destination_id,
            FULLY_CONFIGURED,
        )
    return {**props, "destination_id": destination_id, "connection_check": verdict.status, "report_card_step": verdict.step}


def _check_failed(destination_id: str, verdict: Verdict, props: dict[str, Any]) -> str:
    """Stitch's verdict and our own checks of the same settings, side by side."""
    if verdict.status == "running":
        head = (
            f"Stitch's report card for destination {destination_id} is at step {verdict.step!r}, not {FULLY_CONFIGURED!r}, "
            f"after {float(props['check_timeout']):g} s: its connection check has not passed (failed, or still running); "
            f"raise {terms_of(props).called('stitch_check_timeout')}, or look at the destination in Stitch"
        )
    else:
        head = f"Stitch's connection check of destination {destination_id} failed: {verdict.error}"
    settings = ConnectionSettings.from_stitch_properties(props["properties"])
    report = verify(settings, connect_timeout=int(props["connect_timeout"]), terms=terms_of(props))
    where = "Our own checks of the same settings, from where pulumi runs"
    hint = ""
    if report.ready:
        hint = "\nOur checks pass, so look at what differs for Stitch: its network path to the database, or Stitch's message above."
    return f"{head}\n{where}:\n{report.render()}{hint}"


def _status_on_read(client: StitchClient, destination_id: str, step: str | None) -> str:
    """The report card decides; the check endpoint, where it answers, says why a card is not there."""
    if step == FULLY_CONFIGURED:
        return "succeeded"
    check = client.last_connection_check(destination_id)
    return check.status if check is not None and check.status in ("failed", "running") else "pending"


def _kept(olds: dict[str, Any]) -> dict[str, Any]:
    return {key: olds[key] for key in ("destination_id", "connection_check", "report_card_step", "stitch_status") if key in olds}


class DestinationMarkerProvider(ResourceProvider):
    """A random marker made once and kept in the state: what our POST sends as the destination's description."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        token = uuid.uuid4().hex
        return CreateResult(id_=token, outs={"description": f"{MARKER_PREFIX}{token}"})

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False, replaces=[], stables=["description"], delete_before_replace=False)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing outside the state: the destination keeps its description, which names no secret."""


# What a person sees in Stitch; the random part is what proves the destination is this stack's.
MARKER_PREFIX = "Made and kept by stitch-heroku (Pulumi); marker "


class DestinationMarker(pulumi.dynamic.Resource, module="stitch", name="DestinationMarker"):
    """Created before the destination, so its marker is in the state before Stitch's POST (see _lost_to_a_crash)."""

    description: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(DestinationMarkerProvider(), name, {"description": None}, opts)


def _as_property(value: Any) -> str:
    """Stitch's answer may carry numbers and booleans; our properties are strings ("5432", "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass
class StitchDestinationArgs:
    name: str
    """The destination's name in Stitch; set at create, and never renamed (the API cannot)."""
    properties: pulumi.Input[dict[str, str]]
    """The postgres form's fields as strings, as ConnectionSettings.stitch_properties() gives them; secret."""
    adopt_id: str | None
    """An existing destination to take over instead of creating one."""
    keep_on_delete: bool
    """Leave the destination in Stitch when the stack lets go of it."""
    check_timeout: int
    """Seconds to wait for the report card to reach fully_configured."""
    connect_timeout: int
    """Seconds one of our own connection attempts may take, for the report on failure."""
    api_url: str
    """Base URL of the Connect API."""
    map_unmapped_sources: bool = False
    """Let Stitch map every unmapped source of the account to a new destination (ignore_unmapped_sources false)."""
    name_given: bool = True
    """Whether the name is the user's (stitch_destination_name), not the default, which never renames (see check)."""
    hold: pulumi.Input[bool] = False
    """Heroku is rotating Stitch's credential (a temporary username): send Stitch nothing, keep what it has."""
    given_token: pulumi.Input[str] | None = None
    """The token a Destination's caller gave as its input (stitch_access_token); None: the run's own (configure())."""
    poll_seconds: float = 5.0
    """Seconds between two looks at the destination."""


class StitchDestination(pulumi.dynamic.Resource, module="stitch", name="Destination"):
    """The PostgreSQL destination in Stitch, with the stack's settings and a fully configured report card."""

    destination_id: pulumi.Output[str]
    connection_check: pulumi.Output[str]
    stitch_status: pulumi.Output[str]
    """active, paused, system_paused or deleted, as Stitch showed it on the last up or refresh."""

    def __init__(self, name: str, args: StitchDestinationArgs, opts: pulumi.ResourceOptions | None = None):
        # The marker's own step finishes (and is written to the state) before this resource's create starts.
        # It waits for what the destination waits for, so no step comes before the guards' checks.
        after = pulumi.ResourceOptions(parent=opts.parent, depends_on=opts.depends_on) if opts else None
        marker = DestinationMarker(f"{name}-marker", after)
        props = {
            "description": marker.description,
            "api_url": args.api_url,
            "name": args.name,
            "name_given": args.name_given,
            "properties": pulumi.Output.secret(args.properties),
            "adopt_id": args.adopt_id or "",
            "keep_on_delete": args.keep_on_delete,
            "map_unmapped_sources": args.map_unmapped_sources,
            "hold": args.hold,
            "check_timeout": args.check_timeout,
            "poll_seconds": args.poll_seconds,
            "connect_timeout": args.connect_timeout,
            "released": False,
            "stitch_status": None,
            "destination_id": None,
            "connection_check": None,
            "report_card_step": None,
            **given_credential(GIVEN_STITCH_TOKEN, args.given_token),
            **caller_project(),  # for the fixes' words only: its diff does not count it
        }
        given = [GIVEN_STITCH_TOKEN] if args.given_token is not None else []
        secret = pulumi.ResourceOptions(additional_secret_outputs=[*SECRET_PROPS, *given], depends_on=[marker])
        super().__init__(StitchDestinationProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


def released_destination(name: str, opts: pulumi.ResourceOptions | None = None) -> StitchDestination:
    """The stack's destination, let go on purpose (`stitch_destination: released`): no token, no call to Stitch.

    It keeps the same name and type, so the engine takes it for the destination in the state and runs an
    update that only marks it released. retain_on_delete: once the program stops declaring it, the engine
    drops it from the state without calling delete (delete would not call Stitch either)."""
    props: dict[str, Any] = {
        key: None for key in (*SECRET_PROPS, "api_url", "name", "adopt_id", "destination_id", "connection_check", "stitch_status")
    }
    props["released"] = True
    retained = pulumi.ResourceOptions(retain_on_delete=True, additional_secret_outputs=list(SECRET_PROPS))
    destination = StitchDestination.__new__(StitchDestination)
    pulumi.dynamic.Resource.__init__(destination, StitchDestinationProvider(), name, props, pulumi.ResourceOptions.merge(opts, retained))
    return destination
