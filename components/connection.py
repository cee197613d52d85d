"""Connection settings parsed from a PostgreSQL URL, and the fields Stitch's form asks for.

Pure data and psycopg's own conninfo parser: no Pulumi here, so the verification CLI and the
dynamic providers can use it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

POSTGRES_SCHEMES = ("postgres", "postgresql")
DEFAULT_PORT = 5432
REDACTED = "[secret]"
"""What stands where a secret was, in every message of this project: Pulumi's own marker for a secret value."""

# The scheme alone, read without urllib: urlsplit raises on a password holding "[" (it takes it for
# an IPv6 host), while libpq's own URI parser, which decides what the URL means, accepts it.
SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
# Where a password can appear in text: a URL's user:password@, and a conninfo's password=...
# (libpq quotes a conninfo back in its parse errors).
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)[^\s/@]*@")
CONNINFO_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)", re.IGNORECASE)


class InvalidDatabaseUrl(ValueError):
    """A URL that is not a usable PostgreSQL URL; the message never contains the URL itself."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to reach the database, one field per box of Stitch's PostgreSQL form."""

    host: str
    port: int
    username: str
    password: str
    database: str

    def conninfo(self, *, connect_timeout: int, application_name: str = "stitch-heroku") -> str:
        """A libpq connection string that always demands SSL, as Heroku and Stitch do."""
        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.username,
            password=self.password,
            dbname=self.database,
            sslmode="require",
            connect_timeout=connect_timeout,
            application_name=application_name,
        )

    def describe(self) -> str:
        """Where we connect, for messages: everything but the password."""
        return f"{self.username}@{self.host}:{self.port}/{self.database}"

    def stitch_properties(self) -> dict[str, str]:
        """The postgres form's fields as strings, as the StitchDestination resource keeps them in the state;
        it turns them into the form's JSON types when it sends them (stitch_destination._for_the_form)."""
        return {
            "host": self.host,
            "port": str(self.port),
            "username": self.username,
            "password": self.password,
            "database": self.database,
            "ssl": "true",
            "encryption_type": "none",
        }

    def stitch_destination(self, name: str | None = None, *, ignore_unmapped_sources: bool = True) -> dict[str, object]:
        """The body of POST /v4/destinations for this database, exactly as stitch-heroku sends it.

        stitchdata/docs _developer-files/connect/api/objects/destinations/v4/create-a-destination-v4.md:
        arguments `type`, `properties` and `ignore_unmapped_sources` (left out or false maps every unmapped
        source of the account to the new destination). Its example and the postgres form in the same answer
        (report_card.steps[0].properties[].json_schema) make `ssl` a boolean and `port` a string matching
        ^\\d+$, `encryption_type` "ssh" or "none". `name`, when given, is what we send besides: the
        destination object's documented `name` (destination-object-v4.md); without it Stitch names the
        destination "Default Warehouse" (the same example's answer)."""
        named = {"name": name} if name else {}
        return {
            "type": "postgres",
            **named,
            "properties": {**self.stitch_properties(), "ssl": True},
            "ignore_unmapped_sources": ignore_unmapped_sources,
        }

    @classmethod
    def from_stitch_properties(cls, properties: dict[str, str]) -> ConnectionSettings:
        """The settings back from a destination's properties (the inverse of stitch_destination)."""
        return cls(properties["host"], int(properties["port"]), properties["username"], properties["password"], properties["database"])


def parse_database_url(url: str, *, name: str = "database URL") -> ConnectionSettings:
    """Parse a postgres:// URL with libpq's own parser, so percent-encoded passwords survive.

    Raises InvalidDatabaseUrl naming what is wrong, never echoing the URL (it holds a password).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidDatabaseUrl(f"{name} is empty: give a URL like postgres://user:password@host:5432/dbname")
    match = SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in POSTGRES_SCHEMES:
        shown = f'"{scheme}://"' if scheme else "no scheme"
        raise InvalidDatabaseUrl(
            f"{name} is not a PostgreSQL URL (it has {shown}): give a URL like postgres://user:password@host:5432/dbname"
        )
    try:
        params = conninfo_to_dict(url.strip())
    except Exception:  # psycopg's message quotes the whole URL, password included
        raise InvalidDatabaseUrl(
            f"{name} cannot be parsed as a PostgreSQL URL: check its quoting and percent-encoding "
            "(postgres://user:password@host:5432/dbname)"
        ) from None
    missing = [field for field in ("host", "user", "password", "dbname") if not params.get(field)]
    if missing:
        raise InvalidDatabaseUrl(f"{name} lacks {', '.join(missing)}: give a URL like postgres://user:password@host:5432/dbname")
    port_text = str(params.get("port") or DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidDatabaseUrl(f"{name} has port {port_text!r}, which is not a TCP port number (1-65535)")
    return ConnectionSettings(
        host=str(params["host"]),
        port=int(port_text),
        username=str(params["user"]),
        password=str(params["password"]),
        database=str(params["dbname"]),
    )


def other_database(candidate: ConnectionSettings, source: ConnectionSettings, *, name: str) -> str | None:
    """Why `candidate` is not a credential of the source database, or None when it is."""
    if (candidate.host, candidate.port, candidate.database) == (source.host, source.port, source.database):
        return None
    return (
        f"{name}: points at {candidate.host}:{candidate.port}/{candidate.database}, not the source database "
        f"{source.host}:{source.port}/{source.database}: use a credential of the same database"
    )


def redact(text: str, secret: str | None = None, *, public: Iterable[str] = ()) -> str:
    """Text with passwords replaced where they can appear, and nothing else touched.

    Always: the password of any URL (user:password@) and any conninfo (password=...). The given
    secret is also replaced where it stands as a whole token, unless it is one of the `public`
    values shown anyway (the user, database or host), so a short or common password ("p",
    "postgres") cannot eat parts of ordinary words such as "port" or a database's name.
    """
    text = URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}@", text)
    text = CONNINFO_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", text)
    if secret and secret not in set(public):
        token = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])")
        text = token.sub(REDACTED, text)
    return text


def hide_known(text: str, secrets: Iterable[str]) -> str:
    """Text with every occurrence of each secret we hold (a token, a password) replaced, longest first, for
    text that came from outside (an API's error, an engine's message) and may quote one back."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def connect_as(url: str, *, connect_timeout: int, application_name: str, autocommit: bool = True) -> psycopg.Connection:
    """A session with SSL required, signed in with a stack's URL (the owner's, for the guards and the handover).

    Raises InvalidDatabaseUrl (a ValueError) or psycopg's own errors."""
    settings = parse_database_url(url, name="the database URL")
    return psycopg.connect(settings.conninfo(connect_timeout=connect_timeout, application_name=application_name), autocommit=autocommit)
