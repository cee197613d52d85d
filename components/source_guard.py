"""Guards that refuse, before any step, a run that would make Pulumi delete or forget what this stack manages.

SourceGuard: a change of `source` that would make Pulumi delete the Heroku database this stack created.
DestinationGuard: a run without the Stitch token on a stack that manages a Stitch destination.
DestroyGuard: a `pulumi destroy` of a protected stack, which would otherwise delete everything unprotected
(the Stitch destination, the grant's record...) before failing on the protected database.

With `source: heroku` the stack owns the app and its Postgres add-on. Switching to `heroku-existing` or
`url` drops them from the program, and Pulumi then deletes them (or, on a protected stack, fails with an
opaque "resource is protected"). The guard remembers the source in Pulumi's state; its `check`, which the
engine runs in preview and before any step of `up`, sees the switch and stops the run with what would
happen and the exact commands for either way out. The update fails before the program finishes, and
Pulumi never deletes anything from a run that failed.

The Stitch destination is declared only when the token is there. Whether the stack manages one is
therefore a decision the DestinationGuard records; it is declared first in the program, with inputs
known from the config alone, so its check fails before the engine has taken any step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult


def switch_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why this change of source is refused, with the way out; None when nothing would be deleted."""
    if olds.get("source") != "heroku" or news.get("source") == "heroku":
        return None
    app, app_urn = olds.get("app_name") or "the app", olds.get("app_urn") or "<the app's URN: pulumi stack --show-urns>"
    return (
        f'source: this stack created the Heroku app "{app}" and its Postgres database (source heroku). With source '
        f'"{news.get("source")}" the next `pulumi up` would delete them, database included (a protected stack would fail '
        "on protect instead). Nothing was changed. To keep the app and the database and let this stack forget them, run\n"
        f"    pulumi state delete --force --target-dependents '{app_urn}'\n"
        "then `pulumi up` again: the grant and the verification are made again from the new source, and a Stitch destination "
        "is found by its name and the adopt command printed. To delete the app and the database on purpose instead: "
        "pulumi config set source heroku, then pulumi destroy, then switch."
    )


MANAGED, RELEASED, NONE = "managed", "released", "none"
"""What a run does with the Stitch destination: manages it (token set, `stitch_destination: managed`),
releases it (`stitch_destination: released`), or has none (no token)."""


def token_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why a run without the Stitch token is refused, with both ways out; None when nothing would be lost."""
    if olds.get("stitch_destination") != MANAGED or news.get("stitch_destination") != NONE:
        return None
    name = olds.get("destination_name") or "its destination"
    return (
        f'stitch:accessToken: this stack manages the Stitch destination "{name}", and this run has no Stitch token. '
        "Without it `pulumi up` would drop the destination from the stack (a dev stack would delete it in Stitch). "
        "Nothing was changed. Either provide the token: pulumi config set --secret stitch:accessToken (it asks for it), "
        "or export STITCH_ACCESS_TOKEN=<token>; or let go of the destination on purpose, leaving it in Stitch as it is: "
        "pulumi config set stitch_destination released, then pulumi up (no token needed)."
    )


def destroy_refusal(props: dict[str, Any]) -> str | None:
    """Why deleting the DestroyGuard (the first step of `pulumi destroy`) is refused; None on an unprotected stack."""
    if not props.get("protect"):
        return None
    app = props.get("app_name") or "the app"
    return (
        f'this stack is protected (protect: true): pulumi destroy deleted nothing, neither the Heroku app "{app}" and its '
        "database nor the Stitch destination, and the state is unchanged. To delete them all on purpose: "
        "pulumi config set protect false, then pulumi up (it only lifts the protection), then pulumi destroy."
    )


class GuardRefusal(Exception):
    """A guard refused the step; the message says what would have happened and the way out."""


REFUSALS = (("source", switch_refusal), ("stitch_destination", token_refusal))
"""Each guard's props hold only its own keys, so each refusal answers None for the other guard."""


class SourceGuardProvider(ResourceProvider):
    """Only state: nothing outside Pulumi is read, created or deleted. Serves both guards."""

    def check(self, olds: Any, news: Any) -> CheckResult:
        olds, news = dict(olds or {}), dict(news or {})
        failures = [CheckFailure(key, refusal) for key, refuse in REFUSALS if (refusal := refuse(olds, news))]
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        refusal = destroy_refusal(props)
        if refusal:
            raise GuardRefusal(refusal)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != news.get(key) for key in (set(olds) | set(news)) - {"__provider"})
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


@dataclass
class SourceGuardArgs:
    source: str
    """The stack's `source` this run."""
    app_name: pulumi.Input[str] | None = None
    """The Heroku app the stack created (source heroku)."""
    app: pulumi.Resource | None = None
    """The created app: its URN goes into the way-out command, and `--target-dependents` then takes the guard too."""
    owned: list[pulumi.Resource] = field(default_factory=list)
    """Everything the stack created on Heroku; the guard depends on it."""


class SourceGuard(pulumi.dynamic.Resource, module="stitch", name="SourceGuard"):
    """Remembers the source; refuses a switch that would delete a database this stack created."""

    def __init__(self, name: str, args: SourceGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "source": args.source,
            "app_name": args.app_name,
            "app_urn": args.app.urn if args.app is not None else None,
        }
        owned = pulumi.ResourceOptions(depends_on=list(args.owned))
        super().__init__(SourceGuardProvider(), name, props, pulumi.ResourceOptions.merge(opts, owned))


@dataclass
class DestinationGuardArgs:
    stitch_destination: str
    """This run: managed, released or none (see MANAGED, RELEASED, NONE)."""
    destination_name: str | None = None
    """The managed destination's name, for the message of a later run without the token."""


class DestinationGuard(pulumi.dynamic.Resource, module="stitch", name="DestinationGuard"):
    """Remembers whether the stack manages a Stitch destination; refuses a run that would lose it for want of a token.

    Declare it before anything else, with nothing but config in its inputs: its check then runs before any step."""

    def __init__(self, name: str, args: DestinationGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"stitch_destination": args.stitch_destination, "destination_name": args.destination_name}
        super().__init__(SourceGuardProvider(), name, props, opts)


@dataclass
class DestroyGuardArgs:
    protect: bool
    """The stack's `protect` (source heroku): `pulumi destroy` then deletes nothing."""
    app_name: pulumi.Input[str] | None = None
    """The Heroku app, for the message."""
    everything: list[pulumi.Resource] = field(default_factory=list)
    """Every other resource of the stack: the guard depends on them all, so destroy must delete it first."""


class DestroyGuard(pulumi.dynamic.Resource, module="stitch", name="DestroyGuard"):
    """Makes `pulumi destroy` of a protected stack all or nothing.

    `protect` on the app and the add-on alone lets destroy delete everything that depends on them first
    (the Stitch destination, the grant, the verification) and fail only at the database. This guard depends
    on every resource, so the engine must delete it before any of them; on a protected stack its delete
    fails, and the engine starts no other step. Protecting every resource instead would also block the
    replacements a grant or a destination may need on a credential change."""

    def __init__(self, name: str, args: DestroyGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"protect": args.protect, "app_name": args.app_name}
        last = pulumi.ResourceOptions(depends_on=list(args.everything))
        super().__init__(SourceGuardProvider(), name, props, pulumi.ResourceOptions.merge(opts, last))
