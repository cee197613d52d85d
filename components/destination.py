"""Destination: a Heroku Postgres (or any PostgreSQL) database made ready, and proven ready, as a Stitch destination.

One component for any Pulumi program, in any language (type `stitch-heroku:index:Destination`): settings
(validated all at once) -> the database -> Stitch's role, CREATE for it -> verification -> (with a Stitch token)
the destination in Stitch -> outputs. The inputs are the rows of components/config.py's SETTINGS, so a stack's
config and a component's args are checked by the same parsers, with the same messages.

No `from __future__ import annotations` here, on purpose: the SDK's schema analyzer reads the annotations of
DestinationArgs and Destination with inspect.get_annotations, unevaluated, and needs them as types.
"""

import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypedDict

import pulumi

from . import config as settings
from .database_source import database_for, plan_credential
from .dynamic_host import missing_package
from .heroku_credential import HerokuAccess, HerokuCredentialError, heroku_access
from .moved import child, with_args
from .source_guard import MANAGED, NONE, DestinationGuard, DestinationGuardArgs, DestroyGuard, DestroyGuardArgs, SourceGuard
from .stack_capacity import privileges_to_grant, stack_limits
from .stitch_destination import StitchDestination, StitchDestinationArgs, released_destination
from .stitch_grant import StitchGrant, StitchGrantArgs
from .stitch_role import StitchRoleArgs
from .stitch_settings import stitch_settings
from .verification import Verification, VerificationArgs

TYPE = "stitch-heroku:index:Destination"
OUR_DESTINATION = "stitch-heroku"
"""The name this repository's own program gives its one Destination (__main__.py)."""
# The two inputs that are a config table row's provider credential (heroku:apiKey, stitch:accessToken).
CREDENTIAL_INPUTS = {"heroku_api_key": settings.HEROKU_KEY, "stitch_access_token": settings.STITCH_TOKEN_KEY}


class DestinationArgs(TypedDict, total=False):
    """The settings of one Stitch destination: the rows of the config table (docs/component.md), snake_case."""

    source: str
    """`heroku` creates the app and database; `heroku-existing` adopts one; `url` uses any PostgreSQL (default `heroku`)."""
    app_name: str
    """Heroku app (sources heroku, heroku-existing): 3-30 lowercase letters, digits, dashes, starting with a letter."""
    heroku_api_key: pulumi.Input[str]
    """Heroku API key for the component's own calls to Heroku, secret, first; else heroku:apiKey, HEROKU_API_KEY, the netrc."""
    region: str
    """Heroku region of a new database, `us` or `eu` (default `us`)."""
    plan: str
    """A current Heroku Postgres plan, e.g. essential-0 (default), standard-0; retired and private plans are refused."""
    team: str
    """Heroku team that owns a new app; else the personal account."""
    postgres_version: str
    """PostgreSQL major version of a new database, e.g. `16`; else Heroku's default."""
    protect: bool
    """Protect the app and database from destroy and replacement (default: true unless the stack name starts with dev)."""
    database_config_var: str
    """heroku-existing: the app's config var holding the database URL (default DATABASE_URL)."""
    database_url: pulumi.Input[str]
    """Source url: the database's URL, secret."""
    stitch_url: pulumi.Input[str]
    """A separate credential for Stitch (same host and database) as a fixed URL, secret."""
    stitch_config_var: str
    """Heroku sources: the app config var holding a separate Stitch credential's URL, read on every up."""
    stitch_credential: str
    """`dedicated`: Stitch gets a credential of its own that may load and nothing more; `owner`: the owner's."""
    stitch_role_name: str
    """Source url: the dedicated role made for Stitch (default `stitch`); kept by destroy."""
    stitch_password_version: int
    """Source url: the dedicated role's password generation; raise it by one to rotate (default 1)."""
    verify_timeout: int
    """Seconds (0-3600) the verification keeps looking while a new database starts (default 300)."""
    verify_on_every_up: bool
    """Run the verification on every up, not only when the settings change (default false)."""
    connect_timeout: int
    """Seconds (1-3600) one connection attempt may take (default 10)."""
    storage_limit_gb: float
    """The database's storage limit in GB (10**9 bytes) for the capacity check; else the Heroku plan's, where known."""
    stitch_access_token: pulumi.Input[str]
    """Stitch Connect API token, secret, first; else stitch:accessToken, else STITCH_ACCESS_TOKEN; none: Stitch is a manual step."""
    stitch_destination: str
    """`managed` (default): with a token the destination is kept in Stitch; `released`: let go of, left untouched."""
    stitch_destination_name: str
    """The destination's name in Stitch (default `<project>-<stack>-<the Destination's name>`)."""
    stitch_destination_id: str
    """Adopt this existing Stitch destination (its id) instead of creating one."""
    stitch_keep_destination: bool
    """Leave the destination in Stitch on destroy (default: true for adopted destinations and protected stacks)."""
    stitch_check_timeout: int
    """Seconds (10-3600) to wait for Stitch's connection check (default 300)."""
    stitch_api_url: str
    """The Stitch Connect API (default https://api.stitchdata.com); https only."""
    stitch_map_unmapped_sources: bool
    """Map every unmapped source of the Stitch account to this destination (default false)."""
    stitch_load_stale_hours: float
    """Warn when a source of this destination has loaded nothing in Stitch for longer than this many hours."""


