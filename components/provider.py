"""`pulumi-resource-stitch-heroku`: the package as a Pulumi component provider, for programs in any language.

The engine runs it (from PATH after `pip install`, or through PulumiPlugin.yaml after `pulumi package add`);
the SDK's ComponentProvider infers the schema from Destination and DestinationArgs, docstrings included.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi.provider.provider import ConstructResult

NAME = "stitch-heroku"


def package_version() -> str:
    """The one version, from pyproject.toml through the installed distribution's metadata."""
    try:
        return version(NAME)
    except PackageNotFoundError:
        return "0.0.0"


def main() -> None:
    """component_provider_host's two steps, with a provider whose RunErrors reach the user as written.

    The SDK wraps whatever a component's __init__ raises into a bare Exception with our stack appended, which
    gRPC then sends as "Unexpected <class 'Exception'>: ..." (pulumi/provider/experimental/component.py
    construct, pulumi/provider/server.py Construct). A RunError is Pulumi's "say this, no traceback" error, and
    every one we raise (a config problem, a Python without the package) already names the fix: it is re-raised
    as the InputPropertiesError the server sends as its plain message, which the engine prints as
    "<type> resource '<name>' has a problem: <message>"."""
    from pulumi.errors import InputPropertiesError, RunError
    from pulumi.provider import main as serve
    from pulumi.provider.experimental import host
    from pulumi.provider.experimental.component import ComponentProvider

    from .destination import Destination

    class Provider(ComponentProvider):
        def construct(self, name: str, resource_type: str, inputs: Any, options: Any = None) -> ConstructResult:
            try:
                return super().construct(name, resource_type, inputs, options)
            except Exception as error:
                cause = getattr(error, "inner", error)  # the SDK's ComponentInitError keeps what __init__ raised
                if isinstance(cause, RunError):
                    # No property to blame, but a list all the same: without one the SDK's status has no
                    # trailing_metadata and the abort itself fails (pulumi/provider/server.py).
                    raise InputPropertiesError(str(cause), []) from None
                raise

    host.is_hosting = True  # as component_provider_host marks it: its guard against hosting twice in one process
    serve(Provider([Destination], NAME, None, package_version()), sys.argv[1:])


if __name__ == "__main__":
    main()
