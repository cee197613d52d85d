"""Where a Destination's children were before 0.2.0: resources of the stack's root, named without a prefix.

Until 0.2.0 the program declared every resource at the stack's root ("database", "source-guard", ...). Now
they are children of a Destination and named after it ("<destination>-database"), so that a program may hold
more than one. Each keeps its identity with an alias to its old URN, and the engine carries the alias to the
children's children (the Heroku app and add-on under "database", the Grant under "stitch"): an existing stack's
next `up` replaces nothing.
"""

from __future__ import annotations

import pulumi


def child(
    parent: pulumi.Resource | None, prefix: str, part: str, opts: pulumi.ResourceOptions | None = None
) -> tuple[str, pulumi.ResourceOptions]:
    """The name and options of the child `part` of a Destination named `prefix` (parent); without a parent,
    the name and place it had before 0.2.0."""
    if parent is None:
        return part, opts or pulumi.ResourceOptions()
    moved = pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(name=part, parent=pulumi.ROOT_STACK_RESOURCE)])
    return f"{prefix}-{part}", pulumi.ResourceOptions.merge(opts, moved)
