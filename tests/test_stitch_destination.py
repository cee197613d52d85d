"""The Stitch destination dynamic provider, run as `pulumi up` and `pulumi refresh` would, against
the loopback Stitch API; its connection checks connect to the real PostgreSQL server, as Stitch does."""

from __future__ import annotations

import logging

import pytest
from psycopg import sql
from stitch_heroku.connection import parse_database_url
from stitch_heroku.stitch_api import StitchApiError
from stitch_heroku.stitch_destination import StitchDestinationError, StitchDestinationProvider, client_for

from tests.doubles.fake_stitch import LIMIT_MESSAGE, connects_for_real
from tests.support.provider_config import configured

CHECK_PATH = "/v4/destinations/110397/last-connection-check"


def props(stitch, url: str, **overrides):
    """The provider's inputs, as the program builds them from a database URL."""
    return {
        "api_url": stitch.url,
        "name": "stitch-heroku-dev",
        "properties": parse_database_url(url).stitch_properties(),
        "adopt_id": "",
        "keep_on_delete": False,
        "map_unmapped_sources": False,
        "check_timeout": 10,
        "poll_seconds": 0.01,
        "connect_timeout": 5,
        "destination_id": None,
        "connection_check": None,
        "report_card_step": None,
    } | overrides


def destination_provider(token: str) -> StitchDestinationProvider:
    """The provider as the provider host configures it, with the run's stitch:accessToken."""
    return configured(StitchDestinationProvider(), {"stitch:accessToken": token})


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stitch(stitch_api):
    stitch_api.check_outcome = connects_for_real
    return stitch_api


# -- create -----------------------------------------------------------------------------------


def test_create_registers_the_destination_and_waits_for_its_report_card(stitch, ssl_server):
    result = destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert result.id == "110397"
    assert (result.outs["destination_id"], result.outs["connection_check"], result.outs["report_card_step"]) == (
        "110397",
        "succeeded",
        "fully_configured",
    )
    stored = stitch.destinations[110397]
    assert stored["properties"]["username"] == "granted_loader" and stored["properties"]["ssl"] is True
    assert result.outs["properties"]["ssl"] == "true", "the state keeps our strings; the form's boolean is only sent"
    calls = stitch.calls()
    assert calls[:3] == ["GET /v4/destination-types/postgres", "GET /v4/destinations", "POST /v4/destinations"]
    assert calls.count(f"GET {CHECK_PATH}") == 1, "the unpublished check endpoint is asked once, and its 404 is no verdict"
    assert stitch.calls("DELETE") == [], "a 404 from the check endpoint never deletes the new destination"
    assert calls[-1] == "GET /v4/destinations" and stitch.destinations[110397]["configured"]


def test_the_post_leaves_the_accounts_other_sources_alone(stitch, ssl_server):
    stitch.sources = {501: None, 502: 777}
    destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    post = next(r for r in stitch.requests if r.method == "POST")
    assert set(post.body) == {"type", "name", "properties", "ignore_unmapped_sources"}
    assert post.body["ignore_unmapped_sources"] is True and stitch.mapped_to(110397) == []


def test_the_rare_user_who_wants_the_mapping_gets_it(stitch, ssl_server):
    stitch.sources = {501: None, 502: 777}
    destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, map_unmapped_sources=True))
    assert stitch.mapped_to(110397) == [501], "only the unmapped source; 502 stays with its destination"


def test_ssl_goes_as_the_string_the_form_asks_for_when_it_asks_for_one(stitch, ssl_server):
    stitch.ssl_schema = "string"
    destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert next(r for r in stitch.requests if r.method == "POST").body["properties"]["ssl"] == "true"


def test_a_failed_check_shows_stitchs_error_and_our_report_and_leaves_nothing_behind(stitch, ssl_server):
    stitch.check_endpoint = True
    wrong = ssl_server.granted_url.replace("granted-pw", "not-the-pw")
    with pytest.raises(StitchDestinationError) as raised:
        destination_provider(stitch.token).create(props(stitch, wrong))
    message = str(raised.value)
    assert "Stitch's connection check of destination 110397 failed:" in message
    assert 'password authentication failed for user "granted_loader"' in message
    assert "Our own checks of the same settings" in message and "NOT READY" in message
    assert "was removed again" in message
    assert not stitch.destinations, "a destination Pulumi does not record must not stay in Stitch"
    assert "not-the-pw" not in message


