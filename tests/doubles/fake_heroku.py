"""A Heroku Platform API (v3) double on loopback, for the calls the real heroku provider makes.

It answers what terraform-provider-heroku v5 (SDKv2, as bridged by pulumiverse-heroku 1.0.4) sends
through heroku-go v5.4.1 for apps, team apps, config vars, releases and add-ons, in the JSON shapes
heroku-go decodes. Each heroku-postgresql add-on is a real database with its own owner role on a real
PostgreSQL server; Python hooks play what happens outside the API (credential rotation, an extra
credential, connection pooling). Every request is recorded without its secrets.

Sources, cited below by short name:
- heroku-go: github.com/heroku/heroku-go/v5@v5.4.1, heroku.go (paths, structs) and transport.go
  (Accept header, basic auth from the provider's email/api key, error decoding, 429 retry).
- tf-app / tf-addon / tf-app-ds / tf-config: terraform-provider-heroku v5, heroku/resource_heroku_app.go,
  heroku/resource_heroku_addon.go, heroku/data_source_heroku_app.go, heroku/config.go + provider.go.
- api-ref: Heroku Platform API reference (devcenter.heroku.com/articles/platform-api-reference):
  error ids and statuses, authentication, Range headers, add-on attachments.
- cli-pg: the Heroku CLI's Data API calls (heroku/cli packages/cli/src/commands/pg/credentials.ts,
  credentials/create.ts, credentials/url.ts, credentials/rotate.ts, lib/pg/host.ts, lib/pg/util.ts) and its
  attach (commands/addons/attach.ts: namespace "credential:<name>").
- dc-credentials: Dev Center "Heroku Postgres Credentials" (only Standard and up have credentials besides the
  owner's; a new credential may log in but has no privileges on existing objects, nor on schema public).
- cli-rotation: how a named credential's rotation looks while it runs. credentials/rotate.ts: without --all or
  --force, and not for the default credential, "Connections older than 30 minutes will be reset, and a
  temporary rotation username will be used during the process". lib/data/types.ts: the credential's state is
  then `rotating` (later `rotation_completed`), each of its `credentials` has a state (`active`, `revoking`,
  ...); lib/pg/util.ts lists them as "Usernames currently active for this credential"; and the CLI's unit test
  test/unit/commands/pg/credentials.unit.test.ts shows the shape: `jeff` `revoking`, `jeff-rotating` `active`.
  credentials/url.ts hands out the `active` one, which is what the attachments' URLs hold meanwhile.

The Data API (`/postgres/v0/...`, api.data.heroku.com for the CLI, HEROKU_DATA_HOST to override) is served on
the same port as the Platform API: its paths never collide, and a test points HEROKU_DATA_HOST at `url`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

from tests.doubles.loopback import LoopbackServer

ACCEPT = "application/vnd.heroku+json; version=3"
SERVICE = "heroku-postgresql"
DEFAULT_PLAN = "essential-0"
REGIONS = ("us", "eu")
STACKS = ("heroku-24", "heroku-22", "container")
DEFAULT_STACK = "heroku-24"
POSTGRES_VERSIONS = ("14", "15", "16", "17")
"""Majors a new Heroku Postgres database may ask for with the `version` option (Heroku's version policy)."""
POOL_PORT = 6432
"""PgBouncer's usual port. The pool URL points there and nothing listens: Stitch must never be handed it."""

# Heroku Postgres plans (devcenter "Heroku Postgres Plans"): essential-0..2; standard, premium, private and
# shield run 0..10. Private and shield need a Private Space (a Shield one for shield).
_PLAN = re.compile(r"(essential)-([0-2])|(standard|premium|private|shield)-([0-9]|10)")
# Retired plans, answered with the texts users reported from the API (hobby: 2022; mini/basic: 2024).
_RETIRED_HOBBY = ("hobby-dev", "hobby-basic")
_RETIRED_EOL = ("mini", "basic")
_PRICE_CENTS = {"essential-0": 500, "essential-1": 900, "essential-2": 2000, "standard-0": 5000, "premium-0": 20000}
_COLORS = ("AMBER", "AQUA", "BLACK", "BLUE", "BRONZE", "BROWN", "CHARCOAL", "COBALT", "COPPER", "CRIMSON", "CYAN",
           "GOLD", "GRAY", "GREEN", "IVORY", "JADE", "LIME", "MAROON", "MAUVE", "NAVY", "OLIVE", "ONYX", "ORANGE",
           "PINK", "PUCE", "PURPLE", "RED", "ROSE", "SILVER", "TEAL", "TOPAZ", "VIOLET", "WHITE", "YELLOW")  # fmt: skip
_WORDS = ("angular", "clean", "cubic", "deep", "elliptical", "flat", "horizontal", "opaque", "rigid", "shallow", "solid")
# Heroku app names: 3-30 chars, a letter first, lowercase letters, digits and dashes, no trailing dash.
_APP_NAME = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")
_ADDON_NAME = re.compile(r"[a-zA-Z][A-Za-z0-9_-]+")  # tf-addon validateCustomAddonName
_NAMESPACE = uuid.UUID("2f1c6d2e-8f65-4f5b-9a43-6c0de0a1b7e1")


Answer = tuple[int, Any]
"""An HTTP status and the JSON body to send."""


@dataclass(frozen=True)
class Call:
    """What a route handler needs of a request: its JSON object body and its Range header."""

    body: dict[str, Any]
    range: str | None


class HerokuError(Exception):
    """An answer in Heroku's error shape {"id": ..., "message": ...} (api-ref "Errors"); heroku-go's
    checkResponse decodes exactly these two fields, and the provider matches id "not_found"."""

    def __init__(self, status: int, error_id: str, message: str):
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


def _not_found(thing: str) -> HerokuError:
    return HerokuError(404, "not_found", f"Couldn't find that {thing}.")


def _invalid(message: str) -> HerokuError:
    return HerokuError(422, "invalid_params", message)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # RFC 3339, as Go's time.Time decodes


def _stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class PostgresTarget:
    """Where add-on databases are made: a superuser conninfo (never handed out) and the host and port
    that the URLs in config vars name."""

    admin_conninfo: str
    host: str
    port: int

    @classmethod
    def for_cluster(cls, cluster: Any) -> PostgresTarget:
        """For devtools.local_postgres.Cluster: the superuser over its Unix socket, clients over SSL TCP."""
        conninfo = psycopg.conninfo.make_conninfo(host=str(cluster.socket_dir), port=cluster.port, user="postgres", dbname="postgres")
        return cls(conninfo, "127.0.0.1", int(cluster.port))


@dataclass
class Recorded:
    """One request as received, minus secrets: config var values are redacted, credentials never kept."""

    method: str
    path: str
    query: str
    auth: str | None
    """"basic" or "bearer" with the right key, "wrong" with another, None without an Authorization header."""
    accept: str | None
    range: str | None
    content_type: str | None
    body: Any


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    error_id: str
    message: str
    times: int


@dataclass
class Credential:
    name: str
    user: str
    password: str
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "active"
    reads_left: int = 0
    """Data API reads that still see "provisioning" (a new credential is not usable at once)."""
    rotation: tuple[str, str] | None = None
    """(user, password) of the temporary username while a rotation runs (cli-rotation); None otherwise."""

    @property
    def login(self) -> tuple[str, str]:
        """The user and password the credential's URLs hold now: the temporary ones during a rotation."""
        return self.rotation or (self.user, self.password)


@dataclass
class Attachment:
    name: str
    """e.g. DATABASE, HEROKU_POSTGRESQL_OLIVE, STITCH_DATABASE; the config var is <name>_URL."""
    credential: str | None
    """The credential whose URL the var holds; None for the connection pool."""
    app_id: str | None = None
    """The app the add-on is attached to; None for the app that owns it. api-ref "Add-on Attachment": an
    attachment "represents a connection between an app and an add-on that it has been given access to", so one
    add-on may be attached to other apps too (`heroku addons:attach <addon> -a <other app>`), each with its own
    config var on that app."""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=_now)

    @property
    def config_var(self) -> str:
        return f"{self.name}_URL"

    @property
    def namespace(self) -> str | None:
        """api-ref / cli-pg: "credential:<name>" for a named credential's attachment, null for the owner's."""
        return f"credential:{self.credential}" if self.credential not in (None, "default") else None


