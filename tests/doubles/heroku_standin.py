"""A STAND-IN for the `heroku` provider plugin, for this machine only: the real one cannot be built here.

pulumiverse-heroku 1.0.4 bridges terraform-provider-heroku v5.2.10 (which talks to Heroku through heroku-go
v5.4.1), and the Go module proxy this machine reaches refuses both modules (403). So that the real Pulumi
engine can still run this program's `source: heroku` and `source: heroku-existing` stacks, against
tests/doubles/fake_heroku.py or any Heroku Platform API, this plugin speaks Pulumi's provider protocol for what the
program uses: `heroku:app/app:App`, `heroku:addon/addon:Addon`, `heroku:addon/attachment:Attachment` and the invoke
`heroku:app/getApp:getApp`.
It makes the HTTP calls the real provider makes, in the same order, with the same headers and bodies, and
answers with the same properties. It reports the pulumiverse_heroku package's version, so the engine takes
it for that plugin.

Sources, cited below by short name (terraform-provider-heroku v5, terraform-plugin-sdk v2, heroku-go v5):
- tf-app, tf-addon, tf-app-ds: heroku/resource_heroku_app.go, heroku/resource_heroku_addon.go,
  heroku/data_source_heroku_app.go; tf-config: heroku/config.go and heroku/provider.go.
- tf-attach: heroku/resource_heroku_addon_attachment.go (v5.2.10: heroku-go v5 AddOnAttachmentCreate with
  addon, app, name, namespace; AddOnAttachmentInfo; AddOnAttachmentDelete; SchemaVersion 1).
- heroku-go: heroku.go (paths, option structs, ListRange.SetHeader), transport.go (headers, basic auth,
  error decoding) and roundtrip_with_retry_backoff.go (429 back-off).
- sdk-state: terraform-plugin-sdk v2 helper/resource (StateChangeConf.WaitForState, Retry).
- bridge: pulumi-terraform-bridge v3 (auto-naming, sensitive outputs as secrets, partial-create errors).

Users never run this: with internet access the Pulumi CLI installs the real plugin itself.
"""

from __future__ import annotations

import base64
import collections
import functools
import importlib.metadata
import json
import netrc
import os
import platform
import random
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import urllib3
from google.protobuf import any_pb2, empty_pb2, json_format, struct_pb2
from google.rpc import status_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import provider_pb2_grpc

from devtools.plugin_process import installer, serve_forever, start_server

PLUGIN_NAME = "pulumi-resource-heroku"
APP_TYPE = "heroku:app/app:App"
ADDON_TYPE = "heroku:addon/addon:Addon"
ATTACHMENT_TYPE = "heroku:addon/attachment:Attachment"
GET_APP = "heroku:app/getApp:getApp"
TF_PROVIDER_VERSION = "5.2.10"
DEFAULT_URL = "https://api.heroku.com"  # heroku-go DefaultURL
ACCEPT = "application/vnd.heroku+json; version=3"  # heroku-go transport: always API version 3
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# heroku-go DefaultUserAgent "heroku/v5 (<GOOS>; <GOARCH>)", then tf-config: " terraform-provider-heroku/<version>".
USER_AGENT = (
    f"heroku/v5 ({sys.platform.rstrip('0123456789')}; {_GOARCH.get(platform.machine(), platform.machine())}) "
    f"terraform-provider-heroku/{TF_PROVIDER_VERSION}"
)
LATEST_RELEASE = "version ..; max=1,order=desc"  # tf-app updateConfigVars: ListRange{Descending, "version", Max: 1}
RELEASES_FOR_DATA_SOURCE = "version ..; max=200,order=desc"  # tf-app-ds: ListRange{"version", Max: 200, Descending}
RELEASE_TIMEOUT = 20 * 60  # tf-app updateConfigVars: StateChangeConf Timeout 20 minutes
SDK_CREATE_TIMEOUT = 20 * 60  # sdk: d.Timeout(schema.TimeoutCreate) when a resource declares no Timeouts
RATE_LIMIT_BACKOFF = (30.0, 0.25, 2.0, 900.0)  # heroku-go RoundTripWithRetryBackoff: initial s, jitter, multiplier, max s
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ADDON_NAME = re.compile(r"[a-zA-Z][A-Za-z0-9_-]+")  # tf-addon validateCustomAddonName

# Pulumi's wire encoding of secrets and unknowns (sdk/go/common/resource/sig, pulumi.runtime.rpc).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# bridge: the TF resources' SchemaVersion, kept in `__meta` so the real plugin could take the state over.
_META = {APP_TYPE: '{"schema_version":"1"}', ADDON_TYPE: '{"schema_version":"3"}', ATTACHMENT_TYPE: '{"schema_version":"1"}'}
_ATTACHMENT_ID = re.compile(r"^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$")  # tf-attach Read's regexp


def plugin_version() -> str:
    """The version the pulumiverse_heroku package asks the engine for (its own, as semver)."""
    return importlib.metadata.version("pulumiverse_heroku")


# -- errors ---------------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A failure the engine shows the user, worded as the real provider words it."""


class HerokuApiError(ProviderError):
    """heroku-go's Error inside Go's *url.Error: `Post "<url>": <Heroku's message>`."""

    def __init__(self, method: str, url: str, status: int, error_id: str, message: str):
        super().__init__(f'{method[:1]}{method[1:].lower()} "{url}": {message}')
        self.status, self.error_id = status, error_id

    @property
    def not_found(self) -> bool:
        """tf-app/tf-addon Exists: `herr.ID == "not_found"` means the resource is gone."""
        return self.error_id == "not_found"


class PartialFailure(ProviderError):
    """The resource exists but the operation failed part-way (sdk: the ID was set): the engine records it
    with the state so far (bridge: ErrorResourceInitFailed), so the next `up` can finish or replace it."""

    def __init__(self, message: str, resource_id: str, outputs: dict[str, Any]):
        super().__init__(message)
        self.resource_id, self.outputs = resource_id, outputs
        self.kind, self.raw_inputs = "", {}

    def of(self, kind: str, raw_inputs: Mapping[str, Any]) -> PartialFailure:
        """The same failure, knowing the resource type and the program's inputs (with their secrets)."""
        self.kind, self.raw_inputs = kind, dict(raw_inputs)
        return self

    def init_failed(self, message: str) -> Any:
        return proto.ErrorResourceInitFailed(
            id=self.resource_id,
            properties=_outputs(self.kind, self.raw_inputs, self.outputs),
            reasons=[message],
            inputs=to_struct(self.raw_inputs),
        )


def _wrap(context: str, error: ProviderError) -> ProviderError:
    """fmt.Errorf("<context>: %s", err), keeping what kind of failure it was."""
    wrapped = ProviderError(f"{context}: {error}")
    wrapped.__cause__ = error
    return wrapped


def _multierror(errors: list[ProviderError]) -> ProviderError:
    """hashicorp/go-multierror's text, as tf-app application.Update returns several read errors."""
    if len(errors) == 1:
        return errors[0]
    return ProviderError(f"{len(errors)} errors occurred:\n" + "".join(f"\t* {error}\n" for error in errors))


