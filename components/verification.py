"""The post-deploy verification as a resource, so `pulumi up` fails when Stitch would.

A Pulumi dynamic provider runs the checks of components.checks after the Grant: on create, when
the connection settings change (Heroku rotated the credentials), and on every `up` when the stack
asks for it. Its `report` holds no secret and becomes the stack output `verification`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from . import capacity as cap
from .checks import Expectation, verify
from .config import caller_project, terms_of
from .connection import connect_as, parse_database_url
from .provider_failure import fail_with

# Inputs whose change means "check again"; the report is an output only.
WATCHED_INPUTS = ("database_url", "connect_timeout", "run_token", "stitch_credential", "owner_reason", "capacity_limits")
# The one input meant to change on every run (verify_on_every_up): its change alone is no drift.
PER_RUN = "run_token"
# Set by check(): whether the Stitch credential's URL differs from the last run's. The URL is secret, so
# the engine's events show it masked; this one plain bit lets the reconcile tell a rotation from a re-run.
URL_CHANGED = "url_changed"


class VerificationFailed(Exception):
    """Stitch would fail with these settings: the message is the checklist, without secrets."""


def kept_samples(outputs: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The capacity measurements an earlier run kept in the report (components/capacity.py next_samples)."""
    return cap.earlier((outputs or {}).get("report"))[1]


def run_verification(inputs: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the database and return the outputs; raise VerificationFailed when it is not ready.

    previous: the outputs of the last run, whose capacity measurements give the growth rate."""
    settings = parse_database_url(inputs["database_url"], name="the Stitch credential's URL")
    expected = Expectation.of(inputs)
    report = verify(
        settings,
        connect_timeout=int(inputs["connect_timeout"]),
        wait_seconds=float(inputs["wait_seconds"]),
        source=inputs.get("source"),
        credential=expected.credential,
        owner_reason=expected.owner_reason,
        limits=cap.CapacityLimits.from_props(inputs.get("capacity_limits")),
        samples=kept_samples(previous),
        terms=terms_of(inputs),
    )
    if not report.ready:
        fail_with(VerificationFailed(report.render()))  # the checklist alone, no traceback (provider_failure)
    return {**inputs, "report": report.to_dict()}


def rerun_only(old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]) -> bool:
    """Whether an update of the Verification is only verify_on_every_up's intended re-run: its run_token
    changed, the URL did not (check() says so) and no other watched input did."""
    if new_inputs.get(URL_CHANGED) is not False or old_inputs.get(PER_RUN) == new_inputs.get(PER_RUN):
        return False
    return all(old_inputs.get(key) == new_inputs.get(key) for key in WATCHED_INPUTS if key not in ("database_url", PER_RUN))


class VerificationProvider(ResourceProvider):
    """CRUD for the verification; nothing outside Pulumi's state is created or deleted."""

    def check(self, olds: Any, news: Any) -> CheckResult:
        olds, news = dict(olds or {}), dict(news or {})
        urls = [rpc.unwrap_rpc_secret(inputs.get("database_url")) for inputs in (olds, news)]
        if olds and all(isinstance(url, str) and url != rpc.UNKNOWN for url in urls):
            news[URL_CHANGED] = urls[0] != urls[1]
        else:  # a create, or a URL not known yet in a preview: no claim either way
            news.pop(URL_CHANGED, None)
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=run_verification(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in WATCHED_INPUTS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=run_verification(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """On refresh (the reconcile's, every hour): measure the database's size and keep it for the growth rate.

        Only the kept measurements change, and only once an hour has passed since the newest (next_samples): a
        refresh is not a change of the stack, so the reconcile reports no heal for it. Anything that goes wrong
        keeps the state as it is."""
        report = props.get("report")
        if not isinstance(report, dict) or not isinstance(report.get("capacity"), dict):
            return ReadResult(id_=id_, outs=props)
        try:
            with connect_as(str(props["database_url"]), connect_timeout=int(props.get("connect_timeout") or 10),
                            application_name="stitch-heroku-capacity") as conn:  # fmt: skip
                usage = cap.measure(conn)
        except Exception:  # a refresh must never fail for a measurement: the verification says what is wrong
            return ReadResult(id_=id_, outs=props)
        samples = cap.next_samples(kept_samples(props), usage.used_bytes, cap.utc_now())
        capacity = {**report["capacity"], "samples": samples}
        return ReadResult(id_=id_, outs={**props, "report": {**report, "capacity": capacity}})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: every check ran in a transaction that was rolled back."""


@dataclass
class VerificationArgs:
    database_url: pulumi.Input[str]
    """URL of the credential Stitch will use; secret."""
    connect_timeout: int
    """Seconds one connection attempt may take."""
    wait_seconds: int
    """How long to keep retrying while a new database does not answer yet."""
    every_up: bool = False
    """Check on every `pulumi up`, not only when the settings change."""
    source: str | None = None
    """The stack's `source`, so a refused password's fix names the right command."""
    stitch_credential: str | None = None
    """`dedicated`, `owner`, or None for the user's own: how strict the least-privilege check is."""
    owner_reason: str | None = None
    """Why Stitch uses the owner's credential, shown in the least-privilege warn."""
    capacity_limits: dict[str, Any] | None = None
    """The storage and table limits of the capacity check (components/capacity.py CapacityLimits.to_props)."""


class Verification(pulumi.dynamic.Resource, module="stitch", name="Verification"):
    """Fails the update with the checklist when Stitch would not connect or load."""

    report: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, args: VerificationArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "database_url": pulumi.Output.secret(args.database_url),
            "connect_timeout": args.connect_timeout,
            "wait_seconds": args.wait_seconds,
            "source": args.source,
            "stitch_credential": args.stitch_credential,
            "owner_reason": args.owner_reason,
            "capacity_limits": args.capacity_limits,
            **caller_project(),  # for the fixes' words only: not a WATCHED_INPUT
            # A new token on every run makes the diff see a change, so the checks run again.
            "run_token": uuid.uuid4().hex if args.every_up else "",
            "report": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["database_url"])
        super().__init__(VerificationProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