@dataclass
class AddOn:
    id: str
    name: str
    app_id: str
    plan: str
    version: str | None
    database: str
    credentials: dict[str, Credential]
    attachments: list[Attachment]
    provider_id: str
    created_at: str
    updated_at: str
    state: str = "provisioning"
    reads_left: int = 0


@dataclass
class Release:
    id: str
    version: int
    description: str
    created_at: str
    addon_plan_names: list[str]
    reads_left: int = 0
    """Info reads that still see "pending"; a list shows the status without using one up."""

    @property
    def status(self) -> str:
        return "pending" if self.reads_left > 0 else "succeeded"


@dataclass
class App:
    id: str
    name: str
    region: str
    stack: str
    team: str | None
    space: str | None
    locked: bool
    web_hash: str
    created_at: str
    updated_at: str
    config_vars: dict[str, str] = field(default_factory=dict)
    buildpacks: list[dict[str, str]] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)


@dataclass
class FakeHeroku:
    """The API's state and its answers; HerokuApiServer puts it on a loopback port."""

    postgres: PostgresTarget
    api_key: str = "heroku-api-key-s3cr3t"
    email: str = "dev@example.com"
    teams: frozenset[str] = frozenset()
    """Teams the account belongs to; any other team is a 404, as for a user outside it."""
    spaces: Mapping[str, bool] = field(default_factory=dict)
    """Private Spaces by name, True for a Shield space."""
    provisioning_reads: int = 1
    """How many reads of a new add-on still see "provisioning" (tf-addon polls until "provisioned")."""
    pending_release_reads: int = 0
    """How many reads of a new release still see "pending" (tf-app polls until "succeeded")."""
    credential_provisioning_reads: int = 1
    """How many Data API reads of a new credential still see "provisioning" before "active"."""
    url: str = ""
    apps: dict[str, App] = field(default_factory=dict)
    addons: dict[str, AddOn] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- hooks for tests: what users do outside the API ---------------------------------------------

    def fail(self, method: str, path: str, status: int, message: str, *, error_id: str | None = None, times: int = 1) -> None:
        """Answer the next `times` requests whose path matches the regex `path` with this error.
        A 429 makes heroku-go back off for 30 s and more (RoundTripWithRetryBackoff): avoid it."""
        default_id = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid_params"}
        kind = error_id or default_id.get(status, "bad_request" if status < 500 else "internal_server_error")
        with self._lock:
            self.failures.append(Failure(method, re.compile(path), status, kind, message, times))

    def calls(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests if method in (None, r.method)]

    def create_app(self, name: str, *, region: str = "us", team: str | None = None) -> dict[str, Any]:
        """`heroku create`: an app made outside the stack."""
        with self._lock:
            return self._app_json(self._new_app({"name": name, "region": region, "team": team}, team_route=team is not None))

    def provision_addon(self, app: str, plan: str = DEFAULT_PLAN, *, version: str | None = None) -> dict[str, Any]:
        """`heroku addons:create heroku-postgresql:<plan>`, provisioned at once."""
        with self._lock:
            config = {"version": version} if version else None
            addon = self._new_addon(self._app(app), {"plan": f"{SERVICE}:{plan}", "config": config}, reads=0)
            return self._addon_json(addon)

    def set_config_vars(self, app: str, values: Mapping[str, str | None]) -> None:
        """`heroku config:set` / `config:unset` (None unsets), with the same rules as the API."""
        with self._lock:
            self._update_config_vars(self._app(app), dict(values))

    def config_vars(self, app: str) -> dict[str, str]:
        with self._lock:
            return dict(self._app(app).config_vars)

    def addon_info(self, addon: str) -> dict[str, Any]:
        with self._lock:
            return self._addon_json(self._addon(addon))

    def database_name(self, addon: str) -> str:
        with self._lock:
            return self._addon(addon).database

    def role_name(self, addon: str, credential: str = "default") -> str:
        with self._lock:
            return self._credential(self._addon(addon), credential).user

    def rotate_credentials(self, addon: str, credential: str | None = "default") -> None:
        """`heroku pg:credentials:rotate [--name <credential> | --all] --force`: a new password, the
        old one's sessions ended, and every config var holding that credential updated (a release)."""
        with self._lock:
            found = self._addon(addon)
            names = list(found.credentials) if credential is None else [self._credential(found, credential).name]
            for name in names:
                entry = found.credentials[name]
                entry.password = _password()
                with self._admin() as conn:
                    _role(conn, "ALTER ROLE {} PASSWORD {}", entry)
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (entry.user,))
            self._publish(found, f"Update {', '.join(a.name for a in found.attachments)} by {SERVICE}")

    def begin_rotation(self, addon: str, credential: str = "stitch") -> str:
        """`heroku pg:credentials:rotate --name <credential>` (no --force) as it runs (cli-rotation): a temporary
        username `<user>-rotating`, active, which the attachments' URLs now hold (a release); the credential's
        own user `revoking`, its password unchanged; the credential `rotating`. How Heroku lets the temporary
        user act for the credential is not published: here it is a member of the credential's role, so it has
        the role's privileges. Returns the temporary username."""
        with self._lock:
            found = self._addon(addon)
            entry = self._credential(found, credential)
            if credential == "default":
                raise ValueError("the default credential rotates without a temporary username (rotate.ts): use rotate_credentials")
            user, password = f"{entry.user}-rotating", _password()
            with self._admin() as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                        sql.Identifier(user), sql.Literal(password), sql.Identifier(entry.user)
                    )
                )
            entry.rotation, entry.state = (user, password), "rotating"
            self._publish(found, f"Update {self._addon_attachment_names(found)} by {SERVICE}")
            return user

    def finish_rotation(self, addon: str, credential: str = "stitch") -> None:
        """The rotation's end: the credential's own user with a new password in the URLs again (a release), the
        temporary username's sessions ended and the username gone, the credential active."""
        with self._lock:
            found = self._addon(addon)
            entry = self._credential(found, credential)
            if entry.rotation is None:
                raise ValueError(f"credential {credential!r} of {found.name} is not rotating")
            temporary = entry.rotation[0]
            entry.password = _password()
            with self._admin() as conn:
                _role(conn, "ALTER ROLE {} PASSWORD {}", entry)
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (temporary,))
            with psycopg.connect(self.postgres.admin_conninfo, dbname=found.database, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(temporary), sql.Identifier(entry.user)))
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(temporary)))
            with self._admin() as conn:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(temporary)))
            entry.rotation, entry.state = None, "active"
            self._publish(found, f"Update {self._addon_attachment_names(found)} by {SERVICE}")

    def attach_credential(self, addon: str, credential: str = "stitch", as_name: str = "STITCH_DATABASE") -> str:
        """`heroku pg:credentials:create --name stitch` (if missing), then `heroku addons:attach <addon>
        --credential stitch --as STITCH_DATABASE`. A new credential may connect but not CREATE. Returns the var."""
        with self._lock:
            found = self._addon(addon)
            if credential not in found.credentials:
                self._new_credential(found, credential, reads=0)
            return self._attach(found, Attachment(as_name, credential))

    def attach_addon(self, addon: str, app: str, as_name: str = "DATABASE", credential: str = "default") -> str:
        """`heroku addons:attach <addon> -a <app> --as <name> [--credential <name>]`: an add-on another app owns
        shared with `app` (api-ref "Add-on Attachment"); the URL is set on `app`, with a release there only.
        Returns the var."""
        with self._lock:
            found = self._addon(addon)
            self._credential(found, credential)
            return self._attach(found, Attachment(as_name, credential, app_id=self._app(app).id))

    def attach_connection_pool(self, addon: str, as_name: str = "DATABASE_CONNECTION_POOL") -> str:
        """`heroku pg:connection-pooling:attach DATABASE_URL --as <name>`: PgBouncer in transaction mode.
        Returns the var (e.g. DATABASE_CONNECTION_POOL_URL)."""
        with self._lock:
            return self._attach(self._addon(addon), Attachment(as_name, None))

    def credential_state(self, addon: str, credential: str) -> str:
        with self._lock:
            return self._credential(self._addon(addon), credential).state

    def attachments(self, addon: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._addon(addon)
            return [self._attachment_json(found, a) for a in found.attachments]

    def close(self) -> None:
        """Drop every database and role the double made, so a shared server is left as it was."""
        with self._lock:
            for addon in list(self.addons.values()):
                self._drop(addon)

    # -- the API -------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Answer:
        parts = urlsplit(target)
        path, query = unquote(parts.path), parts.query
        with self._lock:
            auth = self._auth(headers.get("Authorization"))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = _UNREADABLE
            accept, range_header = headers.get("Accept"), headers.get("Range")
            self.requests.append(
                Recorded(method, path, query, auth, accept, range_header, headers.get("Content-Type"), _redacted(path, body))
            )
            try:
                if auth not in ("basic", "bearer"):
                    # api-ref: 401 unauthorized when the token is missing, invalid or expired.
                    raise HerokuError(401, "unauthorized", "Invalid credentials provided.")
                if not path.startswith(DATA_API_PREFIX) and not _accepts_v3(accept):
                    # The Data API's header rules are not published; the CLI sends its own defaults there.
                    # api-ref: 406 not_acceptable; heroku-go's Transport always sends ACCEPT.
                    hint = f"Please specify a version along with Heroku's API MIME type. For example, `Accept: {ACCEPT}`."
                    raise HerokuError(406, "not_acceptable", hint)
                self._take_failure(method, path)
                if body is _UNREADABLE or (body is not None and not isinstance(body, dict)):
                    raise HerokuError(400, "bad_request", "Invalid request body: expected a JSON object.")
                return self._route(method, path, Call(body or {}, range_header))
            except HerokuError as error:
                return error.status, {"id": error.error_id, "message": error.message}
            except Exception as error:  # a bug in the double: loud, in Heroku's shape, never a hung client
                return 500, {"id": "internal_server_error", "message": f"fake heroku failed: {type(error).__name__}: {error}"}

    def _auth(self, header: str | None) -> str | None:
        """heroku-go sends HTTP basic auth from the provider's email and API key (tf-config
        initializeAPI: Username=Email, Password=APIKey); Heroku also takes a bearer token (api-ref)."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return "bearer" if _same(value.strip(), self.api_key) else "wrong"
        if scheme.lower() == "basic":
            with suppress(ValueError):
                _user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
                # The login part is the account's email; Heroku authenticates on the key alone.
                return "basic" if _same(password, self.api_key) else "wrong"
        return "wrong"

    def _take_failure(self, method: str, path: str) -> None:
        for failure in self.failures:
            if failure.times > 0 and failure.method == method and failure.path.fullmatch(path):
                failure.times -= 1
                raise HerokuError(failure.status, failure.error_id, failure.message)

    def _route(self, method: str, path: str, call: Call) -> Answer:
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and method == route_method:
                return handler(self, call, *match.groups())
        # api-ref: the answer for an endpoint that does not exist.
        raise HerokuError(
            404,
            "not_found",
            "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), "
            "and did you specify your intended version with the `Accept` header?",
        )

    # apps (heroku-go AppCreate/AppInfo/AppUpdate/AppDelete, TeamAppCreate/TeamAppInfo/TeamAppUpdateLocked)

    def _post_apps(self, call: Call) -> Answer:
        return 201, self._app_json(self._new_app(call.body, team_route=False))

    def _post_team_apps(self, call: Call) -> Answer:
        app = self._new_app(call.body, team_route=True)
        return 201, self._team_app_json(app) if app.team else self._app_json(app)

    def _get_app(self, _call: Call, ref: str) -> Answer:
        return 200, self._app_json(self._app(ref))

    def _get_team_app(self, _call: Call, ref: str) -> Answer:
        app = self._app(ref)
        if app.team is None:
            raise _not_found("app")
        return 200, self._team_app_json(app)

    def _patch_app(self, call: Call, ref: str) -> Answer:
        app = self._app(ref)
        # tf-app Update always calls AppUpdate, with `{}` when neither name nor stack changed.
        if call.body.get("build_stack") is not None:
            app.stack = self._stack(call.body["build_stack"])
        if call.body.get("name") is not None and call.body["name"] != app.name:
            self._check_app_name(call.body["name"])
            app.name = call.body["name"]
        app.updated_at = _now()
        return 200, self._app_json(app)

    def _patch_team_app(self, call: Call, ref: str) -> Answer:
        app = self._app(ref)
        if app.team is None:
            raise _not_found("app")
        app.locked = bool(call.body.get("locked", app.locked))
        return 200, self._team_app_json(app)

    def _delete_app(self, _call: Call, ref: str) -> Answer:
        app = self._app(ref)
        answer = self._app_json(app)
        for addon in [a for a in self.addons.values() if a.app_id == app.id]:
            self._drop(addon)  # deleting an app destroys the add-ons it owns
        for addon in self.addons.values():  # and its attachments of add-ons other apps own
            addon.attachments = [t for t in addon.attachments if t.app_id != app.id]
        del self.apps[app.id]
        return 200, answer

    # config vars, releases, buildpacks (ConfigVarInfoForApp/ConfigVarUpdate, ReleaseList/ReleaseInfo,
    # BuildpackInstallationList/Update)

    def _get_config_vars(self, _call: Call, ref: str) -> Answer:
        return 200, dict(self._app(ref).config_vars)

    def _patch_config_vars(self, call: Call, ref: str) -> Answer:
        app = self._app(ref)
        self._update_config_vars(app, call.body)
        return 200, dict(app.config_vars)

    def _get_releases(self, call: Call, ref: str) -> Answer:
        app = self._app(ref)
        listed, more = _apply_range([_release_json(app, r) for r in app.releases], call.range)
        # api-ref "Ranges": 206 Partial Content when more remain; heroku-go accepts any 2xx.
        return (206 if more else 200), listed

    def _get_release(self, _call: Call, ref: str, release: str) -> Answer:
        app = self._app(ref)
        for entry in app.releases:
            if release in (entry.id, str(entry.version)):
                answer = _release_json(app, entry)
                entry.reads_left = max(0, entry.reads_left - 1)
                return 200, answer
        raise _not_found("release")

    def _get_buildpacks(self, _call: Call, ref: str) -> Answer:
        app = self._app(ref)
        return 200, [{"buildpack": dict(b), "ordinal": i} for i, b in enumerate(app.buildpacks)]

    def _put_buildpacks(self, call: Call, ref: str) -> Answer:
        app = self._app(ref)
        updates = call.body.get("updates")
        if not isinstance(updates, list) or not all(isinstance(u, dict) and isinstance(u.get("buildpack"), str) for u in updates):
            raise _invalid('updates must be a list of {"buildpack": <name or URL>}.')
        app.buildpacks = [{"name": u["buildpack"], "url": u["buildpack"]} for u in updates]
        return 200, [{"buildpack": dict(b), "ordinal": i} for i, b in enumerate(app.buildpacks)]

    # add-ons (AddOnCreate/AddOnInfo/AddOnInfoByApp/AddOnUpdate/AddOnDelete, AddOnListByApp)

    def _post_addon(self, call: Call, ref: str) -> Answer:
        addon = self._new_addon(self._app(ref), call.body, reads=self.provisioning_reads)
        return 201, self._addon_json(addon)

    def _get_addon(self, _call: Call, ref: str) -> Answer:
        return 200, self._addon_json(self._look_at_addon(self._addon(ref)))

    def _get_app_addon(self, _call: Call, app_ref: str, ref: str) -> Answer:
        return 200, self._addon_json(self._look_at_addon(self._addon(ref, self._app(app_ref))))

    def _get_app_addons(self, _call: Call, app_ref: str) -> Answer:
        app = self._app(app_ref)
        return 200, [self._addon_json(a) for a in self.addons.values() if a.app_id == app.id]

    def _patch_addon(self, call: Call, app_ref: str, ref: str) -> Answer:
        app = self._app(app_ref)
        addon = self._addon(ref, app)
        # heroku-go AddOnUpdateOpts sends "plan" always (no omitempty): "" when only the name changes.
        if call.body.get("plan"):
            plan = self._plan(call.body["plan"], app)
            if plan != addon.plan:
                addon.plan = plan
                self._release(app, f"Update {self._addon_attachment_names(addon)} by {SERVICE}")
        if call.body.get("name"):
            self._check_addon_name(call.body["name"], addon)
            addon.name = call.body["name"]
        addon.updated_at = _now()
        return 200, self._addon_json(addon)

    def _delete_addon(self, _call: Call, app_ref: str, ref: str) -> Answer:
        addon = self._addon(ref, self._app(app_ref))
        answer = self._addon_json(addon) | {"state": "deprovisioned"}
        self._drop(addon)
        return 200, answer

    # add-on attachments (heroku-go AddOnAttachmentCreate/Info/Delete, AddOnAttachmentInfoByApp,
    # AddOnAttachmentListByAddOn; api-ref "Add-on Attachment")

    def _post_attachment(self, call: Call) -> Answer:
        """`addon` and `app` are required (heroku-go schema: required ["addon", "app"]); each an id or a name,
        as a string (heroku-go AddOnAttachmentCreateOpts) or an object with id/name (the CLI's attach)."""
        body = call.body
        missing = [key for key in ("addon", "app") if not body.get(key)]
        if missing:
            raise _invalid(f"Missing required params: {', '.join(missing)}.")
        for key in ("confirm", "name", "namespace"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise _invalid(f"{key} must be a string.")
        addon = self._addon(_identity(body["addon"]))
        app = self._app(_identity(body["app"]))
        credential = "default"
        namespace = body.get("namespace")
        if namespace:
            kind, _, credential = namespace.partition(":")
            # The CLI's attach only ever sends credential:<name> (cli-pg addons/attach.ts); which other
            # namespaces Heroku takes is not published, so the double refuses them.
            if kind != "credential" or not credential:
                raise _invalid(f"Invalid namespace {namespace}: use credential:<name>.")
            if credential not in addon.credentials:
                # cli-pg addons/attach.ts checks first and says "Could not find credential <name> for database <addon>".
                raise _not_found("credential")
        name = body.get("name") or self._next_attachment_name(app)
        if not _ATTACHMENT_NAME.fullmatch(name):
            raise _invalid("Name must start with a letter and can only contain uppercase letters, numbers, and underscores.")
        # api-ref: the app may be another than the add-on's owner (a shared add-on); its var is set on that app.
        attachment = Attachment(name, credential, app_id=None if app.id == addon.app_id else app.id)
        self._attach(addon, attachment)
        return 201, self._attachment_json(addon, attachment)

    def _get_attachment(self, _call: Call, ref: str) -> Answer:
        addon, attachment = self._attachment(ref)
        return 200, self._attachment_json(addon, attachment)

    def _get_app_attachment(self, _call: Call, app_ref: str, ref: str) -> Answer:
        addon, attachment = self._attachment(ref, self._app(app_ref))
        return 200, self._attachment_json(addon, attachment)

    def _get_addon_attachments(self, _call: Call, ref: str) -> Answer:
        addon = self._addon(ref)
        return 200, [self._attachment_json(addon, a) for a in addon.attachments]

    def _delete_attachment(self, _call: Call, ref: str) -> Answer:
        addon, attachment = self._attachment(ref)
        if attachment.credential == "default" and sum(a.credential == "default" for a in addon.attachments) == 1:
            # The owning app's own attachment goes with the add-on (addons:destroy), never alone: the
            # double's choice where the reference says nothing.
            raise _invalid(f"Cannot detach {attachment.name}: it is the add-on's attachment to its owning app; destroy the add-on instead.")
        answer = self._attachment_json(addon, attachment)
        addon.attachments.remove(attachment)
        app = self._attached_app(addon, attachment)
        app.config_vars.pop(attachment.config_var, None)
        self._release(app, f"Detach {attachment.name} (@ref:{addon.name})")
        return 200, answer

    # the Data API's credentials (cli-pg): create, list, info, rotate

    def _post_credential(self, call: Call, ref: str) -> Answer:
        addon = self._data_addon(ref)
        name = call.body.get("name")
        if not isinstance(name, str) or not _CREDENTIAL_NAME.fullmatch(name):
            raise _invalid("Invalid credential name: use up to 50 letters, digits, dashes and underscores.")
        if name in addon.credentials:
            raise _invalid(f"Credential {name} already exists on {addon.name}.")
        self._new_credential(addon, name, reads=self.credential_provisioning_reads)
        # What the API answers is not published (the CLI ignores it); herokux decodes {id, message}.
        return 201, {"id": addon.credentials[name].uuid, "message": f"Credential {name} is being created on {addon.name}."}

    def _get_credentials(self, _call: Call, ref: str) -> Answer:
        addon = self._data_addon(ref, essential_ok=True)
        return 200, [self._credential_json(addon, self._look_at_credential(c)) for c in addon.credentials.values()]

    def _get_credential(self, _call: Call, ref: str, name: str) -> Answer:
        addon = self._data_addon(ref, essential_ok=True)
        if name not in addon.credentials:
            raise _not_found("credential")
        return 200, self._credential_json(addon, self._look_at_credential(addon.credentials[name]))

    def _post_rotation(self, call: Call, ref: str, name: str | None = None) -> Answer:
        addon = self._data_addon(ref, essential_ok=name in (None, "default"))
        if name is not None and name not in addon.credentials:
            raise _not_found("credential")
        if name not in (None, "default") and not call.body.get("forced"):
            self.begin_rotation(addon.id, name)  # cli-rotation: a temporary username until finish_rotation
        else:
            self.rotate_credentials(addon.id, name)
        return 200, {"message": "Rotation started."}

    # -- state ---------------------------------------------------------------------------------------

    def _app(self, ref: str) -> App:
        """Heroku takes an app's id or its name wherever an app identity goes (the Platform API schema's
        app `identity` is anyOf id, name; heroku-go's AppInfo(ctx, appIdentity) puts either into /apps/%v)."""
        found = self.apps.get(ref) or next((a for a in self.apps.values() if a.name == ref), None)
        if found is None:
            raise _not_found("app")
        return found

    def _addon(self, ref: str, app: App | None = None) -> AddOn:
        found = self.addons.get(ref) or next((a for a in self.addons.values() if a.name == ref), None)
        if found is None and app is not None:  # /apps/{app}/addons/{attachment name} resolves too
            found = next((a for a in self.addons.values() if a.app_id == app.id and any(t.name == ref for t in a.attachments)), None)
        if found is None or (app is not None and found.app_id != app.id):
            raise _not_found("add-on")
        return found

    def _attachment(self, ref: str, app: App | None = None) -> tuple[AddOn, Attachment]:
        """An attachment by id, or (within an app) by name."""
        for addon in self.addons.values():
            for attachment in addon.attachments:
                if attachment.id == ref or (app is not None and self._attached_app(addon, attachment) is app and attachment.name == ref):
                    return addon, attachment
        raise _not_found("add-on attachment")

    def _data_addon(self, ref: str, *, essential_ok: bool = False) -> AddOn:
        """The Data API's database (add-on id or name); Essential plans have the owner's credential only
        (dc-credentials). The API's own words are not published: these are the CLI's (cli-pg credentials/create.ts)."""
        addon = self._addon(ref)
        if addon.state != "provisioned":
            raise HerokuError(422, "unprocessable_entity", f"{addon.name} is still being provisioned.")
        if not essential_ok and addon.plan.startswith("essential-"):
            raise HerokuError(422, "unprocessable_entity", "You can't create a custom credential on Essential-tier databases.")
        return addon

    @staticmethod
    def _look_at_credential(credential: Credential) -> Credential:
        if credential.state == "provisioning":
            if credential.reads_left > 0:
                credential.reads_left -= 1
            else:
                credential.state = "active"
        return credential

    def _new_credential(self, addon: AddOn, name: str, *, reads: int) -> Credential:
        """A real role that may log in and nothing more (dc-credentials): PUBLIC's CONNECT and TEMPORARY on
        the database, no access to schema public (CVE-2018-1058). Heroku names the role after the credential;
        here every add-on shares one PostgreSQL cluster, where role names are global, so the role gets a suffix."""
        state = "provisioning" if reads else "active"
        entry = Credential(name, f"{name}_{secrets.token_hex(4)}", _password(), state=state, reads_left=reads)
        with self._admin() as conn:
            _role(conn, "CREATE ROLE {} LOGIN PASSWORD {}", entry)
        with psycopg.connect(self.postgres.admin_conninfo, dbname=addon.database, autocommit=True, connect_timeout=10) as conn:
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        addon.credentials[name] = entry
        return entry

    @staticmethod
    def _credential(addon: AddOn, name: str) -> Credential:
        if name not in addon.credentials:
            raise KeyError(f"add-on {addon.name} has no credential {name!r}: it has {sorted(addon.credentials)}")
        return addon.credentials[name]

    def _new_app(self, body: dict[str, Any], *, team_route: bool) -> App:
        name = body.get("name") or f"fake-app-{secrets.token_hex(4)}"
        self._check_app_name(name)
        region = body.get("region") or "us"
        if region not in REGIONS:
            raise _not_found("region")
        stack = self._stack(body.get("stack") or DEFAULT_STACK)
        team = body.get("team") if team_route and not body.get("personal") else None
        if team is not None and team not in self.teams:
            raise _not_found("team")
        space = body.get("space") if team_route else None
        if space is not None and (team is None or space not in self.spaces):
            raise _not_found("space")
        now = _now()
        app = App(str(uuid.uuid4()), name, region, stack, team, space, bool(body.get("locked", False)), secrets.token_hex(6), now, now)
        self.apps[app.id] = app
        # A new app has two releases before anything is deployed (`heroku releases`).
        self._release(app, "Initial release")
        self._release(app, "Enable Logplex")
        return app

    def _check_app_name(self, name: Any) -> None:
        if not isinstance(name, str) or len(name) < 3:
            raise _invalid("Name is too short (minimum is 3 characters)")
        if len(name) > 30:
            raise _invalid("Name is too long (maximum is 30 characters)")
        if not _APP_NAME.fullmatch(name):
            raise _invalid(
                "Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes."
            )
        if any(a.name == name for a in self.apps.values()):
            raise _invalid(f"Name {name} is already taken")

    @staticmethod
    def _stack(name: Any) -> str:
        if name not in STACKS:
            raise _not_found("stack")
        return str(name)

    def _update_config_vars(self, app: App, values: dict[str, Any]) -> None:
        """PATCH semantics (heroku-go ConfigVarUpdate map[string]*string): null unsets. Vars that an
        add-on attachment owns cannot be set or unset by hand, as on Heroku."""
        if not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in values.items()):
            raise _invalid("Config var values must be strings or null.")
        owned = sorted(k for k in values if k in self._attachment_vars(app))
        if owned:
            raise _invalid(f"Cannot overwrite attachment values {', '.join(owned)}.")
        changed = {k: v for k, v in values.items() if app.config_vars.get(k) != v}
        if not changed:
            return  # nothing to release; tf-app then polls the latest existing release
        for key, value in changed.items():
            if value is None:
                app.config_vars.pop(key, None)
            else:
                app.config_vars[key] = value
        set_keys = sorted(k for k, v in changed.items() if v is not None)
        removed = sorted(k for k, v in changed.items() if v is None)
        parts = [f"Set {', '.join(set_keys)} config vars"] if set_keys else []
        parts += [f"Remove {', '.join(removed)} config vars"] if removed else []
        self._release(app, "; ".join(parts))

    def _attachment_vars(self, app: App) -> set[str]:
        return {t.config_var for a in self.addons.values() for t in a.attachments if self._attached_app(a, t) is app}

    def _attached_app(self, addon: AddOn, attachment: Attachment) -> App:
        """The app an attachment sets its var on: its own app for a shared add-on, else the owner."""
        return self.apps[attachment.app_id or addon.app_id]

    def _release(self, app: App, description: str) -> Release:
        plans = sorted(f"{SERVICE}:{a.plan}" for a in self.addons.values() if a.app_id == app.id)
        release = Release(str(uuid.uuid4()), len(app.releases) + 1, description, _now(), plans, self.pending_release_reads)
        app.releases.append(release)
        return release

    def _plan(self, requested: Any, app: App) -> str:
        """A plan as heroku-go's AddOnCreateOpts.Plan carries it: "heroku-postgresql[:<plan>]"."""
        if not isinstance(requested, str) or not requested:
            raise _invalid("plan is required.")
        service, _, plan = requested.partition(":")
        plan = plan or DEFAULT_PLAN
        if service != SERVICE:
            raise _invalid(f'Couldn\'t find either the add-on service or the add-on plan of "{requested}".')
        if plan in _RETIRED_HOBBY:
            raise _invalid(
                f"The {SERVICE}:{plan} plan is no longer available. Choose a different plan. "
                "See all available plans in the Elements Marketplace at elements.heroku.com."
            )
        if plan in _RETIRED_EOL:
            detail = f"The {plan} plan has reached end-of-life. You can try again with a valid plan. "
            detail += f"See the available plans with: heroku addons:plans {SERVICE}."
            raise HerokuError(422, "addon_error", _provider_error(f"{SERVICE}:{plan}", detail))
        match = _PLAN.fullmatch(plan)
        if not match:
            raise _invalid(f'Couldn\'t find either the add-on service or the add-on plan of "{requested}".')
        tier = match.group(1) or match.group(3)
        # Private and Shield databases live in a Private Space (a Shield one for shield); the exact API
        # text is not published, so this names the plan and the requirement.
        if tier == "private" and app.space is None:
            raise _invalid(f"The {SERVICE}:{plan} plan can only be provisioned on an app in a Private Space.")
        if tier == "shield" and not (app.space is not None and self.spaces.get(app.space)):
            raise _invalid(f"The {SERVICE}:{plan} plan can only be provisioned on an app in a Shield Private Space.")
        return plan

    def _new_addon(self, app: App, body: dict[str, Any], *, reads: int) -> AddOn:
        plan = self._plan(body.get("plan"), app)
        config = body.get("config") or {}
        if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
            raise _invalid("config must be an object of strings.")
        unknown = sorted(set(config) - {"version"})
        if unknown:
            raise HerokuError(422, "addon_error", _provider_error(f"{SERVICE}:{plan}", f"Unknown option {', '.join(unknown)}."))
        version = config.get("version")
        if version is not None and version not in POSTGRES_VERSIONS:
            supported = ", ".join(POSTGRES_VERSIONS)
            detail = f"Version {version} is not supported. Supported versions: {supported}."
            raise HerokuError(422, "addon_error", _provider_error(f"{SERVICE}:{plan}", detail))
        name = body.get("name") or f"postgresql-{secrets.choice(_WORDS)}-{secrets.randbelow(90000) + 10000}"
        self._check_addon_name(name, None)
        requested = body.get("attachment") or {}
        if not isinstance(requested, dict) or not isinstance(requested.get("name") or "", str):
            raise _invalid("attachment must be an object with a name.")
        attachment = requested.get("name") or self._next_attachment_name(app)
        if f"{attachment}_URL" in app.config_vars or f"{attachment}_URL" in self._attachment_vars(app):
            raise _invalid(f"Cannot overwrite attachment values {attachment}_URL.")
        owner = Credential("default", _role_name(), _password())
        database = "d" + secrets.token_hex(7)
        self._create_database(database, owner)  # the real database exists before the API answers
        now = _now()
        addon = AddOn(str(uuid.uuid4()), name, app.id, plan, version, database, {"default": owner}, [Attachment(attachment, "default")],
                      f"resource{secrets.randbelow(10**8)}@heroku.com", now, now, reads_left=reads)  # fmt: skip
        self.addons[addon.id] = addon
        if reads == 0:
            self._provisioned(addon)
        return addon

    def _next_attachment_name(self, app: App) -> str:
        """An app's first database is attached as DATABASE; once DATABASE_URL exists, as
        HEROKU_POSTGRESQL_<COLOR> (the CLI prints "Created postgresql-... as HEROKU_POSTGRESQL_OLIVE_URL")."""
        taken = set(app.config_vars) | self._attachment_vars(app)
        if "DATABASE_URL" not in taken:
            return "DATABASE"
        return "HEROKU_POSTGRESQL_" + secrets.choice([c for c in _COLORS if f"HEROKU_POSTGRESQL_{c}_URL" not in taken])

    def _check_addon_name(self, name: Any, addon: AddOn | None) -> None:
        if not isinstance(name, str) or not _ADDON_NAME.fullmatch(name):
            raise _invalid("Invalid add-on name: must start with a letter and can only contain letters, digits, dashes and underscores.")
        if any(a.name == name and a is not addon for a in self.addons.values()):
            raise _invalid(f"Name {name} is already taken")

    def _look_at_addon(self, addon: AddOn) -> AddOn:
        if addon.state == "provisioning":
            if addon.reads_left > 0:
                addon.reads_left -= 1
            else:
                self._provisioned(addon)
        return addon

    def _provisioned(self, addon: AddOn) -> None:
        addon.state = "provisioned"
        self._publish(addon, f"Attach {self._addon_attachment_names(addon)} (@ref:{addon.name})")

    def _attach(self, addon: AddOn, attachment: Attachment) -> str:
        app = self._attached_app(addon, attachment)
        if attachment.config_var in app.config_vars or attachment.config_var in self._attachment_vars(app):
            raise _invalid(f"Cannot overwrite attachment values {attachment.config_var}.")
        addon.attachments.append(attachment)
        self._publish(addon, f"Attach {attachment.name} (@ref:{addon.name})", only=app)
        return attachment.config_var

    def _publish(self, addon: AddOn, description: str, *, only: App | None = None) -> None:
        """Write the add-on's URLs into the config vars of each app it is attached to, as one release on each
        (a shared add-on's rotation updates every app holding its URL); `only`: that app's release alone."""
        if addon.state != "provisioned":
            return
        touched: list[App] = []
        for attachment in addon.attachments:
            app = self._attached_app(addon, attachment)
            app.config_vars[attachment.config_var] = self._url(addon, attachment)
            touched += [app] if app not in touched else []
        addon.updated_at = _now()
        for app in touched if only is None else [only]:
            self._release(app, description)

    def _url(self, addon: AddOn, attachment: Attachment) -> str:
        credential = addon.credentials["default" if attachment.credential is None else attachment.credential]
        port = POOL_PORT if attachment.credential is None else self.postgres.port
        user, password = (quote(part, safe="") for part in credential.login)
        return f"postgres://{user}:{password}@{self.postgres.host}:{port}/{addon.database}"

    @staticmethod
    def _addon_attachment_names(addon: AddOn) -> str:
        return ", ".join(a.name for a in addon.attachments)

    def _drop(self, addon: AddOn) -> None:
        self.addons.pop(addon.id, None)
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(addon.database)))
            for credential in addon.credentials.values():
                for user in (credential.user, *(credential.rotation or ())[:1]):
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
        touched: list[App] = []
        for attachment in addon.attachments:
            app = self.apps.get(attachment.app_id or addon.app_id)
            if app is not None:
                app.config_vars.pop(attachment.config_var, None)
                touched += [app] if app not in touched else []
        for app in touched:
            self._release(app, f"Detach {self._addon_attachment_names(addon)} (@ref:{addon.name})")

    # -- the real database -----------------------------------------------------------------------

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.postgres.admin_conninfo, autocommit=True, connect_timeout=10)

    def _create_database(self, database: str, owner: Credential) -> None:
        """As Heroku makes one: the default credential owns the database and schema public; PUBLIC
        keeps CONNECT and TEMPORARY (as devtools.local_postgres.Cluster.create_database)."""
        try:
            with self._admin() as conn:
                _role(conn, "CREATE ROLE {} LOGIN PASSWORD {}", owner)
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner.user)))
            with psycopg.connect(self.postgres.admin_conninfo, dbname=database, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner.user)))
        except psycopg.Error:
            with self._admin() as conn:  # nothing half-made is left behind
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner.user)))
            raise

    # -- JSON shapes (heroku-go structs App, TeamApp, AddOn, Release) --------------------------------

    def _owner(self) -> dict[str, str]:
        return {"email": self.email, "id": _stable_id("account", self.email)}

    def _app_json(self, app: App) -> dict[str, Any]:
        team = {"id": _stable_id("team", app.team), "name": app.team} if app.team else None
        stack = {"id": _stable_id("stack", app.stack), "name": app.stack}
        return {
            "acm": False,
            "archived_at": None,
            "build_stack": stack,
            "buildpack_provided_description": None,
            "created_at": app.created_at,
            "git_url": f"https://git.heroku.com/{app.name}.git",
            "id": app.id,
            "internal_routing": False if app.space else None,
            "maintenance": False,
            "name": app.name,
            # tf-app treats an app as a team app when both "organization" and "team" are set.
            "organization": team,
            "owner": self._owner(),
            "region": {"id": _stable_id("region", app.region), "name": app.region},
            "released_at": app.releases[-1].created_at if app.releases else None,
            "repo_size": None,
            "slug_size": None,
            "space": self._space_json(app.space),
            "stack": stack,
            "team": team,
            "updated_at": app.updated_at,
            "web_url": f"https://{app.name}-{app.web_hash}.herokuapp.com/",
        }

    def _space_json(self, space: str | None) -> dict[str, Any] | None:
        if space is None:
            return None
        return {"id": _stable_id("space", space), "name": space, "shield": bool(self.spaces.get(space))}

    def _attachment_json(self, addon: AddOn, attachment: Attachment) -> dict[str, Any]:
        """heroku-go v5 AddOnAttachment: `addon.app` is the app that owns the add-on, `app` the one it is attached to."""
        owner, app = self.apps[addon.app_id], self._attached_app(addon, attachment)
        return {
            "addon": {"app": {"id": owner.id, "name": owner.name}, "id": addon.id, "name": addon.name},
            "app": {"id": app.id, "name": app.name},
            "created_at": attachment.created_at,
            "id": attachment.id,
            "log_input_url": None,
            "name": attachment.name,
            "namespace": attachment.namespace,
            "updated_at": attachment.created_at,
            "web_url": f"https://data.heroku.com/datastores/{addon.id}",
        }

    def _credential_json(self, addon: AddOn, credential: Credential) -> dict[str, Any]:
        """cli-pg lib/pg/types.ts CredentialsInfo (database, host, port, credentials[{user, password, state}])
        with name, state and uuid as credentials.ts and herokux decode them; no password until it is active."""
        secret = {"user": credential.user, "password": credential.password, "state": "active"}
        secrets_ = [] if credential.state == "provisioning" else [secret]
        if credential.rotation is not None:  # cli-rotation: the own user revoking, the temporary one active
            user, password = credential.rotation
            secrets_ = [secret | {"state": "revoking"}, {"user": user, "password": password, "state": "active"}]
        return {
            "uuid": credential.uuid,
            "name": credential.name,
            "state": credential.state,
            "database": addon.database,
            "host": self.postgres.host,
            "port": self.postgres.port,
            "credentials": secrets_,
        }

    def _team_app_json(self, app: App) -> dict[str, Any]:
        answer = self._app_json(app)
        del answer["acm"], answer["organization"]
        return answer | {"joined": False, "locked": app.locked}

    def _addon_json(self, addon: AddOn) -> dict[str, Any]:
        app = self.apps[addon.app_id]
        cents = _PRICE_CENTS.get(addon.plan)
        return {
            "actions": [],
            "addon_service": {"id": _stable_id("service", SERVICE), "name": SERVICE},
            "app": {"id": app.id, "name": app.name},
            "billed_price": {"cents": cents, "contract": False, "unit": "month"} if cents is not None else None,
            "billing_entity": {"id": app.id, "name": app.name, "type": "app"},
            # Heroku promises no order; sorted puts DATABASE_CONNECTION_POOL_URL before DATABASE_URL,
            # the order that catches a consumer taking "the first *_URL".
            "config_vars": sorted(a.config_var for a in addon.attachments),
            "created_at": addon.created_at,
            "id": addon.id,
            "name": addon.name,
            "plan": {"id": _stable_id("plan", addon.plan), "name": f"{SERVICE}:{addon.plan}"},
            "provider_id": addon.provider_id,
            "state": addon.state,
            "updated_at": addon.updated_at,
            "web_url": f"https://data.heroku.com/datastores/{addon.id}",
        }


