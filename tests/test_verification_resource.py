"""The Verification dynamic provider, run for real against the SSL server as `pulumi up` would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stitch_heroku.verification import VerificationFailed, VerificationProvider


def props(url: str, **overrides):
    return {"database_url": url, "connect_timeout": 5, "wait_seconds": 0, "run_token": "", "report": None} | overrides


def test_create_runs_the_checks_and_outputs_the_report(ssl_server):
    result = VerificationProvider().create(props(ssl_server.owner_url))
    report = result.outs["report"]
    assert report["ready"] is True and report["target"].startswith("heroku_owner@127.0.0.1:")
    assert {c["name"] for c in report["checks"]} >= {"connect", "ssl", "create", "dry-run load"}
    assert "password" not in str(report) and ssl_server.owner_url not in str(report)


def test_create_fails_the_update_with_the_checklist_when_stitch_would_fail(ssl_server):
    with pytest.raises(VerificationFailed) as raised:
        VerificationProvider().create(props(ssl_server.no_create_url))
    message = str(raised.value)
    assert "NOT READY: create failed." in message
    assert 'GRANT CREATE ON DATABASE "stitch" TO "stitch_loader";' in message
    password = ssl_server.no_create_url.split(":")[2].split("@")[0]
    assert password not in message


def test_rotated_credentials_trigger_a_new_check(ssl_server):
    provider = VerificationProvider()
    olds = provider.create(props(ssl_server.owner_url)).outs
    assert provider.diff("id", olds, props(ssl_server.owner_url)).changes is False
    assert provider.diff("id", olds, props(ssl_server.granted_url)).changes is True
    assert provider.update("id", olds, props(ssl_server.granted_url)).outs["report"]["target"].startswith("granted_loader@")


def test_a_new_run_token_triggers_a_new_check(ssl_server):
    provider = VerificationProvider()
    olds = provider.create(props(ssl_server.owner_url)).outs
    assert provider.diff("id", olds, props(ssl_server.owner_url, run_token="abc")).changes is True


def test_the_report_output_says_when_it_was_checked(ssl_server):
    """An exported report may be old (it changes only when the checks run again), so it carries its time."""
    provider = VerificationProvider()
    first = provider.create(props(ssl_server.owner_url)).outs["report"]
    again = provider.update("id", {}, props(ssl_server.owner_url, run_token="again")).outs["report"]
    for report in (first, again):
        assert datetime.fromisoformat(report["checked_at"]).tzinfo == UTC, report["checked_at"]
    assert again["checked_at"] >= first["checked_at"]


def test_check_says_whether_the_url_changed_in_one_plain_bit_and_claims_nothing_on_create(ssl_server):
    """The reconcile tells a rotation from verify_on_every_up's re-run by it (the URL is masked in the engine's events)."""
    provider = VerificationProvider()
    old = props(ssl_server.owner_url, run_token="a")
    assert "url_changed" not in provider.check({}, props(ssl_server.owner_url)).inputs
    assert provider.check(old, old | {"run_token": "b"}).inputs["url_changed"] is False
    rotated = provider.check(old, old | {"database_url": ssl_server.granted_url}).inputs
    assert rotated["url_changed"] is True and rotated["database_url"] == ssl_server.granted_url
    assert provider.diff("id", old, old | {"url_changed": True}).changes is False, "the bit alone never re-runs the checks"
