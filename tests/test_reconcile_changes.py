"""How ops.reconcile words what the engine changed, and how it keeps secrets out of what it prints (no engine:
the steps are shaped as the Automation API's events carry them, secret values masked by the engine)."""

from __future__ import annotations

from stitch_heroku import config as stack_config
from stitch_heroku.ops.reconcile import DESTINATION, GRANT, OWNER_PROVIDER, VERIFICATION, Step, describe_changes, scrub

MASKED = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "[secret]"}


def config(**raw: str) -> stack_config.StackConfig:
    return stack_config.validate("prod", raw, secret_keys={"database_url", "stitch_url"}, heroku_key="env")


def step(type_: str, name: str, op: str, diffs: tuple[str, ...] = (), old: dict | None = None, new: dict | None = None) -> Step:
    old, new = old or {}, new or {}
    return Step(name, type_, op, diffs, old, new, old, new)


def test_a_url_stack_whose_owner_url_changed_says_so_and_not_heroku():
    cfg = config(source="url", database_url="postgres://o:p@db.example.com:5432/d", stitch_url="postgres://s:q@db.example.com:5432/d")
    changes = describe_changes([step(OWNER_PROVIDER, "owner", "update", ("password",))], cfg, applied=True)
    assert [c["summary"] for c in changes] == ["the stack's database_url changed; the grant's connection uses the new one"]


def test_a_verification_rerun_by_verify_on_every_up_is_not_taken_for_a_rotation():
    cfg = config(app_name="acme-stitch-prod")
    rerun = step(
        VERIFICATION,
        "verification",
        "update",
        old={"database_url": MASKED, "run_token": "a"},
        new={"database_url": MASKED, "run_token": "b"},
    )
    (change,) = describe_changes([rerun], cfg, applied=True)
    assert "rotated" not in change["summary"] and change["resources"] == ["verification"]


def test_a_rerun_whose_url_did_not_change_is_no_change_at_all_and_a_rotation_during_one_still_is():
    cfg = config(app_name="acme-stitch-prod", verify_on_every_up="true")
    old = {"database_url": MASKED, "run_token": "a", "connect_timeout": 10}
    rerun = step(VERIFICATION, "verification", "update", old=old, new=old | {"run_token": "b", "url_changed": False})
    assert describe_changes([rerun], cfg, applied=True) == []
    rotated = step(VERIFICATION, "verification", "update", old=old, new=old | {"run_token": "c", "url_changed": True})
    (change,) = describe_changes([rotated], cfg, applied=True)
    assert "Heroku rotated the Stitch credential's password" in change["summary"], change
    slower = old | {"run_token": "d", "url_changed": False, "connect_timeout": 20}
    timeout = step(VERIFICATION, "verification", "update", old=old, new=slower)
    (change,) = describe_changes([timeout], cfg, applied=True)
    assert "rotated" not in change["summary"] and change["resources"] == ["verification"], "only the run_token is ignored"


def test_a_grant_drift_that_was_not_healed_says_so_and_a_preview_says_what_up_would_do():
    cfg = config(app_name="acme-stitch-prod")
    refreshed = step(GRANT, "create-on-database", "refresh", ("privileges",),
                     old={"privileges": ["CONNECT", "CREATE", "TEMPORARY"], "role": "r", "database": "d"},
                     new={"privileges": ["CONNECT"], "role": "r", "database": "d"})  # fmt: skip
    assert (
        describe_changes([refreshed], cfg, applied=True)[0]["summary"]
        == 'CREATE, TEMPORARY on database "d" had been revoked from r; not granted again'
    )
    pending = describe_changes([refreshed, step(GRANT, "create-on-database", "update", ("privileges",))], cfg, applied=False)
    assert [c["summary"] for c in pending] == ['CREATE, TEMPORARY on database "d" had been revoked from r; up would grant it again']


def test_a_destination_missing_from_stitch_is_a_create_the_reconcile_never_does():
    cfg = config(app_name="acme-stitch-prod")
    (change,) = describe_changes([step(DESTINATION, "stitch-destination", "create")], cfg, applied=False)
    assert "never does" in change["summary"]


def test_scrub_replaces_every_secret_however_deep_and_longest_first():
    printed = {"a": ["password is hunter2hunter2", {"b": "token tok-123 and hunter2"}], "n": 3}
    assert scrub(printed, {"hunter2", "hunter2hunter2", "tok-123"}) == {
        "a": ["password is [secret]", {"b": "token [secret] and [secret]"}],
        "n": 3,
    }


def test_the_verdict_is_never_in_sync_or_healed_while_a_cause_fails_and_the_one_line_names_the_first():
    from stitch_heroku.ops import verdict
    from stitch_heroku.ops.reconcile import Outcome, one_line

    load = {
        "what": "Stitch's last load of heroku_1.orders failed (privilege): denied",
        "fix": "GRANT ...",
        "cause": "stitch-load:privilege",
    }
    capacity = {"what": "the database is at 104% of its plan's storage", "fix": "a larger plan", "cause": "capacity"}
    assert verdict.status([], blocked=False, dry_run=False, changed=False) == "in-sync"
    assert verdict.status([], blocked=False, dry_run=False, changed=True) == "healed"
    assert verdict.status([load], blocked=False, dry_run=False, changed=False) == "failing"
    assert verdict.status([load], blocked=False, dry_run=False, changed=True) == "failing", "a heal does not hide a failing load"
    assert verdict.status([load], blocked=False, dry_run=True, changed=False) == "failing", "--preview-only reports it too"
    assert verdict.status([], blocked=True, dry_run=True, changed=True) == "failing"
    result = {"stack": "prod", "changes": [], "verification": {"ready": True}, "stitch": {"managed": False}, "problems": [load, capacity]}
    line = one_line(Outcome("failing", result, None))
    assert line.startswith("prod: failing (Stitch's last load of heroku_1.orders failed (privilege): denied; and 1 more problem): "), line
    assert one_line(Outcome("in-sync", result | {"problems": []}, None)) == "prod: in-sync: nothing to heal; verification READY"