# -- provider configuration (tf-config) -------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The provider's Config after providerConfigure: where to call, as whom, and its delays and timeouts."""

    url: str = DEFAULT_URL
    email: str = ""
    api_key: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    post_app_create_delay: int = 10
    post_space_create_delay: int = 5
    post_domain_create_delay: int = 5
    addon_create_timeout: int = 20  # minutes
    set_app_all_config_vars_in_state: bool = True
    set_addon_config_vars_in_state: bool = True


# Pulumi config key -> least value, for the integer settings (provider.go ValidateFunc IntAtLeast).
_DELAYS = {"postAppCreateDelay": 0, "postSpaceCreateDelay": 0, "postDomainCreateDelay": 0}
_TIMEOUTS = {"addonCreateTimeout": 10}
_CUSTOMIZATIONS = ("setAppAllConfigVarsInState", "setAddonConfigVarsInState")


def _block(config: Mapping[str, Any], key: str) -> tuple[dict[str, Any], str | None]:
    """A nested config block (delays, timeouts, customizations): an object, or the JSON text of one, as
    stack config holds it; with the reason it is unusable."""
    value = config.get(key)
    if value is None or value == "":
        return {}, None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}, f"heroku:{key} must be an object, e.g. `pulumi config set --path heroku:{key}.<name> <value>`"
    if isinstance(value, list) and len(value) <= 1:  # TF's MaxItems-1 list form
        value = value[0] if value else {}
    if not isinstance(value, dict):
        return {}, f"heroku:{key} must be an object, e.g. `pulumi config set --path heroku:{key}.<name> <value>`"
    return value, None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the provider schema refuses (provider.go), as (property, reason), before anything is called."""
    problems: list[tuple[str, str]] = []
    for key, minimums in (("delays", _DELAYS), ("timeouts", _TIMEOUTS)):
        block, problem = _block(config, key)
        if problem:
            problems.append((key, problem))
        for name, value in block.items():
            if name not in minimums:
                problems.append((key, f"heroku:{key} has no setting {name!r}: use {', '.join(minimums)}"))
                continue
            number = _integer(value)
            if number is None or number < minimums[name]:
                unit = "minutes" if key == "timeouts" else "seconds"
                shown = int(value) if isinstance(value, float) and value.is_integer() else value
                problems.append((key, f"heroku:{key}.{name} must be a whole number of {unit} of at least {minimums[name]}, got {shown!r}"))
    block, problem = _block(config, "customizations")
    if problem:
        problems.append(("customizations", problem))
    for name, value in block.items():
        if name not in _CUSTOMIZATIONS or not isinstance(value, bool | str) or str(value).lower() not in ("true", "false"):
            problems.append(("customizations", f"heroku:customizations.{name} is not a known true/false setting"))
    headers = config.get("headers")
    if headers and _headers(headers) is None:
        problems.append(("headers", 'heroku:headers must be the JSON text of an object of strings, e.g. {"X-Custom": "1"}'))
    url = config.get("url")
    if url and urlsplit(str(url)).scheme not in ("http", "https"):
        problems.append(("url", f"heroku:url must be an http(s) URL such as {DEFAULT_URL}, got {_without_password(str(url))!r}"))
    return problems


def _headers(text: Any) -> dict[str, str] | None:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def netrc_path(environ: Mapping[str, str]) -> Path | None:
    """tf-config applyNetrcFile: $NETRC_PATH, else <$NETRC or ~>/.netrc (~ is $HOME; without one, none)."""
    if environ.get("NETRC_PATH"):
        return Path(environ["NETRC_PATH"])
    directory = environ.get("NETRC") or environ.get("HOME")
    return Path(directory, ".netrc") if directory else None


def netrc_login(url: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The (login, password) netrc holds for the API URL's host INCLUDING its port (Go's url.Host), or its
    `default` entry (go-netrc FindMachine). A missing file or machine is no error, as in tf-config."""
    path = netrc_path(environ)
    if path is None or not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(urlsplit(url).netloc.rpartition("@")[2])
    except netrc.NetrcParseError as error:
        # The parser's own text can quote a token of the file, which may be the key: never shown.
        expected = "`machine <host> login <email> password <key>`"
        raise ProviderError(f"error parsing netrc file at {str(path)!r}: line {error.lineno} is not {expected}") from None
    except OSError as error:
        raise ProviderError(f"error reading netrc file at {str(path)!r}: {error.strerror}") from None
    if entry is None:
        return None
    login, _account, password = entry
    return login or "", password or ""


def _setting(block: Mapping[str, Any], name: str, default: int) -> int:
    value = _integer(block.get(name))
    return default if value is None else value


def settings_from_config(config: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """providerConfigure: the schema (with its env defaults), then netrc, then email/api_key from config or env."""
    problems = config_problems(config)
    if problems:
        raise ProviderError("; ".join(reason for _key, reason in problems))
    url = str(config.get("url") or environ.get("HEROKU_API_URL") or DEFAULT_URL)
    headers = _headers(config.get("headers") or environ.get("HEROKU_HEADERS") or "{}")
    if headers is None:
        raise ProviderError('HEROKU_HEADERS must be the JSON text of an object of strings, e.g. {"X-Custom": "1"}')
    delays, timeouts, customizations = (_block(config, key)[0] for key in ("delays", "timeouts", "customizations"))
    flags = {name: str(customizations[name]).lower() == "true" for name in _CUSTOMIZATIONS if name in customizations}
    email, api_key = "", ""
    login = netrc_login(url, environ)
    if login is not None:
        email, api_key = login
    # "the provider resource schema takes precedence over Netrc" (provider.go), env defaults included.
    email = str(config.get("email") or environ.get("HEROKU_EMAIL") or email)
    api_key = str(config.get("apiKey") or environ.get("HEROKU_API_KEY") or api_key)
    return Settings(
        url=url,
        email=email,
        api_key=api_key,
        headers=headers,
        post_app_create_delay=_setting(delays, "postAppCreateDelay", 10),
        post_space_create_delay=_setting(delays, "postSpaceCreateDelay", 5),
        post_domain_create_delay=_setting(delays, "postDomainCreateDelay", 5),
        addon_create_timeout=_setting(timeouts, "addonCreateTimeout", 20),
        set_app_all_config_vars_in_state=flags.get("setAppAllConfigVarsInState", True),
        set_addon_config_vars_in_state=flags.get("setAddonConfigVarsInState", True),
    )


# -- heroku-go ------------------------------------------------------------------------------------------

Sleep = Callable[[float], None]
Clock = Callable[[], float]


def heroku_go_request(
    body: Any, authorization: str | None, range_: str | None = None, accept: str = ACCEPT
) -> tuple[dict[str, str], bytes | None]:
    """The headers and body heroku-go v5.4.1 sends (heroku.go, Service.NewRequest and Transport): Accept
    version 3, its User-Agent, a Request-Id, basic auth when given, a Range when listing, compact JSON."""
    headers = {"Accept": accept, "User-Agent": USER_AGENT, "Request-Id": str(uuid.uuid4())}
    if authorization:
        headers["Authorization"] = authorization
    if range_:
        headers["Range"] = range_
    data = None
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    return headers, data


class HerokuClient:
    """heroku-go v5's Service over its Transport, as tf-config initializeAPI builds it.

    Every request carries Accept version 3, the provider's User-Agent, a Request-Id and HTTP basic auth
    from (email, API key) when either is set; bodies are compact JSON. A 429 is retried with heroku-go's
    exponential back-off, forever (MaxElapsedTime 0), as the real client does. Any other non-2xx answer
    becomes Heroku's own message.
    """

    def __init__(self, settings: Settings, sleep: Sleep):
        self.settings, self.sleep = settings, sleep
        # Go's http.Client has no timeout of its own; these bounds only keep a dead server from hanging a run.
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=30, read=300))
        self.authorization = None
        if settings.email or settings.api_key:
            token = base64.b64encode(f"{settings.email}:{settings.api_key}".encode()).decode()
            self.authorization = f"Basic {token}"

    def call(self, method: str, path: str, body: Any = None, *, range_: str | None = None) -> Any:
        url = self.settings.url + path  # heroku-go: URL + path, the URL without a trailing slash
        headers, data = heroku_go_request(body, self.authorization, range_)
        headers.update(self.settings.headers)  # transport: AdditionalHeaders last
        shown = _without_password(url)
        interval, jitter, multiplier, longest = RATE_LIMIT_BACKOFF
        while True:
            try:
                response = self.http.request(method, url, body=data, headers=headers, redirect=False)
            except urllib3.exceptions.HTTPError as error:
                reason = getattr(error, "reason", None) or error
                raise ProviderError(f'{method[:1]}{method[1:].lower()} "{shown}": {reason}') from None
            if response.status != 429:
                break
            self.sleep(random.uniform(interval * (1 - jitter), interval * (1 + jitter)))
            interval = min(interval * multiplier, longest)
        if response.status // 100 != 2:
            try:
                answer = json.loads(response.data)
                error_id, message = str(answer.get("id") or ""), str(answer.get("message") or "")
            except (ValueError, AttributeError):
                error_id, message = "", f"Unexpected error: {response.status} {response.reason}"
            raise HerokuApiError(method, shown, response.status, error_id, self._scrub(message))
        return json.loads(response.data) if response.data else None

    def _scrub(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "***") if key else text


