"""An existing stack, made before the destination carried a marker, on the real engine: its next `up` only adds the
marker resource (nothing replaced or deleted, nothing sent to Stitch), and then changes nothing. The state made by
today's program is the new program's state with the marker taken out, as an older program wrote it."""

from __future__ import annotations

from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real
from tests.support.real_engine import RealStack, new_app_name, throwaway_stack
from tests.test_reconcile import configure

MARKER = "pulumi-python:dynamic/stitch:DestinationMarker"
DESTINATION = "pulumi-python:dynamic/stitch:Destination"


def as_before_the_marker(stack: RealStack) -> None:
    """Drop the marker resource and the destination's description, as a state written before them has it."""
    deployment = stack.stack.export_stack()
    resources = deployment.deployment["resources"]
    (marker,) = [r for r in resources if r["type"] == MARKER]
    resources.remove(marker)
    for resource in resources:
        if resource["type"] == DESTINATION:
            for section in ("inputs", "outputs"):
                resource.get(section, {}).pop("description", None)
            resource["dependencies"] = [d for d in resource.get("dependencies", []) if d != marker["urn"]]
            resource.get("propertyDependencies", {}).pop("description", None)
    stack.stack.import_stack(deployment)


def test_an_existing_stack_gets_the_marker_without_a_replacement_or_a_call_to_stitch(toolchain, tmp_path, heroku):
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch, throwaway_stack(tmp_path, "dev-marker") as stack:
        configure(stack, heroku, new_app_name("mark"), stitch)
        stack.up()
        (destination_id,) = stitch.destinations
        assert stitch.destinations[destination_id]["description"].startswith("Made and kept by stitch-heroku (Pulumi); marker ")
        as_before_the_marker(stack)
        calls = len(stitch.requests)

        upgraded = stack.up()
        assert upgraded.summary.resource_changes == {"create": 1, "same": upgraded.summary.resource_changes["same"]}, (
            upgraded.summary.resource_changes
        )
        assert not [c for c in stitch.calls()[calls:] if not c.startswith("GET ")], "the upgrade wrote to Stitch"
        assert list(stitch.destinations) == [destination_id]
        again = stack.up()
        assert set(again.summary.resource_changes or {}) == {"same"}, again.summary.resource_changes
