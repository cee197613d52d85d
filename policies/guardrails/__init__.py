"""The guardrails: one module per concern, each exporting its pulumi_policy policies."""

from __future__ import annotations

from pulumi_policy import Policy

from .heroku_postgres import no_retired_plan, protected_outside_dev
from .postgresql_grants import keeps_connect_and_temporary, retained_on_delete
from .postgresql_provider import provider_requires_ssl
from .stack_outputs import no_plaintext_credentials
from .stitch_credential import stitch_not_given_the_owners_credential

PACK_NAME = "stitch-heroku-guardrails"

POLICIES: list[Policy] = [
    # Mandatory by default: each blocks a preview or update.
    keeps_connect_and_temporary,
    provider_requires_ssl,
    no_retired_plan,
    # Advisory by default: each warns.
    retained_on_delete,
    protected_outside_dev,
    no_plaintext_credentials,
    stitch_not_given_the_owners_credential,
]