_UNREADABLE = object()
DATA_API_PREFIX = "/postgres/v0/"
_ATTACHMENT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_CREDENTIAL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,50}")  # herokux ValidCredentialNameRegex


def _identity(value: Any) -> str:
    """An app or add-on identity: a string, or an object with its id or name."""
    if isinstance(value, dict):
        value = value.get("id") or value.get("name")
    if not isinstance(value, str) or not value:
        raise _invalid("addon and app must be an id or a name.")
    return value


def _release_json(app: App, release: Release) -> dict[str, Any]:
    return {
        "addon_plan_names": release.addon_plan_names,
        "app": {"id": app.id, "name": app.name},
        "created_at": release.created_at,
        "current": release is app.releases[-1],
        "description": release.description,
        "id": release.id,
        "output_stream_url": None,
        "slug": None,
        "status": release.status,
        "updated_at": release.created_at,
        "user": {"email": "dev@example.com", "id": _stable_id("account", "dev@example.com")},
        "version": release.version,
    }


def _apply_range(items: list[dict[str, Any]], header: str | None) -> tuple[list[dict[str, Any]], bool]:
    """heroku-go ListRange.SetHeader: `<field> <first>..<last>[; max=<n>,order=desc]`; 200 a page."""
    field_name, limit, descending = "id", 200, False
    if header:
        head, _, params = header.partition(";")
        field_name = head.split(" ", 1)[0].strip() or "id"
        for param in params.split(","):
            key, _, value = param.strip().partition("=")
            if key == "max" and value.isdigit():
                limit = min(int(value), 1000)
            elif key == "order":
                descending = value == "desc"
    if field_name not in ("id", "version", "created_at"):
        raise HerokuError(400, "bad_request", f"Invalid Range header field {field_name!r}.")
    ordered = sorted(items, key=lambda item: item[field_name], reverse=descending)
    return ordered[:limit], len(ordered) > limit


