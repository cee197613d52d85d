"""A Heroku app with a Heroku Postgres add-on: the database Stitch loads into (guide step 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumiverse_heroku.addon import Addon
from pulumiverse_heroku.app import App, AppOrganizationArgs


@dataclass
class HerokuDatabaseArgs:
    app_name: str
    """Heroku app name; the app is created and owns the add-on."""
    region: str
    """Heroku region, "us" or "eu"."""
    addon_plan: str
    """Full add-on plan, e.g. "heroku-postgresql:essential-0"."""
    protect: bool
    """Protect the app and the database from `pulumi destroy` and from replacement."""
    team: str | None = None
    """Heroku team that owns the app; personal account when None."""
    postgres_version: str | None = None
    """PostgreSQL major version, passed as the add-on's `version` option."""


class HerokuDatabase(pulumi.ComponentResource):
    """The app and its Postgres add-on; `database_url` is the add-on's own config var, secret."""

    app_name: pulumi.Output[str]
    config_var: pulumi.Output[str]
    database_url: pulumi.Output[str]

    def __init__(self, name: str, args: HerokuDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("stitch:heroku:Database", name, None, opts)
        # The database holds every row Stitch ever loaded: protect is on for every stack but dev,
        # and blocks both `pulumi destroy` and any change that would replace the app or add-on.
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.app = App(
            "app",
            name=args.app_name,
            region=args.region,
            organization=AppOrganizationArgs(name=args.team) if args.team else None,
            opts=child,
        )
        self.addon = Addon(
            "postgres",
            app_id=self.app.id,
            plan=args.addon_plan,
            config={"version": args.postgres_version} if args.postgres_version else None,
            opts=child,
        )
        self.app_name = self.app.name
        self.config_var = self.addon.config_vars.apply(database_config_var)
        # An app that already has a primary database gets HEROKU_POSTGRESQL_<COLOR>_URL, not
        # DATABASE_URL: the add-on itself names its var. Marked secret here, whatever the provider did.
        self.database_url = pulumi.Output.secret(
            pulumi.Output.all(self.addon.config_vars, self.addon.config_var_values).apply(
                lambda pair: database_url_from_addon(pair[0], pair[1])
            )
        )
        self.register_outputs({"app_name": self.app_name, "config_var": self.config_var, "database_url": self.database_url})


def database_config_var(config_vars: Sequence[str] | None) -> str:
    """The add-on's URL config var: the first one Heroku lists that ends in _URL."""
    for name in config_vars or ():
        if name.endswith("_URL"):
            return name
    raise ValueError(
        f"the Heroku Postgres add-on exposes no *_URL config var (it lists {list(config_vars or [])}): "
        "check the add-on in the Heroku dashboard, then run `pulumi refresh`"
    )


def database_url_from_addon(config_vars: Sequence[str] | None, values: Mapping[str, str] | None) -> str:
    name = database_config_var(config_vars)
    value = (values or {}).get(name)
    if not value:
        raise ValueError(f"the Heroku Postgres add-on's config var {name} has no value yet: run `pulumi refresh`, then `pulumi up`")
    return value
