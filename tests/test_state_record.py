"""The Destinations of a state as `pulumi stack export --show-secrets` prints it: found by type, each with its outputs,
the token its caller gave it and its own resources (components/state_record.py)."""

from __future__ import annotations

import json

from stitch_heroku.state_record import SECRET_SIG, destinations

SIG = {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270"}
STACK = "urn:pulumi:dev::acme::pulumi:pulumi:Stack::acme-dev"


def component(name: str, host: str) -> dict:
    outputs = {"host": host, "password": {**SIG, "plaintext": json.dumps("pw-" + name)}, "stitchDestinationId": "7"}
    urn = f"urn:pulumi:dev::acme::stitch-heroku:index:Destination::{name}"
    return {"urn": urn, "type": "stitch-heroku:index:Destination", "parent": STACK, "outputs": outputs}


def child(parent: dict, type_: str, name: str, **inputs: object) -> dict:
    urn = parent["urn"].replace("::stitch-heroku:index:Destination::", f"::stitch-heroku:index:Destination${type_}::")
    return {"urn": f"{urn.rsplit('::', 1)[0]}::{name}", "type": type_, "parent": parent["urn"], "inputs": dict(inputs)}


def test_every_destination_is_found_by_type_with_its_own_token_and_resources_and_a_host_output_of_the_program_is_not_one():
    alpha, bravo = component("wh-alpha", "a.example"), component("wh-bravo", "b.example")
    given = child(bravo, "pulumi-python:dynamic/stitch:Destination", "wh-bravo-stitch-destination",
                  given_access_token={**SIG, "plaintext": json.dumps("tok-bravo")})  # fmt: skip
    verification = child(alpha, "pulumi-python:dynamic/stitch:Verification", "wh-alpha-verification")
    grandchild = child(given, "pulumi-python:dynamic/stitch:Marker", "wh-bravo-marker")
    program = {"urn": STACK, "type": "pulumi:pulumi:Stack", "outputs": {"host": "api.acme.example", "port": 443}}
    found = destinations({"resources": [program, alpha, verification, bravo, given, grandchild]})
    assert [d.name for d in found] == ["wh-alpha", "wh-bravo"], "the stack's own `host` output is not a Destination"
    first, second = found
    assert first.outputs["host"] == ("a.example", False) and first.outputs["password"] == ("pw-wh-alpha", True)
    assert first.outputs["stitch_destination_id"] == ("7", False), "outputs in snake_case, as the Python API names them"
    assert first.given_token is None and [r["urn"] for r in first.resources] == [verification["urn"]]
    assert second.given_token == "tok-bravo", "the token its caller gave it, from its Stitch child's secret input"
    assert [r["urn"] for r in second.resources] == [given["urn"], grandchild["urn"]], "its children and theirs, not another's"


def test_a_token_the_export_kept_encrypted_is_no_token():
    bravo = component("wh-bravo", "b.example")
    given = child(bravo, "pulumi-python:dynamic/stitch:Destination", "s", given_access_token={**SIG, "ciphertext": "v1:abc"})
    (found,) = destinations({"resources": [bravo, given]})
    assert found.given_token is None


def test_the_destinations_come_in_the_order_of_their_names_whatever_the_states_order():
    """Two Destinations made in one up are written to the state as their steps finish, in either order: day two
    lists them, and names the first that fails, the same way every run."""
    alpha, bravo = component("wh-alpha", "a.example"), component("wh-bravo", "b.example")
    assert [d.name for d in destinations({"resources": [bravo, alpha]})] == ["wh-alpha", "wh-bravo"]
