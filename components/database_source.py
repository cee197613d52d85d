"""Where the database comes from (`source`), and whose credential Stitch gets on it.

Both are decided here, once, so the program reads as config -> database -> grant -> verification -> Stitch.
The credential is chosen before any resource is declared: least privilege wherever the source allows it
(docs/least-privilege.md), with heroku-existing's plan read from Heroku, read-only, on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from .config import StackConfig
from .heroku_config_vars import live_urls
from .heroku_credential import CredentialChoice, HerokuAccess, choose_credential, credential_for_existing, heroku_access
from .heroku_database import HerokuDatabase, HerokuDatabaseArgs
from .moved import child
from .source_guard import SourceGuardArgs


@dataclass(frozen=True)
class CredentialPlan:
    """Whose credential Stitch loads with on this run."""

    kind: str | None
    """`dedicated`, `owner`, or None for a credential the user named (stitch_url, stitch_config_var)."""
    owner_reason: str | None
    """Why Stitch keeps the owner's credential, for the verification's warning."""
    choice: CredentialChoice
    """The Heroku side of the decision (the add-on a heroku-existing credential is made on)."""
    heroku: HerokuAccess | None = None
    """How this run calls Heroku (Heroku sources only)."""


def plan_credential(cfg: StackConfig, access: HerokuAccess | None = None) -> CredentialPlan:
    """Raises HerokuCredentialError when Heroku's answer makes the configured choice impossible.

    access: how to call Heroku (a Destination's heroku_api_key); else the heroku provider's own key."""
    if cfg.source == "url":
        access = None
    elif access is None:
        access = heroku_access()
    choice = choose_credential(cfg, access) if access else CredentialChoice(False)
    if cfg.stitch_url or cfg.stitch_config_var:
        kind = None
    elif cfg.source == "url":
        kind = cfg.stitch_credential
    else:
        kind = "dedicated" if choice.dedicated else "owner"
    return CredentialPlan(kind, choice.owner_reason, choice, access)


@dataclass
class Database:
    """The database as the rest of the program sees it, whatever its source."""

    owner_url: pulumi.Output[str]
    """The owner's URL, secret, read live on every run for the Heroku sources."""
    app_name: pulumi.Input[str] | None
    """The Heroku app, for the outputs; None for source url."""
    stitch_url: pulumi.Input[str] | None
    """Stitch's own credential where one exists already (the user's, or Heroku's `stitch`); None: decided later."""
    guard: SourceGuardArgs
    """What the source guard remembers of this source."""
    waits_for: list[pulumi.Resource] = field(default_factory=list)
    """What must exist before the grant signs in (the add-on, Stitch's Heroku credential)."""
    resources: list[pulumi.Resource] = field(default_factory=list)
    """Everything declared here, for the destroy guard."""
    stitch_role: pulumi.Output[str] | None = None
    """The role of Stitch's own Heroku credential, as the state records it: stable while Heroku rotates the
    credential under a temporary username (components.heroku_credential.stable_user); None for other credentials."""

    def grantee(self, live_username: pulumi.Input[str]) -> pulumi.Input[str]:
        """Whom the Grant and the source guard name: the credential's own role, else the live URL's user."""
        return self.stitch_role if self.stitch_role is not None else live_username

    def mid_rotation(self, live_username: pulumi.Input[str]) -> pulumi.Input[bool]:
        """Whether Heroku is rotating Stitch's credential now: its URL then holds a temporary username, not the
        credential's own role, which goes away when the rotation ends; Stitch must get nothing meanwhile."""
        if self.stitch_role is None:
            return False
        return pulumi.Output.all(self.stitch_role, live_username).apply(lambda users: users[0] != users[1])


def database_for(
    cfg: StackConfig, credential: CredentialPlan, first: pulumi.Resource, parent: pulumi.Resource | None = None, prefix: str = ""
) -> Database:
    """The Heroku app and add-on this stack creates, an existing Heroku database, or a URL; after `first`.

    parent: the Destination the resources belong to (its heroku provider is theirs); prefix: its name, for theirs."""
    after_first = pulumi.ResourceOptions(depends_on=[first])
    if cfg.source == "heroku":
        dedicated = credential.heroku if credential.choice.dedicated else None
        name, opts = child(parent, prefix, "database", after_first)
        heroku = HerokuDatabase(
            name,
            HerokuDatabaseArgs(
                cfg.app_name, cfg.region, cfg.addon_plan, cfg.protect, cfg.team, cfg.postgres_version, cfg.stitch_config_var, dedicated
            ),
            opts,
        )
        guard = SourceGuardArgs(cfg.source, heroku.app_name, heroku.app, [heroku.app, heroku.addon])
        stitch_url = heroku.stitch_url or cfg.stitch_url
        role = heroku.dedicated.user if heroku.dedicated is not None else None
        return Database(heroku.database_url, heroku.app_name, stitch_url, guard, [heroku.addon], [heroku], role)
    guard = SourceGuardArgs(cfg.source, owned=[first])
    if cfg.source == "heroku-existing":
        name, opts = child(parent, prefix, "stitch-credential", after_first)
        stitch_var, made, role = credential_for_existing(credential.choice, credential.heroku, cfg.stitch_config_var, opts, name=name)
        live = live_urls(
            cfg.app_name, cfg.database_config_var, stitch_var, database_key="database_config_var", depends_on=[first, *made], parent=parent
        )
        return Database(live.database_url, cfg.app_name, live.stitch_url or cfg.stitch_url, guard, [first, *made], made, role)
    return Database(pulumi.Output.secret(cfg.database_url), None, cfg.stitch_url, guard, [first])
