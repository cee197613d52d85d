"""The postgresql provider must connect with TLS it cannot silently drop: sslmode require or verify-* (mandatory).

The provider (cyrilgdn/terraform-provider-postgresql, provider.go) takes `sslmode`, falls back to the
deprecated `ssl_mode` (`sslMode` on the wire), and when neither is set reads PGSSLMODE from its own
process environment. The Python SDK also copies PGSSLMODE from the program's environment into an
explicit Provider's `sslmode` input (pulumi_postgresql/provider.py), so that case is visible here; the
provider process's own fallback is not.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .declare import guardrail
from .resource_view import label, read, shown, violation

PROVIDER_TYPE = "pulumi:providers:postgresql"

# Modes that fail rather than connect without TLS (PostgreSQL's libpq-ssl table).
SAFE_SSL_MODES = ("require", "verify-ca", "verify-full")

_WHY = {
    "disable": (
        "it never uses TLS: the owner's password and every GRANT cross the network in clear text, "
        "and Heroku Postgres refuses connections without SSL"
    ),
    "allow": "it tries without TLS first, so the owner's password and every GRANT go in clear text wherever the server allows it",
    "prefer": (
        "it falls back to a connection without TLS when the TLS handshake fails, without a word, "
        "so anyone on the network path can force the owner's password into clear text"
    ),
}


def _is_default_provider(name: str) -> bool:
    """The engine names the providers it creates from stack config `default` or `default_<version>`."""
    return name == "default" or name.startswith("default_")


@guardrail("postgresql-provider-requires-ssl", mandatory=True, severity=Severity.HIGH)
def provider_requires_ssl(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A postgresql provider must connect with sslmode require, verify-ca or verify-full.

    Fix: Set sslmode="require" on the provider (pulumi config set postgresql:sslmode require for the default one).
    """
    if args.resource_type != PROVIDER_TYPE:
        return
    mode = read(args.props, "sslmode") or read(args.props, "sslMode", "ssl_mode")
    if isinstance(mode, str) and mode.strip().lower() in SAFE_SSL_MODES:
        return
    if _is_default_provider(args.name):
        who = f'The default postgresql provider "{args.name}" (built from the stack\'s postgresql:* config)'
        fix = "pulumi config set postgresql:sslmode require (or verify-full, with postgresql:sslrootcert, to check the certificate)"
    else:
        who = label("postgresql.Provider", args.name)
        fix = 'sslmode="require" on the Provider (or "verify-full", with sslrootcert, to check the certificate)'
    if not mode:
        problem = "sets no sslmode"
        why = (
            "the provider then takes PGSSLMODE from the environment of whoever runs `pulumi up`, which this policy cannot see, "
            "so one shell with PGSSLMODE=disable or prefer sends the owner's password and every GRANT without TLS"
        )
    else:
        plain = shown(args.props, "sslmode", "sslMode", "ssl_mode")
        problem = f'connects with sslmode "{plain}"' if plain else "connects with a secret sslmode that is not require or verify-*"
        why = _WHY.get(
            (plain or "").strip().lower(),
            "it is not an sslmode that refuses to connect without TLS (require, verify-ca, verify-full)",
        )
    report_violation(violation(f"{who} {problem}", why, fix), None)
