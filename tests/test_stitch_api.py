"""The Connect API client against a real HTTP server on loopback: requests, errors, retries, the
report-card wait, proxies and secrets."""

from __future__ import annotations

import logging
import select
import socket
import socketserver
import subprocess
import threading
from pathlib import Path

import pytest
from stitch_heroku.stitch_api import LIMIT_FIX, PLAN_FIX, StitchApiError, StitchClient, proxy_for

from devtools.local_postgres import free_port
from tests.doubles.fake_stitch import CLIENT_ID, LIMIT_MESSAGE, ONE_DESTINATION_MESSAGE, FakeStitch, StitchServer

PASSWORD = "pg-p@ss/w0rd"
PROPERTIES = {
    "host": "ec2-1-2-3-4.compute-1.amazonaws.com",
    "port": "5432",
    "username": "u9abc",
    "password": PASSWORD,
    "database": "d7xyz",
    "ssl": True,
    "encryption_type": "none",
}
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    """The client reads proxy variables; the tests set them only where they are about proxies."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def client(stitch, *, token=None, retries=3, **kwargs) -> StitchClient:
    return StitchClient(token or stitch.token, base_url=stitch.url, retries=retries, backoff=0.01, secrets=[PASSWORD], **kwargs)


# -- create -----------------------------------------------------------------------------------


def test_create_posts_the_documented_body_and_maps_no_other_source(stitch_api):
    stitch_api.sources = {501: None, 502: None}
    created = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    post = stitch_api.requests[-1]
    assert (post.method, post.path) == ("POST", "/v4/destinations")
    assert post.body == {"type": "postgres", "name": "stitch-heroku-dev", "properties": PROPERTIES, "ignore_unmapped_sources": True}
    assert post.authorization == f"Bearer {stitch_api.token}"
    assert created["id"] == 110397 and "password" not in created["properties"]
    assert created["properties"]["ssl"] == "true" and created["properties"]["status"] == "1", "Stitch answers with strings"
    assert stitch_api.mapped_to(110397) == [], "the account's unmapped sources stay unmapped"


def test_asking_for_the_mapping_lets_stitch_map_every_unmapped_source(stitch_api):
    stitch_api.sources = {501: None, 502: None}
    client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES, ignore_unmapped_sources=False)
    assert stitch_api.requests[-1].body["ignore_unmapped_sources"] is False
    assert stitch_api.mapped_to(110397) == [501, 502]


def test_a_post_body_with_keys_stitch_does_not_take_gets_stitchs_words(stitch_api):
    with pytest.raises(StitchApiError, match="got 400 Bad Request: POST body may only include a type and map of properties"):
        client(stitch_api)._call("POST", "/v4/destinations", {"type": "postgres", "connection": PROPERTIES}, repeatable=False)


def test_a_property_outside_the_form_schema_is_named(stitch_api):
    with pytest.raises(StitchApiError, match=r"InvalidProperties: properties do not match schema \(encryption_type, port\)"):
        client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES | {"port": "five", "encryption_type": "vpn"})
    assert not stitch_api.destinations


def test_a_bad_token_is_a_401_that_names_the_fix_and_is_not_retried(stitch_api):
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api, token="revoked-token-123").list_destinations()
    message = str(raised.value)
    assert raised.value.status == 401
    assert "GET /v4/destinations got 401 Unauthorized: Not authorized: invalid or expired access token" in message
    assert "pulumi config set --secret stitch:accessToken" in message
    assert "revoked-token-123" not in message
    assert len(stitch_api.requests) == 1, "a 4xx is not retried"


@pytest.mark.parametrize("wording", [LIMIT_MESSAGE, ONE_DESTINATION_MESSAGE])
def test_the_destination_limit_is_a_400_with_stitchs_words_and_the_adopt_fix(stitch_api, wording):
    stitch_api.limit, stitch_api.limit_message = 1, wording
    stitch_api.add_destination("made-by-hand", PROPERTIES)
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    message = str(raised.value)
    assert raised.value.status == 400 and f"got 400 Bad Request: {wording}. Fix: {LIMIT_FIX}" in message
    assert "pulumi config set stitch_destination_id <id>" in message and "3 on Advanced, 5 on Premium" in message
    assert stitch_api.calls("POST") == ["POST /v4/destinations"], "a 400 is not retried"


def test_a_plan_without_the_api_or_the_destination_type_is_named(stitch_api):
    stitch_api.access = False
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    assert "AccessDenied: you do not have access to destination type (postgres)" in str(raised.value)
    assert PLAN_FIX in str(raised.value) and "Standard has none" in PLAN_FIX
    stitch_api.fail("GET", "/v4/destinations", 403, "Forbidden")
    with pytest.raises(StitchApiError, match=r"got 403 Forbidden: Forbidden\. Fix: Connect API access comes with"):
        client(stitch_api).list_destinations()


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("invalid connection id", "invalid connection id"),
        ({"error": {"type": "bad_request", "message": "Bad things"}}, "Bad things"),
        ({"error": "InvalidBody", "data": {"message": "PUT body may only include"}}, "InvalidBody: PUT body may only include"),
        ({"code": "BadRequest", "message": "Invalid form data.", "errors": {}}, "BadRequest: Invalid form data."),
        (b"<html>upstream timed out</html>", "<html>upstream timed out</html>"),
        (b"", "(no message)"),
    ],
)
def test_every_documented_error_shape_shows_stitchs_message(stitch_api, body, shown):
    stitch_api.fail("GET", "/v4/destinations", 400, body=body)
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api).list_destinations()
    assert f"got 400 Bad Request: {shown}. Fix:" in str(raised.value)


# -- retries ----------------------------------------------------------------------------------


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


# -- update and delete ------------------------------------------------------------------------


def test_update_puts_only_properties_as_a_partial_update(stitch_api):
    destination_id = stitch_api.add_destination("made-by-hand", PROPERTIES)
    client(stitch_api).update_destination(str(destination_id), {"password": "rotated"})
    assert stitch_api.requests[-1].body == {"properties": {"password": "rotated"}}, "no name: the API documents no rename"
    stored = stitch_api.destinations[destination_id]
    assert stored["properties"] == PROPERTIES | {"password": "rotated"} and stored["name"] == "made-by-hand"


def test_an_update_of_an_unknown_id_is_stitchs_400_with_the_refresh_fix(stitch_api):
    with pytest.raises(StitchApiError) as raised:
        client(stitch_api).update_destination("999", {"password": "rotated"})
    assert raised.value.status == 400 and "invalid connection id" in str(raised.value)
    assert "run pulumi refresh, and the next pulumi up says how to create a new one on purpose" in str(raised.value)


def test_delete_answers_empty_and_an_unknown_id_means_already_gone(stitch_api):
    destination_id = str(stitch_api.add_destination("stitch-heroku-dev", PROPERTIES))
    api = client(stitch_api)
    assert api.delete_destination(destination_id) is True and not stitch_api.destinations
    assert api.delete_destination(destination_id) is False, "Stitch's 400 'Unable to locate dest' is what delete wanted"
    assert stitch_api.calls("DELETE") == [f"DELETE /v4/destinations/{destination_id}"] * 2, "a 4xx is not retried"
    with pytest.raises(StitchApiError, match="got 502 Bad Gateway"):
        client(stitch_api, retries=0).delete_destination("abc")


# -- the check endpoint and the report card ---------------------------------------------------


def test_the_unpublished_check_endpoint_is_asked_once_and_its_404_is_no_verdict(stitch_api):
    destination_id = str(stitch_api.add_destination("stitch-heroku-dev", PROPERTIES))
    api = client(stitch_api)
    assert api.last_connection_check(destination_id) is None
    assert api.last_connection_check(destination_id) is None
    assert stitch_api.calls().count(f"GET /v4/destinations/{destination_id}/last-connection-check") == 1


def test_where_the_check_endpoint_answers_it_is_read(stitch_api):
    stitch_api.check_endpoint = True
    stitch_api.check_outcome = lambda props: ("failed", f"FATAL: password authentication failed for user {props['username']}")
    created = client(stitch_api).create_destination("stitch-heroku-dev", PROPERTIES)
    check = client(stitch_api).last_connection_check(str(created["id"]))
    assert check is not None and check.name == created["check_job_name"] and check.status == "running"


def wait(api, destination_id, *, before=None, answer=None, timeout=5.0):
    return api.wait_for_verdict(str(destination_id), before=before, answer=answer or {}, timeout=timeout, poll_seconds=0.01)


def test_a_new_destination_is_done_when_its_report_card_says_fully_configured(stitch_api):
    stitch_api.running_polls = 2
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    assert answer["report_card"]["current_step_type"] == "form"
    verdict = wait(api, answer["id"], answer=answer)
    assert (verdict.status, verdict.step) == ("succeeded", "fully_configured")
    assert stitch_api.calls("GET").count("GET /v4/destinations") == 3, "two looks see the check running, the third the verdict"


def test_a_post_answered_fully_configured_is_unconfirmed_without_a_newer_check(stitch_api):
    # create-a-destination-v4.md's example: the POST's own answer says fully_configured, before any check ran.
    stitch_api.configured_on_post = True
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    assert answer["report_card"]["current_step_type"] == "fully_configured"
    verdict = wait(api, answer["id"], answer=answer, timeout=0.2)
    assert (verdict.status, verdict.step) == ("unconfirmed", "fully_configured")
    assert stitch_api.calls("GET").count("GET /v4/destinations") > 1, "it looked again for a newer check before giving up"


def test_a_post_answered_fully_configured_succeeds_once_our_check_shows_it_passed(stitch_api):
    stitch_api.configured_on_post, stitch_api.check_endpoint, stitch_api.running_polls = True, True, 2
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    verdict = wait(api, answer["id"], answer=answer)
    assert (verdict.status, verdict.step) == ("succeeded", "fully_configured")
    assert stitch_api.calls("GET").count("GET /v4/destinations") == 3, "two looks saw our check running: no verdict yet"


def test_a_post_answered_fully_configured_whose_check_fails_is_a_failure(stitch_api):
    stitch_api.configured_on_post, stitch_api.check_endpoint = True, True
    stitch_api.check_outcome = lambda props: ("failed", "could not connect")
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    verdict = wait(api, answer["id"], answer=answer)
    assert (verdict.status, verdict.error) == ("failed", "could not connect")


def test_a_failed_check_without_the_endpoint_is_a_card_that_never_gets_there(stitch_api):
    stitch_api.check_outcome = lambda props: ("failed", "could not connect")
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    verdict = wait(api, answer["id"], answer=answer, timeout=0.2)
    assert (verdict.status, verdict.step) == ("running", "form")


def test_a_failed_check_with_the_endpoint_is_stitchs_message_at_once(stitch_api):
    stitch_api.check_endpoint = True
    stitch_api.check_outcome = lambda props: ("failed", f"FATAL: password authentication failed for user {props['username']}")
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    verdict = wait(api, answer["id"], answer=answer)
    assert (verdict.status, verdict.error) == ("failed", "FATAL: password authentication failed for user u9abc")


def put_and_wait(stitch, properties, *, timeout=5.0):
    api = client(stitch)
    destination = api.find_destination("110397")
    before = api.snapshot(destination)
    answer = api.update_destination("110397", properties)
    calls = len(stitch.requests)
    return wait(api, 110397, before=before, answer=answer, timeout=timeout), stitch.calls()[calls:]


def test_after_a_put_the_verdict_from_before_is_not_taken(stitch_api):
    stitch_api.add_destination("stitch-heroku-dev", PROPERTIES)
    stitch_api.running_polls = 2
    verdict, calls = put_and_wait(stitch_api, {"password": "rotated"})
    assert verdict.status == "succeeded"
    assert calls.count("GET /v4/destinations") == 3, "the card was fully_configured before the PUT; that verdict is not ours"


def test_a_card_that_stays_fully_configured_waits_for_our_own_check(stitch_api):
    stitch_api.add_destination("stitch-heroku-dev", PROPERTIES)
    stitch_api.check_endpoint, stitch_api.card_resets_on_update, stitch_api.running_polls = True, False, 2
    stitch_api.check_outcome = lambda props: ("failed", "password authentication failed")
    verdict, calls = put_and_wait(stitch_api, {"password": "wrong"})
    assert (verdict.status, verdict.error) == ("failed", "password authentication failed")
    assert calls.count("GET /v4/destinations") == 3, "two looks saw a stale fully_configured card and did not take it"


def test_without_job_names_our_check_is_the_one_newer_than_before(stitch_api):
    stitch_api.add_destination("stitch-heroku-dev", PROPERTIES)
    stitch_api.check_endpoint, stitch_api.card_resets_on_update, stitch_api.job_names = True, False, False
    stitch_api.check_outcome = lambda props: ("failed", "password authentication failed")
    verdict, _ = put_and_wait(stitch_api, {"password": "wrong"})
    assert (verdict.status, verdict.error) == ("failed", "password authentication failed")


def test_with_no_sign_of_a_newer_check_the_verdict_is_unconfirmed(stitch_api):
    stitch_api.add_destination("stitch-heroku-dev", PROPERTIES)
    stitch_api.card_resets_on_update = False
    verdict, _ = put_and_wait(stitch_api, {"password": "rotated"}, timeout=0.2)
    assert (verdict.status, verdict.step) == ("unconfirmed", "fully_configured")


def test_a_destination_deleted_while_waiting_is_a_failure_that_says_so(stitch_api):
    api = client(stitch_api)
    answer = api.create_destination("stitch-heroku-dev", PROPERTIES)
    stitch_api.destinations.clear()
    verdict = wait(api, answer["id"], answer=answer)
    assert verdict.status == "failed" and "no longer in GET /v4/destinations" in verdict.error


# -- proxies ----------------------------------------------------------------------------------


def test_the_proxy_comes_from_https_proxy_unless_no_proxy_exempts_the_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:proxy-pw@proxy.corp:3128")
    proxy = proxy_for("https://api.stitchdata.com")
    assert proxy is not None and (proxy.url, proxy.auth) == ("http://proxy.corp:3128", "proxy-user:proxy-pw")
    monkeypatch.setenv("NO_PROXY", "localhost,.stitchdata.com")
    assert proxy_for("https://api.stitchdata.com") is None
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("https_proxy", "proxy.corp:3128")
    assert proxy_for("https://api.stitchdata.com").url == "http://proxy.corp:3128", "no scheme means http, as curl reads it"
    assert proxy_for("http://api.stitchdata.com") is None, "HTTPS_PROXY is for https URLs only"


class TunnelProxy(socketserver.ThreadingTCPServer):
    """A loopback HTTP proxy that answers CONNECT with a tunnel, as a corporate proxy does; records targets."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.targets: list[str] = []
        self.authorizations: list[str | None] = []
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Tunnel(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = self.rfile.readline().decode("latin-1").split()
        headers = {}
        while (line := self.rfile.readline().decode("latin-1").strip()) != "":
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.targets.append(request[1])
        self.server.authorizations.append(headers.get("proxy-authorization"))
        host, _, port = request[1].rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            sockets = [self.connection, upstream]
            while True:
                ready, _, _ = select.select(sockets, [], [], 5)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)


