"""A Heroku app with a Heroku Postgres add-on: the database Stitch loads into (guide step 1)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumiverse_heroku.addon import Addon
from pulumiverse_heroku.app import App, AppOrganizationArgs

from .heroku_config_vars import database_config_var, live_urls
from .heroku_credential import DedicatedCredential, DedicatedCredentialArgs, HerokuAccess
from .moved import part_of


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
    stitch_config_var: str | None = None
    """App config var of a separate Stitch credential (e.g. STITCH_DATABASE_URL), read live like the database's."""
    dedicated: HerokuAccess | None = None
    """Make Stitch's own credential on the add-on (stitch_credential dedicated), calling Heroku as this."""


class HerokuDatabase(pulumi.ComponentResource):
    """The app and its Postgres add-on; `database_url` is the add-on's own config var as the app has it now, secret."""

    app_name: pulumi.Output[str]
    config_var: pulumi.Output[str]
    database_url: pulumi.Output[str]
    stitch_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: HerokuDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("stitch:heroku:Database", name, None, opts)
        # The database holds every row Stitch ever loaded: protect is on for every stack but dev,
        # and blocks both `pulumi destroy` and any change that would replace the app or add-on.
        protected = pulumi.ResourceOptions(protect=args.protect)
        app_name, app_opts = part_of(self, name, "app", protected)
        self.app = App(
            app_name,
            name=args.app_name,
            region=args.region,
            organization=AppOrganizationArgs(name=args.team) if args.team else None,
            opts=app_opts,
        )
        addon_name, addon_opts = part_of(self, name, "postgres", protected)
        self.addon = Addon(
            addon_name,
            app_id=self.app.id,
            plan=args.addon_plan,
            config={"version": args.postgres_version} if args.postgres_version else None,
            opts=addon_opts,
        )
        self.app_name = self.app.name
        # The add-on names its own var (an app that already had a database gets
        # HEROKU_POSTGRESQL_<COLOR>_URL); the value is read live, so a rotated password is seen by `up`.
        self.config_var = self.addon.config_vars.apply(database_config_var)
        stitch_var, read_after = args.stitch_config_var, [self.addon]
        self.dedicated: DedicatedCredential | None = None
        if args.dedicated is not None:
            credential_name, credential_opts = part_of(self, name, "stitch-credential")
            self.dedicated = DedicatedCredential(
                credential_name,
                DedicatedCredentialArgs(self.app.id, self.addon.id, self.addon.name, args.dedicated.data_url, args.dedicated.given_key),
                credential_opts,
            )
            stitch_var, read_after = self.dedicated.config_var, [self.addon, self.dedicated.attachment]
        # By id: a changed app_name renames the app in place, and the lookup runs before the rename.
        urls = live_urls(
            self.app.id,
            self.config_var,
            stitch_var,
            database_key="addon",
            depends_on=read_after,
            parent=self,
        )
        self.database_url = urls.database_url
        self.stitch_url = urls.stitch_url
        self.register_outputs({"app_name": self.app_name, "config_var": self.config_var, "database_url": self.database_url})
