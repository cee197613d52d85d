"""The database URLs in a Heroku app's config vars, read live on every `pulumi up`.

Heroku rotates credentials by itself (maintenance, `heroku pg:credentials:rotate`) and writes the new
URL into the app's config vars. The URL saved in Pulumi's state is then stale, so it is never the
source: the heroku provider's app lookup reads the config vars during the run, and a plain `pulumi up`
carries a rotated password into the verification, the postgresql provider, the outputs and Stitch.
Nothing here creates, changes or deletes anything on Heroku.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumiverse_heroku.app import get_app_output

POOL_MARKER = "_CONNECTION_POOL"
"""Heroku names the PgBouncer attachment DATABASE_CONNECTION_POOL (`pg:connection-pooling:attach`).
PgBouncer there runs in transaction mode, which breaks temporary tables and session state: never Stitch's."""
COLOR_PREFIX = "HEROKU_POSTGRESQL_"


@dataclass(frozen=True)
class LiveUrls:
    """The owner's URL and, when configured, the separate Stitch credential's, both secret."""

    database_url: pulumi.Output[str]
    stitch_url: pulumi.Output[str] | None


def is_pool_var(name: str) -> bool:
    return POOL_MARKER in name


def database_config_var(config_vars: Sequence[str] | None) -> str:
    """Which of the add-on's config vars is the database itself.

    DATABASE_URL when the add-on is the app's primary database, else the HEROKU_POSTGRESQL_<COLOR>_URL
    it was given (an app that already had a database); never a connection-pool URL.
    """
    urls = [name for name in config_vars or () if name.endswith("_URL") and not is_pool_var(name)]
    for name in ("DATABASE_URL", *(n for n in urls if n.startswith(COLOR_PREFIX)), *urls):
        if name in urls:
            return name
    raise ValueError(
        f"the Heroku Postgres add-on exposes no database URL config var (it lists {list(config_vars or [])}): "
        "check the add-on with `heroku addons:info`, then run `pulumi up` again"
    )


def config_var_value(app_name: str, config_var: str, config_vars: Mapping[str, str] | None, *, key: str) -> str:
    """The URL in one config var, or an error naming the app, the var, what it has instead and the fix."""
    value = (config_vars or {}).get(config_var)
    if value:
        return value
    urls = sorted(name for name in (config_vars or {}) if name.endswith("_URL") and not is_pool_var(name))
    if key == "stitch_config_var":
        fix = (
            f"create the Stitch credential and attach it under that name: heroku pg:credentials:create --name stitch -a {app_name}; "
            f"heroku addons:attach <addon> --credential stitch --as {config_var.removesuffix('_URL')} -a {app_name}"
        )
    elif key == "addon":
        fix = (
            "the add-on names it but the app does not have it yet: "
            "check `heroku addons:info` and `heroku config`, then run `pulumi up` again"
        )
    elif urls:
        fix = f"its database URL config vars are {', '.join(urls)}: set {key} to one of them"
    else:
        fix = "attach a Heroku Postgres database to it, or check app_name"
    raise ValueError(f"Heroku app {app_name!r} has no config var {config_var}: {fix}")


def live_urls(
    app: pulumi.Input[str],
    database_var: pulumi.Input[str],
    stitch_var: str | None,
    *,
    database_key: str,
    depends_on: Sequence[pulumi.Resource] = (),
    parent: pulumi.Resource | None = None,
) -> LiveUrls:
    """Read the app's config vars now (the lookup runs on every `pulumi up` and preview).

    app: the app's id or its name. The heroku provider's getApp hands `name` to AppInfo, i.e.
    GET /apps/{app_id_or_name} (terraform-provider-heroku heroku/framework_data_source_app.go and
    data_source_heroku_app.go -> resourceHerokuAppRetrieve; heroku-go AppInfo takes an app identity), so a
    stack that created the app passes its id: when `app_name` changes, the provider renames the app in
    place, and a lookup by the new name would run before the rename and find nothing.

    depends_on holds the add-on when this stack creates it: the lookup then waits for it, and a
    preview of a new stack shows the URL as unknown instead of failing on an app that does not exist.
    The lookup returns the values unmarked, so they are made secret here.
    """
    found = get_app_output(name=app, opts=pulumi.InvokeOutputOptions(depends_on=list(depends_on), parent=parent))
    name = found.name  # the app's name as Heroku has it, for the messages
    database_url = pulumi.Output.secret(
        pulumi.Output.all(name, database_var, found.config_vars).apply(
            lambda args: config_var_value(args[0], args[1], args[2], key=database_key)
        )
    )
    stitch_url = None
    if stitch_var is not None:
        stitch_url = pulumi.Output.secret(
            pulumi.Output.all(name, found.config_vars).apply(
                lambda args: config_var_value(args[0], stitch_var, args[1], key="stitch_config_var")
            )
        )
    return LiveUrls(database_url, stitch_url)
