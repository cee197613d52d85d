"""Stitch's own Heroku Postgres credential, so Stitch never loads as the database owner.

`heroku pg:credentials:create --name stitch` through Heroku's Data API, then `heroku addons:attach
--credential stitch --as STITCH_DATABASE` through the heroku provider's add-on Attachment. The app then
holds STITCH_DATABASE_URL, which Heroku rewrites on every rotation and `pulumi up` reads live. The
credential starts with no privileges on existing objects (Dev Center, "Heroku Postgres Credentials");
StitchGrant gives its role CONNECT, CREATE and TEMPORARY on the database, nothing else.

Sources, cited below by short name (heroku/cli, packages/cli/src):
  cli-create  commands/pg/credentials/create.ts: POST /postgres/v0/databases/{addon}/credentials {"name"};
              refused on Essential plans ("You can't create a custom credential on Essential-tier databases.")
  cli-url     commands/pg/credentials/url.ts: GET .../credentials/{name}, Basic auth ":<API key>",
              the secret whose state is "active"
  cli-host    lib/pg/host.ts: the Data API host is $HEROKU_DATA_HOST, else api.data.heroku.com
  cli-util    lib/pg/util.ts: a plan is Essential when its name after "heroku-postgresql:" starts "essential"
  cli-attach  commands/addons/attach.ts: namespace "credential:<name>"
  herokux     davidji99/terraform-provider-herokux api/postgres/types.go: credential states wait_for_provisioning,
              provisioning, active, revoking
  cli-rotate  commands/pg/credentials/rotate.ts: rotating a named credential "a temporary rotation username will be
              used during the process"; lib/data/types.ts: the credential is then `rotating`; the CLI's unit test
              test/unit/commands/pg/credentials.unit.test.ts: its user `jeff` `revoking`, `jeff-rotating` `active`
"""

from __future__ import annotations

import base64
import json
import logging
import netrc
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pulumi
import urllib3
from pulumi.dynamic import ConfigureRequest, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumiverse_heroku.addon import Attachment
from urllib3.util.retry import Retry

from .config import (
    DEFAULT_HEROKU_API,
    ESSENTIAL_TIER,
    HEROKU_KEY,
    HEROKU_KEY_ENV,
    HEROKU_URL_ENV,
    HEROKU_URL_KEY,
    LOOPBACK_HOSTS,
    ONE_CREDENTIAL_REASON,
    PLAN_PREFIX,
    PROGRAM_TERMS,
    StackConfig,
    Terms,
    caller_project,
    heroku_api_host,
    netrc_path,
    terms_of,
)
from .moved import part_of, with_args
from .provider_credentials import (
    GIVEN_HEROKU_KEY,
    LEGACY_CREDENTIALS,
    given_credential,
    given_first,
    heroku_config,
    without_credentials,
)
from .up_command import pulumi_up

CREDENTIAL = "stitch"
ATTACHMENT = "STITCH_DATABASE"
CONFIG_VAR = f"{ATTACHMENT}_URL"
NAMESPACE = f"credential:{CREDENTIAL}"  # cli-attach
DATA_HOST_ENV = "HEROKU_DATA_HOST"
DEFAULT_DATA_HOST = "api.data.heroku.com"  # cli-host
ACCEPT = "application/vnd.heroku+json; version=3"
ACTIVE = "active"
ROTATING = "rotating"  # cli-rotate
PROVISIONING = ("wait_for_provisioning", "provisioning")  # herokux CredentialStates
ACTIVATE_TIMEOUT = 600.0
"""Seconds to wait for a new credential to become active; Heroku publishes no figure."""
# Inputs that only we hold: a change is recorded, with no call to Heroku. No API key among them: the provider
# takes the one a Destination's caller gave, else the run's (components.provider_credentials); the run's is never kept.
OUR_SIDE = ("data_url", "activate_timeout", "poll_seconds", "addon_name")
# A change of these names another credential: a new one is made (the old one is kept, as on delete).
REPLACE_ON = ("addon", "name")