def _without_password(url: str) -> str:
    """Go's http.Client puts the URL into errors with any password replaced (stripPassword)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# -- waiting (sdk-state) ------------------------------------------------------------------------------------


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds: 20m0s, 1h0m0s, 45s."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


@dataclass
class Waiter:
    """StateChangeConf.WaitForState and resource.Retry: ask at once, then wait 200 ms doubling up to 10 s
    (never under MinTimeout) until done or the timeout; sleep and clock are injectable for tests."""

    sleep: Sleep
    clock: Clock

    def for_state(self, refresh: Callable[[], str], pending: tuple[str, ...], target: tuple[str, ...], timeout: float) -> None:
        deadline, wait, last = self.clock() + timeout, 0.1, ""
        while True:
            state = refresh()
            if state in target:
                return
            if state not in pending:
                raise ProviderError(f"unexpected state '{state}', wanted target '{', '.join(target)}'. last error: %!s(<nil>)")
            last, wait = state, min(wait * 2, 10.0)
            self._pause(wait, deadline)
            if self.clock() >= deadline:
                detail = f"(last state: '{last}', timeout: {go_duration(timeout)})"
                raise ProviderError(f"timeout while waiting for state to become '{', '.join(target)}' {detail}")

    def retry(self, attempt: Callable[[], str | None], timeout: float) -> None:
        """`attempt` returns None when done and a retryable error's text otherwise; it raises to stop."""
        deadline, wait = self.clock() + timeout, 0.1
        while True:
            problem = attempt()
            if problem is None:
                return
            wait = min(max(wait * 2, 0.5), 10.0)  # resource.Retry: MinTimeout 500 ms
            self._pause(wait, deadline)
            if self.clock() >= deadline:
                raise ProviderError(problem)

    def _pause(self, wait: float, deadline: float) -> None:
        self.sleep(max(0.0, min(wait, deadline - self.clock())))


# -- the resources ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One input of a TF schema, as the diff sees it."""

    computed: bool = False
    """Optional+Computed: left out of the program, it keeps what Heroku has (no diff)."""
    replace: bool = False
    """ForceNew: a change replaces the resource."""
    nested: Mapping[str, Field] | None = None


APP_INPUTS: dict[str, Field] = {  # tf-app schema
    "name": Field(),
    "region": Field(replace=True),
    "space": Field(replace=True),
    "stack": Field(computed=True),
    "internalRouting": Field(computed=True, replace=True),
    "buildpacks": Field(computed=True),
    "configVars": Field(computed=True),
    "sensitiveConfigVars": Field(computed=True),
    "acm": Field(computed=True),
    "organization": Field(
        nested={"name": Field(replace=True), "locked": Field(computed=True), "personal": Field(computed=True, replace=True)}
    ),
}
ADDON_INPUTS: dict[str, Field] = {  # tf-addon schema
    "appId": Field(replace=True),
    "plan": Field(),
    "name": Field(computed=True),
    "config": Field(replace=True),
    "configVarValues": Field(computed=True),
}
ATTACHMENT_INPUTS: dict[str, Field] = {  # tf-attach schema: every field ForceNew; no Update
    "appId": Field(replace=True),
    "addonId": Field(replace=True),
    "name": Field(computed=True, replace=True),
    "namespace": Field(computed=True, replace=True),
}
APP_OUTPUTS = (*APP_INPUTS, "allConfigVars", "gitUrl", "webUrl", "herokuHostname", "uuid")
ADDON_OUTPUTS = (*ADDON_INPUTS, "providerId", "configVars")
ATTACHMENT_OUTPUTS = tuple(ATTACHMENT_INPUTS)
SENSITIVE = {APP_TYPE: {"sensitiveConfigVars", "allConfigVars"}, ADDON_TYPE: {"configVarValues"}}  # Sensitive: true
INPUTS = {APP_TYPE: APP_INPUTS, ADDON_TYPE: ADDON_INPUTS, ATTACHMENT_TYPE: ATTACHMENT_INPUTS}
OUTPUTS = {APP_TYPE: APP_OUTPUTS, ADDON_TYPE: ADDON_OUTPUTS, ATTACHMENT_TYPE: ATTACHMENT_OUTPUTS}
_ADDON_LOCK = threading.Lock()  # tf-addon addonLock: "the Heroku API cannot handle ... multiple addons simultaneously"


def _empty(value: Any) -> bool:
    """The legacy SDK diff treats null, "" and empty collections alike."""
    return value is None or value == "" or value == {} or value == []


def _is_team_app(props: Mapping[str, Any]) -> bool:
    """tf-app isTeamApp: an `organization` block is set."""
    return isinstance(props.get("organization"), dict) and bool(props["organization"])