def test_without_the_check_endpoint_a_card_stuck_at_the_form_fails_and_cleans_up(stitch, ssl_server):
    wrong = ssl_server.granted_url.replace("granted-pw", "not-the-pw")
    with pytest.raises(StitchDestinationError) as raised:
        destination_provider(stitch.token).create(props(stitch, wrong, check_timeout=0.3))
    message = str(raised.value)
    assert "report card for destination 110397 is at step 'form', not 'fully_configured', after 0.3 s" in message
    assert "raise stitch_check_timeout" in message and "NOT READY" in message and "was removed again" in message
    assert not stitch.destinations


def test_a_plan_without_access_stops_before_anything_is_created(stitch, ssl_server):
    stitch.access = False
    with pytest.raises(StitchDestinationError) as raised:
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    message = str(raised.value)
    assert "Stitch will not let this account create a postgres destination" in message and "details.access is False" in message
    assert "free trial and the Advanced and Premium plans (Standard has none)" in message
    assert stitch.calls() == ["GET /v4/destination-types/postgres"]


def test_a_destination_of_the_same_name_is_adopted_by_id_not_duplicated(stitch, ssl_server):
    existing = stitch.add_destination("stitch-heroku-dev", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(StitchDestinationError, match=f"pulumi config set stitch_destination_id {existing}"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert stitch.calls("POST") == [] and len(stitch.destinations) == 1


def test_the_destination_limit_names_the_way_out(stitch, ssl_server):
    stitch.limit = 1
    stitch.add_destination("made-by-hand", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(Exception, match=LIMIT_MESSAGE) as raised:
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert "pulumi config set stitch_destination_id <id>" in str(raised.value) and "5 on Premium" in str(raised.value)
    assert list(stitch.destinations) == [110397]


def test_a_form_field_stitch_now_requires_stops_before_anything_is_created(stitch, ssl_server):
    stitch.report_card_required = (*stitch.report_card_required, "sslrootcert")
    with pytest.raises(StitchDestinationError, match="now requires sslrootcert, which stitch-heroku does not set"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert stitch.calls("POST") == []


# -- adopt ------------------------------------------------------------------------------------


def test_adopting_by_id_puts_our_properties_on_the_existing_destination(stitch, ssl_server):
    existing = stitch.add_destination("stitch-heroku-dev", props(stitch, ssl_server.owner_url)["properties"])
    result = destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, adopt_id=str(existing)))
    assert result.id == str(existing) and result.outs["connection_check"] == "succeeded"
    assert stitch.calls("POST") == [] and stitch.calls("PUT") == [f"PUT /v4/destinations/{existing}"]
    assert set(next(r for r in stitch.requests if r.method == "PUT").body) == {"properties"}
    assert stitch.destinations[existing]["properties"]["username"] == "granted_loader"


def test_adopting_a_destination_of_another_name_asks_for_that_name_first(stitch, ssl_server):
    existing = stitch.add_destination("Default Warehouse", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(StitchDestinationError) as raised:
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, adopt_id=str(existing)))
    assert "is named 'Default Warehouse' in Stitch" in str(raised.value)
    assert "pulumi config set stitch_destination_name 'Default Warehouse'" in str(raised.value)
    assert stitch.calls("PUT") == []


def test_adopting_an_unknown_id_lists_the_ids_there_are(stitch, ssl_server):
    existing = stitch.add_destination("made-by-hand", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(StitchDestinationError, match=rf"stitch_destination_id 999: this Stitch account has no such .*{existing}"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, adopt_id="999"))


def test_adopting_another_type_of_destination_is_refused(stitch, ssl_server):
    snowflake = stitch.add_destination("warehouse", {"host": "acme.snowflakecomputing.com"}, type_="snowflake")
    with pytest.raises(StitchDestinationError, match="is a 'snowflake' destination, not 'postgres'"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, adopt_id=str(snowflake)))
    assert stitch.calls("PUT") == []


