"""stitch_heroku: a Heroku Postgres (or any PostgreSQL) database made ready, and proven ready, as a Stitch destination.

`from stitch_heroku import Destination, DestinationArgs` for a Pulumi program in Python; the modules are the
building blocks of the component and of this repository's own program. The component is imported on first
use only: `python -m components.verify` (`stitch-heroku verify`) must not pay for importing Pulumi.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Destination", "DestinationArgs"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import destination

        return getattr(destination, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
