"""Fix texts in the caller's terms (issue 26): a dedicated role's refused password is raised with
stitch_password_version, never by setting a URL the stack does not hold for it."""

from __future__ import annotations

from dataclasses import replace

from stitch_heroku.checks import verify
from stitch_heroku.connection import parse_database_url


def test_a_dedicated_roles_refused_password_is_fixed_by_raising_its_version(ssl_server):
    settings = parse_database_url(ssl_server.granted_url)
    wrong = replace(settings, password="not-the-password")
    report = verify(wrong, source="url", credential="dedicated")
    (connect,) = [check for check in report.checks if check.name == "connect"]
    assert connect.status == "fail"
    assert "raise stitch_password_version by one" in connect.fix and "stitchPasswordVersion" in connect.fix, connect.fix
    assert "config set --secret database_url" not in connect.fix
    assert "stitch-heroku reconcile --stack <stack>" in connect.fix, "pulumi up with its equivalent without the language host"


def test_a_url_of_the_users_own_refused_is_still_set_again(ssl_server):
    settings = parse_database_url(ssl_server.granted_url)
    wrong = replace(settings, password="not-the-password")
    (connect,) = [check for check in verify(wrong, source="url").checks if check.name == "connect"]
    assert "pulumi config set --secret database_url" in connect.fix and "stitch_password_version" not in connect.fix
