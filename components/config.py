"""The stack's configuration as one table, validated before any resource is declared.

Each setting is one row of SETTINGS: its key, the sources it belongs to, its parser, its default,
whether it holds a secret or needs the Stitch token, and its help. Validation, the error messages
and the README's config table (`python -m components.config`) all come from the table, so a new
key is one row plus its field on StackConfig or StitchConfig. Every problem is reported at once,
each naming the key, the bad value and the fix; secrets are never echoed.
"""

from __future__ import annotations

import netrc
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .connection import InvalidDatabaseUrl, other_database, parse_database_url
from .stitch_api import DEFAULT_API_URL
from .suggestions import did_you_mean

Source = Literal["heroku", "heroku-existing", "url"]
SOURCES: tuple[Source, ...] = ("heroku", "heroku-existing", "url")
HEROKU_SOURCES: tuple[Source, ...] = ("heroku", "heroku-existing")

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{2,29}$")
CURRENT_PLAN = re.compile(r"^(essential|standard|premium)-\d+$")
PRIVATE_PLAN = re.compile(r"^(private|shield)-\d+$")
CURRENT_TIERS = "essential-0/1/2, standard-0..., premium-0..."
RETIRED_PLANS = ("hobby-dev", "hobby-basic", "mini", "basic")
PLAN_PREFIX = "heroku-postgresql:"
CONFIG_VAR = re.compile(r"^[A-Z][A-Z0-9_]*_URL$")
POOL_CONFIG_VAR = re.compile(r"_CONNECTION_POOL_URL$")
REGIONS = ("us", "eu")
STITCH_CREDENTIALS = ("dedicated", "owner")
ESSENTIAL_TIER = "essential-"
ONE_CREDENTIAL_REASON = "essential plans have one credential; standard-0 and up allow a dedicated one"
"""Dev Center, "Heroku Postgres Credentials": credentials are for production plans; Essential has the owner's only."""
# An unquoted PostgreSQL identifier (lowercase, so it is stored as written), at most NAMEDATALEN-1 = 63 bytes.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
OWN_CREDENTIAL_KEYS = ("stitch_url", "stitch_config_var")
# Names PostgreSQL refuses for a role (public, none: "role name ... is reserved") or reads as a keyword
# wherever they stand unquoted in GRANT, ALTER and SET ROLE (current_user and the like).
RESERVED_ROLE_NAMES = ("public", "none", "current_role", "current_user", "session_user")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

HEROKU_KEY = "heroku:apiKey"
HEROKU_KEY_ENV = "HEROKU_API_KEY"
HEROKU_URL_KEY = "heroku:url"
HEROKU_URL_ENV = "HEROKU_API_URL"
DEFAULT_HEROKU_API = "https://api.heroku.com"
STITCH_TOKEN_KEY = "stitch:accessToken"
STITCH_TOKEN_ENV = "STITCH_ACCESS_TOKEN"


class ConfigError(Exception):
    """All the configuration problems of one stack, each with its fix."""

    def __init__(self, stack: str, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} configuration problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"stack {stack!r} has {count}; nothing was changed:\n" + "\n".join(f"  - {p}" for p in problems))


class Invalid(ValueError):
    """A value a parser refuses; the message names the value (never a secret one) and the fix."""


@dataclass(frozen=True)
class Deferred:
    """A value known only during the deployment (a component input given as a pulumi Output): it counts as set,
    and is parsed where it is used (the database URL's parser runs on the resolved value)."""

    value: Any = field(repr=False)


@dataclass(frozen=True)
class StitchConfig:
    """How the stack registers its destination in Stitch through the Connect API."""

    access_token: str = field(repr=False)
    destination_name: str
    adopt_id: str | None
    keep_on_delete: bool
    check_timeout: int
    api_url: str
    map_unmapped_sources: bool = False
    """Stitch's ignore_unmapped_sources=false: every unmapped source of the account loads here."""
    load_stale_hours: float | None = None
    """Warn when a source of this destination has loaded nothing for longer (Stitch's loads list)."""


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
    stitch_config_var: str | None = None
    """An app config var holding the Stitch credential's URL, read live; Heroku rotates it."""
    stitch: StitchConfig | None = None
    """None when no Stitch token is configured: the destination stays a manual step."""
    stitch_credential: str | None = None
    """"dedicated" (a credential of Stitch's own) or "owner"; None when stitch_url/stitch_config_var name the
    user's own credential, or when a heroku-existing stack leaves it to the add-on's plan, found at deploy time."""
    stitch_role_name: str = "stitch"
    """The dedicated role's name (source url)."""
    stitch_password_version: int = 1
    """Bumping it makes a new password for the dedicated role (source url)."""
    storage_limit_gb: float | None = None
    """The user's own storage limit in GB (10**9 bytes) for the capacity check, besides the Heroku plan's; None: the plan's alone."""
    stitch_destination: str = "managed"
    """managed: with a token the stack manages the destination, and once it does a run without the token stops;
    released: the stack forgets it, leaving it in Stitch untouched, and needs no token."""

    @property
    def addon_plan(self) -> str:
        return f"{PLAN_PREFIX}{self.plan}"