def planned_state(fields: Mapping[str, Field], olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """What SDKv2 applies an update towards: the program's inputs, and the state where an
    Optional+Computed input is left out."""
    planned = dict(olds)
    for name, spec in fields.items():
        new = news.get(name)
        if spec.nested and isinstance(new, dict):
            old = olds.get(name) if isinstance(olds.get(name), dict) else {}
            planned[name] = {sub: old.get(sub) if _empty(new.get(sub)) and s.computed else new.get(sub) for sub, s in spec.nested.items()}
        elif not _empty(new) or not spec.computed:
            planned[name] = new
    return planned


def changes(fields: Mapping[str, Field], olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """TF's diff of the state (olds) against the program (news): {path: (kind, replaces)}, kind one of
    ADD, DELETE, UPDATE, as Pulumi's detailed diff names them."""
    found: dict[str, tuple[str, bool]] = {}

    def compare(path: str, spec: Field, old: Any, new: Any) -> None:
        if _contains_unknown(new):
            found[path] = ("UPDATE", spec.replace or any(s.replace for s in (spec.nested or {}).values()))
        elif spec.nested and isinstance(new, dict) and new:
            old = old if isinstance(old, dict) else {}
            for sub, sub_spec in spec.nested.items():
                compare(f"{path}.{sub}", sub_spec, old.get(sub), new.get(sub))
        elif _empty(new):
            if not spec.computed and not _empty(old):
                found[path] = ("DELETE", spec.replace or any(s.replace for s in (spec.nested or {}).values()))
        elif _empty(old):
            found[path] = ("ADD", spec.replace)
        elif new != old:
            found[path] = ("UPDATE", spec.replace)

    for name, spec in fields.items():
        if name == "configVarValues":
            continue  # Optional in the schema, but only Heroku fills it
        compare(name, spec, olds.get(name), news.get(name))
    return found


class HerokuResources:
    """The provider's CRUD functions over one client: the same calls, in the same order, as the real one.
    Properties are Pulumi's (camelCase) names throughout."""

    def __init__(self, client: HerokuClient, settings: Settings, waiter: Waiter):
        self.client, self.settings, self.waiter = client, settings, waiter

    # -- apps (tf-app) ---------------------------------------------------------------------------------

    def create_app(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """switchHerokuAppCreate: AppCreate or TeamAppCreate, post-create tasks, read, then the post-create delay."""
        if _is_team_app(props):
            org = props["organization"]
            # TeamAppCreateOpts, in its field order: locked and personal are always sent (the SDK hands the
            # block over with its zero values), and so is name; the rest only when set.
            body: dict[str, Any] = {"internal_routing": True} if props.get("internalRouting") else {}
            body |= {"locked": bool(org.get("locked")), "name": props.get("name") or "", "personal": bool(org.get("personal"))}
            body |= {key: props[key] for key in ("region", "space", "stack") if props.get(key)}
            body["team"] = org.get("name")
            created = self.client.call("POST", "/teams/apps", body)
        else:
            body = {k: props[k] for k in ("name", "region", "stack") if props.get(k)}
            created = self.client.call("POST", "/apps", body)
        app_id = created["id"]
        state = dict(props) | {"id": app_id}
        try:
            self._post_create_tasks(app_id, props)
            outputs = self.read_app(app_id, state)
        except ProviderError as error:
            raise PartialFailure(str(error), app_id, _app_skeleton(props)) from error
        self.waiter.sleep(self.settings.post_app_create_delay)
        return app_id, outputs

    def _post_create_tasks(self, app_id: str, props: Mapping[str, Any]) -> None:
        """performAppPostCreateTasks: config vars (always, `{}` when none), then buildpacks when set."""
        _check_duplicate_config_vars(props)
        self._update_config_vars(app_id, {}, {**(props.get("configVars") or {}), **(props.get("sensitiveConfigVars") or {})})
        if props.get("buildpacks"):
            self._update_buildpacks(app_id, props["buildpacks"])

    def _update_config_vars(self, app_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """updateConfigVars: PATCH (old names unset, new ones set), then wait for the newest release."""
        values: dict[str, Any] = dict.fromkeys(old)
        values.update({k: str(v) for k, v in new.items()})
        try:
            self.client.call("PATCH", f"/apps/{app_id}/config-vars", values)
        except ProviderError as error:
            raise _wrap("Error updating config vars", error) from error
        releases = self.client.call("GET", f"/apps/{app_id}/releases", range_=LATEST_RELEASE)
        if not releases:
            raise ProviderError("no release found")
        release_id = releases[0]["id"]
        try:
            self.waiter.for_state(
                lambda: str(self.client.call("GET", f"/apps/{app_id}/releases/{release_id}")["status"]),
                ("pending",),
                ("succeeded",),
                RELEASE_TIMEOUT,
            )
        except ProviderError as error:
            raise _wrap(f"Error waiting for new release ({release_id}) to succeed", error) from error

    def _update_buildpacks(self, app_id: str, buildpacks: Iterable[str]) -> None:
        try:
            self.client.call("PUT", f"/apps/{app_id}/buildpack-installations", {"updates": [{"buildpack": b} for b in buildpacks]})
        except ProviderError as error:
            raise _wrap("Error updating buildpacks", error) from error

    def retrieve_app(self, ref: str) -> dict[str, Any]:
        """application.Update: the app, its team details (team apps only), buildpacks and config vars."""
        try:
            app = self.client.call("GET", f"/apps/{ref}")
        except ProviderError as error:
            raise _wrap("error retrieving app", error) from error
        found: dict[str, Any] = {"app": app, "team": None}
        if app.get("organization") is not None and app.get("team") is not None:
            try:
                found["team"] = self.client.call("GET", f"/teams/apps/{ref}")
            except ProviderError as error:
                raise _wrap("error retrieving app", error) from error
        errors: list[ProviderError] = []
        try:
            found["buildpacks"] = [b["buildpack"]["name"] for b in self.client.call("GET", f"/apps/{ref}/buildpack-installations")]
        except ProviderError as error:
            errors.append(error)
        try:
            found["vars"] = {k: v for k, v in self.client.call("GET", f"/apps/{ref}/config-vars").items() if v is not None}
        except ProviderError as error:
            errors.append(error)
        if errors:
            raise _wrap("error retrieving app", _multierror(errors))
        return found

    def read_app(self, app_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """resourceHerokuAppRead: only the config vars the program manages go to config_vars; all of them
        to all_config_vars (secret) unless set_app_all_config_vars_in_state is false."""
        found = self.retrieve_app(app_id)
        app, live = found["app"], found["vars"]
        outputs = {name: state.get(name) for name in APP_OUTPUTS} | {"id": app_id}
        outputs["configVars"] = {k: live[k] for k in (state.get("configVars") or {}) if k in live}
        outputs["sensitiveConfigVars"] = {k: live[k] for k in (state.get("sensitiveConfigVars") or {}) if k in live}
        outputs["allConfigVars"] = dict(live) if self.settings.set_app_all_config_vars_in_state else {}
        outputs["buildpacks"] = found["buildpacks"]
        if found["team"] is not None:  # setTeamDetails
            outputs["space"] = (app.get("space") or {}).get("name") or ""
            # "Platform API does not return this value": d.Get("personal") of a key outside the schema is nil.
            outputs["organization"] = {"name": found["team"]["team"]["name"], "locked": bool(found["team"]["locked"]), "personal": False}
        outputs |= _app_details(app)
        return outputs

    def app_exists(self, app_id: str, state: Mapping[str, Any]) -> bool:
        """resourceHerokuAppExists: TeamAppInfo for team apps, else AppInfo; "not_found" means gone."""
        try:
            self.client.call("GET", f"/teams/apps/{app_id}" if _is_team_app(state) else f"/apps/{app_id}")
        except HerokuApiError as error:
            if error.not_found:
                return False
            raise
        return True

    def import_app(self, ref: str) -> tuple[str, dict[str, Any]]:
        """resourceHerokuAppImport: find the app by id or name, keep its UUID as the id, read it."""
        app_id = self.client.call("GET", f"/apps/{ref}")["id"]
        return app_id, self.read_app(app_id, {})

    def update_app(self, app_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """resourceHerokuAppUpdate: AppUpdate (always, `{}` when neither name nor stack changed), buildpacks,
        config vars (always, with a release wait), the team lock; then read."""
        planned = planned_state(APP_INPUTS, olds, news)
        changed = changes(APP_INPUTS, olds, news)
        opts = {}
        if "stack" in changed:
            opts["build_stack"] = planned.get("stack")
        if "name" in changed:
            opts["name"] = planned.get("name")
        updated = self.client.call("PATCH", f"/apps/{app_id}", opts)
        planned["name"] = updated["name"]
        if "buildpacks" in changed:
            self._update_buildpacks(app_id, planned.get("buildpacks") or [])
        _check_duplicate_config_vars(planned)
        old_vars: dict[str, Any] = {}
        new_vars: dict[str, Any] = {}
        for key in ("configVars", "sensitiveConfigVars"):
            if key in changed:
                old_vars |= olds.get(key) or {}
                new_vars |= planned.get(key) or {}
        self._update_config_vars(app_id, old_vars, new_vars)
        if any(path.startswith("organization") for path in changed):
            locked = bool((planned.get("organization") or {}).get("locked"))
            self.client.call("PATCH", f"/teams/apps/{app_id}", {"locked": locked})
        return self.read_app(app_id, planned)

    def delete_app(self, app_id: str) -> None:
        try:
            self.client.call("DELETE", f"/apps/{app_id}")
        except ProviderError as error:
            raise _wrap("error deleting App", error) from error

    # -- add-ons (tf-addon) ------------------------------------------------------------------------------

    def create_addon(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """resourceHerokuAddonCreate: app info, create (confirming the app's name), poll until provisioned,
        wait until the app has every config var the add-on names, then read."""
        with _ADDON_LOCK:
            plan, app_id = props["plan"], props["appId"]
            try:
                app = self.client.call("GET", f"/apps/{app_id}")
            except ProviderError as error:
                raise _wrap("Error reading app for addon", error) from error
            body: dict[str, Any] = {}
            if props.get("config"):
                body["config"] = {k: str(v) for k, v in props["config"].items()}
            body["confirm"] = app["name"]
            if props.get("name"):
                body["name"] = props["name"]
            body["plan"] = plan
            try:
                addon = self.client.call("POST", f"/apps/{app_id}/addons", body)
            except ProviderError as error:
                raise _wrap(f"Error creating addon {plan} for app {app['name']} ({app_id})", error) from error
            try:
                self.waiter.for_state(
                    lambda: str(self._addon_by_app(app_id, addon["id"])["state"]),
                    ("provisioning",),
                    ("provisioned",),
                    self.settings.addon_create_timeout * 60,
                )
            except ProviderError as error:
                raise _wrap(f"Error waiting for Addon ({addon['id']}) to be provisioned", error) from error
            # The ID is set from here: a failure now leaves the add-on recorded, as in the real provider.
            try:
                if self.settings.set_addon_config_vars_in_state:
                    names = list(addon.get("config_vars") or [])

                    def all_vars_set() -> str | None:
                        values = self._addon_config_vars(addon["app"]["id"], names)
                        if len(values) == len(names):
                            return None
                        return f"Got {len(values)} add-on config vars from the app, but expected {len(names)}"

                    self.waiter.retry(all_vars_set, SDK_CREATE_TIMEOUT)
                return addon["id"], self.read_addon(addon["id"], props)
            except ProviderError as error:
                raise PartialFailure(str(error), addon["id"], {name: props.get(name) for name in ADDON_OUTPUTS}) from error

    def _addon_by_app(self, app_id: str, addon_id: str) -> dict[str, Any]:
        try:
            return self.client.call("GET", f"/apps/{app_id}/addons/{addon_id}")  # AddOnInfoByApp
        except ProviderError as error:
            raise _wrap("Error retrieving addon", error) from error

    def _addon_config_vars(self, app_id: str, names: list[str]) -> dict[str, str]:
        """retrieveSpecificConfigVars: the named vars that have a value."""
        values = self.client.call("GET", f"/apps/{app_id}/config-vars")
        return {k: v for k, v in values.items() if k in names and v is not None}

    def read_addon(self, addon_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """resourceHerokuAddonRead: a plan given without ":<plan>" stays the service name; the values of the
        add-on's config vars (secret) when set_addon_config_vars_in_state."""
        try:
            addon = self.client.call("GET", f"/addons/{addon_id}")
        except ProviderError as error:
            raise _wrap("Error retrieving addon", error) from error
        plan = addon["plan"]["name"]
        if state.get("plan") and ":" not in str(state["plan"]):
            plan = plan.split(":", 1)[0]
        outputs = {name: state.get(name) for name in ADDON_OUTPUTS} | {"id": addon["id"]}
        outputs |= {"name": addon["name"], "appId": addon["app"]["id"], "plan": plan, "providerId": addon["provider_id"]}
        outputs["configVars"] = list(addon.get("config_vars") or [])
        if self.settings.set_addon_config_vars_in_state:
            outputs["configVarValues"] = self._addon_config_vars(addon["app"]["id"], outputs["configVars"])
        return outputs

    def addon_exists(self, addon_id: str) -> bool:
        """resourceHerokuAddonExists: AddOnInfo; "not_found" means gone."""
        try:
            self.client.call("GET", f"/addons/{addon_id}")
        except HerokuApiError as error:
            if error.not_found:
                return False
            raise
        return True

    def update_addon(self, addon_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """resourceHerokuAddonUpdate: AddOnUpdateOpts sends `plan` always ("" unless it changed), `name` when changed."""
        planned = planned_state(ADDON_INPUTS, olds, news)
        changed = changes(ADDON_INPUTS, olds, news)
        opts: dict[str, Any] = {}
        if "name" in changed:
            opts["name"] = planned.get("name")
        opts["plan"] = planned.get("plan") if "plan" in changed else ""
        updated = self.client.call("PATCH", f"/apps/{planned['appId']}/addons/{addon_id}", opts)
        return updated["id"], self.read_addon(updated["id"], planned)

    def delete_addon(self, addon_id: str, state: Mapping[str, Any]) -> None:
        try:
            self.client.call("DELETE", f"/apps/{state.get('appId')}/addons/{addon_id}")
        except ProviderError as error:
            raise _wrap("Error deleting addon", error) from error

    # -- add-on attachments (tf-attach) ---------------------------------------------------------------------

    def create_attachment(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """resourceHerokuAddonAttachmentCreate: AddOnAttachmentCreateOpts{Addon, App} plus Name and Namespace
        when set (Confirm is never set), its error returned as is; then Read."""
        opts: dict[str, Any] = {"addon": props["addonId"], "app": props["appId"]}
        if props.get("name"):
            opts["name"] = props["name"]
        if props.get("namespace"):
            opts["namespace"] = props["namespace"]
        attachment = self.client.call("POST", "/addon-attachments", opts)
        # The ID is set from here: a failed read leaves the attachment recorded, as in the real provider.
        try:
            return attachment["id"], self.read_attachment(attachment["id"])
        except ProviderError as error:
            raise PartialFailure(str(error), attachment["id"], {name: props.get(name) for name in ATTACHMENT_OUTPUTS}) from error

    def read_attachment(self, attachment_id: str) -> dict[str, Any]:
        """resourceHerokuAddonAttachmentRead: only a UUID-shaped ID; AddOnAttachmentInfo, whose error (a
        deleted attachment's "not_found" included: the resource has no Exists) fails the read."""
        if not _ATTACHMENT_ID.match(attachment_id):
            raise ProviderError("You can only import addon attachments by their unique ID")
        try:
            found = self.client.call("GET", f"/addon-attachments/{attachment_id}")
        except ProviderError as error:
            raise ProviderError(f"Error retrieving addon attachment: {error}") from error
        # d.Set of a nil *string stores "".
        namespace = found.get("namespace") or ""
        return {"appId": found["app"]["id"], "addonId": found["addon"]["id"], "name": found["name"], "namespace": namespace}

    def delete_attachment(self, attachment_id: str) -> None:
        try:
            self.client.call("DELETE", f"/addon-attachments/{attachment_id}")
        except ProviderError as error:
            raise ProviderError(f"Error deleting addon attachment: {error}") from error

    # -- the app data source (tf-app-ds) --------------------------------------------------------------------

    def get_app(self, name: str) -> dict[str, Any]:
        """dataSourceHerokuAppRead: the app read by `name`, then its last 200 releases for the newest succeeded one.

        `name` goes as it is to resourceHerokuAppRetrieve -> AppInfo (GET /apps/{app_id_or_name}), so an app id
        works as well as a name (heroku/framework_data_source_app.go, heroku/data_source_heroku_app.go); the
        result's name is the app's own."""
        found = self.retrieve_app(name)
        app = found["app"]
        result: dict[str, Any] = {"id": app["id"], **_app_details(app), "space": None, "organizations": []}
        if found["team"] is not None:
            result["space"] = (app.get("space") or {}).get("name") or ""
            result["organizations"] = [{"name": found["team"]["team"]["name"], "locked": bool(found["team"]["locked"]), "personal": False}]
        result |= {"buildpacks": found["buildpacks"], "configVars": found["vars"], "lastReleaseId": None, "lastSlugId": None}
        try:
            releases = self.client.call("GET", f"/apps/{app['id']}/releases", range_=RELEASES_FOR_DATA_SOURCE)
        except ProviderError as error:
            raise _wrap(f"Failed to fetch releases for app '{name}'", error) from error
        for release in releases:
            if release.get("status") == "succeeded":
                result["lastReleaseId"] = release["id"]
                result["lastSlugId"] = (release.get("slug") or {}).get("id")
                break
        return result


def _app_details(app: Mapping[str, Any]) -> dict[str, Any]:
    """setAppDetails."""
    return {
        "name": app["name"],
        "stack": (app.get("build_stack") or {}).get("name"),
        "internalRouting": bool(app.get("internal_routing")),
        "region": (app.get("region") or {}).get("name"),
        "gitUrl": app.get("git_url"),
        "webUrl": app.get("web_url"),
        "acm": bool(app.get("acm")),
        "uuid": app["id"],
        "herokuHostname": heroku_hostname(app.get("web_url")),
    }


def heroku_hostname(web_url: str | None) -> str:
    """setAppDetails since v5.2.10 (commit 68032c93, "Remove hardcoded herokuapp.com hostnames, replacing with
    derivations of App#web_url"): web_url without its trailing "/", then without "https://", then "http://".
    Heroku gives new apps a web_url of `<app>-<hash>.herokuapp.com`, so the name alone no longer names the host."""
    return (web_url or "").removesuffix("/").removeprefix("https://").removeprefix("http://")


def _app_skeleton(props: Mapping[str, Any]) -> dict[str, Any]:
    return {name: props.get(name) for name in APP_OUTPUTS}


def _check_duplicate_config_vars(props: Mapping[str, Any]) -> None:
    """checkIfDupeConfigVars: a name in both config_vars and sensitive_config_vars is refused."""
    dupes = sorted(set(props.get("configVars") or {}) & set(props.get("sensitiveConfigVars") or {}))
    if dupes:
        raise ProviderError(f"[ERROR] Detected duplicate config vars: [{' '.join(dupes)}]")


# -- Pulumi's wire values --------------------------------------------------------------------------------------


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIG_KEY) == _SECRET_SIG


def secret(value: Any) -> dict[str, Any]:
    return {_SIG_KEY: _SECRET_SIG, "value": value}


def reveal(value: Any) -> Any:
    """The value with every secret wrapper removed (the provider works on plain values)."""
    if is_secret(value):
        return reveal(value.get("value"))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def _anywhere(value: Any, found: Callable[[Any], bool]) -> bool:
    """Whether found(part) holds for the value or any part of it (dict values, list items, at any depth)."""
    if found(value):
        return True
    parts = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_anywhere(part, found) for part in parts)


def _holds_secret(value: Any) -> bool:
    return _anywhere(value, is_secret)


def _contains_unknown(value: Any) -> bool:
    return _anywhere(value, lambda part: part == UNKNOWN)


def _auto_name(resource_name: str, seed: bytes) -> str:
    """bridge SetAutonaming(255, "-"): <resource name>-<7 hex>, random from the engine's seed so a rerun
    proposes the same name."""
    rng = random.Random(seed) if seed else random.Random(secrets.token_bytes(16))
    return f"{resource_name}-{rng.getrandbits(28):07x}"


def _resource_name(urn: str, name: str) -> str:
    return name or urn.rsplit("::", 1)[-1]


class _RpcStatus(collections.namedtuple("_RpcStatus", ("code", "details", "trailing_metadata")), grpc.Status):
    """A gRPC status with rich details, as grpcio-status builds it (not installed here)."""


# -- the provider protocol --------------------------------------------------------------------------------------


def _rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Every RPC answers a failure as an error the engine prints: Heroku's words for a ProviderError, the
    partial state for a PartialFailure, and one line (never a traceback) for a bug in this stand-in.
    The API key is taken out of every message."""

    @functools.wraps(method)
    def handler(self: HerokuStandIn, request: Any, context: Any) -> Any:
        try:
            return method(self, request, context)
        except PartialFailure as partial:
            message = self._scrub(str(partial))
            detail = any_pb2.Any()
            detail.Pack(partial.init_failed(message))
            status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=message, details=[detail])
            metadata = (("grpc-status-details-bin", status.SerializeToString()),)
            context.abort_with_status(_RpcStatus(grpc.StatusCode.UNKNOWN, message, metadata))
        except ProviderError as error:
            context.abort(grpc.StatusCode.UNKNOWN, self._scrub(str(error)))
        except Exception as error:  # a bug here, not Heroku's answer: say so plainly
            context.abort(grpc.StatusCode.INTERNAL, self._scrub(f"the heroku stand-in failed: {type(error).__name__}: {error}"))

    return handler


class HerokuStandIn(provider_pb2_grpc.ResourceProviderServicer):
    """The plugin's gRPC service. sleep/clock/environ are injectable so tests never really wait."""

    def __init__(self, *, sleep: Sleep | None = None, clock: Clock = time.monotonic, environ: Mapping[str, str] | None = None):
        self._sleep = sleep or time.sleep
        self._clock = clock
        self._environ = environ
        self._resources: HerokuResources | None = None

    @property
    def resources(self) -> HerokuResources:
        if self._resources is None:
            raise ProviderError("the heroku provider was used before it was configured")
        return self._resources

    def _scrub(self, text: str) -> str:
        """Last line of defence: the API key never leaves in an error."""
        key = self._resources.settings.api_key if self._resources else ""
        return text.replace(key, "***") if key else text

    # -- plugin and provider configuration --------------------------------------------------------------

    @_rpc
    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return proto.PluginInfo(version=plugin_version())

    @_rpc
    def CheckConfig(self, request: Any, context: Any) -> Any:
        news = reveal(from_struct(request.news))
        failures = [proto.CheckFailure(property=key, reason=reason) for key, reason in config_problems(news)]
        return proto.CheckResponse(inputs=request.news, failures=failures)

    @_rpc
    def DiffConfig(self, request: Any, context: Any) -> Any:
        olds, news = reveal(from_struct(request.olds)), reveal(from_struct(request.news))
        changed = sorted(key for key in set(olds) | set(news) if olds.get(key) != news.get(key))
        kind = proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE
        return proto.DiffResponse(changes=kind, diffs=changed)

    @_rpc
    def Configure(self, request: Any, context: Any) -> Any:
        config = reveal(from_struct(request.args))
        if not config:  # older engines: only "heroku:config:<key>" variables
            config = {key.rsplit(":", 1)[-1]: value for key, value in request.variables.items()}
        settings = settings_from_config(config, os.environ if self._environ is None else self._environ)
        self._resources = HerokuResources(HerokuClient(settings, self._sleep), settings, Waiter(self._sleep, self._clock))
        # Secrets are accepted: the provider marks its own sensitive outputs, as the bridge does.
        return proto.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=False)

    # -- resources ----------------------------------------------------------------------------------------

    @_rpc
    def Check(self, request: Any, context: Any) -> Any:
        kind = _type_of(request)
        news = dict(from_struct(request.news))
        olds = from_struct(request.olds)
        failures: list[tuple[str, str]] = []
        if kind not in INPUTS:
            failures.append(("", f"this stand-in implements only {', '.join(INPUTS)}, not {kind}"))
        else:
            # An attachment's name is Optional+Computed: Heroku names it when the program does not.
            if kind != ATTACHMENT_TYPE and news.get("name") in (None, ""):  # bridge auto-naming: keep the old name, else propose one
                news["name"] = olds.get("name") or _auto_name(_resource_name(request.urn, request.name), request.randomSeed)
            failures += _input_problems(kind, reveal(news))
        return proto.CheckResponse(inputs=to_struct(news), failures=[proto.CheckFailure(property=p, reason=r) for p, r in failures])

    @_rpc
    def Diff(self, request: Any, context: Any) -> Any:
        kind = _type_of(request)
        olds, news = reveal(from_struct(request.olds)), reveal(from_struct(request.news))
        for ignored in request.ignoreChanges:
            if ignored in olds:
                news[ignored] = olds[ignored]
        found = changes(INPUTS.get(kind, {}), olds, news)
        replaces = sorted({path.split(".", 1)[0] for path, (_kind, rep) in found.items() if rep})
        detailed = {
            path: proto.PropertyDiff(kind=getattr(proto.PropertyDiff, f"{change}_REPLACE" if rep else change))
            for path, (change, rep) in found.items()
        }
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if found else proto.DiffResponse.DIFF_NONE,
            replaces=replaces,
            diffs=sorted({path.split(".", 1)[0] for path in found}),
            detailedDiff=detailed,
            hasDetailedDiff=True,
            deleteBeforeReplace=False,  # the bridge's default: create the replacement first
        )

    @_rpc
    def Create(self, request: Any, context: Any) -> Any:
        kind = _type_of(request)
        raw = from_struct(request.properties)
        props = reveal(raw)
        if request.preview:
            return proto.CreateResponse(id="", properties=_outputs(kind, raw, _preview_outputs(kind, props)))
        try:
            if kind == APP_TYPE:
                resource_id, outputs = self.resources.create_app(props)
            elif kind == ADDON_TYPE:
                resource_id, outputs = self.resources.create_addon(props)
            elif kind == ATTACHMENT_TYPE:
                resource_id, outputs = self.resources.create_attachment(props)
            else:
                raise ProviderError(f"this stand-in cannot create {kind}")
        except PartialFailure as partial:
            raise partial.of(kind, raw) from None
        return proto.CreateResponse(id=resource_id, properties=_outputs(kind, raw, outputs))

    @_rpc
    def Read(self, request: Any, context: Any) -> Any:
        """Refresh (Exists, then Read) or, without properties, import (the resource's importer first)."""
        kind = _type_of(request)
        raw_state, raw_inputs = from_struct(request.properties), from_struct(request.inputs)
        resource_id, outputs = self._refresh(kind, request.id, reveal(raw_state))
        if outputs is None:
            return proto.ReadResponse(id="")  # gone: the engine drops it from the state
        fields = INPUTS[kind]
        if raw_inputs:  # bridge ExtractInputsFromOutputs: the old inputs, with what Heroku now has
            inputs = {k: (outputs.get(k) if k in fields else v) for k, v in reveal(raw_inputs).items()}
        else:
            inputs = {k: outputs[k] for k in fields if not _empty(outputs.get(k)) and k != "configVarValues"}
        secret_like = {**raw_state, **raw_inputs}
        return proto.ReadResponse(
            id=resource_id,
            properties=_outputs(kind, secret_like, outputs),
            inputs=_secret_where(kind, secret_like, inputs, sensitive=False),
        )

    def _refresh(self, kind: str, resource_id: str, state: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        resources = self.resources
        if kind == APP_TYPE:
            if not state:
                resource_id, state = resources.import_app(resource_id)
            if not resources.app_exists(resource_id, state):
                return resource_id, None
            return resource_id, resources.read_app(resource_id, state)
        if kind == ADDON_TYPE:
            if not resources.addon_exists(resource_id):
                return resource_id, None
            return resource_id, resources.read_addon(resource_id, state)
        if kind == ATTACHMENT_TYPE:
            return resource_id, resources.read_attachment(resource_id)
        raise ProviderError(f"this stand-in cannot read {kind}")

    @_rpc
    def Update(self, request: Any, context: Any) -> Any:
        kind = _type_of(request)
        raw_olds, raw_news = from_struct(request.olds), from_struct(request.news)
        olds, news = reveal(raw_olds), reveal(raw_news)
        secret_like = {**raw_olds, **raw_news}
        planned = planned_state(INPUTS.get(kind, {}), olds, news)
        if request.preview:
            return proto.UpdateResponse(properties=_outputs(kind, secret_like, planned))
        try:
            if kind == APP_TYPE:
                outputs = self.resources.update_app(request.id, olds, news)
            elif kind == ADDON_TYPE:
                _new_id, outputs = self.resources.update_addon(request.id, olds, news)
            else:
                raise ProviderError(f"this stand-in cannot update {kind}")
        except ProviderError as error:
            # sdk: a failed update still saves the planned state (no d.Partial), and the bridge reports it
            # as a partial failure: the next `up` sees no diff for what did not apply, as with the real one.
            raise PartialFailure(str(error), request.id, planned).of(kind, secret_like) from error
        return proto.UpdateResponse(properties=_outputs(kind, secret_like, outputs))

    @_rpc
    def Delete(self, request: Any, context: Any) -> Any:
        kind = _type_of(request)
        if kind == APP_TYPE:
            self.resources.delete_app(request.id)
        elif kind == ADDON_TYPE:
            self.resources.delete_addon(request.id, reveal(from_struct(request.properties)))
        elif kind == ATTACHMENT_TYPE:
            self.resources.delete_attachment(request.id)
        else:
            raise ProviderError(f"this stand-in cannot delete {kind}")
        return empty_pb2.Empty()

    @_rpc
    def Invoke(self, request: Any, context: Any) -> Any:
        args = reveal(from_struct(request.args))
        if request.tok != GET_APP:
            return proto.InvokeResponse(failures=[proto.CheckFailure(property="", reason=f"this stand-in implements only {GET_APP}")])
        if not isinstance(args.get("name"), str) or not args["name"]:
            return proto.InvokeResponse(failures=[proto.CheckFailure(property="name", reason="Missing required argument 'name'")])
        try:
            result = self.resources.get_app(args["name"])
        except ProviderError as error:
            raise _wrap(f"invoking {GET_APP}", error) from error
        return proto.InvokeResponse(**{"return": to_struct(result)})

    @_rpc
    def Cancel(self, request: Any, context: Any) -> Any:
        """The engine's graceful cancel (the first Ctrl-C). bridge pkg/tfbridge/provider.go: "For TF, this is
        a no-op", so an add-on being provisioned is waited for and recorded, not abandoned half-made."""
        return empty_pb2.Empty()


def _secret_where(kind: str, raw_inputs: Mapping[str, Any], values: Mapping[str, Any], *, sensitive: bool = True) -> struct_pb2.Struct:
    """Secret where the schema says Sensitive, and wherever the program gave a secret (bridge)."""
    keep_secret = {k for k, v in raw_inputs.items() if _holds_secret(v)} | (SENSITIVE.get(kind, set()) if sensitive else set())
    return to_struct({k: secret(v) if k in keep_secret and v is not None else v for k, v in values.items()})


def _outputs(kind: str, raw_inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> struct_pb2.Struct:
    values = {k: v for k, v in outputs.items() if k != "id"}
    if kind in _META:
        values["__meta"] = _META[kind]
    return _secret_where(kind, raw_inputs, values)


def _type_of(request: Any) -> str:
    return request.type or request.urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1]


def _input_problems(kind: str, news: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the TF schema's Required and ValidateFunc refuse (unknown values are checked later, at apply)."""
    problems: list[tuple[str, str]] = []
    required = {APP_TYPE: ("region",), ADDON_TYPE: ("appId", "plan"), ATTACHMENT_TYPE: ("appId", "addonId")}[kind]
    problems += [(name, f"Missing required property '{name}'") for name in required if news.get(name) in (None, "")]
    if kind == ATTACHMENT_TYPE:
        app_id = news.get("appId")  # tf-attach: ValidateFunc validation.IsUUID
        if isinstance(app_id, str) and app_id and app_id != UNKNOWN and not _UUID.fullmatch(app_id):
            problems.append(("appId", f'expected "app_id" to be a valid UUID, got {app_id}'))
    elif kind == APP_TYPE:
        org = news.get("organization")
        if isinstance(org, dict) and org and org.get("name") == "":
            problems.append(("organization.name", 'expected "organization.0.name" to not be an empty string, got '))
        if news.get("acm") is True:
            problems.append(("acm", "this stand-in does not implement ACM (acm: true); the program does not use it"))
    else:
        app_id = news.get("appId")
        if isinstance(app_id, str) and app_id and app_id != UNKNOWN and not _UUID.fullmatch(app_id):
            problems.append(("appId", f'expected "app_id" to be a valid UUID, got {app_id}'))
        name = news.get("name")
        if isinstance(name, str) and name != UNKNOWN and (len(name) > 256 or not _ADDON_NAME.fullmatch(name)):
            reason = "Invalid custom addon name: must start with a letter and can only contain lowercase letters, numbers, and dashes"
            problems.append(("name", reason))
    return problems


def _preview_outputs(kind: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """A create's plan: the inputs, and unknown for everything Heroku decides."""
    fields = INPUTS.get(kind, {})
    outputs = {}
    for name in OUTPUTS.get(kind, ()):
        spec = fields.get(name)
        value = props.get(name)
        outputs[name] = value if spec is not None and (not _empty(value) or not spec.computed) else UNKNOWN
    return outputs


# -- the plugin process ------------------------------------------------------------------------------------------


def start(provider: HerokuStandIn, address: str = "127.0.0.1:0") -> tuple[grpc.Server, int]:
    """The provider's gRPC server, started; the port it listens on."""
    return start_server(provider_pb2_grpc.add_ResourceProviderServicer_to_server, provider, address)


def serve() -> None:  # pragma: no cover - runs as the engine's plugin process, exercised by tests/test_heroku_standin.py
    """What the engine runs: listen on a free loopback port and print it, the only line on stdout."""
    serve_forever(provider_pb2_grpc.add_ResourceProviderServicer_to_server, HerokuStandIn())


install = installer(PLUGIN_NAME, "tests.doubles.heroku_standin")


if __name__ == "__main__":
    serve()  # unbuffered: the script runs `python -u`
