"""The Stitch destination dynamic provider, run as `pulumi up` and `pulumi refresh` would, against
the loopback Stitch API; its connection checks connect to the real PostgreSQL server, as Stitch does."""

from __future__ import annotations

import logging

import pytest
from psycopg import sql

from components.connection import parse_database_url
from components.stitch_destination import StitchDestinationError, StitchDestinationProvider
from tests.fake_stitch import LIMIT_MESSAGE, connects_for_real


def props(stitch, url: str, **overrides):
    """The provider's inputs, as the program builds them from a database URL."""
    return {
        "access_token": stitch.token,
        "api_url": stitch.url,
        "name": "stitch-heroku-dev",
        "properties": parse_database_url(url).stitch_destination()["properties"],
        "adopt_id": "",
        "keep_on_delete": False,
        "check_timeout": 10,
        "poll_seconds": 0.01,
        "connect_timeout": 5,
        "destination_id": None,
        "connection_check": None,
        "report_card_step": None,
    } | overrides


@pytest.fixture
def stitch(stitch_api):
    stitch_api.check_outcome = connects_for_real
    return stitch_api


def test_create_registers_the_destination_and_waits_for_its_check(stitch, ssl_server):
    result = StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
    assert result.id == "110397"
    assert (result.outs["destination_id"], result.outs["connection_check"], result.outs["report_card_step"]) == (
        "110397",
        "succeeded",
        "fully_configured",
    )
    stored = stitch.destinations[110397]
    assert stored["properties"]["username"] == "granted_loader" and stored["properties"]["ssl"] == "true"
    assert stitch.calls()[:3] == ["GET /v4/destination-types/postgres", "GET /v4/destinations", "POST /v4/destinations"]
    assert "GET /v4/destinations/110397/last-connection-check" in stitch.calls()


def test_a_failed_check_shows_stitchs_error_and_our_report_and_leaves_nothing_behind(stitch, ssl_server):
    wrong = ssl_server.granted_url.replace("granted-pw", "not-the-pw")
    with pytest.raises(StitchDestinationError) as raised:
        StitchDestinationProvider().create(props(stitch, wrong))
    message = str(raised.value)
    assert "Stitch's connection check of destination 110397 failed:" in message
    assert 'password authentication failed for user "granted_loader"' in message
    assert "Our own checks of the same settings" in message and "NOT READY" in message
    assert "was removed again" in message
    assert not stitch.destinations, "a destination Pulumi does not record must not stay in Stitch"
    assert "not-the-pw" not in message


def test_a_check_still_running_at_the_bound_fails_and_cleans_up(stitch_api, ssl_server):
    stitch_api.running_polls = 10**6
    with pytest.raises(StitchDestinationError, match=r"was still running after 0.1 s: raise stitch_check_timeout"):
        StitchDestinationProvider().create(props(stitch_api, ssl_server.granted_url, check_timeout=0.1))
    assert not stitch_api.destinations


def test_a_destination_of_the_same_name_is_adopted_by_id_not_duplicated(stitch, ssl_server):
    existing = stitch.add_destination("stitch-heroku-dev", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(StitchDestinationError, match=f"pulumi config set stitch_destination_id {existing}"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
    assert stitch.calls("POST") == [] and len(stitch.destinations) == 1


def test_the_destination_limit_names_the_way_out(stitch, ssl_server):
    stitch.limit = 1
    stitch.add_destination("made-by-hand", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(Exception, match=LIMIT_MESSAGE) as raised:
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
    assert "pulumi config set stitch_destination_id <id>" in str(raised.value)
    assert list(stitch.destinations) == [110397]


def test_adopting_by_id_puts_our_settings_on_the_existing_destination(stitch, ssl_server):
    existing = stitch.add_destination("made-by-hand", props(stitch, ssl_server.owner_url)["properties"])
    result = StitchDestinationProvider().create(props(stitch, ssl_server.granted_url, adopt_id=str(existing)))
    assert result.id == str(existing) and result.outs["connection_check"] == "succeeded"
    assert stitch.calls("POST") == [] and stitch.calls("PUT") == [f"PUT /v4/destinations/{existing}"]
    assert stitch.destinations[existing]["properties"]["username"] == "granted_loader"
    assert stitch.destinations[existing]["name"] == "stitch-heroku-dev"


def test_adopting_an_unknown_id_lists_the_ids_there_are(stitch, ssl_server):
    existing = stitch.add_destination("made-by-hand", props(stitch, ssl_server.owner_url)["properties"])
    with pytest.raises(StitchDestinationError, match=rf"stitch_destination_id 999: this Stitch account has no such .*{existing}"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url, adopt_id="999"))


def test_adopting_another_type_of_destination_is_refused(stitch, ssl_server):
    snowflake = stitch.add_destination("warehouse", {"host": "acme.snowflakecomputing.com"}, type_="snowflake")
    with pytest.raises(StitchDestinationError, match="is a 'snowflake' destination, not 'postgres'"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url, adopt_id=str(snowflake)))
    assert stitch.calls("PUT") == []


def test_a_form_field_stitch_now_requires_stops_before_anything_is_created(stitch, ssl_server):
    stitch.report_card_required = (*stitch.report_card_required, "sslrootcert")
    with pytest.raises(StitchDestinationError, match="now requires sslrootcert, which stitch-heroku does not set"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
    assert stitch.calls("POST") == []


def test_rotated_credentials_reach_stitch_on_the_next_up(stitch, ssl_server):
    ssl_server.cluster.create_role("rotating_loader", "before-rotation")
    with ssl_server.cluster.superuser("stitch") as conn:
        conn.execute("GRANT CREATE ON DATABASE stitch TO rotating_loader")
    provider = StitchDestinationProvider()
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
    assert stitch.destinations[110397]["properties"]["password"] == "after-rotation"
    assert outs["connection_check"] == "succeeded" and outs["destination_id"] == "110397"


def test_nothing_changed_means_no_change_and_no_call(stitch, ssl_server):
    provider = StitchDestinationProvider()
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url)).changes is False
    calls = len(stitch.requests)
    outs = provider.update("110397", olds, props(stitch, ssl_server.granted_url, check_timeout=60)).outs
    assert len(stitch.requests) == calls, "a setting only we hold changes the state, not Stitch"
    assert outs["check_timeout"] == 60 and outs["destination_id"] == "110397"