class Destination(pulumi.ComponentResource):
    """A PostgreSQL database made ready, and proven ready, as a Stitch destination; with a token, registered in Stitch."""

    host: pulumi.Output[str]
    """Stitch's form: Host (Endpoint)."""
    port: pulumi.Output[int]
    """Stitch's form: Port."""
    username: pulumi.Output[str]
    """Stitch's form: Username (Stitch's own credential wherever the source allows it)."""
    password: pulumi.Output[str]
    """Stitch's form: Password; secret."""
    database: pulumi.Output[str]
    """Stitch's form: Database."""
    ssl: pulumi.Output[bool]
    """Stitch's form: Connect using SSL (always true)."""
    app_name: pulumi.Output[str] | None
    """The Heroku app (Heroku sources)."""
    database_url: pulumi.Output[str]
    """Stitch's credential as one URL, for tools; secret."""
    stitch_destination: pulumi.Output[dict[str, Any]]
    """The exact body of Stitch's Connect API POST /v4/destinations; secret."""
    verification: pulumi.Output[dict[str, Any]]
    """The checklist proving Stitch will connect and load, with its checked_at."""
    capacity: pulumi.Output[dict[str, Any]]
    """The database's size and tables against its limits (used_bytes, limit_bytes, percent, tables, table_limit, days_to_full)."""
    stitch_destination_id: pulumi.Output[str] | None
    """With a token: the destination's id in Stitch."""
    stitch_connection_check: pulumi.Output[str] | None
    """With a token: Stitch's connection check verdict (succeeded, unconfirmed, pending, ...)."""
    stitch_status: pulumi.Output[str] | None
    """With a token: the destination in Stitch (active, paused, system_paused, deleted, released)."""

    def __init__(self, name: str, args: DestinationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        if _served() and (missing := missing_package()):
            # Served to a program in another language: the dynamic children run in a Python found by the engine.
            raise pulumi.RunError(missing)
        try:
            # Every problem at once, before any resource; then whose credential Stitch gets (least privilege).
            cfg, access = validated(args, name=name)
            credential = plan_credential(cfg, access)
        except (settings.ConfigError, HerokuCredentialError) as error:
            raise pulumi.RunError(str(error)) from None

        def part(what: str, extra: pulumi.ResourceOptions | None = None) -> tuple[str, pulumi.ResourceOptions]:
            return child(self, name, what, extra)

        # Whether the stack manages a Stitch destination is recorded, not inferred from a token: once it does,
        # a run without the token stops here, before any step (released lets go of it on purpose).
        mode = cfg.stitch_destination if cfg.stitch_destination != MANAGED or cfg.stitch else NONE
        destination_name = cfg.stitch.destination_name if cfg.stitch else None
        first = DestinationGuard(*with_args(part("stitch-destination-guard"), DestinationGuardArgs(mode, destination_name)))

        # The database, from its source; Heroku URLs are read live on every run, so `up` heals a rotation.
        database = database_for(cfg, credential, first, parent=self, prefix=name)
        owner_url, app_name, stitch_url = database.owner_url, database.app_name, database.stitch_url
        everything: list[pulumi.Resource] = [first, *database.resources]

        # The POST body is what the stack sends with a token; without one, Stitch's body without a name.
        body = {"destination_name": destination_name, "ignore_unmapped_sources": not (cfg.stitch and cfg.stitch.map_unmapped_sources)}
        owner = stitch_settings(owner_url, name="the database URL", **body)
        stitch_key = "stitch_config_var" if cfg.stitch_config_var else "stitch_url" if cfg.stitch_url else "the dedicated credential"
        stitch = stitch_settings(stitch_url, name=stitch_key, same_database_as=owner_url, **body) if stitch_url else owner
        role = None
        if cfg.source == "url" and cfg.stitch_credential == "dedicated":
            role = StitchRoleArgs(cfg.stitch_role_name, cfg.stitch_password_version, owner_url, cfg.connect_timeout, cfg.database_url)
        # A switch away from `heroku` would delete the database this stack made: the guard stops the run first.
        grantee = database.grantee(stitch.username)  # Stitch's own Heroku credential: its stable role, even mid-rotation
        remembered = {"stitch_credential": credential.kind or "own", "stitch_role": role.name if role else grantee}
        guard_args = replace(database.guard, **remembered, owner_url=owner_url, connect_timeout=cfg.connect_timeout)
        source_guard = SourceGuard(*with_args(part("source-guard"), guard_args))
        everything.append(source_guard)

        # Over a Heroku plan's capacity the grant keeps what Heroku left, never granting back what it took.
        limits = stack_limits(cfg, credential)
        keep = privileges_to_grant(owner_url, grantee, limits, cfg.connect_timeout)
        postgres = self.get_provider("postgresql::Grant")
        after = [*database.waits_for, source_guard]
        grant_args = StitchGrantArgs(owner, grantee, cfg.connect_timeout, after, role, privileges=keep, provider=postgres)
        grant = StitchGrant(*with_args(part("stitch"), grant_args))
        if grant.stitch_role is not None:
            stitch = stitch_settings(grant.stitch_role.url, name="the dedicated role's URL", **body)
        verification_args = VerificationArgs(
            stitch.database_url,
            cfg.connect_timeout,
            cfg.verify_timeout,
            cfg.verify_on_every_up,
            cfg.source,
            credential.kind,
            credential.owner_reason,
            limits.to_props(),
        )
        verification = Verification(*with_args(part("verification", pulumi.ResourceOptions(depends_on=[grant])), verification_args))
        everything += [grant, verification]

        # Exactly the fields of Stitch's PostgreSQL form, then the Connect API body and the proof.
        self.host, self.port, self.username, self.password = stitch.host, stitch.port, stitch.username, stitch.password
        self.database, self.ssl = stitch.database, pulumi.Output.from_input(True)
        self.app_name = pulumi.Output.from_input(app_name)  # None for source url, as the stack output always was
        self.database_url, self.stitch_destination = stitch.database_url, stitch.stitch_destination
        self.verification = verification.report
        self.capacity = verification.report.apply(lambda report: (report or {}).get("capacity"))
        self.stitch_destination_id = self.stitch_connection_check = self.stitch_status = None

        if cfg.stitch_destination != MANAGED:
            # Released: kept in Stitch as it is; the state marks it, then forgets it once the setting is removed.
            released_name, released_opts = part("stitch-destination")
            released = released_destination(released_name, released_opts)
            everything.append(released)
            self.stitch_destination_id, self.stitch_status = released.destination_id, released.stitch_status
        elif cfg.stitch:
            # Only once our own checks passed: Stitch then gets settings already proven to work.
            destination_args = StitchDestinationArgs(
                name=cfg.stitch.destination_name,
                name_given="stitch_destination_name" in args,
                properties=stitch.stitch_properties,
                adopt_id=cfg.stitch.adopt_id,
                keep_on_delete=cfg.stitch.keep_on_delete,
                check_timeout=cfg.stitch.check_timeout,
                connect_timeout=cfg.connect_timeout,
                api_url=cfg.stitch.api_url,
                map_unmapped_sources=cfg.stitch.map_unmapped_sources,
                hold=database.mid_rotation(stitch.username),
                given_token=args.get("stitch_access_token"),
            )
            destination = StitchDestination(
                *with_args(part("stitch-destination", pulumi.ResourceOptions(depends_on=[grant, verification])), destination_args)
            )
            everything.append(destination)
            self.stitch_destination_id = destination.destination_id
            self.stitch_connection_check = destination.connection_check
            self.stitch_status = destination.stitch_status

        # Last, depending on all the rest: `destroy` must delete it first, and on a protected stack it refuses.
        DestroyGuard(*with_args(part("destroy-guard"), DestroyGuardArgs(cfg.protect and cfg.source == "heroku", app_name, everything)))
        recorded = {key: getattr(self, key) for key in OUTPUTS if getattr(self, key) is not None}
        self.register_outputs({**recorded, "day_two": day_two_record(args, name)})


OUTPUTS = tuple(key for key in Destination.__annotations__)
"""The component's outputs, in the order of Stitch's form: our own program exports each as a stack output."""


def _served() -> bool:
    """Whether this process is the component provider (a program in another language), not a Python program.

    Read from sys.modules: importing the SDK's provider host here would load its copy of google.rpc.Status
    into every program."""
    host = sys.modules.get("pulumi.provider.experimental.host")
    return bool(getattr(host, "is_hosting", False))


def day_two_record(args: Mapping[str, Any], name: str = OUR_DESTINATION) -> dict[str, Any]:
    """The settings as given, kept in the state for `stitch-heroku reconcile` in a project of another name (whose
    config is not ours): the plain ones as text, the secret ones only named, never their value; and the defaults
    that depend on the Destination's name, which the config table cannot compute."""
    secret = {setting.key for setting in settings.SETTINGS if setting.secret} | set(CREDENTIAL_INPUTS)
    texts = {key: _text(value) for key, value in args.items() if key not in secret}
    plain = {key: text for key, text in texts.items() if isinstance(text, str)}
    defaults = {"stitch_destination_name": default_destination_name(pulumi.get_project(), pulumi.get_stack(), name)}
    secrets = sorted(key for key, value in args.items() if key in secret and value is not None)
    return {"settings": plain, "secrets": secrets, "defaults": defaults}


def default_destination_name(project: str, stack: str, name: str) -> str:
    """The destination's name in Stitch when stitch_destination_name is not given: `<project>-<stack>`, then the
    Destination's name, so that two Destinations of a stack never ask Stitch for one name (our POST would find the
    other's and stop). This repository's own program keeps `<project>-<stack>`, the name its stacks have in Stitch;
    a stack of another program made before 0.3.0 keeps the name it has (components.stitch_destination keeps a
    default name from replacing the one Stitch holds)."""
    return f"{project}-{stack}" if name == OUR_DESTINATION else f"{project}-{stack}-{name}"


def _text(value: Any) -> "str | settings.Deferred | None":
    """An input as the config table's parsers read it: text; an Output (known only during the deployment) deferred."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number from another language's SDK (YAML, JSON) arrives as a float: 20.0 means 20
    if isinstance(value, (int, float, str)):
        return str(value)
    return settings.Deferred(value)


def validated(
    args: Mapping[str, Any], environ: Mapping[str, str] = os.environ, *, name: str = OUR_DESTINATION
) -> tuple[settings.StackConfig, HerokuAccess | None]:
    """The args of the Destination `name` checked against the config table, every problem at once; and how the
    component calls Heroku.

    Secret inputs are made secret wherever they go, so "stored in plain text" does not apply to them; the
    provider credentials fall back to the environment and the netrc, as the providers' own do."""
    raw = {key: _text(value) for key, value in args.items() if key not in CREDENTIAL_INPUTS}
    heroku_key, token = args.get("heroku_api_key"), args.get("stitch_access_token")
    provider = pulumi.Config("heroku")  # the heroku provider's own key and URL, if the stack sets them
    known = {key: provider.get(name) for key, name in ((settings.HEROKU_KEY, "apiKey"), (settings.HEROKU_URL_KEY, "url"))}
    heroku_config = {key: value for key, value in known.items() if value}
    login = settings.HerokuLogin("secret") if heroku_key is not None else settings.heroku_login(heroku_config, lambda _key: True, environ)
    stitch_token = ("secret", token) if token is not None else stack_stitch_token(environ)
    if stitch_token is not None:  # the setting needs a token (the config table says so when it is given without one)
        raw.setdefault("stitch_destination_name", default_destination_name(pulumi.get_project(), pulumi.get_stack(), name))
    cfg = settings.validate(
        pulumi.get_stack(),
        raw,
        secret_keys=set(settings.SECRET_KEYS),
        heroku_key=login.how,
        heroku_key_note=login.note,
        stitch_token=stitch_token,
        project=pulumi.get_project(),
    )
    access = None
    if cfg.source != "url":
        # Where the heroku provider calls (heroku:url, HEROKU_API_URL) and its key, as today; the input's key first.
        access = heroku_access()
        if heroku_key is not None:
            access = replace(access, api_key=heroku_key, given_key=heroku_key)
    return cfg, access


def stack_stitch_token(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The token the stack itself holds (stitch:accessToken, which the destination's provider reads too), else
    STITCH_ACCESS_TOKEN; with how it is held, so a token in plain-text config is refused as the config table does."""
    configured = pulumi.Config("stitch").get("accessToken")
    if configured:
        return ("secret" if pulumi.runtime.is_config_secret(settings.STITCH_TOKEN_KEY) else "plain", configured)
    return ("env", environ[settings.STITCH_TOKEN_ENV]) if environ.get(settings.STITCH_TOKEN_ENV) else None


def args_from_stack(cfg: settings.StackConfig, given: set[str]) -> DestinationArgs:
    """Our own program's stack config as a Destination's args: the keys the stack sets, with their parsed values
    (so a default the table computes, such as protect's, is computed again by the component, alike). The Heroku
    key and the Stitch token are not handed over: the component and its providers read them from the stack's
    config and the environment of each run, so none is kept in the state."""
    args: dict[str, Any] = {}
    for setting in settings.PROJECT_SETTINGS:
        if setting.key in given:
            holder = cfg.stitch if setting.needs_token else cfg
            args[setting.key] = getattr(holder, setting.field_name)
    return DestinationArgs(**args)  # type: ignore[typeddict-item]
