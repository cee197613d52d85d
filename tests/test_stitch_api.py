"""The Connect API client against a real HTTP server on loopback: requests, errors, retries, secrets."""

from __future__ import annotations

import logging

import pytest

from components.stitch_api import StitchApiError, StitchClient
from devtools.local_postgres import free_port
from tests.fake_stitch import LIMIT_MESSAGE

PASSWORD = "pg-p@ss/w0rd"
PROPERTIES = {
    "host": "ec2-1-2-3-4.compute-1.amazonaws.com",
    "port": "5432",
    "username": "u9abc",
    "password": PASSWORD,
    "database": "d7xyz",
    "ssl": "true",
    "encryption_type": "none",
}


def client(stitch, *, token=None, retries=3, **kwargs) -> StitchClient:
    return StitchClient(token or stitch.token, base_url=stitch.url, retries=retries, backoff=0.01, secrets=[PASSWORD], **kwargs)


def test_create_posts_the_documented_body_with_the_bearer_token(stitch_api):
    created = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    post = stitch_api.requests[-1]
    assert (post.method, post.path) == ("POST", "/v4/destinations")
    assert post.body == {"type": "postgres", "name": "stitch-heroku-dev", "properties": PROPERTIES}
    assert post.authorization == f"Bearer {stitch_api.token}"
    assert created["id"] == 110397 and "password" not in created["properties"]
    assert created["check_job_name"], "the create answer names the connection check job"


def test_a_bad_token_is_a_401_that_names_the_fix_and_is_not_retried(stitch_api):
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api, token="revoked-token-123").list_destinations()
    message = str(raised.value)
    assert raised.value.status == 401
    assert "GET /v4/destinations got 401 Unauthorized: Not authorized: invalid or expired access token" in message
    assert "pulumi config set --secret stitch:accessToken" in message
    assert "revoked-token-123" not in message
    assert len(stitch_api.requests) == 1, "a 4xx is not retried"


def test_the_destination_limit_is_a_400_with_stitchs_words_and_the_adopt_fix(stitch_api):
    stitch_api.limit = 1
    stitch_api.add_destination("made-by-hand", PROPERTIES)
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    message = str(raised.value)
    assert raised.value.status == 400 and LIMIT_MESSAGE in message
    assert "pulumi config set stitch_destination_id <id>" in message and "Standard plans allow one" in message
    assert stitch_api.calls("POST") == ["POST /v4/destinations"], "a 400 is not retried"


def test_a_429_is_retried_after_the_time_stitch_asks_for(stitch_api):
    stitch_api.fail("GET", "/v4/destinations", 429, "Too many requests", times=2, retry_after="0")
    assert client(stitch_api).list_destinations() == []
    assert stitch_api.calls() == ["GET /v4/destinations"] * 3


def test_a_429_on_create_is_retried_because_stitch_refused_it(stitch_api):
    stitch_api.fail("POST", "/v4/destinations", 429, "Too many requests", retry_after="0")
    client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    assert stitch_api.calls("POST") == ["POST /v4/destinations"] * 2
    assert len(stitch_api.destinations) == 1


def test_a_create_refused_with_429_is_retried_within_the_same_bound(stitch_api):
    stitch_api.fail("POST", "/v4/destinations", 429, "Too many requests", times=99, retry_after="0")
    with pytest.raises(StitchApiError, match="got 429 Too Many Requests: Too many requests"):
        client(stitch_api, retries=2).create_destination("stitch-heroku-dev", PROPERTIES)
    assert stitch_api.calls() == ["POST /v4/destinations"] * 3 and not stitch_api.destinations


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_on_reads_are_retried_within_the_bound(stitch_api, status):
    stitch_api.fail("GET", "/v4/destinations", status, "Stitch is having a moment", times=99)
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api, retries=2).list_destinations()
    assert raised.value.status == status and "Stitch is having a moment" in str(raised.value)
    assert "retried with backoff" in str(raised.value)
    assert len(stitch_api.requests) == 3, "one try and two retries, then the error"


def test_a_server_error_on_create_is_retried_only_after_looking_for_what_it_created(stitch_api):
    stitch_api.fail("POST", "/v4/destinations", 500)
    created = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    assert stitch_api.calls() == ["POST /v4/destinations", "GET /v4/destinations", "POST /v4/destinations"]
    assert list(stitch_api.destinations) == [created["id"]]


