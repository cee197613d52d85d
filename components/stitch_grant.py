"""CREATE on the database for the role Stitch loads as (guide step 3), through pulumi_postgresql.

What the provider does, read from its source (cyrilgdn/terraform-provider-postgresql,
resource_postgresql_grant.go) and replayed against a real server in tests/test_grant_sql.py:
  create/update: in one transaction, REVOKE ALL PRIVILEGES ON DATABASE db FROM role; GRANT <privileges>
  delete:        REVOKE ALL PRIVILEGES ON DATABASE db FROM role
Heroku's default credential owns its database. A Grant of CREATE alone would therefore take the
owner's own CONNECT and TEMPORARY away, and deleting it would take CREATE too. So:
  - the Grant lists every database privilege (CONNECT, CREATE, TEMPORARY): after the REVOKE ALL
    the role has at least what it had;
  - retain_on_delete: `pulumi destroy`, or a replacement, forgets the Grant instead of revoking,
    so Stitch's loads never lose their privileges because of this stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_postgresql as postgresql

from .moved import part_of
from .postgres_sql import DATABASE_PRIVILEGES
from .stitch_role import StitchRole, StitchRoleArgs
from .stitch_settings import StitchSettings

# Heroku's smallest plans allow 20 connections; the provider's own default would take up to 20.
PROVIDER_MAX_CONNECTIONS = 2


@dataclass
class StitchGrantArgs:
    owner: StitchSettings
    """A credential that may grant on the database: Heroku's default (owner) credential."""
    grantee: pulumi.Input[str] | None
    """The role Stitch connects as (the owner, or the user's own credential); None with `role`."""
    connect_timeout: int = 10
    """Seconds the provider waits for a connection before failing."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """Resources that must exist first, such as the Heroku add-on."""
    role: StitchRoleArgs | None = None
    """A role of Stitch's own to create first, through the same provider; it becomes the grantee."""
    privileges: pulumi.Input[list[str]] | None = None
    """The database privileges to grant; None: all of DATABASE_PRIVILEGES. Over a Heroku plan's capacity, only
    those the grantee still holds (components/stack_capacity.py), so the grant never undoes Heroku's enforcement."""
    provider: postgresql.Provider | None = None
    """The caller's postgresql provider (a Destination's `providers`), signed in as the owner; else one of our own."""


class StitchGrant(pulumi.ComponentResource):
    """A postgresql provider connected as the owner, and the Grant it makes."""

    database: pulumi.Output[str]
    role: pulumi.Output[str]

    def __init__(self, name: str, args: StitchGrantArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("stitch:postgres:CreateGrant", name, None, opts)
        owner = args.owner
        provider_name, provider_opts = part_of(self, name, "owner", pulumi.ResourceOptions(depends_on=args.depends_on))
        self.provider = args.provider or postgresql.Provider(
            provider_name,
            host=owner.host,
            port=owner.port,
            username=owner.username,
            password=owner.password,
            # Heroku users may not connect to the `postgres` maintenance database, the provider's default.
            database=owner.database,
            sslmode="require",
            superuser=False,
            connect_timeout=args.connect_timeout,
            max_connections=PROVIDER_MAX_CONNECTIONS,
            opts=provider_opts,
        )
        grantee, after = args.grantee, list(args.depends_on)
        self.stitch_role: StitchRole | None = None
        if args.role is not None:
            role_name, role_opts = part_of(self, name, "stitch", pulumi.ResourceOptions(depends_on=after))
            self.stitch_role = StitchRole(role_name, args.role, self.provider, role_opts)
            grantee, after = self.stitch_role.name, [*after, self.stitch_role]
        grant_name, grant_opts = part_of(
            self, name, "create-on-database", pulumi.ResourceOptions(provider=self.provider, depends_on=after, retain_on_delete=True)
        )
        self.grant = postgresql.Grant(
            grant_name,
            database=owner.database,
            role=grantee,
            object_type="database",
            privileges=args.privileges if args.privileges is not None else list(DATABASE_PRIVILEGES),
            opts=grant_opts,
        )
        self.database = self.grant.database
        self.role = self.grant.role
        self.register_outputs({"database": self.database, "role": self.role})