def test_adopting_another_id_replaces_but_adopting_our_own_does_not(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url, adopt_id="110397")).replaces == []
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url, adopt_id="555")).replaces == ["adopt_id"]


# -- update -----------------------------------------------------------------------------------


def test_rotated_credentials_reach_stitch_on_the_next_up(stitch, ssl_server):
    ssl_server.cluster.create_role("rotating_loader", "before-rotation")
    with ssl_server.cluster.superuser("stitch") as conn:
        conn.execute("GRANT CREATE ON DATABASE stitch TO rotating_loader")
    provider = destination_provider(stitch.token)
    before = ssl_server.cluster.url("rotating_loader", "before-rotation", "stitch")
    olds = provider.create(props(stitch, before)).outs

    # Heroku rotates the credential during maintenance: the old password stops working.
    with ssl_server.cluster.superuser() as conn:
        conn.execute(sql.SQL("ALTER ROLE rotating_loader PASSWORD {}").format(sql.Literal("after-rotation")))
    after = props(stitch, ssl_server.cluster.url("rotating_loader", "after-rotation", "stitch"))

    diff = provider.diff("110397", olds, after)
    assert diff.changes is True and diff.replaces == [], "a new password is an update in place, never a new destination"
    outs = provider.update("110397", olds, after).outs
    assert stitch.calls("PUT") == ["PUT /v4/destinations/110397"] and stitch.calls("POST") == ["POST /v4/destinations"]
    put = next(r for r in stitch.requests if r.method == "PUT")
    assert set(put.body) == {"properties"} and put.body["properties"]["password"] == "after-rotation"
    assert stitch.destinations[110397]["properties"]["password"] == "after-rotation"
    assert outs["connection_check"] == "succeeded" and outs["destination_id"] == "110397"


def test_a_put_whose_card_never_moves_is_unconfirmed_not_succeeded(stitch, ssl_server):
    stitch.card_resets_on_update = False
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    news = props(stitch, ssl_server.owner_url, check_timeout=0.3)
    outs = provider.update("110397", olds, news).outs
    assert (outs["connection_check"], outs["report_card_step"]) == ("unconfirmed", "fully_configured")
    assert provider.diff("110397", outs, news).changes is False, "unconfirmed is not worth another PUT"


def test_nothing_changed_means_no_change_and_no_call(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url)).changes is False
    calls = len(stitch.requests)
    outs = provider.update("110397", olds, props(stitch, ssl_server.granted_url, check_timeout=60, map_unmapped_sources=True)).outs
    assert len(stitch.requests) == calls, "a setting only we hold changes the state, not Stitch"
    assert outs["check_timeout"] == 60 and outs["destination_id"] == "110397"