def test_a_create_whose_answer_was_lost_is_not_made_twice(stitch_api):
    stitch_api.fail("POST", "/v4/destinations", 502, "Bad gateway", after_effect=True)
    created = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    assert stitch_api.calls() == ["POST /v4/destinations", "GET /v4/destinations"]
    assert list(stitch_api.destinations) == [created["id"]], "exactly one destination, the one Stitch made"


def test_create_gives_up_after_the_bound(stitch_api):
    stitch_api.fail("POST", "/v4/destinations", 503, "Service unavailable", times=99)
    with pytest.raises(StitchApiError, match="got 503 Service Unavailable: Service unavailable"):
        client(stitch_api, retries=2).create_destination("stitch-heroku-dev", PROPERTIES)
    assert stitch_api.calls("POST") == ["POST /v4/destinations"] * 3 and not stitch_api.destinations


def test_nothing_listening_is_a_bounded_error_that_names_the_address():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StitchApiError) as raised:
        StitchClient("tok", base_url=url, retries=1, backoff=0.01, timeout=2).list_destinations()
    assert raised.value.status is None and f"could not reach {url}" in str(raised.value)


def test_update_puts_the_new_properties_and_deleting_twice_is_fine(stitch_api):
    destination_id = stitch_api.add_destination("stitch-heroku-dev", PROPERTIES)
    api = client(stitch_api)
    api.update_destination(str(destination_id), "stitch-heroku-dev", PROPERTIES | {"password": "rotated"})
    assert stitch_api.requests[-1].body == {"name": "stitch-heroku-dev", "properties": PROPERTIES | {"password": "rotated"}}
    assert stitch_api.destinations[destination_id]["properties"]["password"] == "rotated"
    assert api.delete_destination(str(destination_id)) is True
    assert api.delete_destination(str(destination_id)) is False, "already gone is what delete wanted"


def test_waiting_skips_the_previous_check_and_is_bounded(stitch_api):
    stitch_api.running_polls = 2
    destination_id = str(stitch_api.add_destination("stitch-heroku-dev", PROPERTIES))
    api = client(stitch_api)
    answer = api.update_destination(destination_id, "stitch-heroku-dev", PROPERTIES)
    check = api.wait_for_connection_check(destination_id, job_name=answer["check_job_name"], timeout=5, poll_seconds=0.01)
    assert check.status == "succeeded" and check.name == answer["check_job_name"]
    assert stitch_api.calls().count(f"GET /v4/destinations/{destination_id}/last-connection-check") == 3

    answer = api.update_destination(destination_id, "stitch-heroku-dev", PROPERTIES)
    stitch_api.destinations[int(destination_id)]["check"]["polls_left"] = 10**6
    check = api.wait_for_connection_check(destination_id, job_name=answer["check_job_name"], timeout=0.2, poll_seconds=0.05)
    assert check.status == "running", "still running when the bound is reached"


def test_a_failed_check_carries_stitchs_message(stitch_api):
    stitch_api.check_outcome = lambda props: ("failed", f"FATAL: password authentication failed for user {props['username']}")
    answer = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    check = client(stitch_api).wait_for_connection_check(str(answer["id"]), job_name=answer["check_job_name"], timeout=5, poll_seconds=0.01)
    assert check.status == "failed" and check.error == "FATAL: password authentication failed for user u9abc"


def test_no_token_or_password_in_any_log_line_or_error(stitch_api, caplog):
    caplog.set_level(logging.DEBUG)
    echoing = f"Invalid properties: password '{PASSWORD}' rejected for token {stitch_api.token}"
    stitch_api.fail("POST", "/v4/destinations", 400, echoing)
    stitch_api.fail("GET", "/v4/destinations", 500)
    api = client(stitch_api)
    with pytest.raises(StitchApiError) as raised:
        api.create_destination("stitch-heroku-dev", PROPERTIES)
    errors = [str(raised.value)]
    api.create_destination("stitch-heroku-dev", PROPERTIES)
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api, token="wrong-token-xyz").list_destinations()
    errors.append(str(raised.value))
    assert "Invalid properties: password '[secret]' rejected for token [secret]" in errors[0]
    assert "POST /v4/destinations -> 400" in caplog.text, "the calls are logged, without their contents"
    for secret in (PASSWORD, stitch_api.token, "wrong-token-xyz"):
        assert secret not in caplog.text, "a secret reached a log line"
        assert all(secret not in error for error in errors), "a secret reached an error message"
