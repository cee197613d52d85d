"""Where a Destination's resources were before: at the stack's root (0.1.0), or under it with short names (0.2.0).

Until 0.2.0 the program declared every resource at the stack's root ("database", "source-guard", ...). In 0.2.0
they became children of a Destination named after it ("<destination>-database"), but their own children kept
short names ("app", "postgres", "stitch", "role"...). A URN holds the parents' types and the resource's own name,
never a parent's name, so two Destinations in one program made two "...$stitch:postgres:StitchRole::stitch":
now every resource is named after its parent (Pulumi's `f"{name}-..."`), and so after its Destination.

Each keeps its identity with an alias to where it was, and the engine (pulumi v3.274 step_generator.go
generateAliases) multiplies a child's aliases by the alias its parent was found under, level by level: a 0.2.0
stack finds "<destination>-database-app" as "app" under the same parent, and a 0.1.0 stack as "app" under the
root's "database". An existing stack's next `up` replaces nothing. A 0.2.0 state holds one Destination, so
its short names are claimed once; upgrade (one `up`) before adding a second Destination to the program, or
the engine stops the preview with "Duplicate resource alias" (both claim the one old resource).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


def part_of(
    parent: pulumi.Resource, parent_name: str, part: str, opts: pulumi.ResourceOptions | None = None
) -> tuple[str, pulumi.ResourceOptions]:
    """The name and options of the child `part` of one of a Destination's components (parent, named parent_name):
    `<parent_name>-<part>`, with an alias to `part` under the same parent, its name up to 0.2.0."""
    renamed = pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(name=part)])
    return f"{parent_name}-{part}", pulumi.ResourceOptions.merge(opts, renamed)


def with_args(name_and_opts: tuple[str, pulumi.ResourceOptions], args: Any) -> tuple[str, Any, pulumi.ResourceOptions]:
    """(name, args, opts), the order the components' constructors take."""
    return name_and_opts[0], args, name_and_opts[1]


OUR_COMPONENTS = "stitch:"
"""The type tokens of the Destination's own components start so (stitch:heroku:Database, stitch:postgres:StitchRole...)."""


def named_as_before(resources: Iterable[Mapping[str, Any]]) -> list[str]:
    """The URNs, in a stack's exported state, of the resources of our components not yet named after their parent:
    what the next `up` finds through an alias (0.1.0's and 0.2.0's states). The engine's refresh with the program
    (`up --refresh --run-program`) stops on such aliases (pulumi v3.274 engine/deployment.go assertSeen, "URN ...
    had not been marked as seen"), so a plain `up` must move them first."""
    listed = list(resources)
    parents = {resource.get("urn"): resource for resource in listed}
    found = []
    for resource in listed:
        parent = parents.get(resource.get("parent"))
        if parent is None or not str(parent.get("type", "")).startswith(OUR_COMPONENTS):
            continue
        name, parent_name = str(resource["urn"]).rsplit("::", 1)[1], str(parent["urn"]).rsplit("::", 1)[1]
        if not name.startswith(f"{parent_name}-"):
            found.append(str(resource["urn"]))
    return found
