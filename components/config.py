"""The stack's configuration, read once and validated before any resource is declared.

Every problem is collected and reported together, each naming the key, the bad value and a good
example, so one `pulumi up` tells the whole story. Secrets are never echoed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from components.connection import ConnectionSettings, InvalidDatabaseUrl, other_database, parse_database_url
from components.stitch_api import DEFAULT_API_URL, TOKEN_FIX

Source = Literal["heroku", "heroku-existing", "url"]
SOURCES: tuple[Source, ...] = ("heroku", "heroku-existing", "url")

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{2,29}$")
CURRENT_PLAN = re.compile(r"^(essential|standard|premium|private|shield)-\d+$")
CURRENT_TIERS = "essential-0/1/2, standard-0..., premium-0..., private-0..., shield-0..."
RETIRED_PLANS = ("hobby-dev", "hobby-basic", "mini", "basic")
PLAN_PREFIX = "heroku-postgresql:"
CONFIG_VAR = re.compile(r"^[A-Z][A-Z0-9_]*_URL$")
REGIONS = ("us", "eu")

# Which keys belong to which source; a key set for another source is an error, not a silent no-op.
SOURCE_KEYS: dict[str, tuple[Source, ...]] = {
    "app_name": ("heroku", "heroku-existing"),
    "region": ("heroku",),
    "plan": ("heroku",),
    "team": ("heroku",),
    "postgres_version": ("heroku",),
    "protect": ("heroku",),
    "database_config_var": ("heroku-existing",),
    "database_url": ("url",),
}
SECRET_KEYS = ("database_url", "stitch_url")
# Settings of the Stitch destination; they need a Connect API token (stitch:accessToken).
STITCH_KEYS = ("stitch_destination_name", "stitch_destination_id", "stitch_keep_destination", "stitch_check_timeout", "stitch_api_url")
ALL_KEYS = (*SOURCE_KEYS, "source", "stitch_url", "verify_timeout", "verify_on_every_up", "connect_timeout", *STITCH_KEYS)
STITCH_TOKEN_KEY = "stitch:accessToken"
STITCH_TOKEN_ENV = "STITCH_ACCESS_TOKEN"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class ConfigError(Exception):
    """All the configuration problems of one stack, each with its fix."""

    def __init__(self, stack: str, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} configuration problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"stack {stack!r} has {count}; nothing was changed:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class StitchConfig:
    """How the stack registers its destination in Stitch through the Connect API."""

    access_token: str = field(repr=False)
    destination_name: str
    adopt_id: str | None
    keep_on_delete: bool
    check_timeout: int
    api_url: str


@dataclass(frozen=True)
class StackConfig:
    """The validated settings of one stack."""

    stack: str
    source: Source
    app_name: str | None
    region: str
    plan: str
    team: str | None
    postgres_version: str | None
    protect: bool
    database_config_var: str
    database_url: str | None = field(repr=False)
    stitch_url: str | None = field(repr=False)
    verify_timeout: int
    verify_on_every_up: bool
    connect_timeout: int
    stitch: StitchConfig | None = None
    """None when no Stitch token is configured: the destination stays a manual step."""

    @property
    def addon_plan(self) -> str:
        return f"{PLAN_PREFIX}{self.plan}"


def default_protect(stack: str) -> bool:
    """Everything but dev stacks is protected unless the stack says otherwise."""
    return not stack.startswith("dev")


def validate(
    stack: str,
    raw: Mapping[str, str | None],
    *,
    secret_keys: set[str],
    heroku_key: str | None,
    stitch_token: tuple[str, str] | None = None,
    stitch_namespace: Mapping[str, str] | None = None,
    project: str = "stitch-heroku",
) -> StackConfig:
    """Check every value; raise one ConfigError listing all the problems.

    heroku_key: "secret" or "plain" when `heroku:apiKey` is set in the stack, "env" when
    HEROKU_API_KEY is set, None when neither. stitch_token: (how, token) with how "secret",
    "plain" or "env", None when no Stitch token is set. stitch_namespace: the stack's other
    `stitch:` keys, which are mistakes since stitch:accessToken is the only one.
    """
    problems: list[str] = []

    def given(key: str) -> str | None:
        value = raw.get(key)
        return value if value not in (None, "") else None

    for key in raw:
        if key not in ALL_KEYS and given(key) is not None:
            problems.append(f"{key}: unknown key; the keys are {', '.join(sorted(ALL_KEYS))}")

    source = given("source") or "heroku"
    if source not in SOURCES:
        problems.append(f'source: "{source}" is not a source; use one of heroku, heroku-existing, url (e.g. "heroku")')
        source = "heroku"

    for key, sources in SOURCE_KEYS.items():
        if given(key) is not None and source not in sources:
            problems.append(
                f"{key}: belongs to source {' or '.join(sources)}, not {source}: "
                f"remove it (pulumi config rm {key}) or set source to {sources[0]}"
            )

    app_name = given("app_name")
    if source in ("heroku", "heroku-existing"):
        if app_name is None:
            problems.append("app_name: required: set a Heroku app name, e.g. pulumi config set app_name acme-stitch-dev")
        elif not APP_NAME.match(app_name):
            problems.append(
                f'app_name: "{app_name}" is not a valid Heroku app name: use 3 to 30 lowercase letters, digits and '
                'dashes, starting with a letter, e.g. "acme-stitch-dev"'
            )
        if heroku_key is None:
            problems.append(
                "heroku:apiKey: no Heroku API key: run pulumi config set --secret heroku:apiKey <key>, or export HEROKU_API_KEY"
            )
        elif heroku_key == "plain":
            problems.append("heroku:apiKey: stored in plain text: set it again with pulumi config set --secret heroku:apiKey <key>")

    region = given("region") or "us"
    if region not in REGIONS:
        problems.append(f'region: "{region}" is not a Heroku Postgres region for this program; use "us" or "eu"')

    plan = given("plan") or "essential-0"
    plan = plan.removeprefix(PLAN_PREFIX)
    if plan in RETIRED_PLANS:
        problems.append(f'plan: "{plan}" is a retired Heroku Postgres plan; use a current one ({CURRENT_TIERS}), e.g. "essential-0"')
    elif not CURRENT_PLAN.match(plan):
        problems.append(f'plan: "{plan}" is not a Heroku Postgres plan; use a current one ({CURRENT_TIERS}), e.g. "essential-0"')

    postgres_version = given("postgres_version")
    if postgres_version is not None and not re.fullmatch(r"[1-9][0-9]", postgres_version):
        problems.append(f'postgres_version: "{postgres_version}" is not a PostgreSQL major version; use a number such as "16"')

    def boolean(key: str, default: bool) -> bool:
        text = given(key)
        if text is None:
            return default
        parsed = {"true": True, "false": False}.get(text.strip().lower())
        if parsed is None:
            problems.append(f'{key}: "{text}" is not true or false; e.g. pulumi config set {key} true')
            return default
        return parsed

    protect = boolean("protect", default_protect(stack))

    database_config_var = given("database_config_var") or "DATABASE_URL"
    if not CONFIG_VAR.match(database_config_var):
        problems.append(
            f'database_config_var: "{database_config_var}" is not a Heroku database config var; '
            'use DATABASE_URL or HEROKU_POSTGRESQL_<COLOR>_URL, e.g. "HEROKU_POSTGRESQL_AMBER_URL"'
        )

    urls: dict[str, ConnectionSettings] = {}
    for key in SECRET_KEYS:
        value = given(key)
        if value is None:
            if key == "database_url" and source == "url":
                problems.append(
                    "database_url: required for source url: pulumi config set --secret database_url postgres://user:password@host:5432/dbname"
                )
            continue
        if key not in secret_keys:
            problems.append(f"{key}: stored in plain text (it holds a password): set it again with pulumi config set --secret {key} <url>")
        try:
            urls[key] = parse_database_url(value, name=key)
        except InvalidDatabaseUrl as error:
            problems.append(str(error))

    if "stitch_url" in urls and "database_url" in urls:
        mismatch = other_database(urls["stitch_url"], urls["database_url"], name="stitch_url")
        if mismatch:
            problems.append(mismatch)

    integers = {"verify_timeout": 300, "connect_timeout": 10}
    for key, default in list(integers.items()):
        text = given(key)
        if text is None:
            continue
        if not text.isdigit() or not (1 if key == "connect_timeout" else 0) <= int(text) <= 3600:
            problems.append(
                f'{key}: "{text}" is not a number of seconds between {1 if key == "connect_timeout" else 0} and 3600; e.g. "{default}"'
            )
        else:
            integers[key] = int(text)

    verify_on_every_up = boolean("verify_on_every_up", False)

    for key in stitch_namespace or {}:
        if key != STITCH_TOKEN_KEY.removeprefix("stitch:"):
            problems.append(
                f"stitch:{key}: unknown key; {STITCH_TOKEN_KEY} is the only stitch: key (the destination settings are stitch_*)"
            )
    stitch = None
    if stitch_token is None:
        for key in STITCH_KEYS:
            if given(key) is not None:
                problems.append(f"{key}: needs a Stitch Connect API token: {TOKEN_FIX}; or remove it (pulumi config rm {key})")
    else:
        how, token = stitch_token
        if how == "plain":
            problems.append(
                f"{STITCH_TOKEN_KEY}: stored in plain text: set it again with pulumi config set --secret {STITCH_TOKEN_KEY} <token>"
            )
        name = given("stitch_destination_name") or f"{project}-{stack}"
        if len(name) > 100:
            problems.append(f'stitch_destination_name: "{name[:40]}..." is too long; use at most 100 characters, e.g. "{project}-{stack}"')
        adopt_id = given("stitch_destination_id")
        if adopt_id is not None and not adopt_id.isdigit():
            problems.append(
                f'stitch_destination_id: "{adopt_id}" is not a Stitch destination id; use the number from the destination\'s '
                'URL in Stitch or from GET /v4/destinations, e.g. "110397"'
            )
        check_timeout = given("stitch_check_timeout") or "300"
        if not check_timeout.isdigit() or not 10 <= int(check_timeout) <= 3600:
            problems.append(f'stitch_check_timeout: "{check_timeout}" is not a number of seconds between 10 and 3600; e.g. "300"')
            check_timeout = "300"
        api_url = (given("stitch_api_url") or DEFAULT_API_URL).rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            problems.append(
                f'stitch_api_url: "{api_url}" is not an https:// URL (the token would travel in clear text); use "{DEFAULT_API_URL}"'
            )
        stitch = StitchConfig(
            access_token=token,
            destination_name=name,
            adopt_id=adopt_id,
            # An adopted destination was made by hand and may have history behind it, and a protected
            # stack keeps what it made: both leave the destination in Stitch unless told otherwise.
            keep_on_delete=boolean("stitch_keep_destination", adopt_id is not None or protect),
            check_timeout=int(check_timeout),
            api_url=api_url,
        )

    if problems:
        raise ConfigError(stack, problems)
    return StackConfig(
        stack=stack,
        source=source,  # type: ignore[arg-type]  # checked against SOURCES above
        app_name=app_name,
        region=region,
        plan=plan,
        team=given("team"),
        postgres_version=postgres_version,
        protect=protect,
        database_config_var=database_config_var,
        database_url=given("database_url"),
        stitch_url=given("stitch_url"),
        verify_timeout=integers["verify_timeout"],
        verify_on_every_up=verify_on_every_up,
        connect_timeout=integers["connect_timeout"],
        stitch=stitch,
    )


def load(
    project: str,
    stack: str,
    config: Mapping[str, str],
    is_secret: Callable[[str], bool],
    environ: Mapping[str, str] = os.environ,
) -> StackConfig:
    """Validate the stack's whole config, given as Pulumi holds it: full keys ("stitch-heroku:plan").

    Plain reads are fine here because secret values are re-wrapped as secrets before any
    resource sees them.
    """
    prefix = f"{project}:"
    raw = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    heroku_key = None
    if config.get("heroku:apiKey"):
        heroku_key = "secret" if is_secret("heroku:apiKey") else "plain"
    elif environ.get("HEROKU_API_KEY"):
        heroku_key = "env"
    secret = {key for key in SECRET_KEYS if is_secret(prefix + key)}
    stitch_token = None
    if config.get(STITCH_TOKEN_KEY):
        stitch_token = ("secret" if is_secret(STITCH_TOKEN_KEY) else "plain", config[STITCH_TOKEN_KEY])
    elif environ.get(STITCH_TOKEN_ENV):
        stitch_token = ("env", environ[STITCH_TOKEN_ENV])
    stitch_namespace = {key.removeprefix("stitch:"): value for key, value in config.items() if key.startswith("stitch:")}
    return validate(
        stack,
        raw,
        secret_keys=secret,
        heroku_key=heroku_key,
        stitch_token=stitch_token,
        stitch_namespace=stitch_namespace,
        project=project,
    )