def _accepts_v3(header: str | None) -> bool:
    if not header:
        return False
    for choice in header.split(","):
        media, *params = (p.strip() for p in choice.split(";"))
        if media == "application/vnd.heroku+json" and "version=3" in (p.replace(" ", "") for p in params):
            return True
    return False


def _redacted(path: str, body: Any) -> Any:
    """Config var values may be secrets: keep the names and whether each was unset."""
    if path.endswith("/config-vars") and isinstance(body, dict):
        return {k: None if v is None else "<redacted>" for k, v in body.items()}
    return None if body is _UNREADABLE else body


def _role(conn: psycopg.Connection, statement: str, credential: Credential) -> None:
    """Run CREATE/ALTER ROLE <user> ... PASSWORD <password>, quoted by psycopg."""
    conn.execute(sql.SQL(statement).format(sql.Identifier(credential.user), sql.Literal(credential.password)))


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _provider_error(plan: str, detail: str) -> str:
    """The wrapping Heroku puts around an add-on provider's refusal (error id "addon_error")."""
    return (
        f"We tried to create {plan}, but received an error from the add-on provider. Try the request again, "
        f"or log a support ticket and include this message: {detail}"
    )


def _role_name() -> str:
    return "u" + secrets.token_hex(7)  # Heroku's credentials look like u1a2b3c4d5e6f7


