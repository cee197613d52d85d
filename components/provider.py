"""`pulumi-resource-stitch-heroku`: the package as a Pulumi component provider, for programs in any language.

The engine runs it (from PATH after `pip install`, or through PulumiPlugin.yaml after `pulumi package add`);
the SDK's ComponentProvider infers the schema from Destination and DestinationArgs, docstrings included.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi.provider.provider import ConstructResult

NAME = "stitch-heroku"
SOURCE = Path(__file__).resolve().parent.parent
"""Where this module runs from: a checkout of the repository (editable install), or site-packages."""


def package_version() -> str:
    """The one version, from pyproject.toml through the installed distribution's metadata."""
    try:
        return version(NAME)
    except PackageNotFoundError:
        return "0.0.0"


def python_requires(source: Path = SOURCE) -> dict[str, str]:
    """The schema's language.python.requires: what a Python SDK generated from it depends on.

    `pulumi package add <repository>` runs this package from a checkout of the repository (PulumiPlugin.yaml) and
    generates the program's SDK, whose dependencies are `<name><this value>` (pulumi's pkg/codegen/python gen.go,
    calculateDeps). The program's own venv is where its dynamic resources run, so the SDK must bring the package:
    from that very checkout. Served from an installed package (no pyproject.toml beside it), there is nothing to
    point at, and the SDK asks for nothing more."""
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file() or f'name = "{NAME}"' not in pyproject.read_text():
        return {}
    return {NAME: f" @ {source.as_uri()}"}


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
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            if requires := python_requires():
                schema = json.loads(self.schema or "{}")
                schema.setdefault("language", {}).setdefault("python", {})["requires"] = requires
                self.schema = json.dumps(schema)

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
