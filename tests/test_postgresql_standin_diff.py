"""The postgresql stand-in's Diff on values a preview does not know yet, as the bridged plugin answers it.

An upgrade preview of a heroku standard-0 stack made by 0.1.0 hands the Grant unknown `privileges`; the stand-in
sorted them and failed ("'Unknown' object is not iterable"), where the real plugin plans an update
(pulumi-terraform-bridge: an unknown input is Terraform's unknown sentinel, an attribute Terraform's plan marks computed).
"""

from __future__ import annotations

from pulumi.output import Unknown

from devtools.postgresql_standin import grant_diff, role_diff

GRANT = {"database": "d1", "role": "stitch", "objectType": "database", "privileges": ["CREATE", "TEMPORARY", "CONNECT"]}


def test_unknown_privileges_are_an_update_in_place():
    assert grant_diff(GRANT, {**GRANT, "privileges": Unknown()}) == (["privileges"], [])


def test_a_list_holding_an_unknown_privilege_is_an_update_in_place():
    assert grant_diff(GRANT, {**GRANT, "privileges": ["CONNECT", Unknown(), "CREATE"]}) == (["privileges"], [])


def test_an_unknown_role_forces_the_grants_replacement_as_a_changed_one_does():
    assert grant_diff(GRANT, {**GRANT, "role": Unknown()}) == (["role"], ["role"])


def test_privileges_in_another_order_are_no_change():
    assert grant_diff(GRANT, {**GRANT, "privileges": ["CONNECT", "CREATE", "TEMPORARY"]}) == ([], [])


def test_an_unknown_member_list_of_a_role_is_an_update():
    role = {"name": "stitch", "roles": ["a", "b"]}
    assert role_diff(role, {**role, "roles": Unknown()}) == (["roles"], [])
    assert role_diff(role, {**role, "roles": ["b", "a"]}) == ([], [])