def _password() -> str:
    return "p" + secrets.token_hex(32)


_ROUTES: list[tuple[str, re.Pattern[str], Any]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("POST", r"/apps", FakeHeroku._post_apps),
        ("POST", r"/teams/apps", FakeHeroku._post_team_apps),
        ("GET", r"/apps/([^/]+)", FakeHeroku._get_app),
        ("PATCH", r"/apps/([^/]+)", FakeHeroku._patch_app),
        ("DELETE", r"/apps/([^/]+)", FakeHeroku._delete_app),
        ("GET", r"/teams/apps/([^/]+)", FakeHeroku._get_team_app),
        ("PATCH", r"/teams/apps/([^/]+)", FakeHeroku._patch_team_app),
        ("GET", r"/apps/([^/]+)/config-vars", FakeHeroku._get_config_vars),
        ("PATCH", r"/apps/([^/]+)/config-vars", FakeHeroku._patch_config_vars),
        ("GET", r"/apps/([^/]+)/releases", FakeHeroku._get_releases),
        ("GET", r"/apps/([^/]+)/releases/([^/]+)", FakeHeroku._get_release),
        ("GET", r"/apps/([^/]+)/buildpack-installations", FakeHeroku._get_buildpacks),
        ("PUT", r"/apps/([^/]+)/buildpack-installations", FakeHeroku._put_buildpacks),
        ("GET", r"/apps/([^/]+)/addons", FakeHeroku._get_app_addons),
        ("POST", r"/apps/([^/]+)/addons", FakeHeroku._post_addon),
        ("GET", r"/apps/([^/]+)/addons/([^/]+)", FakeHeroku._get_app_addon),
        ("PATCH", r"/apps/([^/]+)/addons/([^/]+)", FakeHeroku._patch_addon),
        ("DELETE", r"/apps/([^/]+)/addons/([^/]+)", FakeHeroku._delete_addon),
        ("GET", r"/addons/([^/]+)", FakeHeroku._get_addon),
        ("GET", r"/addons/([^/]+)/addon-attachments", FakeHeroku._get_addon_attachments),
        ("POST", r"/addon-attachments", FakeHeroku._post_attachment),
        ("GET", r"/addon-attachments/([^/]+)", FakeHeroku._get_attachment),
        ("DELETE", r"/addon-attachments/([^/]+)", FakeHeroku._delete_attachment),
        ("GET", r"/apps/([^/]+)/addon-attachments/([^/]+)", FakeHeroku._get_app_attachment),
        ("POST", r"/postgres/v0/databases/([^/]+)/credentials", FakeHeroku._post_credential),
        ("GET", r"/postgres/v0/databases/([^/]+)/credentials", FakeHeroku._get_credentials),
        ("GET", r"/postgres/v0/databases/([^/]+)/credentials/([^/]+)", FakeHeroku._get_credential),
        ("POST", r"/postgres/v0/databases/([^/]+)/credentials_rotation", FakeHeroku._post_rotation),
        ("POST", r"/postgres/v0/databases/([^/]+)/credentials/([^/]+)/credentials_rotation", FakeHeroku._post_rotation),
    ]
]


class _Handler(BaseHTTPRequestHandler):
    heroku: FakeHeroku
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's http.Transport uses

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, answer = self.heroku.handle(self.command, self.path, self.headers, raw)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", self.headers.get("Request-Id") or str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are recorded instead."""


class HerokuApiServer(LoopbackServer[FakeHeroku]):
    """Serves a FakeHeroku on 127.0.0.1 (a free port) in a thread, for a `with` block. Point the
    provider at `fake.url` with `heroku:url` or HEROKU_API_URL (no trailing slash: heroku-go joins
    URL + path). On exit it stops serving and drops every database the double made."""

    def __init__(self, heroku: FakeHeroku):
        super().__init__(heroku, type("Handler", (_Handler,), {"heroku": heroku}), "fake-heroku", on_exit=heroku.close)


def serve(postgres: PostgresTarget, **settings: Any) -> Iterator[FakeHeroku]:
    """A fixture body: `yield from serve(PostgresTarget.for_cluster(ssl_server.cluster))`."""
    with HerokuApiServer(FakeHeroku(postgres, **settings)) as heroku:
        yield heroku
