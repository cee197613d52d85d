"""`pulumi-resource-stitch-heroku`: the package as a Pulumi component provider, for programs in any language.

The engine runs it (from PATH after `pip install`, or through PulumiPlugin.yaml after `pulumi package add`);
the SDK's component_provider_host infers the schema from Destination and DestinationArgs, docstrings included.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

NAME = "stitch-heroku"


def package_version() -> str:
    """The one version, from pyproject.toml through the installed distribution's metadata."""
    try:
        return version(NAME)
    except PackageNotFoundError:
        return "0.0.0"


def main() -> None:
    from pulumi.provider.experimental import component_provider_host

    from .destination import Destination

    component_provider_host(name=NAME, components=[Destination], version=package_version())


if __name__ == "__main__":
    main()