log = logging.getLogger(__name__)


class HerokuCredentialError(Exception):
    """Heroku refused or did not answer; the message names the call, Heroku's words and the fix, never the key."""


# -- where to call, as whom ------------------------------------------------------------------------------


def data_api_url(environ: Mapping[str, str] = os.environ) -> str:
    """cli-host: $HEROKU_DATA_HOST names the host (https); a full URL is taken too, plain http only on
    loopback (a test double), so the API key never travels in clear text."""
    text = (environ.get(DATA_HOST_ENV) or DEFAULT_DATA_HOST).rstrip("/")
    url = text if "://" in text else f"https://{text}"
    parts = urlsplit(url)
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
        raise HerokuCredentialError(
            f"{DATA_HOST_ENV}={text!r} is not a host for Heroku's Data API (the API key would travel in clear text): "
            f"unset it to use {DEFAULT_DATA_HOST}"
        )
    return url


def platform_api_url(config: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> str:
    """The Platform API the heroku provider calls: heroku:url, else HEROKU_API_URL, else api.heroku.com."""
    return (config.get(HEROKU_URL_KEY) or environ.get(HEROKU_URL_ENV) or DEFAULT_HEROKU_API).rstrip("/")


def heroku_api_key(config: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> str | None:
    """The key the heroku provider uses, looked up in its order (components.config.heroku_login says which
    one it is and validates it): heroku:apiKey, HEROKU_API_KEY, then the netrc entry for the API's host."""
    if config.get(HEROKU_KEY):
        return config[HEROKU_KEY]
    if environ.get(HEROKU_KEY_ENV):
        return environ[HEROKU_KEY_ENV]
    path = netrc_path(environ)
    try:
        entry = netrc.netrc(str(path)).authenticators(heroku_api_host(config, environ)) if path.is_file() else None
    except (netrc.NetrcParseError, OSError):
        return None  # heroku_login has already reported why, without the file's text
    return entry[2] if entry and entry[2] else None


# -- the HTTP calls ----------------------------------------------------------------------------------------


class HerokuHttp:
    """One base URL, HTTP Basic auth with an empty login and the API key as password (cli-url, credentials.ts,
    rotate.ts send exactly that to the Data API; the Platform API takes it too). Reads are retried on 429
    and 5xx; a POST is never repeated blindly. The key never appears in a message."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0, retries: int = 3, terms: Terms = PROGRAM_TERMS):
        self._give_key = f"run `heroku login`, or {terms.set(HEROKU_KEY, secret=True)}"  # terms: config.Terms of the caller
        if not api_key:
            raise HerokuCredentialError(f"no Heroku API key: {self._give_key}")
        self.base_url, self._key, self._retries = base_url.rstrip("/"), api_key, retries
        token = base64.b64encode(f":{api_key}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": ACCEPT, "User-Agent": "stitch-heroku"}
        self._pool = urllib3.PoolManager(headers=headers, timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, JSON answer) for a 2xx or a 404; any other answer raises with Heroku's message."""
        repeatable = method == "GET"
        retry = Retry(
            total=self._retries if repeatable else 0,
            backoff_factor=1.0,
            status_forcelist=(429, 500, 502, 503, 504) if repeatable else (),
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
        )
        try:
            response = self._pool.request(method, self.base_url + path, json=body, retries=retry, redirect=False)
        except urllib3.exceptions.HTTPError as error:
            reason = type(getattr(error, "reason", None) or error).__name__
            raise HerokuCredentialError(
                f"{method} {self.base_url}{path}: no answer ({reason}); check the network and HTTPS_PROXY, or retry when Heroku is up"
            ) from None
        try:
            answer = json.loads(response.data) if response.data else None
        except ValueError:
            answer = None
        if response.status // 100 == 2 or response.status == 404:
            return response.status, answer
        message = answer.get("message") if isinstance(answer, dict) else None
        message = str(message or response.data[:200].decode("utf-8", "replace") or "(no message)").replace(self._key, "***")
        fix = {401: f"the Heroku API key is not valid: {self._give_key}",
               403: "the Heroku account behind the API key may not manage this database: use a key of the app's owner or team"
               }.get(response.status, f"retry {pulumi_up()}; if it keeps failing, see https://status.heroku.com")  # fmt: skip
        said = message.rstrip(".")
        raise HerokuCredentialError(f"Heroku answered {method} {self.base_url}{path} with {response.status}: {said}. Fix: {fix}")


# -- the add-on behind an app's database (heroku-existing) ---------------------------------------------------


@dataclass(frozen=True)
class DatabaseAddon:
    """The Heroku Postgres add-on behind one of an app's attachments."""

    id: str
    name: str
    app_id: str
    """The app the stack names, which the add-on is attached to (the attachment's `app.id`): Stitch's credential is
    attached there, where the program reads STITCH_DATABASE_URL. For a database shared from another app
    (`heroku addons:attach`) that is not the add-on's owner (`addon.app.id`), whose release would restart its dynos."""
    plan: str
    """Without the "heroku-postgresql:" prefix, e.g. "standard-0"."""

    @property
    def one_credential(self) -> bool:
        return self.plan.startswith(ESSENTIAL_TIER)  # cli-util essentialNumPlan


def find_database_addon(http: HerokuHttp, app_name: str, config_var: str) -> DatabaseAddon:
    """Which add-on the app's config var belongs to, and its plan: read-only Platform API calls
    (AddOnAttachmentInfoByApp by the attachment's name, then AddOnInfo)."""
    attachment_name = config_var.removesuffix("_URL")
    status, attachment = http.call("GET", f"/apps/{quote(app_name, safe='')}/addon-attachments/{quote(attachment_name, safe='')}")
    if status == 404:
        raise HerokuCredentialError(
            f"Heroku app {app_name!r} has no add-on attachment {attachment_name} (the one behind {config_var}): check app_name and "
            f"database_config_var (`heroku addons -a {app_name}`), or set stitch_credential owner to skip the dedicated credential"
        )
    addon_id = attachment["addon"]["id"]
    status, addon = http.call("GET", f"/addons/{quote(addon_id, safe='')}")
    if status == 404:
        raise HerokuCredentialError(f"the add-on {addon_id} behind {config_var} of {app_name!r} is gone: run {pulumi_up()} again")
    # api-ref "Add-on Attachment": `app` is the app the add-on is attached to, `addon.app` the one that owns it.
    return DatabaseAddon(addon["id"], addon["name"], attachment["app"]["id"], str(addon["plan"]["name"]).removeprefix(PLAN_PREFIX))


def dedicated_refused(plan: str) -> str:
    """The error for stitch_credential dedicated on a plan that has only the owner's credential."""
    return (
        f"stitch_credential: dedicated needs a second credential, but the add-on's plan {plan} has none: {ONE_CREDENTIAL_REASON}; "
        "upgrade the database (`heroku addons:upgrade`), or pulumi config rm stitch_credential to keep the owner's credential"
    )


@dataclass(frozen=True)
class HerokuAccess:
    """Where and as whom the program calls Heroku itself (the Data API; for heroku-existing, one Platform API lookup)."""

    api_key: pulumi.Input[str] | None = field(repr=False)
    """A plain key, or a Destination's heroku_api_key as given (an Output is used where the deployment reads it)."""
    api_url: str
    data_url: str
    given_key: pulumi.Input[str] | None = field(default=None, repr=False)
    """The key a Destination's caller gave (heroku_api_key), which its dynamic children keep; None: the run's own."""


def heroku_access() -> HerokuAccess:
    """The heroku provider's own key and URL, read from the running stack's config and the environment."""
    provider = pulumi.Config("heroku")
    config = {key: value for key, value in ((HEROKU_KEY, provider.get("apiKey")), (HEROKU_URL_KEY, provider.get("url"))) if value}
    return HerokuAccess(heroku_api_key(config), platform_api_url(config), data_api_url())


@dataclass(frozen=True)
class CredentialChoice:
    """Whose credential Stitch gets on a Heroku source, decided before any resource is declared."""

    dedicated: bool
    addon: DatabaseAddon | None = None
    """heroku-existing: the add-on the dedicated credential is made on."""
    owner_reason: str | None = None
    """Why Stitch keeps the owner's credential, for the verification's warning; None when it does not."""


OWNER_CHOSEN = "stitch_credential is owner: Stitch may drop or change every table of the database"


def choose_credential(cfg: StackConfig, access: HerokuAccess) -> CredentialChoice:
    """`source: heroku` decides from the plan in config (validated there). heroku-existing reads the
    add-on's plan from the Platform API on every run, read-only: the plan is Heroku's fact, not the user's to
    repeat, and an upgraded database gets its dedicated credential on the next `up`. The user's own credential
    (stitch_url, stitch_config_var) leaves nothing to choose."""
    if cfg.stitch_url or cfg.stitch_config_var:
        return CredentialChoice(False)
    if cfg.stitch_credential == "owner":
        one = cfg.source == "heroku" and cfg.plan.startswith(ESSENTIAL_TIER)
        return CredentialChoice(False, owner_reason=ONE_CREDENTIAL_REASON if one else OWNER_CHOSEN)
    if cfg.source == "heroku":
        return CredentialChoice(True)
    # The plan is read before any resource, so a key known only during the deployment (a Destination's
    # heroku_api_key given as an Output) cannot serve here: the provider's own key (environment, netrc) does.
    key = access.api_key if isinstance(access.api_key, str) else heroku_api_key({})
    addon = find_database_addon(HerokuHttp(access.api_url, key or ""), str(cfg.app_name), cfg.database_config_var)
    if addon.one_credential:
        if cfg.stitch_credential == "dedicated":
            raise HerokuCredentialError(dedicated_refused(addon.plan))
        return CredentialChoice(False, owner_reason=ONE_CREDENTIAL_REASON)
    return CredentialChoice(True, addon)


# -- the credential as a dynamic resource ------------------------------------------------------------------------


class StitchCredentialProvider(ResourceProvider):
    """create (or adopt), read, and a delete that keeps the credential; the id is "<add-on id>:<name>"."""

    api_key: str | None = None
    """From configure(): the key of this run (heroku:apiKey, HEROKU_API_KEY, the netrc), used when the caller gave none."""

    def configure(self, req: ConfigureRequest) -> None:
        self.api_key = heroku_api_key(heroku_config(req))

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = _data_api(props, given_first(props, GIVEN_HEROKU_KEY, self.api_key))
        path = _credential_path(props)
        status, found = client.call("GET", path)
        adopted = status != 404
        if adopted:
            log.info("credential %s already exists on %s: adopting it", props["name"], props["addon_name"])
        else:
            client.call("POST", _credentials_path(props), {"name": props["name"]})  # cli-create
        found = _wait_until_active(client, props)
        return CreateResult(id_=f"{props['addon']}:{props['name']}", outs={**props, **_facts(found, None), "adopted": adopted})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in REPLACE_ON if olds.get(key) != news.get(key)]
        # A key the caller gave anew (rotated) is recorded by an update that calls nobody.
        changed = replaces + [key for key in (*OUR_SIDE, GIVEN_HEROKU_KEY) if olds.get(key) != news.get(key)]
        # A key an earlier version saved: an update (never a replacement) takes it out of the state.
        changed += [key for key in LEGACY_CREDENTIALS if key in olds]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, **{key: olds.get(key) for key in (*_FACTS, "adopted")}})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What Heroku holds now; gone (`pg:credentials:destroy`): an empty id, so refresh drops it and `up` makes it again."""
        status, found = _data_api(props, given_first(props, GIVEN_HEROKU_KEY, self.api_key)).call("GET", _credential_path(props))
        if status == 404:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs={**without_credentials(props), **_facts(found, props.get("user"))})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Kept: the credential's role owns every schema and table Stitch loaded, and dropping it would
        need those dropped or reassigned first. Said on the provider's stderr, which the engine shows."""
        print(
            f"warning: the Heroku credential {props.get('name')} stays on {props.get('addon_name')} for as long as that database lives: "
            "its role owns what Stitch loaded. "
            f"Remove it yourself when that data may go: heroku pg:credentials:destroy {props.get('addon_name')} --name {props.get('name')}",
            flush=True,
            file=sys.stderr,
        )