def default_protect(stack: str) -> bool:
    """Everything but dev stacks is protected unless the stack says otherwise."""
    return not stack.startswith("dev")


# The parsers: each takes the raw text and returns the value, or raises Invalid with the fix.


def parse_source(text: str) -> str:
    """The source, whatever its case (`URL` is `url`): a capital letter is no reason to stop a run."""
    source = text.strip().lower()
    if source not in SOURCES:
        raise Invalid(f'"{text}" is not a source{did_you_mean(source, SOURCES)}; use one of heroku, heroku-existing, url (e.g. "heroku")')
    return source


def parse_app_name(text: str) -> str:
    if not APP_NAME.match(text):
        raise Invalid(
            f'"{text}" is not a valid Heroku app name: use 3 to 30 lowercase letters, digits and dashes, '
            'starting with a letter, e.g. "acme-stitch-dev"'
        )
    return text


def _one_of(allowed: tuple[str, ...], what: str) -> Callable[[str], str]:
    """A parser for a setting that takes one of a few words; `what` says what they mean, for the message."""

    def parse(text: str) -> str:
        word = text.strip().lower()  # "EU" is "eu": the words are lowercase, a capital changes no meaning
        if word not in allowed:
            words = " or ".join(f'"{word}"' for word in allowed)
            raise Invalid(f'"{text}" is not {words}{did_you_mean(word, allowed)}: {what}')
        return word

    return parse


parse_region = _one_of(REGIONS, "the Heroku Postgres regions this program creates databases in")


def parse_plan(text: str) -> str:
    plan = text.removeprefix(PLAN_PREFIX)
    if plan in RETIRED_PLANS:
        raise Invalid(f'"{plan}" is a retired Heroku Postgres plan; use a current one ({CURRENT_TIERS}), e.g. "essential-0"')
    if PRIVATE_PLAN.match(plan):
        raise Invalid(
            f'"{plan}" needs a Heroku Private Space, which this program does not create, and Stitch would then reach '
            "the database only from IP ranges allowed in the space; use an essential, standard or premium plan, e.g. "
            '"standard-0", or for a database already in a Private Space use source heroku-existing '
            "and allow Stitch's IP ranges in the space"
        )
    if not CURRENT_PLAN.match(plan):
        raise Invalid(f'"{plan}" is not a Heroku Postgres plan; use a current one ({CURRENT_TIERS}), e.g. "essential-0"')
    return plan


def parse_postgres_version(text: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]", text):
        raise Invalid(f'"{text}" is not a PostgreSQL major version; use a number such as "16"')
    return text


def parse_bool(text: str) -> bool:
    parsed = {"true": True, "false": False}.get(text.strip().lower())
    if parsed is None:
        raise Invalid(f'"{text}" is not true or false; e.g. "true"')
    return parsed


