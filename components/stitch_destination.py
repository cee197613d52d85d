"""The Stitch destination itself, registered and kept in sync through Stitch's Connect API.

A Pulumi dynamic provider: create (or adopt) the postgres destination from the stack's own
settings and wait for Stitch's connection check; PUT again when a setting changes (Heroku rotated
the credentials); see edits and deletions made in Stitch's UI on `pulumi refresh`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.checks import verify
from components.connection import ConnectionSettings
from components.stitch_api import DESTINATION_TYPE, FULLY_CONFIGURED, ConnectionCheck, StitchApiError, StitchClient

# Inputs that Stitch holds: a change means a PUT and a new connection check.
STITCH_SIDE = ("name", "properties")
# Inputs that only we hold: a change is recorded in the state, with no call to Stitch.
OUR_SIDE = ("access_token", "api_url", "keep_on_delete", "check_timeout", "poll_seconds", "connect_timeout")
SECRET_PROPS = ("access_token", "properties")

log = logging.getLogger(__name__)


class StitchDestinationError(Exception):
    """Stitch would not take the destination, or its connection check failed; no secret inside."""


class StitchDestinationProvider(ResourceProvider):
    """CRUD for one Stitch destination; the id is Stitch's destination id."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = client_for(props)
        _require_what_stitch_asks_for(client, props["properties"])
        adopt_id = props.get("adopt_id") or ""
        if adopt_id:
            existing = client.find_destination(adopt_id)
            if existing is None:
                raise StitchDestinationError(
                    f"stitch_destination_id {adopt_id}: this Stitch account has no such destination "
                    f"(it has {_ids(client)}): set the right id, or pulumi config rm stitch_destination_id to create one"
                )
            if existing.get("type") != DESTINATION_TYPE:
                raise StitchDestinationError(
                    f"stitch_destination_id {adopt_id}: is a {existing.get('type')!r} destination, not {DESTINATION_TYPE!r}: "
                    "Stitch cannot change a destination's type; adopt a PostgreSQL destination or create one"
                )
            answer = client.update_destination(adopt_id, props["name"], props["properties"])
            destination_id = adopt_id
        else:
            twin = client.find_destination_named(props["name"])
            if twin is not None:
                raise StitchDestinationError(
                    f"Stitch already has a destination named {props['name']!r} (id {twin.get('id')}): adopt it with "
                    f"pulumi config set stitch_destination_id {twin.get('id')}, or set another stitch_destination_name"
                )
            answer = client.create_destination(props["name"], props["properties"])
            destination_id = str(answer["id"])
        try:
            outs = _settle(client, destination_id, answer, props)
        except (StitchDestinationError, StitchApiError) as error:
            raise StitchDestinationError(f"{error}\n{_undo_create(client, destination_id, adopted=bool(adopt_id))}") from None
        return CreateResult(id_=destination_id, outs=outs)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in (*STITCH_SIDE, *OUR_SIDE) if olds.get(key) != news.get(key)]
        # A check that failed since (seen on refresh) is worth a new PUT and check, too.
        if olds.get("connection_check") not in (None, "succeeded"):
            changed.append("connection_check")
        replaces = []
        new_adopt = news.get("adopt_id") or ""
        if new_adopt != (olds.get("adopt_id") or "") and new_adopt != id_:
            # Another destination to manage: adopt it, then let go of this one.
            replaces.append("adopt_id")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, stables=[], delete_before_replace=False)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        stitch_side_changed = any(olds.get(key) != news.get(key) for key in STITCH_SIDE)
        if not stitch_side_changed and olds.get("connection_check") in (None, "succeeded"):
            return UpdateResult(outs={**news, **_kept(olds)})
        client = client_for(news)
        answer = client.update_destination(id_, news["name"], news["properties"])
        try:
            outs = _settle(client, id_, answer, news)
        except StitchDestinationError as error:
            raise StitchDestinationError(
                f"{error}\nDestination {id_} has the new settings; the stack keeps the old state, so the next pulumi up tries again."
            ) from None
        return UpdateResult(outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What Stitch holds now. Gone: an empty id, so refresh drops it and `up` creates it again.
        Stitch never shows the password, so a password typed into its UI cannot be seen here."""
        client = client_for(props)
        found = client.find_destination(id_)
        if found is None:
            log.info("destination %s is gone from Stitch", id_)
            return ReadResult(id_="", outs={})
        ours = dict(props.get("properties") or {})
        seen = found.get("properties") or {}
        properties = {key: _as_property(seen[key]) if key in seen and key != "password" else value for key, value in ours.items()}
        check = client.last_connection_check(id_)
        outs = {
            **props,
            "name": found.get("name", props.get("name")),
            "properties": properties,
            "destination_id": str(id_),
            "connection_check": check.status,
            "report_card_step": _step(found),
        }
        return ReadResult(id_=id_, outs=outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("keep_on_delete"):
            log.info("destination %s stays in Stitch (stitch_keep_destination)", id_)
            return
        if not client_for(props).delete_destination(id_):
            log.info("destination %s was already gone from Stitch", id_)


def client_for(props: dict[str, Any]) -> StitchClient:
    """A client that also keeps the database password out of any message."""
    password = (props.get("properties") or {}).get("password", "")
    return StitchClient(props["access_token"], base_url=props["api_url"], secrets=[password])


def _undo_create(client: StitchClient, destination_id: str, *, adopted: bool) -> str:
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
            f"or adopt it with pulumi config set stitch_destination_id {destination_id}."
        )
    return f"Destination {destination_id} was removed again; fix the cause and run pulumi up."


def _settle(client: StitchClient, destination_id: str, answer: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Wait for Stitch's connection check of this change; the outputs when it passed."""
    check = client.wait_for_connection_check(
        destination_id,
        job_name=answer.get("check_job_name"),
        timeout=float(props["check_timeout"]),
        poll_seconds=float(props["poll_seconds"]),
    )
    if check.status != "succeeded":
        raise StitchDestinationError(_check_failed(destination_id, check, props))
    found = client.find_destination(destination_id) or answer
    step = _step(found)
    if step != FULLY_CONFIGURED:
        raise StitchDestinationError(
            f"Stitch's connection check of destination {destination_id} passed, but its report card is at step {step!r}, "
            f"not {FULLY_CONFIGURED!r}: open the destination in Stitch to finish that step"
        )
    return {**props, "destination_id": destination_id, "connection_check": check.status, "report_card_step": step}


def _check_failed(destination_id: str, check: ConnectionCheck, props: dict[str, Any]) -> str:
    """Stitch's verdict and our own checks of the same settings, side by side."""
    if check.status == "running":
        head = (
            f"Stitch's connection check of destination {destination_id} was still running after {float(props['check_timeout']):g} s: "
            "raise stitch_check_timeout, or look at the destination in Stitch"
        )
    else:
        head = f"Stitch's connection check of destination {destination_id} failed: {check.error}"
    settings = ConnectionSettings.from_stitch_properties(props["properties"])
    report = verify(settings, connect_timeout=int(props["connect_timeout"]))
    where = "Our own checks of the same settings, from where pulumi runs"
    hint = ""
    if report.ready:
        hint = "\nOur checks pass, so look at what differs for Stitch: its network path to the database, or Stitch's message above."
    return f"{head}\n{where}:\n{report.render()}{hint}"


def _require_what_stitch_asks_for(client: StitchClient, properties: dict[str, str]) -> None:
    card = client.destination_type(DESTINATION_TYPE)
    required = {
        prop["name"]
        for step in card.get("steps") or []
        for prop in step.get("properties") or []
        if prop.get("is_required") and not prop.get("system_provided")
    }
    missing = sorted(required - properties.keys())
    if missing:
        raise StitchDestinationError(
            f"Stitch's {DESTINATION_TYPE} destination now requires {', '.join(missing)}, which stitch-heroku does not set: "
            "upgrade stitch-heroku, or register the destination by hand for now"
        )


def _kept(olds: dict[str, Any]) -> dict[str, Any]:
    return {key: olds[key] for key in ("destination_id", "connection_check", "report_card_step") if key in olds}


def _step(destination: dict[str, Any]) -> str | None:
    return (destination.get("report_card") or {}).get("current_step_type")


def _as_property(value: Any) -> str:
    """Stitch's answer may carry numbers and booleans; our properties are strings ("5432", "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ids(client: StitchClient) -> str:
    ids = [str(d.get("id")) for d in client.list_destinations()]
    return "destinations " + ", ".join(ids) if ids else "no destinations"


@dataclass
class StitchDestinationArgs:
    access_token: pulumi.Input[str]
    """The Connect API token; secret."""
    name: str
    """The destination's name in Stitch."""
    properties: pulumi.Input[dict[str, str]]
    """The postgres form's fields, as ConnectionSettings.stitch_destination() gives them; secret."""
    adopt_id: str | None
    """An existing destination to take over instead of creating one."""
    keep_on_delete: bool
    """Leave the destination in Stitch when the stack lets go of it."""
    check_timeout: int
    """Seconds to wait for Stitch's connection check."""
    connect_timeout: int
    """Seconds one of our own connection attempts may take, for the report on failure."""
    api_url: str
    """Base URL of the Connect API."""
    poll_seconds: float = 5.0
    """Seconds between two looks at the connection check."""


class StitchDestination(pulumi.dynamic.Resource, module="stitch", name="Destination"):
    """The PostgreSQL destination in Stitch, with the stack's settings and a passed connection check."""

    destination_id: pulumi.Output[str]
    connection_check: pulumi.Output[str]

    def __init__(self, name: str, args: StitchDestinationArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "access_token": pulumi.Output.secret(args.access_token),
            "api_url": args.api_url,
            "name": args.name,
            "properties": pulumi.Output.secret(args.properties),
            "adopt_id": args.adopt_id or "",
            "keep_on_delete": args.keep_on_delete,
            "check_timeout": args.check_timeout,
            "poll_seconds": args.poll_seconds,
            "connect_timeout": args.connect_timeout,
            "destination_id": None,
            "connection_check": None,
            "report_card_step": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_PROPS))
        super().__init__(StitchDestinationProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
