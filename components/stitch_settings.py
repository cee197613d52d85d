"""The Stitch connection settings as Pulumi outputs: the fields of Stitch's PostgreSQL form.

One URL in, one output a field out. Only the password and what contains it stay secret; the
host, port, user and database are plain so `pulumi stack output` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from .connection import ConnectionSettings, other_database, parse_database_url


@dataclass
class StitchSettings:
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    username: pulumi.Output[str]
    password: pulumi.Output[str]
    database: pulumi.Output[str]
    database_url: pulumi.Output[str]
    stitch_destination: pulumi.Output[dict[str, Any]]
    """The body of POST /v4/destinations, exactly (see ConnectionSettings.stitch_destination)."""
    stitch_properties: pulumi.Output[dict[str, str]]
    """The form's fields as strings, for the StitchDestination resource (its state's shape)."""


def stitch_settings(
    url: pulumi.Input[str],
    *,
    name: str,
    same_database_as: pulumi.Input[str] | None = None,
    destination_name: str | None = None,
    ignore_unmapped_sources: bool = True,
) -> StitchSettings:
    """Parse the URL once (psycopg's conninfo parser) and split it into outputs.

    name says which setting the URL came from, for the errors. same_database_as: the source's URL,
    which a separate Stitch credential must share host, port and database with; for Heroku sources
    it is known only during the deployment, so the check runs here rather than in the config.
    destination_name, ignore_unmapped_sources: what the POST body names and asks (stitch_destination_name,
    stitch_map_unmapped_sources).
    """
    secret_url = pulumi.Output.secret(url)
    parsed: pulumi.Output[ConnectionSettings] = secret_url.apply(lambda value: parse_database_url(value, name=name))
    if same_database_as is not None:
        parsed = pulumi.Output.all(parsed, pulumi.Output.secret(same_database_as)).apply(
            lambda pair: _on_same_database(pair[0], pair[1], name)
        )

    def plain(pick: Any) -> pulumi.Output[Any]:
        return pulumi.Output.unsecret(parsed.apply(pick))

    return StitchSettings(
        host=plain(lambda s: s.host),
        port=plain(lambda s: s.port),
        username=plain(lambda s: s.username),
        # Marked secret explicitly: the URL may have come from a lookup that did not mark it.
        password=pulumi.Output.secret(parsed.apply(lambda s: s.password)),
        database=plain(lambda s: s.database),
        # Through `parsed`, so a failed check fails this output too.
        database_url=pulumi.Output.secret(pulumi.Output.all(secret_url, parsed).apply(lambda pair: pair[0])),
        stitch_destination=pulumi.Output.secret(
            parsed.apply(lambda s: s.stitch_destination(destination_name, ignore_unmapped_sources=ignore_unmapped_sources))
        ),
        stitch_properties=pulumi.Output.secret(parsed.apply(lambda s: s.stitch_properties())),
    )


def _on_same_database(candidate: ConnectionSettings, source_url: str, name: str) -> ConnectionSettings:
    mismatch = other_database(candidate, parse_database_url(source_url, name="the source database URL"), name=name)
    if mismatch:
        raise ValueError(mismatch)
    return candidate
