"""Guards that refuse, before any step, a run that would make Pulumi delete or forget what this stack manages.

SourceGuard: a change of `source` that would make Pulumi delete the Heroku database this stack created.
DestinationGuard: a run without the Stitch token on a stack that manages a Stitch destination.
DestroyGuard: a `pulumi destroy` of a protected stack, which would otherwise delete everything unprotected
(the Stitch destination, the grant's record...) before failing on the protected database.
The SourceGuard also refuses a change of Stitch's credential that the owner cannot carry out (below).

With `source: heroku` the stack owns the app and its Postgres add-on. Switching to `heroku-existing` or
`url` drops them from the program, and Pulumi then deletes them (or, on a protected stack, fails with an
opaque "resource is protected"). The guard remembers the source in Pulumi's state; its `check`, which the
engine runs in preview and before any step of `up`, sees the switch and stops the run with what would
happen and the exact commands for either way out. The update fails before the program finishes, and
Pulumi never deletes anything from a run that failed.

It also remembers which credential Stitch used (`stitch_credential`: dedicated, owner, or own for a URL the
user named) and the role. When Stitch is to get a role of its own, check() asks the server, as the owner and
read-only, whether the owner may create roles, whether a role of that name exists already (not made by this
stack), and whether the owner can act for the role Stitch loaded as before; if not, the run stops before any
change, with the ways out. A stack made before this setting existed used the owner's credential (unless it
named its own): its switch to `dedicated` is carried out by components/stitch_role.py's handover. On
Heroku no handover is possible, so a Heroku stack whose Stitch already loaded as the owner stops instead.

The Stitch destination is declared only when the token is there. Whether the stack manages one is
therefore a decision the DestinationGuard records; it is declared first in the program, with inputs
known from the config alone, so its check fails before the engine has taken any step.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import psycopg
import pulumi
from psycopg.rows import dict_row
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from . import postgres_sql as pg
from .config import CALLER_PROJECT, STITCH_TOKEN_KEY, caller_project, terms_of
from .connection import InvalidDatabaseUrl, connect_as, parse_database_url
from .provider_failure import fail_with
from .stitch_role import stitch_schemas, this_stacks_marker
from .up_command import pulumi_up

if TYPE_CHECKING:
    from .config import StackConfig


def switch_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why this change of source is refused, with the way out; None when nothing would be deleted."""
    if olds.get("source") != "heroku" or news.get("source") == "heroku":
        return None
    app, app_urn = olds.get("app_name") or "the app", olds.get("app_urn") or "<the app's URN: pulumi stack --show-urns>"
    terms = terms_of(news)
    return (
        f'source: this stack created the Heroku app "{app}" and its Postgres database (source heroku). With source '
        f'"{news.get("source")}" the next `pulumi up` would delete them, database included (a protected stack would fail '
        "on protect instead). Nothing was changed. To keep the app and the database and let this stack forget them, run\n"
        f"    pulumi state delete --force --target-dependents '{app_urn}'\n"
        f"then {pulumi_up()} again: the grant and the verification are made again from the new source, and a Stitch "
        "destination is found by its name and the adopt command printed. To delete the app and the database on purpose "
        f"instead: {terms.set('source', 'heroku')}, then pulumi destroy, then switch."
    )


GUARD_SESSION = "stitch-heroku-guard"

CONNECTIONS = (("owner_url", "owner_key"), ("stitch_url", "stitch_key"))
"""The URLs a guard tries before any step, each with the setting that gave it (the message names that key)."""

Connect = Callable[[str, int], str | None]


def connect_problem(url: str, connect_timeout: int) -> str | None:
    """The server's (libpq's) words when a connection with `url` fails; None when it connects."""
    try:
        with connect_as(url, connect_timeout=connect_timeout, application_name=GUARD_SESSION):
            return None
    except (psycopg.Error, OSError) as error:
        return str(error)