def test_a_new_name_is_refused_in_the_preview_with_the_way_out(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    calls = len(stitch.requests)
    renamed = props(stitch, ssl_server.granted_url, name="stitch-heroku-renamed")
    for step in (lambda: provider.diff("110397", olds, renamed), lambda: provider.update("110397", olds, renamed)):
        with pytest.raises(StitchDestinationError) as raised:
            step()
        message = str(raised.value)
        assert "Stitch's Connect API cannot rename a destination" in message
        assert "rename it in Stitch's UI to 'stitch-heroku-renamed' and run pulumi refresh" in message
        assert "set stitch_destination_name back to 'stitch-heroku-dev'" in message
    assert len(stitch.requests) == calls, "nothing was sent"


@pytest.mark.parametrize("soft", [False, True])
def test_a_put_to_a_destination_deleted_in_stitch_stops_and_names_the_decision(stitch, ssl_server, soft):
    stitch.soft_delete = soft
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    stitch.delete_in_ui(110397)
    rotated = props(stitch, ssl_server.granted_url.replace("granted-pw", "rotated"))
    refused = r"was deleted in Stitch\. stitch-heroku does not create a new one by itself"
    with pytest.raises(StitchDestinationError, match=refused) as raised:
        provider.update("110397", olds, rotated)
    assert "pulumi state delete" in str(raised.value) and "stitch_destination released" in str(raised.value)
    assert stitch.calls("PUT") == [] and stitch.calls("POST") == ["POST /v4/destinations"]


def test_a_failed_update_keeps_the_old_state_so_the_next_up_tries_again(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    wrong = props(stitch, ssl_server.granted_url.replace("granted-pw", "stale"), check_timeout=0.3)
    with pytest.raises(StitchDestinationError, match=r"the stack keeps the old state, so the next `pulumi up` .* tries again"):
        provider.update("110397", olds, wrong)


# -- refresh ----------------------------------------------------------------------------------


def test_refresh_sees_an_edit_made_in_stitchs_ui_and_up_puts_it_back(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    stitch.string_properties = False  # the older list example: numbers and booleans
    stitch.destinations[110397]["properties"] |= {"host": "typo.example.com", "port": 6543}

    read = provider.read("110397", olds)
    assert read.id == "110397"
    assert read.outs["properties"]["host"] == "typo.example.com" and read.outs["properties"]["port"] == "6543"
    assert read.outs["properties"]["ssl"] == "true", "a boolean ssl reads as our string"
    assert "status" not in read.outs["properties"], "Stitch's own status property is not ours"
    assert read.outs["properties"]["password"] == "granted-pw", "Stitch never shows the password; the state keeps ours"
    assert provider.diff("110397", read.outs, wanted).changes is True
    provider.update("110397", read.outs, wanted)
    assert stitch.destinations[110397]["properties"]["host"] == "127.0.0.1"


def test_refresh_with_stitchs_strings_and_status_sees_no_drift(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    wanted = props(stitch, ssl_server.granted_url)
    read = provider.read("110397", provider.create(wanted).outs)
    assert read.outs["properties"] == wanted["properties"] and read.outs["connection_check"] == "succeeded"
    assert provider.diff("110397", read.outs, wanted).changes is False


@pytest.mark.parametrize("soft", [False, True])
def test_refresh_sees_a_destination_deleted_in_stitch_and_the_next_up_stops_instead_of_creating_one(stitch, ssl_server, soft):
    stitch.soft_delete = soft  # listed with deleted_at (destination-object-v4.md), or not listed at all
    provider = destination_provider(stitch.token)
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    stitch.delete_in_ui(110397)
    read = provider.read("110397", olds)
    assert read.id == "110397" and read.outs["stitch_status"] == "deleted", "it stays in the state, marked deleted"
    with pytest.raises(StitchDestinationError, match="was deleted in Stitch"):
        provider.diff("110397", read.outs, wanted)
    released = provider.diff("110397", read.outs, {"released": True})
    assert released.changes, "releasing is one way out"
    assert stitch.calls("POST") == ["POST /v4/destinations"], "no new destination behind the user's back"


@pytest.mark.parametrize(("field", "status"), [("paused_at", "paused"), ("system_paused_at", "system_paused")])
def test_refresh_and_up_surface_a_paused_destination(stitch, ssl_server, caplog, field, status):
    provider = destination_provider(stitch.token)
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    assert olds["stitch_status"] == "active"
    stitch.pause(110397, by_system=field == "system_paused_at")
    with caplog.at_level(logging.WARNING):
        read = provider.read("110397", olds)
    assert read.outs["stitch_status"] == status and "is paused in Stitch" in caplog.text
    rotated = props(stitch, ssl_server.granted_url)  # same settings: a PUT after a failed check, say
    updated = provider.update("110397", {**read.outs, "connection_check": "failed"}, rotated).outs
    assert updated["stitch_status"] == status


@pytest.mark.parametrize(("endpoint", "seen"), [(False, "pending"), (True, "failed")])
def test_refresh_sees_a_check_that_failed_since_and_up_tries_again(stitch, ssl_server, endpoint, seen):
    provider = destination_provider(stitch.token)
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    stitch.check_endpoint = endpoint
    stitch.fail_check_now(110397, "could not connect to server")
    read = provider.read("110397", olds)
    assert (read.outs["connection_check"], read.outs["report_card_step"]) == (seen, "form")
    assert provider.diff("110397", read.outs, wanted).changes is True
    assert provider.update("110397", read.outs, wanted).outs["connection_check"] == "succeeded"
    assert stitch.calls("PUT") == ["PUT /v4/destinations/110397"]


# -- delete -----------------------------------------------------------------------------------


def test_delete_removes_the_destination_unless_kept(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    outs = provider.create(props(stitch, ssl_server.granted_url)).outs
    provider.delete("110397", outs | {"keep_on_delete": True})
    assert 110397 in stitch.destinations and stitch.calls("DELETE") == []
    provider.delete("110397", outs)
    assert not stitch.destinations


def test_destroying_a_destination_deleted_in_stitchs_ui_succeeds(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    outs = provider.create(props(stitch, ssl_server.granted_url)).outs
    del stitch.destinations[110397]
    provider.delete("110397", outs)  # Stitch's 400 "Unable to locate dest (110397) ..." means already gone
    assert stitch.calls("DELETE") == ["DELETE /v4/destinations/110397"]


# -- errors and secrets -----------------------------------------------------------------------


def test_no_token_or_password_in_logs_or_errors_through_a_whole_life(stitch, ssl_server, caplog):
    caplog.set_level(logging.DEBUG)
    stitch.check_endpoint = True
    provider = destination_provider(stitch.token)
    outs = provider.create(props(stitch, ssl_server.granted_url)).outs
    provider.read("110397", outs)
    errors = []
    for updating, broken in (
        (provider, props(stitch, ssl_server.granted_url.replace("granted-pw", "stale-pw"))),
        (destination_provider("bad-tok"), props(stitch, ssl_server.granted_url.replace("granted-pw", "other-pw"))),
        (provider, props(stitch, ssl_server.granted_url.replace("granted-pw", "renamed-pw"), name="renamed")),
    ):
        with pytest.raises(Exception) as raised:
            updating.update("110397", outs, broken)
        errors.append(str(raised.value))
    provider.delete("110397", outs)
    assert "PUT /v4/destinations/110397 -> 200" in caplog.text
    assert "got 401 Unauthorized" in errors[1] and "cannot rename" in errors[2]
    for secret in ("granted-pw", "stale-pw", "other-pw", "renamed-pw", stitch.token, "bad-tok"):
        assert secret not in caplog.text, f"{secret!r} reached a log line"
        assert all(secret not in error for error in errors), f"{secret!r} reached an error"


def test_an_api_error_while_waiting_removes_the_new_destination_or_says_where_it_is(stitch, ssl_server):
    # The wait's first look at GET /v4/destinations fails (after the look for a twin has passed).
    stitch.fail("GET", "/v4/destinations", 403, "Forbidden", after=1)
    with pytest.raises(StitchDestinationError, match=r"got 403 Forbidden: Forbidden(.|\n)*Destination 110397 was removed again"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    assert not stitch.destinations

    stitch.fail("GET", "/v4/destinations", 403, "Forbidden", after=1)
    stitch.fail("DELETE", "/v4/destinations/110398", 403, "Forbidden")
    with pytest.raises(StitchDestinationError, match="adopt it: pulumi config set stitch_destination_id 110398"):
        destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))


def test_a_token_saved_by_an_earlier_version_is_dropped_by_an_update_that_sends_nothing(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    made = provider.create(props(stitch, ssl_server.granted_url))
    legacy = {**made.outs, "access_token": "a-token-saved-in-the-state"}
    news = props(stitch, ssl_server.granted_url)
    dropped = provider.diff(made.id, legacy, news)
    assert dropped.changes and dropped.replaces == [], "an update, never a replacement"
    writes = len(stitch.calls("PUT")) + len(stitch.calls("POST"))
    outs = provider.update(made.id, legacy, news).outs
    assert "access_token" not in outs and len(stitch.calls("PUT")) + len(stitch.calls("POST")) == writes


def test_refresh_after_the_token_is_rotated_uses_the_runs_token_not_the_states(stitch, ssl_server):
    made = destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    stale = {**made.outs, "access_token": stitch.token}  # as an earlier version kept it
    old, stitch.token = stitch.token, "rotated-connect-token"  # a new token; Stitch refuses the old one from now on
    read = destination_provider(stitch.token).read(made.id, stale)
    assert read.outs["stitch_status"] == "active" and "access_token" not in read.outs
    with pytest.raises(StitchApiError, match="401"):
        destination_provider(old).read(made.id, made.outs)


def test_mid_rotation_an_update_sends_nothing_and_a_create_registers_nothing(stitch, ssl_server):
    """hold: Heroku is rotating Stitch's credential under a temporary username (components.database_source)."""
    provider = destination_provider(stitch.token)
    made = provider.create(props(stitch, ssl_server.granted_url))
    temporary = props(stitch, ssl_server.granted_url.replace("granted-pw", "temporary-pw"), hold=True)
    assert not provider.diff(made.id, made.outs, temporary).changes, "a temporary username is no change"
    writes = [c for c in stitch.calls() if not c.startswith("GET ")]
    outs = provider.update(made.id, {**made.outs, "connection_check": "failed"}, temporary).outs
    assert outs["properties"] == made.outs["properties"], "the state keeps what Stitch has"
    assert [c for c in stitch.calls() if not c.startswith("GET ")] == writes
    with pytest.raises(StitchDestinationError, match="Heroku is rotating Stitch's credential"):
        provider.create(temporary | {"name": "another"})
    assert [c for c in stitch.calls() if not c.startswith("GET ")] == writes


def test_a_run_without_a_token_says_how_to_give_one(stitch, ssl_server, monkeypatch):
    monkeypatch.delenv("STITCH_ACCESS_TOKEN", raising=False)
    made = destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url))
    with pytest.raises(StitchDestinationError, match=r"no Stitch Connect API token .*pulumi config set --secret stitch:accessToken"):
        configured(StitchDestinationProvider(), {}).read(made.id, made.outs)


# -- released ---------------------------------------------------------------------------------


def test_a_released_destination_is_recorded_read_and_deleted_without_a_call_to_stitch(stitch, ssl_server):
    provider = destination_provider(stitch.token)
    made = provider.create(props(stitch, ssl_server.granted_url))
    released = {"released": True, "properties": None}
    assert provider.diff(made.id, made.outs, released).changes
    seen = len(stitch.requests)
    outs = provider.update(made.id, made.outs, released).outs
    assert outs["released"] is True and outs["destination_id"] == made.id
    assert provider.read(made.id, outs).outs == outs
    provider.delete(made.id, outs)
    assert stitch.requests[seen:] == [] and made.id.isdigit() and int(made.id) in stitch.destinations
    assert not provider.diff(made.id, outs, released).changes, "released twice is no change"
    record = provider.create(released)
    assert record.id == "released" and stitch.requests[seen:] == []
    assert provider.diff(record.id, record.outs, props(stitch, ssl_server.granted_url)).replaces == ["released"], (
        "managing one after a release recorded without a destination creates it; the record goes without a call"
    )


def test_the_stitch_destination_output_is_a_body_stitch_takes_as_it_is(stitch, ssl_server):
    body = parse_database_url(ssl_server.granted_url).stitch_destination("stitch-heroku-dev", ignore_unmapped_sources=True)
    status, _, answer = stitch.handle("POST", "/v4/destinations", f"Bearer {stitch.token}", body)
    assert status == 200 and answer["name"] == "stitch-heroku-dev", answer
    assert stitch.destinations[answer["id"]]["properties"]["ssl"] is True


def test_a_destination_created_fully_configured_with_no_newer_check_in_sight_is_unconfirmed(stitch, ssl_server, caplog):
    stitch.configured_on_post = True  # create-a-destination-v4.md's example answer
    with caplog.at_level(logging.WARNING):
        result = destination_provider(stitch.token).create(props(stitch, ssl_server.granted_url, check_timeout=0.3))
    assert result.outs["connection_check"] == "unconfirmed" and result.outs["report_card_step"] == "fully_configured"
    assert "no connection check newer than our change" in caplog.text


def test_after_the_state_forgets_a_soft_deleted_destination_up_creates_a_new_one(stitch, ssl_server):
    stitch.soft_delete = True
    provider = destination_provider(stitch.token)
    provider.create(props(stitch, ssl_server.granted_url))
    stitch.delete_in_ui(110397)
    listed = {d["id"]: d["deleted_at"] for d in client_for(props(stitch, ssl_server.granted_url), stitch.token).list_destinations()}
    assert listed == {110397: "2026-11-26T09:00:00Z"}, "soft delete: still listed, with deleted_at"
    again = provider.create(props(stitch, ssl_server.granted_url))
    assert again.id == "110398", "a destination listed as deleted is no twin of the new one"