_FACTS = ("user", "database", "host", "port", "state", "uuid")


def _data_api(props: Mapping[str, Any], api_key: str | None) -> HerokuHttp:
    """HerokuHttp says what to do when the run has no key, in the caller's terms."""
    return HerokuHttp(str(props["data_url"]), api_key or "", terms=terms_of(props))


def _credentials_path(props: Mapping[str, Any]) -> str:
    return f"/postgres/v0/databases/{quote(str(props['addon']), safe='')}/credentials"


def _credential_path(props: Mapping[str, Any]) -> str:
    return f"{_credentials_path(props)}/{quote(str(props['name']), safe='')}"


def _active_user(found: Mapping[str, Any]) -> str | None:
    """cli-url: the role of the secret whose state is "active" (during a rotation there are two)."""
    return next((s.get("user") for s in found.get("credentials") or [] if s.get("state") == ACTIVE), None)


def stable_user(found: Mapping[str, Any], known: str | None) -> str | None:
    """The credential's own role, which Stitch is granted and registered with. While a rotation runs (cli-rotate) the
    active username is a temporary one that goes away at its end: the role is then the one already known, else the
    secret that is not active (the one `revoking`)."""
    if found.get("state") != ROTATING:
        return _active_user(found) or known
    return known or next((s.get("user") for s in found.get("credentials") or [] if s.get("state") != ACTIVE), None)