def connection_refusal(news: dict[str, Any], connect: Connect = connect_problem) -> str | None:
    """Why a URL this run would use cannot be right: a wrong user or password, a host that does not resolve, a
    database that does not exist, a server without SSL. Asked in check(), which the engine runs in preview and
    before any step of `up`, so the run stops before anything is made (issue 26, item 7) instead of failing half-way
    with the provider's words. Only URLs known now are tried (a Heroku database made in this run is not); a server
    that does not answer yet is left to the verification, which waits for it (verify_timeout)."""
    timeout = int(news.get("connect_timeout") or 10)
    for url_key, key_key in CONNECTIONS:
        url, key = rpc.unwrap_rpc_secret(news.get(url_key)), news.get(key_key)
        if not isinstance(url, str) or url == rpc.UNKNOWN or not isinstance(key, str):
            continue
        try:
            where = parse_database_url(url, name=key)
        except InvalidDatabaseUrl:
            continue  # the config's own validation names a malformed URL
        problem = connect(url, timeout)
        part = problem and pg.wrong_part(problem, user=where.username, host=where.host, database=where.database)
        typed = key in TYPED_KEYS  # a URL the user typed; Heroku's own may not resolve yet for a new database
        if problem and part and (typed or not pg.is_not_resolved(problem)):
            target = f"{where.host}:{where.port}"
            source = news.get("source") or ("url" if typed else None)
            fix = pg.connect_error_fix(
                problem,
                target,
                host=where.host,
                role=where.username,
                database=where.database,
                source=source,
                terms=terms_of(news),
            )
            return f"{key}: {part} ({where.username}@{target}/{where.database}). Nothing was changed. {fix}"
    return None


TYPED_KEYS = ("database_url", "stitch_url")


