"""Keeps Pulumi's secret marker on the values this pack's policies see, so a policy can tell a secret
output from a plain-text one.

The engine sends every secret to a policy pack wrapped in Pulumi's secret signature (its analyzer
client marshals with KeepSecrets; pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go).
pulumi-policy's Python SDK (1.21.0) then unwraps it in Analyze and AnalyzeStack (policy.py calls
`deserialize_properties(...)` without `proxy_secrets`), so to a policy a secret looks like plain text:
pulumi/pulumi-policy#241, still open. `install()` swaps that one module-level function for one that
wraps each secret in the SDK's own public `pulumi_policy.Secret`, the marker its remediations use.

It touches only this pack's own process. The policies unwrap values with resource_view.reveal, and
the stack-output policy declares itself not applicable when the swap is not in place (another SDK
version), rather than reporting every secret output as plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi_policy.policy as sdk_policy
from pulumi_policy import Secret
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties


def deserialize_keeping_secrets(props: Mapping[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """The SDK's deserialize_properties, except that a secret becomes Secret(value) instead of value."""
    if proxy_secrets:
        # Remediate asks for the SDK's own secret-preserving proxies: leave that path exactly as it is.
        return deserialize_properties(dict(props), True)
    return {key: _keep_secret_marks(value) for key, value in props.items()}


def _keep_secret_marks(value: Any) -> Any:
    if isinstance(value, list):
        return [_keep_secret_marks(item) for item in value]
    if isinstance(value, dict):
        signature = value.get(SPECIAL_SIG_KEY)
        if signature == SPECIAL_SECRET_SIG:
            return Secret(_keep_secret_marks(value.get("value")))
        if signature is not None:
            # Assets and archives: the SDK's own reading.
            return deserialize_properties({"value": value})["value"]
        return {key: _keep_secret_marks(item) for key, item in value.items()}
    return value


def install() -> bool:
    """Swap the SDK's deserializer for deserialize_keeping_secrets; False when this SDK has no such seam."""
    if sdk_policy.__dict__.get("deserialize_properties") not in (deserialize_properties, deserialize_keeping_secrets):
        return False
    sdk_policy.deserialize_properties = deserialize_keeping_secrets  # type: ignore[attr-defined]
    return True


def installed() -> bool:
    """True when the values this process's policies receive carry the secret marker."""
    return sdk_policy.__dict__.get("deserialize_properties") is deserialize_keeping_secrets