def _seconds(low: int, high: int, example: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise Invalid(f'"{text}" is not a number of seconds between {low} and {high}; e.g. "{example}"')
        return int(text)

    return parse


def parse_positive_number(text: str, *, of: str = "", example: str = '"24"') -> float:
    """A number above zero, whole or not (hours, gigabytes); `of` names its unit in the refusal."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise Invalid(f'"{text}" is not a positive number{of}; e.g. {example}')
    return value


def _config_var(example: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not CONFIG_VAR.match(text):
            raise Invalid(
                f'"{text}" is not a Heroku database config var; use DATABASE_URL or HEROKU_POSTGRESQL_<COLOR>_URL '
                f'or an attachment\'s <NAME>_URL, e.g. "{example}"'
            )
        if POOL_CONFIG_VAR.search(text):
            raise Invalid(
                f'"{text}" is the connection pooler (PgBouncer in transaction mode), which breaks the temporary '
                f'tables and session state a Stitch load needs; name the database\'s own var, e.g. "{example}"'
            )
        return text

    return parse


def parse_database_url_text(text: str) -> str:
    try:
        parse_database_url(text, name="the URL")
    except InvalidDatabaseUrl as error:
        raise Invalid(str(error)) from None
    return text


parse_stitch_credential = _one_of(
    STITCH_CREDENTIALS, "whose credential Stitch loads with: dedicated, one of its own without the owner's rights; owner, the owner's"
)


def parse_role_name(text: str) -> str:
    if text in RESERVED_ROLE_NAMES:
        raise Invalid(f'"{text}" is a name PostgreSQL reserves or reads as a keyword; use another, e.g. "stitch"')
    if not ROLE_NAME.match(text) or text.startswith("pg_"):
        raise Invalid(
            f'"{text}" is not a role name this program makes: use 1 to 63 lowercase letters, digits and underscores, '
            'starting with a letter or underscore and not with "pg_" (reserved by PostgreSQL), e.g. "stitch"'
        )
    return text


def parse_version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise Invalid(f'"{text}" is not a whole number of at least 1; raise it by one to rotate, e.g. "2"')
    return int(text)


def default_stitch_credential(context: Context) -> str | None:
    """None (implicit) when the user names Stitch's credential; else dedicated wherever the source allows it.

    Source url: always (the owner creates the role). Source heroku: standard-0 and up (Essential plans have
    one credential). heroku-existing: None here, since its add-on's plan is read at deploy time.
    """
    values = context.values
    if any(values.get(key) is not None for key in OWN_CREDENTIAL_KEYS):
        return None
    if values.get("source") == "url":
        return "dedicated"
    if values.get("source") == "heroku":
        return "owner" if str(values.get("plan")).startswith(ESSENTIAL_TIER) else "dedicated"
    return None


def parse_storage_limit(text: str) -> float:
    return parse_positive_number(text, of=" of GB (10**9 bytes)", example='"1" or "0.5"')


def parse_destination_name(text: str) -> str:
    if len(text) > 100:
        raise Invalid(f'"{text[:40]}..." is too long; use at most 100 characters, e.g. "stitch-heroku-prod"')
    return text


def parse_destination_id(text: str) -> str:
    if not text.isdigit():
        raise Invalid(
            f'"{text}" is not a Stitch destination id; use the number from the destination\'s URL in Stitch or from '
            'GET /v4/destinations, e.g. "110397"'
        )
    return text


DESTINATION_MODES = ("managed", "released")


parse_destination_mode = _one_of(
    DESTINATION_MODES, "released lets this stack forget its Stitch destination and leaves it in Stitch, as it is"
)


def parse_api_url(text: str) -> str:
    api_url = text.rstrip("/")
    try:
        parts = urlsplit(api_url)
        host = parts.hostname
    except ValueError:  # urlsplit refuses some text, e.g. an unclosed "[" it takes for an IPv6 host
        parts, host = None, None
    if parts is None or not host or not (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)):
        raise Invalid(f'"{api_url}" is not an https:// URL (the token would travel in clear text); use "{DEFAULT_API_URL}"')
    return api_url


@dataclass(frozen=True)
class Context:
    """What a default may depend on: the stack, the project and the values read before it."""

    stack: str
    project: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Setting:
    """One config key: where it applies, how it is read, its default, and what it means."""

    key: str
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None
    """A value, or a function of the Context (e.g. protect depends on the stack's name)."""
    default_doc: str = "none"
    sources: tuple[Source, ...] = SOURCES
    secret: bool = False
    """It holds a password or token: it must be set with `pulumi config set --secret`."""
    needs_token: bool = False
    """A setting of the Stitch destination: it needs the Stitch token."""
    required: bool = False
    """Required in each of its sources."""
    example: str = ""
    attr: str | None = None
    """The field on StackConfig (or StitchConfig, for needs_token) when it differs from the key."""
    credential: bool = False
    """A provider's credential (namespaced key with an environment fallback), read by load()."""

    def default_for(self, context: Context) -> Any:
        return self.default(context) if callable(self.default) else self.default

    @property
    def field_name(self) -> str:
        return self.attr or self.key


SETTINGS: tuple[Setting, ...] = (
    Setting("source", "`heroku` creates the app and database; `heroku-existing` adopts one; `url` uses any PostgreSQL",
            parse_source, "heroku", "`heroku`"),
    Setting("app_name", "Heroku app: 3-30 lowercase letters, digits, dashes, starting with a letter",
            parse_app_name, sources=HEROKU_SOURCES, required=True, default_doc="(required)", example="acme-stitch-dev"),
    Setting(HEROKU_KEY, "Heroku API key, set with `--secret`; or `export HEROKU_API_KEY`, or `heroku login` (its netrc: "
            "`~/.netrc`, `$NETRC/.netrc` or the file `$NETRC_PATH`), as the heroku provider reads them",
            sources=HEROKU_SOURCES, secret=True, credential=True, default_doc="`HEROKU_API_KEY`, else the netrc"),
    Setting("region", "`us` or `eu`", parse_region, "us", "`us`", sources=("heroku",)),
    Setting("plan", f"a current Heroku Postgres plan ({CURRENT_TIERS}); retired `hobby-dev`, `hobby-basic`, `mini`, `basic` "
            "are refused, and so are `private-*` and `shield-*` (they need a Private Space this program does not create)",
            parse_plan, "essential-0", "`essential-0`", sources=("heroku",)),
    Setting("team", "Heroku team that owns the app", sources=("heroku",)),
    Setting("postgres_version", "PostgreSQL major version, e.g. `16` (the add-on's `version` option)",
            parse_postgres_version, default_doc="Heroku's default", sources=("heroku",)),
    Setting("protect", "protects the app and database from `pulumi destroy` and from replacement",
            parse_bool, lambda c: default_protect(c.stack), "`true` unless the stack name starts with `dev`", sources=("heroku",)),
    Setting("database_config_var", "the app's config var holding the database URL, e.g. `HEROKU_POSTGRESQL_AMBER_URL` "
            "(never a `*_CONNECTION_POOL_URL`)",
            _config_var("HEROKU_POSTGRESQL_AMBER_URL"), "DATABASE_URL", "`DATABASE_URL`", sources=("heroku-existing",)),
    Setting("database_url", "the database's URL", parse_database_url_text, sources=("url",), secret=True, required=True,
            default_doc="(required)", example="postgres://user:password@host:5432/dbname"),
    Setting("stitch_url", "a separate credential for Stitch (same host and database), as a fixed URL",
            parse_database_url_text, secret=True),
    Setting("stitch_config_var", "a separate Stitch credential that Heroku rotates: the app config var holding its URL, "
            "e.g. `STITCH_DATABASE_URL` (made by `heroku addons:attach <addon> --credential stitch --as STITCH_DATABASE`), "
            "read on every `up`; instead of `stitch_url`",
            _config_var("STITCH_DATABASE_URL"), sources=HEROKU_SOURCES),
    Setting("stitch_credential", "`dedicated`: Stitch gets a credential of its own that may load and nothing more "
            "(`url`: a role this stack creates; Heroku: the credential `stitch`); `owner`: the owner's (the verification "
            "warns). Not with `stitch_url` or `stitch_config_var`, which name your own",
            parse_stitch_credential, default_stitch_credential, "`dedicated`; `owner` on Essential plans"),
    Setting("stitch_role_name", "the dedicated role this stack creates for Stitch (1-63 lowercase letters, digits, "
            "underscores; not `pg_*`); kept by `pulumi destroy`, since it owns what Stitch loaded",
            parse_role_name, "stitch", "`stitch`", sources=("url",)),
    Setting("stitch_password_version", "the dedicated role's password generation: raise it by one to rotate the "
            "password (the role, the verification and Stitch get the new one in the same `up`)",
            parse_version, 1, "`1`", sources=("url",)),
    Setting("verify_timeout", "seconds (0-3600) the verification keeps looking while a new database starts",
            _seconds(0, 3600, 300), 300, "`300`"),
    Setting("verify_on_every_up", "run the verification on every `pulumi up`, not only when the settings change",
            parse_bool, False, "`false`"),
    Setting("connect_timeout", "seconds (1-3600) one connection attempt may take (verification and the postgresql provider)",
            _seconds(1, 3600, 10), 10, "`10`"),
    Setting("storage_limit_gb", "your own storage limit in GB (10**9 bytes) for the verification's `capacity` check (warn at 80%, "
            "fail at 100%), e.g. below the plan's to be warned early; the Heroku plan's own limit, the one Heroku enforces, is checked too",
            parse_storage_limit, None, "none: the Heroku plan's limit alone; without a plan the check is `skip`"),
    Setting(STITCH_TOKEN_KEY, "Stitch Connect API token, set with `--secret` (or `export STITCH_ACCESS_TOKEN`); without it "
            "the destination stays a manual step and the `stitch_*` keys below are refused",
            secret=True, credential=True, default_doc="`STITCH_ACCESS_TOKEN`, else none"),
    Setting("stitch_destination", "`managed`: with a token the stack keeps the destination, and then every run needs "
            "the token; `released`: the stack lets go of it and leaves it in Stitch untouched (no token needed)",
            parse_destination_mode, "managed", "`managed`"),
    Setting("stitch_destination_name", "the destination's name in Stitch", parse_destination_name,
            lambda c: f"{c.project}-{c.stack}", "`stitch-heroku-<stack>`", needs_token=True, attr="destination_name"),
    Setting("stitch_destination_id", "adopt this existing destination (its id) instead of creating one",
            parse_destination_id, needs_token=True, attr="adopt_id"),
    # An adopted destination was made by hand and may have history behind it, and a protected stack
    # keeps what it made: both leave the destination in Stitch unless told otherwise.
    Setting("stitch_keep_destination", "leave the destination in Stitch when the stack lets go of it (`pulumi destroy`)",
            parse_bool, lambda c: c.values["stitch_destination_id"] is not None or c.values["protect"],
            "`true` for adopted destinations and protected stacks, else `false`", needs_token=True, attr="keep_on_delete"),
    Setting("stitch_check_timeout", "seconds (10-3600) to wait for Stitch's connection check", _seconds(10, 3600, 300), 300, "`300`",
            needs_token=True, attr="check_timeout"),
    Setting("stitch_api_url", "the Connect API; must be `https://` (plain `http://` only for a loopback test server)",
            parse_api_url, DEFAULT_API_URL, f"`{DEFAULT_API_URL}`", needs_token=True, attr="api_url"),
    Setting("stitch_map_unmapped_sources", "map every unmapped source of the Stitch account to this destination (Stitch's "
            "ignore_unmapped_sources=false); off by default so other teams' data never lands here",
            parse_bool, False, "`false`", needs_token=True, attr="map_unmapped_sources"),
    Setting("stitch_load_stale_hours", "hours (a positive number): warn when a source has loaded nothing for longer",
            parse_positive_number, needs_token=True, attr="load_stale_hours"),
)  # fmt: skip

PROJECT_SETTINGS = tuple(s for s in SETTINGS if not s.credential)
PROJECT_KEYS = tuple(s.key for s in PROJECT_SETTINGS)
SECRET_KEYS = tuple(s.key for s in PROJECT_SETTINGS if s.secret)


PROGRAM_PROJECT = "stitch-heroku"
"""This repository's own program (Pulumi.yaml's name): its settings are config keys; any other project's are a
Destination's inputs."""


@dataclass(frozen=True)
class Terms:
    """How a fix names a setting and says how to change it, in the caller's terms: `pulumi config set KEY` for this
    repository's program, the Destination's input (snake_case in Python, camelCase in the schema) for a program of
    one's own, where `pulumi config set` of our keys would change nothing."""

    component: bool = False

    def name(self, key: str) -> str:
        """The key as the caller writes it: the config key, or the Python input's name."""
        if not self.component:
            return key
        from .component_doc import INPUT_NAMES  # component_doc imports this module: read at call time

        return INPUT_NAMES.get(key, key)

    def _input(self, key: str) -> str:
        from .component_doc import camel

        name = self.name(key)
        return f"the Destination's input `{name}` (`{camel(name)}` in TypeScript and YAML)"

    def called(self, key: str) -> str:
        """The key in a sentence: `key` for this program's config, the Destination's input with its camelCase."""
        return self._input(key) if self.component else key

    def set(self, key: str, value: str = "", *, secret: bool = False) -> str:
        """The fix that gives `key` a value (`value` an example, or '' when the user picks it)."""
        if self.component:
            what = " a secret value (e.g. from `config.require_secret`)" if secret else (f" {value}" if value else " a value")
            return f"set {self._input(key)} to{what}"
        if secret:
            return f"pulumi config set --secret {key} (it asks for the value)"
        return f"pulumi config set {key}{f' {value}' if value else ''}"

    def remove(self, key: str) -> str:
        if self.component:
            return f"leave out {self._input(key)}"
        return f"pulumi config rm {key}"


PROGRAM_TERMS = Terms()
COMPONENT_TERMS = Terms(component=True)


def terms_for(project: str) -> Terms:
    """Config keys for this repository's program, a Destination's inputs for any other."""
    return PROGRAM_TERMS if project == PROGRAM_PROJECT else COMPONENT_TERMS


CALLER_PROJECT = "caller_project"
"""The prop that carries the program's project into a dynamic provider, for its fix texts: the provider's process
does not know it (pulumi/dynamic/__main__.py configures its Settings with PULUMI_PROJECT, which the engine does not
set for a plugin, else "project"). A question for the texts only: no provider's diff counts it, so an existing
stack's next `up` changes nothing for it."""


def caller_project() -> dict[str, str]:
    """The CALLER_PROJECT prop of a dynamic resource declared in this program run."""
    import pulumi

    return {CALLER_PROJECT: pulumi.get_project()}


def terms_of(props: Mapping[str, Any]) -> Terms:
    """The terms of a fix raised in a dynamic provider, from the CALLER_PROJECT its props carry; a state written
    before it (which a delete reads) gets this program's, as every fix said until then."""
    return terms_for(str(props.get(CALLER_PROJECT) or PROGRAM_PROJECT))


def key_suggestion(key: str, keys: tuple[str, ...]) -> str:
    """' (did you mean "x"?)' for a mistyped key: `app-name` and `storageLimitGb` are spellings of a key, as
    a shell's habit (dashes) or another language's input (camelCase) writes it."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).replace("-", "_").lower()
    return did_you_mean(snake, keys)


def validate(
    stack: str,
    raw: Mapping[str, str | Deferred | None],
    *,
    secret_keys: set[str],
    heroku_key: str | None,
    stitch_token: tuple[str, str] | None = None,
    stitch_namespace: Mapping[str, str] | None = None,
    project: str = PROGRAM_PROJECT,
    heroku_key_note: str | None = None,
    terms: Terms | None = None,
) -> StackConfig:
    """Check every value against the table; raise one ConfigError listing all the problems.

    raw: the project's keys without the project prefix. heroku_key: "secret" or "plain" when
    `heroku:apiKey` is set in the stack, "env" for HEROKU_API_KEY, "netrc" for a netrc login, None
    when none of them (heroku_key_note then says where the netrc was looked for). stitch_token:
    (how, token) with how "secret", "plain" or "env", None when no Stitch token is set.
    stitch_namespace: the stack's `stitch:` keys, where only accessToken belongs. terms: how the fixes
    name a setting; by default this program's config keys when the project is this repository's, else a
    Destination's inputs.
    """
    terms = terms or terms_for(project)
    problems: list[str] = []
    given = {key: value for key, value in raw.items() if value not in (None, "")}
    for key in given:
        if key not in PROJECT_KEYS:
            suggestion = key_suggestion(key, PROJECT_KEYS)
            problems.append(f"{key}: unknown key{suggestion or '; the keys are ' + ', '.join(sorted(PROJECT_KEYS))}")

    values: dict[str, Any] = {}
    context = Context(stack, project, values)
    # None while the source is not known (a bad value, already reported): no key is then demanded or refused
    # for a source the user never chose.
    source: Source | None = "heroku"
    for setting in SETTINGS:
        if setting.credential:
            if source is not None:
                problems += _credential_problems(setting.key, source, heroku_key, heroku_key_note, stitch_token, stitch_namespace, terms)
            continue
        text = given.get(setting.key)
        values[setting.key] = setting.default_for(context)
        name = terms.name(setting.key)
        if text is None:
            if setting.required and source in setting.sources:
                problems.append(f"{name}: required for source {source}: {terms.set(setting.key, setting.example, secret=setting.secret)}")
            continue
        if source is not None and source not in setting.sources:
            problems.append(
                f"{name}: belongs to source {' or '.join(setting.sources)}, not {source}: "
                f"remove it ({terms.remove(setting.key)}) or set source to {setting.sources[0]}"
            )
            continue
        if setting.needs_token and stitch_token is None:
            problems.append(
                f"{name}: needs a Stitch Connect API token: {terms.set(STITCH_TOKEN_KEY, secret=True)}, or export "
                f"{STITCH_TOKEN_ENV}; or remove it ({terms.remove(setting.key)})"
            )
            continue
        if setting.secret and setting.key not in secret_keys:
            problems.append(f"{name}: stored in plain text (it holds a password): set it again with {terms.set(setting.key, secret=True)}")
        if isinstance(text, Deferred):
            values[setting.key] = text.value
            continue
        try:
            values[setting.key] = setting.parse(text)
        except Invalid as error:
            problems.append(f"{name}: {error}")
            if setting.key == "source":
                source = None
                values["source"] = None
            continue
        if setting.key == "source":
            source = values["source"]

    problems += _cross_problems(values, set(given), terms)
    if problems:
        raise ConfigError(stack, problems)
    fields = {s.field_name: values[s.key] for s in PROJECT_SETTINGS if not s.needs_token}
    stitch = None
    if stitch_token is not None:
        stitch = StitchConfig(access_token=stitch_token[1], **{s.field_name: values[s.key] for s in PROJECT_SETTINGS if s.needs_token})
    return StackConfig(stack=stack, stitch=stitch, **fields)


def _credential_problems(
    key: str,
    source: Source,
    heroku_key: str | None,
    heroku_key_note: str | None,
    stitch_token: tuple[str, str] | None,
    stitch_namespace: Mapping[str, str] | None,
    terms: Terms = PROGRAM_TERMS,
) -> list[str]:
    """The problems of a provider credential: missing where needed, or stored in plain text."""
    if key == HEROKU_KEY:
        if source not in HEROKU_SOURCES:
            return []
        if heroku_key == "plain":
            return [f"{terms.name(HEROKU_KEY)}: stored in plain text: set it again with {terms.set(HEROKU_KEY, secret=True)}"]
        if heroku_key is None:
            looked = f" ({heroku_key_note})" if heroku_key_note else ""
            return [
                f"{terms.name(HEROKU_KEY)}: no Heroku credentials{looked}; any one of these works, as for the heroku provider: "
                f"run `heroku login` (it writes ~/.netrc), or {terms.set(HEROKU_KEY, secret=True)}, "
                f"or export {HEROKU_KEY_ENV}=<key>, or point NETRC_PATH at a netrc file (or NETRC at the folder holding "
                ".netrc) with a `machine api.heroku.com` entry"
            ]
        return []
    problems = []
    for name in stitch_namespace or {}:
        if f"stitch:{name}" != STITCH_TOKEN_KEY:
            problems.append(
                f"stitch:{name}: unknown key{did_you_mean(name, ['accessToken'])}; {STITCH_TOKEN_KEY} is the only stitch: key "
                "(the destination settings are stitch_*)"
            )
    if stitch_token is not None and stitch_token[0] == "plain":
        fix = terms.set(STITCH_TOKEN_KEY, secret=True)
        problems.append(f"{terms.name(STITCH_TOKEN_KEY)}: stored in plain text: set it again with {fix}")
    return problems


def _cross_problems(values: Mapping[str, Any], given: set[str] | frozenset[str] = frozenset(), terms: Terms = PROGRAM_TERMS) -> list[str]:
    """Rules between keys: one source of the Stitch credential, and it points at the same database."""
    problems = []
    name, rm = terms.name, terms.remove
    if values["stitch_url"] is not None and values["stitch_config_var"] is not None:
        problems.append(
            f"{name('stitch_config_var')}: set together with {name('stitch_url')}, but the Stitch credential comes from one of "
            f"them: keep {name('stitch_config_var')} (Heroku rotates that credential and up reads it live) and "
            f"{rm('stitch_url')}, or keep the fixed URL and {rm('stitch_config_var')}"
        )
    own = [key for key in OWN_CREDENTIAL_KEYS if values.get(key) is not None]
    if own and values.get("stitch_credential") is not None:
        problems.append(
            f"{name('stitch_credential')}: set together with {name(own[0])}, which already names Stitch's own credential: "
            f"keep {name(own[0])} and {rm('stitch_credential')}, or let this stack choose the credential and {rm(own[0])}"
        )
    elif values.get("stitch_credential") == "dedicated" and values.get("source") == "heroku" and str(values.get("plan")).startswith(
        ESSENTIAL_TIER
    ):
        problems.append(
            f"{name('stitch_credential')}: dedicated needs a second credential, but plan {values['plan']} has none: "
            f"{ONE_CREDENTIAL_REASON}; {terms.set('plan', 'standard-0')} (or higher), or {rm('stitch_credential')} to keep "
            "the owner's credential"
        )
    if values.get("stitch_credential") != "dedicated" and values.get("source") == "url":
        for key in ("stitch_role_name", "stitch_password_version"):
            if key in given:
                kind = f"the credential of {name(own[0])}" if own else "the owner's credential"
                problems.append(f"{name(key)}: applies to the dedicated role only, but Stitch uses {kind}: {rm(key)}")
    if values.get("stitch_credential") == "dedicated" and isinstance(values.get("database_url"), str):
        try:
            owner = parse_database_url(values["database_url"]).username
        except InvalidDatabaseUrl:
            owner = None
        if owner == values.get("stitch_role_name"):
            problems.append(
                f'{name("stitch_role_name")}: "{owner}" is the database owner of {name("database_url")}; Stitch needs a role '
                f"of its own: {terms.set('stitch_role_name', 'stitch')}"
            )
    if isinstance(values["stitch_url"], str) and isinstance(values["database_url"], str):
        try:
            stitch, database = parse_database_url(values["stitch_url"]), parse_database_url(values["database_url"])
        except InvalidDatabaseUrl:
            return problems  # already reported by its parser
        mismatch = other_database(stitch, database, name="stitch_url")
        if mismatch:
            problems.append(mismatch)
    return problems


# Reading the stack: Pulumi's config, the provider credentials from the environment and the netrc.


@dataclass(frozen=True)
class HerokuLogin:
    """How the heroku provider will authenticate, found as the provider itself looks."""

    how: Literal["secret", "plain", "env", "netrc"] | None
    note: str | None = None
    """Where the netrc was looked for, and why it did not serve (never its contents)."""


def netrc_path(environ: Mapping[str, str]) -> Path:
    """The netrc file terraform-provider-heroku v5 reads (heroku/config.go, applyNetrcFile).

    $NETRC_PATH names the file; else $NETRC names the folder holding `.netrc` (GNU's meaning of
    NETRC); else ~/.netrc, which `heroku login` writes. A leading ~ is the home folder, as Go's
    homedir.Expand reads it from $HOME.
    """
    text = environ.get("NETRC_PATH") or str(Path(environ.get("NETRC") or "~") / ".netrc")
    if text == "~" or text.startswith("~/"):
        text = (environ.get("HOME") or str(Path.home())) + text[1:]
    return Path(text)


def heroku_api_host(config: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """The netrc machine the provider looks up: the host (and port) of its API URL."""
    url = config.get(HEROKU_URL_KEY) or environ.get(HEROKU_URL_ENV) or DEFAULT_HEROKU_API
    try:
        return urlsplit(url).netloc.rpartition("@")[2]
    except ValueError:
        return url


def heroku_login(config: Mapping[str, str], is_secret: Callable[[str], bool], environ: Mapping[str, str]) -> HerokuLogin:
    """heroku:apiKey, else HEROKU_API_KEY, else the netrc: the provider's own order of precedence."""
    if config.get(HEROKU_KEY):
        return HerokuLogin("secret" if is_secret(HEROKU_KEY) else "plain")
    if environ.get(HEROKU_KEY_ENV):
        return HerokuLogin("env")
    path, host = netrc_path(environ), heroku_api_host(config, environ)
    where = f"looked for machine {host} in {path}"
    if not path.is_file():
        return HerokuLogin(None, f"{where}: no such file")
    try:
        # An explicit path skips the module's permission check, as the provider has none.
        entry = netrc.netrc(str(path)).authenticators(host)
    except netrc.NetrcParseError as error:  # its message may quote a token of the file: only the line is shown
        return HerokuLogin(None, f"{where}: line {error.lineno} cannot be parsed, and the heroku provider would fail on it too")
    except OSError as error:
        return HerokuLogin(None, f"{where}: it cannot be read ({error.strerror})")
    if entry is None or not entry[2]:
        return HerokuLogin(None, f"{where}: no entry for it with a password")
    return HerokuLogin("netrc")


def find_stitch_token(config: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> str | None:
    """The Stitch Connect API token: stitch:accessToken, else STITCH_ACCESS_TOKEN, else none."""
    return config.get(STITCH_TOKEN_KEY) or environ.get(STITCH_TOKEN_ENV) or None


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
    login = heroku_login(config, is_secret, environ)
    token = find_stitch_token(config, environ)
    how = ("secret" if is_secret(STITCH_TOKEN_KEY) else "plain") if config.get(STITCH_TOKEN_KEY) else "env"
    return validate(
        stack,
        raw,
        secret_keys={key for key in SECRET_KEYS if is_secret(prefix + key)},
        heroku_key=login.how,
        heroku_key_note=login.note,
        stitch_token=(how, token) if token else None,
        stitch_namespace={key.removeprefix("stitch:"): value for key, value in config.items() if key.startswith("stitch:")},
        project=project,
    )


def stack_settings() -> dict[str, str]:
    """Every key of the running stack's config with its value, as `pulumi up` hands them over.

    pulumi.Config reads a key we name; to catch keys that belong to no setting we must list them
    all, and only the SDK's internal `pulumi.runtime.config.CONFIG` can. This is the one place that
    touches it (tests/test_config.py fails loudly if the SDK changes it); values are read through
    pulumi.Config, the public way.
    """
    import pulumi
    from pulumi.runtime import config as runtime_config

    store = getattr(runtime_config, "CONFIG", None)
    keys = store.get() if store is not None and callable(getattr(store, "get", None)) else None
    if not isinstance(keys, Mapping):
        raise RuntimeError(
            "pulumi.runtime.config.CONFIG no longer lists the stack's config in this pulumi SDK: "
            "install the pulumi version pinned in requirements.txt"
        )
    settings = {}
    for key, value in keys.items():
        namespace, _, name = key.partition(":")
        settings[key] = pulumi.Config(namespace).get(name) if namespace and name else value
    return settings


def load_stack() -> StackConfig:
    """The running stack's validated config (inside `pulumi up`/`preview`)."""
    import pulumi

    return load(pulumi.get_project(), pulumi.get_stack(), stack_settings(), pulumi.runtime.is_config_secret)


# The README's config table, generated from SETTINGS.


def _sources_doc(setting: Setting) -> str:
    if setting.needs_token:
        return "with a Stitch token"
    if setting.sources == SOURCES:
        return "all"
    return ", ".join(f"`{source}`" for source in setting.sources)


def markdown_table() -> str:
    """The README's config table: one row a setting, in the table's order."""
    rows = ["| config key | sources | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        meaning = setting.help
        if setting.secret and "--secret" not in meaning:
            meaning += "; set with `--secret`"
        rows.append(f"| `{setting.key}` | {_sources_doc(setting)} | {setting.default_doc} | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    # `python -m components.config` prints the table for the README.
    sys.stdout.write(markdown_table() + "\n")