@dataclass(frozen=True)
class Probe:
    """The URLs a guard tries in check() (connection_refusal), each with the setting that gave it."""

    owner_url: pulumi.Input[str] | None = None
    owner_key: str | None = None
    stitch_url: pulumi.Input[str] | None = None
    stitch_key: str | None = None
    connect_timeout: int = 10

    def props(self) -> dict[str, Any]:
        """The guard's inputs for it; the URLs secret."""

        def secret(url: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
            return pulumi.Output.secret(url) if url is not None else None

        return {
            "owner_url": secret(self.owner_url), "owner_key": self.owner_key, "stitch_url": secret(self.stitch_url),
            "stitch_key": self.stitch_key, "connect_timeout": self.connect_timeout,
        }  # fmt: skip


def _keys(cfg: StackConfig) -> tuple[str, str | None]:
    """The settings that give the owner's URL and the user's own Stitch URL, as the messages name them."""
    owner = {"url": "database_url", "heroku-existing": "database_config_var"}.get(cfg.source, "DATABASE_URL (the add-on's config var)")
    return owner, "stitch_url" if cfg.stitch_url else "stitch_config_var" if cfg.stitch_config_var else None


def typed_probe(cfg: StackConfig) -> Probe | None:
    """Source url: the URLs the config gives, for the first guard's check (before any step); else None."""
    if cfg.source != "url":
        return None
    owner_key, stitch_key = _keys(cfg)
    return Probe(cfg.database_url, owner_key, cfg.stitch_url if stitch_key else None, stitch_key, cfg.connect_timeout)


def live_probe(cfg: StackConfig, stitch_url: pulumi.Input[str] | None) -> Probe:
    """Heroku sources: the keys of the URLs read from Heroku (the source guard has the owner's), for its check;
    source url: none, the first guard tried them."""
    if cfg.source == "url":
        return Probe()
    owner_key, stitch_key = _keys(cfg)
    return Probe(owner_key=owner_key, stitch_url=stitch_url if stitch_key else None, stitch_key=stitch_key)


OwnerFacts = Callable[[str, str, str | None, int], dict[str, Any] | None]


def ask_as_owner(owner_url: str, connect_timeout: int, query: Any, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """One read-only row, asked with the stack's owner URL; None when the server cannot be asked now."""
    try:
        with connect_as(owner_url, connect_timeout=connect_timeout, application_name=GUARD_SESSION) as conn:
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchone()
    except (psycopg.Error, OSError, ValueError):
        return None  # the verification reports a database it cannot reach, with the server's words


def owner_facts(owner_url: str, role: str, previous: str | None, connect_timeout: int) -> dict[str, Any] | None:
    """What the owner may do about Stitch's role, read-only; None when the server cannot be asked now."""
    return ask_as_owner(owner_url, connect_timeout, pg.OWNER_FACTS_QUERY, {"role": role, "previous": previous})


LoginFacts = Callable[[str, int], dict[str, Any] | None]


def login_facts(owner_url: str, connect_timeout: int) -> dict[str, Any] | None:
    """Who the stack's login is next to its database's owner, read-only."""
    return ask_as_owner(owner_url, connect_timeout, pg.LOGIN_OWNERSHIP_QUERY)


def ownership_refusal(news: dict[str, Any], facts: LoginFacts = login_facts) -> str | None:
    """Why the stack's login (database_url, or the heroku-existing config var) may not grant on its database:
    it neither owns it nor acts for its owner. Asked before any step, so nothing (no role) is made half-way."""
    owner_url = rpc.unwrap_rpc_secret(news.get("owner_url"))
    if not isinstance(owner_url, str) or owner_url == rpc.UNKNOWN:
        return None  # a Heroku database not made yet: its default credential owns it
    found = facts(owner_url, int(news.get("connect_timeout") or 10))
    if found is None or found["acts_as_owner"]:
        return None
    key = "database_config_var" if news.get("source") == "heroku-existing" else "database_url"
    return pg.not_owner_fix(key, str(found["login"]), str(found["database_owner"]), str(found["database"]), terms_of(news))


def credential_refusal(olds: dict[str, Any], news: dict[str, Any], facts: OwnerFacts = owner_facts) -> str | None:
    """Why Stitch cannot get its own role on this run, with the ways out; None when it can (or nothing changes).

    Source url only: there the owner makes the role. On Heroku, Heroku makes the credential (pg:credentials).
    """
    if news.get("stitch_credential") != "dedicated" or news.get("source") != "url":
        return None
    owner_url, role = rpc.unwrap_rpc_secret(news.get("owner_url")), news.get("stitch_role")
    if not isinstance(owner_url, str) or owner_url == rpc.UNKNOWN or not isinstance(role, str) or role == rpc.UNKNOWN:
        return None  # known only during the update (a Heroku database not made yet): the provider's error then says it
    made_here = olds.get("stitch_credential") == "dedicated" and olds.get("stitch_role") == role
    previous = olds.get("stitch_role") if olds.get("stitch_credential") == "own" else None
    found = facts(owner_url, role, previous, int(news.get("connect_timeout") or 10))
    if found is None:
        return None
    owner, terms = pg.quote_identifier(str(found["owner"])), terms_of(news)
    # current_user is the owner only when it says so (ownership_refusal has stopped a login that cannot act for it).
    owner_words = (
        f"the database owner {owner}"
        if found["owner"] == found["database_owner"]
        else (f"the stack's login {owner} (acting for the database owner {pg.quote_identifier(str(found['database_owner']))})")
    )
    if not found["may_create_roles"] and not made_here:
        return (
            f"stitch_credential: Stitch is to get a role of its own ({role}), but {owner_words} may not "
            "create roles (it has neither CREATEROLE nor SUPERUSER). Nothing was changed. Either let the owner create "
            f"roles (as a superuser: ALTER ROLE {owner} CREATEROLE;), or keep Stitch on the owner's credential "
            f"({terms.set('stitch_credential', 'owner')}), or give Stitch a role made by hand with CONNECT, CREATE and "
            f"TEMPORARY on the database ({terms.set('stitch_url', secret=True)})."
        )
    # A role this stack made and its destroy kept says so in its comment (components/stitch_role.py): taken back.
    kept_here = bool(news.get("kept_role_marker")) and found.get("role_comment") == news.get("kept_role_marker")
    if found["role_exists"] and not made_here and not kept_here:
        return f"stitch_role_name: {pg.role_exists_fix(role, terms)}. Nothing was changed."
    if found["previous_out_of_reach"]:
        old = pg.quote_identifier(str(previous))
        return (
            f"stitch_credential: Stitch loaded as {old} (stitch_url) and its schemas belong to that role; "
            f"{owner_words} cannot act for it, so it cannot give them to the new role {role} and Stitch would be locked out "
            f"of its own tables. Nothing was changed. Either keep {old} ({terms.set('stitch_url', secret=True)}), or "
            f"as a superuser run GRANT {old} TO {owner}; and {pulumi_up()} again: Stitch's schemas (those whose tables "
            f"have _sdc_ columns) are then given to {role}."
        )
    return None


SchemasOf = Callable[[str, int], list[str] | None]


def owner_era_schemas(owner_url: str, connect_timeout: int) -> list[str] | None:
    """Stitch's schemas (every table has `_sdc_` columns) the owner may act for, read-only; None when the
    server cannot be asked now."""
    try:
        with connect_as(owner_url, connect_timeout=connect_timeout, application_name=GUARD_SESSION) as conn:
            # No role is excluded: every Stitch schema the owner's side holds counts.
            return [schema for schema, _tables in stitch_schemas(conn, "")]
    except (psycopg.Error, OSError, ValueError):
        return None


def heroku_credential_refusal(olds: dict[str, Any], news: dict[str, Any], schemas: SchemasOf = owner_era_schemas) -> str | None:
    """Why an existing Heroku stack may not move Stitch from the owner's credential to one of its own now.

    Stitch's schemas and tables belong to the role that loaded them. On Heroku the owner is no member of
    another credential's role, so unlike source url (components/stitch_role.py's handover) it cannot give
    them away with ALTER ... OWNER TO, and Stitch, on the new credential, would be locked out of every
    table it loads into. A new stack, or one whose Stitch already had its own credential, has nothing to move.
    """
    if news.get("source") not in ("heroku", "heroku-existing") or news.get("stitch_credential") != "dedicated":
        return None
    if not olds.get("source") or olds.get("stitch_credential") in ("dedicated", "own"):
        return None
    owner_url = rpc.unwrap_rpc_secret(news.get("owner_url"))
    if not isinstance(owner_url, str) or owner_url == rpc.UNKNOWN:
        return None
    found = schemas(owner_url, int(news.get("connect_timeout") or 10))
    if not found:
        return None
    return (
        "stitch_credential: this stack now gives Stitch a Heroku credential of its own (dedicated, the default on "
        f"standard-0 and up), but Stitch has been loading as the database owner, whose role owns Stitch's schemas "
        f"({', '.join(found)}). On Heroku the owner cannot hand them to another credential's role, so Stitch would "
        "be locked out of its own tables. Nothing was changed. Keep Stitch on the owner's credential: "
        f"{terms_of(news).set('stitch_credential', 'owner')} (the verification warns). Or start Stitch afresh on its own "
        "credential on purpose: drop or rename those schemas as the owner, reset the integrations in Stitch so they "
        f"load their history again, then {pulumi_up()}."
    )


MANAGED, RELEASED, NONE = "managed", "released", "none"
"""What a run does with the Stitch destination: manages it (token set, `stitch_destination: managed`),
releases it (`stitch_destination: released`), or has none (no token)."""


def token_refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why a run without the Stitch token is refused, with both ways out; None when nothing would be lost."""
    if olds.get("stitch_destination") != MANAGED or news.get("stitch_destination") != NONE:
        return None
    name, terms = olds.get("destination_name") or "its destination", terms_of(news)
    return (
        f'stitch:accessToken: this stack manages the Stitch destination "{name}", and this run has no Stitch token. '
        "Without it `pulumi up` would drop the destination from the stack (a dev stack would delete it in Stitch). "
        f"Nothing was changed. Either provide the token: {terms.set(STITCH_TOKEN_KEY, secret=True)}, "
        "or export STITCH_ACCESS_TOKEN=<token>; or let go of the destination on purpose, leaving it in Stitch as it is: "
        f"{terms.set('stitch_destination', 'released')}, then {pulumi_up()} (no token needed)."
    )


def destroy_refusal(props: dict[str, Any]) -> str | None:
    """Why deleting the DestroyGuard (the first step of `pulumi destroy`) is refused; None on an unprotected stack."""
    if not props.get("protect"):
        return None
    app = props.get("app_name") or "the app"
    return (
        f'this stack is protected (protect: true): pulumi destroy deleted nothing, neither the Heroku app "{app}" and its '
        "database nor the Stitch destination, and the state is unchanged. To delete them all on purpose: "
        f"{terms_of(props).set('protect', 'false')}, then {pulumi_up()} (it only lifts the protection), then pulumi destroy."
    )


class GuardRefusal(Exception):
    """A guard refused the step; the message says what would have happened and the way out."""


def credential_refusals(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """A source switch is refused first: a credential question then does not arise. Then whether the login may
    grant at all, before what it may do about Stitch's role (whose messages may then call it the owner)."""
    if switch_refusal(olds, news):
        return None
    return (
        connection_refusal(news) or ownership_refusal(news) or credential_refusal(olds, news)
        or heroku_credential_refusal(olds, news)
    )  # fmt: skip


REFUSALS = (("source", switch_refusal), ("stitch_destination", token_refusal))
"""Each guard's props hold only its own keys, so each refusal answers None for the other guard."""


QUESTIONS = {"__provider", "connect_timeout", "kept_role_marker", CALLER_PROJECT, *(key for pair in CONNECTIONS for key in pair)}
"""What a guard is given only to ask the server, never to remember: no change of it is a change of the guard."""


class SourceGuardProvider(ResourceProvider):
    """State, and read-only questions to the server as the owner: nothing outside Pulumi is created or deleted.
    Serves every guard."""

    def check(self, olds: Any, news: Any) -> CheckResult:
        olds, news = dict(olds or {}), dict(news or {})
        failures = [CheckFailure(key, refusal) for key, refuse in REFUSALS if (refusal := refuse(olds, news))]
        credential = credential_refusals(olds, news)
        if credential:  # the message starts with the setting to change (database_url, stitch_credential, stitch_role_name...)
            failures.append(CheckFailure(credential.partition(":")[0], credential))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        refusal = destroy_refusal(props)
        if refusal:
            fail_with(GuardRefusal(refusal))  # the refusal alone, no traceback (provider_failure)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # The URLs (and the keys naming them) are questions for check(), not records: a rotated password alone
        # changes nothing here.
        changed = any(olds.get(key) != news.get(key) for key in (set(olds) | set(news)) - QUESTIONS)
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
    stitch_credential: str | None = None
    """`dedicated`, `owner`, or `own` (a URL the user named)."""
    stitch_role: pulumi.Input[str] | None = None
    """The role Stitch loads as this run."""
    owner_url: pulumi.Input[str] | None = None
    """The owner's URL (secret), for check()'s read-only questions."""
    connect_timeout: int = 10
    """Seconds check() waits for the server before leaving the question to the update."""
    probe: Probe = field(default_factory=Probe)
    """The URLs check() tries, named by their settings, beyond owner_url (see Probe; none: not tried here)."""


class SourceGuard(pulumi.dynamic.Resource, module="stitch", name="SourceGuard"):
    """Remembers the source; refuses a switch that would delete a database this stack created."""

    def __init__(self, name: str, args: SourceGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "source": args.source,
            "app_name": args.app_name,
            "app_urn": args.app.urn if args.app is not None else None,
            "stitch_credential": args.stitch_credential,
            "stitch_role": args.stitch_role,
            **replace(args.probe, owner_url=args.owner_url, connect_timeout=args.connect_timeout).props(),
            "kept_role_marker": this_stacks_marker(kept=True),
            **caller_project(),
        }
        owned = pulumi.ResourceOptions(depends_on=list(args.owned), additional_secret_outputs=["owner_url", "stitch_url"])
        super().__init__(SourceGuardProvider(), name, props, pulumi.ResourceOptions.merge(opts, owned))


@dataclass
class DestinationGuardArgs:
    stitch_destination: str
    """This run: managed, released or none (see MANAGED, RELEASED, NONE)."""
    destination_name: str | None = None
    """The managed destination's name, for the message of a later run without the token."""
    probe: Probe | None = None
    """URLs known from the config alone (source url): tried in this first check, so a wrong one stops the run before
    any step; None: the source guard tries them once they are known."""


class DestinationGuard(pulumi.dynamic.Resource, module="stitch", name="DestinationGuard"):
    """Remembers whether the stack manages a Stitch destination; refuses a run that would lose it for want of a token.

    Declare it before anything else, with nothing but config in its inputs: its check then runs before any step."""

    def __init__(self, name: str, args: DestinationGuardArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"stitch_destination": args.stitch_destination, "destination_name": args.destination_name, **caller_project()}
        if args.probe is not None:
            props |= args.probe.props()
        secret = pulumi.ResourceOptions(additional_secret_outputs=["owner_url", "stitch_url"])
        super().__init__(SourceGuardProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


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