def _facts(found: Mapping[str, Any], known_user: str | None) -> dict[str, Any]:
    """What the state keeps of the credential: never its password (the app's config var has it, read live)."""
    return {
        "user": stable_user(found, known_user),
        "database": found.get("database"),
        "host": found.get("host"),
        "port": found.get("port"),
        "state": found.get("state"),
        "uuid": found.get("uuid"),
    }


def _wait_until_active(
    client: HerokuHttp,
    props: Mapping[str, Any],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll GET .../credentials/<name> until its state is active with an active secret."""
    deadline = clock() + float(props.get("activate_timeout") or ACTIVATE_TIMEOUT)
    poll = float(props.get("poll_seconds") or 2.0)
    while True:
        status, found = client.call("GET", _credential_path(props))
        state = (found or {}).get("state") if status != 404 else "missing"
        if state == ACTIVE and _active_user(found):
            return found
        if state not in PROVISIONING and state != "missing":
            raise HerokuCredentialError(
                f"the Heroku credential {props['name']} on {props['addon_name']} is {state!r}, not active: "
                f"look at `heroku pg:credentials {props['addon_name']}`, then run {pulumi_up()} again"
            )
        if clock() >= deadline:
            raise HerokuCredentialError(
                f"the Heroku credential {props['name']} on {props['addon_name']} was still {state!r} after "
                f"{float(props.get('activate_timeout') or ACTIVATE_TIMEOUT):g} s: run {pulumi_up()} again later (it adopts the credential)"
            )
        sleep(poll)


@dataclass
class StitchCredentialArgs:
    addon: pulumi.Input[str]
    """The Heroku Postgres add-on (id or name) the credential belongs to."""
    addon_name: pulumi.Input[str]
    """The add-on's name, for messages and the commands they suggest."""
    data_url: str
    """Base URL of Heroku's Data API (cli-host; HEROKU_DATA_HOST)."""
    name: str = CREDENTIAL
    """The credential's name in Heroku."""
    activate_timeout: float = ACTIVATE_TIMEOUT
    """Seconds to wait for a new credential to become active."""
    poll_seconds: float = 2.0
    """Seconds between two looks at a new credential."""
    given_api_key: pulumi.Input[str] | None = None
    """The key a Destination's caller gave as its input (heroku_api_key); None: the run's own (configure())."""


class StitchCredential(pulumi.dynamic.Resource, module="stitch", name="HerokuCredential"):
    """A Heroku Postgres credential of Stitch's own; `pulumi destroy` keeps it (it owns what Stitch loaded)."""

    user: pulumi.Output[str]
    state: pulumi.Output[str]

    def __init__(self, name: str, args: StitchCredentialArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "addon": args.addon,
            "addon_name": args.addon_name,
            "name": args.name,
            "data_url": args.data_url,
            "activate_timeout": args.activate_timeout,
            "poll_seconds": args.poll_seconds,
            **{key: None for key in (*_FACTS, "adopted")},
            **given_credential(GIVEN_HEROKU_KEY, args.given_api_key),
            **caller_project(),  # for the fixes' words only: its diff does not count it
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=[GIVEN_HEROKU_KEY] if args.given_api_key is not None else [])
        super().__init__(StitchCredentialProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


# -- the credential and its attachment, as the program declares them ----------------------------------------------


@dataclass
class DedicatedCredentialArgs:
    app_id: pulumi.Input[str]
    """The app the credential is attached to (its id: the Attachment takes no name)."""
    addon_id: pulumi.Input[str]
    """The Heroku Postgres add-on."""
    addon_name: pulumi.Input[str]
    """The add-on's name, for messages."""
    data_url: str
    """Base URL of Heroku's Data API."""
    given_api_key: pulumi.Input[str] | None = None
    """The key a Destination's caller gave as its input, for the credential's own Data API calls."""


class DedicatedCredential(pulumi.ComponentResource):
    """The `stitch` credential and its attachment STITCH_DATABASE: the app then holds STITCH_DATABASE_URL."""

    config_var: str = CONFIG_VAR

    def __init__(self, name: str, args: DedicatedCredentialArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("stitch:heroku:DedicatedCredential", name, None, opts)
        credential = StitchCredentialArgs(args.addon_id, args.addon_name, args.data_url, given_api_key=args.given_api_key)
        self.credential = StitchCredential(*with_args(part_of(self, name, "credential"), credential))
        # `heroku addons:attach <addon> --credential stitch --as STITCH_DATABASE` (cli-attach). Deleting it
        # (`pulumi destroy`) takes STITCH_DATABASE_URL from the app; the credential itself stays.
        attachment_name, attachment_opts = part_of(self, name, "attachment", pulumi.ResourceOptions(depends_on=[self.credential]))
        self.attachment = Attachment(
            attachment_name,
            app_id=args.app_id,
            addon_id=args.addon_id,
            name=ATTACHMENT,
            namespace=NAMESPACE,
            opts=attachment_opts,
        )
        self.user = self.credential.user
        self.register_outputs({"user": self.user})


def credential_for_existing(
    choice: CredentialChoice,
    access: HerokuAccess | None,
    stitch_config_var: str | None,
    opts: pulumi.ResourceOptions | None = None,
    *,
    name: str = "stitch-credential",
) -> tuple[str | None, list[pulumi.Resource], pulumi.Output[str] | None]:
    """heroku-existing: the dedicated credential when the choice made one, as (the config var Stitch's URL is
    read from, what that read waits for, the credential's own role); else the user's own stitch_config_var, if any."""
    if choice.addon is None or access is None:
        return stitch_config_var, [], None
    addon = choice.addon
    dedicated = DedicatedCredential(
        name,
        DedicatedCredentialArgs(addon.app_id, addon.id, addon.name, access.data_url, access.given_key),
        opts,
    )
    return dedicated.config_var, [dedicated.attachment], dedicated.user
