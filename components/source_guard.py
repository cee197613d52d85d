"""Refuse a change of `source` that would make Pulumi delete the Heroku database this stack created.

With `source: heroku` the stack owns the app and its Postgres add-on. Switching to `heroku-existing` or
`url` drops them from the program, and Pulumi then deletes them (or, on a protected stack, fails with an
opaque "resource is protected"). The guard remembers the source in Pulumi's state; its `check`, which the
engine runs in preview and before any step of `up`, sees the switch and stops the run with what would
happen and the exact commands for either way out. The update fails before the program finishes, and
Pulumi never deletes anything from a run that failed.
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


class SourceGuardProvider(ResourceProvider):
    """Only state: nothing outside Pulumi is read, created or deleted."""

    def check(self, olds: Any, news: Any) -> CheckResult:
        refusal = switch_refusal(dict(olds or {}), dict(news or {}))
        return CheckResult(news, [CheckFailure("source", refusal)] if refusal else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != news.get(key) for key in ("source", "app_name", "app_urn"))
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