@pytest.fixture
def https_stitch(tmp_path: Path, monkeypatch):
    """The fake Stitch over TLS, with a certificate for 127.0.0.1 that the client trusts through SSL_CERT_FILE."""
    cert, key = tmp_path / "stitch.crt", tmp_path / "stitch.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with StitchServer(FakeStitch(), tls=(cert, key)) as stitch:
        yield stitch


@pytest.fixture
def tunnel_proxy():
    proxy = TunnelProxy()
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_calls_go_through_the_https_proxy_with_its_credentials(https_stitch, tunnel_proxy, monkeypatch):
    host, port = tunnel_proxy.server_address
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxy-user:proxy-pw@{host}:{port}")
    api = client(https_stitch)
    assert api.create_destination("stitch-heroku-dev", PROPERTIES)["id"] == 110397
    assert tunnel_proxy.targets == [https_stitch.url.removeprefix("https://")], "one tunnel, to Stitch"
    assert tunnel_proxy.authorizations[0].startswith("Basic "), "the proxy's credentials go in Proxy-Authorization"
    assert https_stitch.requests[-1].authorization == f"Bearer {https_stitch.token}", "the token travels inside the tunnel"


def test_no_proxy_sends_the_calls_straight_to_stitch(https_stitch, tunnel_proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", tunnel_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client(https_stitch).list_destinations()
    assert tunnel_proxy.targets == [] and https_stitch.calls() == ["GET /v4/destinations"]


def test_a_dead_proxy_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxy-user:proxy-pw@127.0.0.1:{free_port()}")
    with pytest.raises(StitchApiError) as raised:
        StitchClient("tok", base_url="https://api.stitchdata.com", retries=0, timeout=2).list_destinations()
    message = str(raised.value)
    assert "could not reach https://api.stitchdata.com through the proxy http://127.0.0.1:" in message
    assert "proxy-pw" not in message and "HTTPS_PROXY" in message


# -- secrets ----------------------------------------------------------------------------------


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


# -- loads (list-last-loads-for-account.md) ---------------------------------------------------------


def add_loads(stitch, source: str, count: int) -> None:
    for n in range(count):
        stitch.add_load(source, f"stream_{n:04d}")


def loads_calls(stitch) -> list[str]:
    return [c for c in stitch.calls("GET") if "/loads" in c]


def test_loads_are_read_from_every_page_by_following_links_next(stitch_api):
    add_loads(stitch_api, "heroku_1", 250)
    listed = client(stitch_api).list_loads(CLIENT_ID)
    assert loads_calls(stitch_api) == [
        f"GET /v4/{CLIENT_ID}/loads",
        f"GET /v4/{CLIENT_ID}/loads?page=2",
        f"GET /v4/{CLIENT_ID}/loads?page=3",
    ]
    assert (listed.total, listed.pages, listed.complete) == (250, 3, True)
    assert sorted(load["stream_name"] for load in listed.loads) == [f"stream_{n:04d}" for n in range(250)]


def test_one_page_of_loads_is_one_request_with_empty_links(stitch_api):
    add_loads(stitch_api, "heroku_1", 100)  # "links ... will be empty if ... total < 101"
    listed = client(stitch_api).list_loads(CLIENT_ID)
    assert loads_calls(stitch_api) == [f"GET /v4/{CLIENT_ID}/loads"] and listed.pages == 1 and len(listed.loads) == 100


def test_a_load_that_shifts_to_the_next_page_while_paging_is_kept_once(stitch_api):
    add_loads(stitch_api, "heroku_1", 150)

    def insert_first(stitch) -> None:  # a new stream sorted first pushes page 1's last load onto page 2
        stitch.loads.append({**stitch.loads[0], "stream_name": "aaa_new"})
        stitch.between_pages = None

    stitch_api.between_pages = insert_first
    listed = client(stitch_api).list_loads(CLIENT_ID)
    names = [load["stream_name"] for load in listed.loads]
    assert len(names) == len(set(names)) == 150, "stream_0099 came on both pages and is kept once"


def test_loads_of_another_account_are_a_401_that_names_the_token_fix(stitch_api):
    with pytest.raises(StitchApiError, match=r"GET /v4/999/loads got 401 Unauthorized.*Fix: set a valid Connect API token"):
        client(stitch_api).list_loads(999)


def test_the_jobs_rate_limit_is_asked_once_more_after_retry_after_then_given_up_with_its_fix(stitch_api):
    add_loads(stitch_api, "heroku_1", 50)
    slept: list[float] = []
    stitch_api.jobs_limit = 2
    stitch_api.rate_limit_retry_after = "7"
    stitch_client = client(stitch_api, sleep=slept.append)
    stitch_client.list_loads(CLIENT_ID)
    stitch_client.list_loads(CLIENT_ID)
    with pytest.raises(StitchApiError) as raised:
        stitch_client.list_loads(CLIENT_ID)
    assert raised.value.status == 429 and "30 requests to its jobs endpoints" in str(raised.value), str(raised.value)
    assert slept == [7.0], "one wait of Stitch's Retry-After, then one more ask"
    assert len(loads_calls(stitch_api)) == 4, "two reads, then the refused one asked twice: never a loop"


def test_a_429_without_retry_after_or_with_a_long_one_is_not_asked_again(stitch_api):
    stitch_api.jobs_limit = 0
    slept: list[float] = []
    for retry_after in (None, "600"):
        stitch_api.rate_limit_retry_after = retry_after
        with pytest.raises(StitchApiError, match="got 429"):
            client(stitch_api, sleep=slept.append).list_loads(CLIENT_ID)
    assert slept == [] and len(loads_calls(stitch_api)) == 2, "an immediate retry would only spend the jobs budget again"


def test_the_double_counts_jobs_requests_in_a_ten_minute_window(stitch_api):
    now = [0.0]
    stitch_api.jobs_clock = lambda: now[0]
    stitch_client = client(stitch_api)
    for _ in range(30):
        stitch_client.list_loads(CLIENT_ID)
    with pytest.raises(StitchApiError, match="got 429"):
        stitch_client.list_loads(CLIENT_ID)
    now[0] = 601.0
    assert stitch_client.list_loads(CLIENT_ID).pages == 1, "the window has passed"


def test_a_next_link_that_leaves_the_api_is_not_followed_and_the_list_is_partial(stitch_api):
    stitch_api.fail(
        "GET", f"/v4/{CLIENT_ID}/loads", 200, body={"data": [], "page": 1, "total": 300, "links": {"next": "https://evil.example/v4/1/loads?page=2"}},
        after_effect=True,
    )  # fmt: skip
    listed = client(stitch_api).list_loads(CLIENT_ID)
    assert listed.complete is False and listed.pages == 1 and len(loads_calls(stitch_api)) == 1


def test_a_next_link_back_to_a_page_already_read_or_past_the_page_limit_stops_the_walk(stitch_api):
    looping = {"data": [], "page": 1, "total": 300, "links": {"next": f"/v4/{CLIENT_ID}/loads"}}
    stitch_api.fail("GET", f"/v4/{CLIENT_ID}/loads", 200, body=looping, after_effect=True, times=99)
    assert client(stitch_api).list_loads(CLIENT_ID).complete is False
    assert len(loads_calls(stitch_api)) == 1, "a link back to a page already read is not followed"
    add_loads(stitch_api, "heroku_1", 450)
    stitch_api.failures.clear()
    listed = client(stitch_api).list_loads(CLIENT_ID, max_pages=2)
    assert (listed.pages, listed.complete, len(listed.loads)) == (2, False, 200)
