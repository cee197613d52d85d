"""stitch-heroku: a Heroku Postgres database made ready, and proven ready, as a Stitch destination.

Config (validated all at once) -> the database -> Stitch's role, CREATE for it -> verification
-> (with a Stitch token) the destination in Stitch -> outputs.
"""

from dataclasses import replace

import pulumi

from components import config as stack_config
from components.database_source import database_for, plan_credential
from components.heroku_credential import HerokuCredentialError
from components.source_guard import MANAGED, NONE, DestinationGuard, DestinationGuardArgs, DestroyGuard, DestroyGuardArgs, SourceGuard
from components.stack_capacity import privileges_to_grant, stack_limits
from components.stitch_destination import StitchDestination, StitchDestinationArgs, released_destination
from components.stitch_grant import StitchGrant, StitchGrantArgs
from components.stitch_role import StitchRoleArgs
from components.stitch_settings import stitch_settings
from components.verification import Verification, VerificationArgs

try:
    # Every key of the stack is read, so keys that belong to no setting are caught too; then whose
    # credential Stitch gets (least privilege: its own wherever the source allows it).
    cfg = stack_config.load_stack()
    credential = plan_credential(cfg)
except (stack_config.ConfigError, HerokuCredentialError) as error:
    raise pulumi.RunError(str(error)) from None

# Whether the stack manages a Stitch destination is recorded, not inferred from a token: once it does,
# a run without the token stops here, before any step (released lets go of it on purpose). Everything
# else waits for it, so no other resource is even registered before its check has passed.
mode = cfg.stitch_destination if cfg.stitch_destination != MANAGED or cfg.stitch else NONE
destination_name = cfg.stitch.destination_name if cfg.stitch else None
first = DestinationGuard("stitch-destination-guard", DestinationGuardArgs(mode, destination_name))

# The database, from its source; Heroku URLs are read live on every run, so `pulumi up` heals a rotation.
database = database_for(cfg, credential, first)
owner_url, app_name, stitch_url = database.owner_url, database.app_name, database.stitch_url
everything: list[pulumi.Resource] = [first, *database.resources]

# The outputs' POST body is what the stack sends with a token; without one, Stitch's body without a name.
body = {"destination_name": destination_name, "ignore_unmapped_sources": not (cfg.stitch and cfg.stitch.map_unmapped_sources)}
owner = stitch_settings(owner_url, name="the database URL", **body)
stitch_key = "stitch_config_var" if cfg.stitch_config_var else "stitch_url" if cfg.stitch_url else "the dedicated credential"
stitch = stitch_settings(stitch_url, name=stitch_key, same_database_as=owner_url, **body) if stitch_url else owner
# Stitch, a third party, gets a login role of its own where the source allows it (docs/least-privilege.md).
role = None
if cfg.source == "url" and cfg.stitch_credential == "dedicated":
    role = StitchRoleArgs(cfg.stitch_role_name, cfg.stitch_password_version, owner_url, cfg.connect_timeout, cfg.database_url)
# A switch away from `heroku` would delete the database this stack made, and a role for Stitch needs an
# owner that may create it: the guard stops the run first, before the provider signs in.
grantee = database.grantee(stitch.username)  # Stitch's own Heroku credential: its stable role, even mid-rotation
remembered = {"stitch_credential": credential.kind or "own", "stitch_role": role.name if role else grantee}
source_guard = SourceGuard("source-guard", replace(database.guard, **remembered, owner_url=owner_url, connect_timeout=cfg.connect_timeout))
everything.append(source_guard)

# Over a Heroku plan's capacity the grant keeps what Heroku left, never granting back what it took.
limits = stack_limits(cfg, credential)
keep = privileges_to_grant(owner_url, grantee, limits, cfg.connect_timeout)
grant = StitchGrant("stitch", StitchGrantArgs(owner, grantee, cfg.connect_timeout, [*database.waits_for, source_guard], role, keep))
if grant.stitch_role is not None:
    stitch = stitch_settings(grant.stitch_role.url, name="the dedicated role's URL", **body)
verification = Verification(
    "verification",
    VerificationArgs(
        stitch.database_url, cfg.connect_timeout, cfg.verify_timeout, cfg.verify_on_every_up, cfg.source, credential.kind,
        credential.owner_reason, limits.to_props(),
    ),
    pulumi.ResourceOptions(depends_on=[grant]),
)

# Exactly the fields of Stitch's PostgreSQL form, then the Connect API body and the proof.
pulumi.export("host", stitch.host)
pulumi.export("port", stitch.port)
pulumi.export("username", stitch.username)
pulumi.export("password", stitch.password)
pulumi.export("database", stitch.database)
pulumi.export("ssl", True)
pulumi.export("app_name", app_name)
pulumi.export("database_url", stitch.database_url)
pulumi.export("stitch_destination", stitch.stitch_destination)
pulumi.export("verification", verification.report)
everything += [grant, verification]

if cfg.stitch_destination != MANAGED:
    # Released: kept in Stitch as it is; the state marks it, then forgets it once the setting is removed.
    released = released_destination("stitch-destination")
    everything.append(released)
    pulumi.export("stitch_destination_id", released.destination_id)
    pulumi.export("stitch_status", released.stitch_status)
elif cfg.stitch:
    # Only once our own checks passed: Stitch then gets settings already proven to work.
    destination = StitchDestination(
        "stitch-destination",
        StitchDestinationArgs(
            name=cfg.stitch.destination_name,
            properties=stitch.stitch_properties,
            adopt_id=cfg.stitch.adopt_id,
            keep_on_delete=cfg.stitch.keep_on_delete,
            check_timeout=cfg.stitch.check_timeout,
            connect_timeout=cfg.connect_timeout,
            api_url=cfg.stitch.api_url,
            map_unmapped_sources=cfg.stitch.map_unmapped_sources,
            hold=database.mid_rotation(stitch.username),
        ),
        pulumi.ResourceOptions(depends_on=[grant, verification]),
    )
    everything.append(destination)
    pulumi.export("stitch_destination_id", destination.destination_id)
    pulumi.export("stitch_connection_check", destination.connection_check)
    pulumi.export("stitch_status", destination.stitch_status)

# Last, depending on all the rest: `pulumi destroy` must delete it first, and on a protected stack it refuses.
DestroyGuard("destroy-guard", DestroyGuardArgs(cfg.protect and cfg.source == "heroku", app_name, everything))