def test_refresh_sees_an_edit_made_in_stitchs_ui_and_up_puts_it_back(stitch, ssl_server):
    provider = StitchDestinationProvider()
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    stitch.destinations[110397]["properties"] |= {"host": "typo.example.com", "port": 6543}

    read = provider.read("110397", olds)
    assert read.id == "110397"
    assert read.outs["properties"]["host"] == "typo.example.com" and read.outs["properties"]["port"] == "6543"
    assert read.outs["properties"]["password"] == "granted-pw", "Stitch never shows the password; the state keeps ours"
    assert provider.diff("110397", read.outs, wanted).changes is True
    provider.update("110397", read.outs, wanted)
    assert stitch.destinations[110397]["properties"]["host"] == "127.0.0.1"


def test_refresh_sees_a_destination_deleted_in_stitch(stitch, ssl_server):
    provider = StitchDestinationProvider()
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    del stitch.destinations[110397]
    assert provider.read("110397", olds).id == "", "an empty id tells Pulumi the resource is gone"


def test_refresh_sees_a_check_that_failed_since_and_up_tries_again(stitch, ssl_server):
    provider = StitchDestinationProvider()
    wanted = props(stitch, ssl_server.granted_url)
    olds = provider.create(wanted).outs
    stitch.destinations[110397]["check"]["outcome"] = ("failed", "could not connect to server")
    read = provider.read("110397", olds)
    assert read.outs["connection_check"] == "failed"
    assert provider.diff("110397", read.outs, wanted).changes is True
    assert provider.update("110397", read.outs, wanted).outs["connection_check"] == "succeeded"
    assert stitch.calls("PUT") == ["PUT /v4/destinations/110397"]


def test_a_failed_update_keeps_the_old_state_so_the_next_up_tries_again(stitch, ssl_server):
    provider = StitchDestinationProvider()
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    wrong = props(stitch, ssl_server.granted_url.replace("granted-pw", "stale"))
    with pytest.raises(StitchDestinationError, match="the stack keeps the old state, so the next pulumi up tries again"):
        provider.update("110397", olds, wrong)


def test_delete_removes_the_destination_unless_kept(stitch, ssl_server):
    provider = StitchDestinationProvider()
    outs = provider.create(props(stitch, ssl_server.granted_url)).outs
    provider.delete("110397", outs | {"keep_on_delete": True})
    assert 110397 in stitch.destinations and stitch.calls("DELETE") == []
    provider.delete("110397", outs)
    assert not stitch.destinations
    provider.delete("110397", outs)  # gone already: nothing to do, no error


def test_adopting_another_id_replaces_but_adopting_our_own_does_not(stitch, ssl_server):
    provider = StitchDestinationProvider()
    olds = provider.create(props(stitch, ssl_server.granted_url)).outs
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url, adopt_id="110397")).replaces == []
    assert provider.diff("110397", olds, props(stitch, ssl_server.granted_url, adopt_id="555")).replaces == ["adopt_id"]


def test_no_token_or_password_in_logs_or_errors_through_a_whole_life(stitch, ssl_server, caplog):
    caplog.set_level(logging.DEBUG)
    provider = StitchDestinationProvider()
    outs = provider.create(props(stitch, ssl_server.granted_url)).outs
    provider.read("110397", outs)
    errors = []
    for broken in (
        props(stitch, ssl_server.granted_url.replace("granted-pw", "stale-pw")),
        props(stitch, ssl_server.granted_url, access_token="bad-tok"),
    ):
        with pytest.raises(Exception) as raised:
            provider.update("110397", outs, broken | {"name": "renamed"})
        errors.append(str(raised.value))
    provider.delete("110397", outs)
    assert "PUT /v4/destinations/110397 -> 200" in caplog.text
    for secret in ("granted-pw", "stale-pw", stitch.token, "bad-tok"):
        assert secret not in caplog.text, f"{secret!r} reached a log line"
        assert all(secret not in error for error in errors), f"{secret!r} reached an error"


def test_an_api_error_while_waiting_removes_the_new_destination_or_says_where_it_is(stitch, ssl_server):
    check_path = "/v4/destinations/110397/last-connection-check"
    stitch.fail("GET", check_path, 403, "Forbidden")
    with pytest.raises(StitchDestinationError, match=r"got 403 Forbidden: Forbidden(.|\n)*Destination 110397 was removed again"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
    assert not stitch.destinations

    stitch.fail("GET", "/v4/destinations/110398/last-connection-check", 403, "Forbidden")
    stitch.fail("DELETE", "/v4/destinations/110398", 403, "Forbidden")
    with pytest.raises(StitchDestinationError, match="adopt it with pulumi config set stitch_destination_id 110398"):
        StitchDestinationProvider().create(props(stitch, ssl_server.granted_url))
