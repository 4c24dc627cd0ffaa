"""Managing practitioner accounts: the `practitioner` commands (list, set-password, disable,
enable, end-sessions), passwords checked for strength, a practitioner changing their own
password in the console, and expired console sessions purged."""

from __future__ import annotations

import re

import pytest

from pwa import create_app
from pwa.clinic import accounts

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

EMAIL, PASSWORD = "dr.noor@harbour-skin.co.uk", "a long practitioner passphrase"
NEW_PASSWORD = "quiet lantern over the meadow"


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def app(stores):
    app = create_app({"TESTING": True, **stores})
    clinic = app.extensions["clinic"]
    clinic.add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    return app


def log_in(client, password=PASSWORD):
    return log_in_as(client, EMAIL, password)


def log_in_as(client, email: str, password: str):
    """Sign in at the console's form, as a browser would."""
    page = client.get("/console/login").text
    return client.post(
        "/console/login", data={"csrf_token": token(page), "email": email, "password": password}
    )


def signed_in(client) -> bool:
    return client.get("/console/").status_code == 200


def cli(app, *args, password=None):
    env = {"PWA_PASSWORD": password} if password is not None else {}
    return app.test_cli_runner().invoke(args=["practitioner", *args], env=env)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("password1234", "too easy to guess"),
        (EMAIL, "must not be your e-mail address"),
        ("short", "at least 12 characters"),
    ],
)
def test_a_weak_password_is_refused_with_why(app, password, message):
    with pytest.raises(accounts.AccountError, match=message):
        accounts.check_new_password(password, EMAIL)
    made = cli(app, "set-password", EMAIL, password=password)
    assert made.exit_code != 0 and message in made.output
    assert log_in(app.test_client()).status_code == 302, "the old password still works"


def test_set_password_from_the_command_line_ends_every_session(app):
    browser = app.test_client()
    assert log_in(browser).status_code == 302 and signed_in(browser)
    made = cli(app, "set-password", EMAIL, password=NEW_PASSWORD)
    assert made.exit_code == 0, made.output
    assert not signed_in(browser)
    assert log_in(app.test_client()).status_code == 401
    assert log_in(app.test_client(), NEW_PASSWORD).status_code == 302


def test_disable_signs_out_and_refuses_like_a_wrong_password_until_enabled(app):
    browser = app.test_client()
    assert log_in(browser).status_code == 302
    assert cli(app, "disable", EMAIL).exit_code == 0
    assert not signed_in(browser)
    refused = log_in(app.test_client())
    assert refused.status_code == 401 and "Wrong e-mail or password." in refused.text
    assert "[disabled]" in cli(app, "list").output
    assert cli(app, "enable", EMAIL).exit_code == 0
    assert log_in(app.test_client()).status_code == 302


def test_end_sessions_signs_out_every_browser_and_list_counts_them(app):
    first, second = app.test_client(), app.test_client()
    assert log_in(first).status_code == 302 and log_in(second).status_code == 302
    listed = cli(app, "list").output
    assert re.search(rf"{re.escape(EMAIL)}\s.*2 signed in", listed), listed
    ended = cli(app, "end-sessions", EMAIL)
    assert ended.exit_code == 0 and "Ended 2 console sessions" in ended.output
    assert not signed_in(first) and not signed_in(second)


def test_unknown_accounts_are_named_in_the_error(app):
    for command in ("set-password", "disable", "enable", "end-sessions", "reset-two-step"):
        made = cli(app, command, "nobody@harbour-skin.co.uk", password=NEW_PASSWORD)
        assert made.exit_code != 0
        assert "no account for nobody@harbour-skin.co.uk" in made.output


def change(client, current, new, again=None):
    page = client.get("/console/account/password").text
    return client.post(
        "/console/account/password",
        data={"csrf_token": token(page), "current": current, "new": new, "again": again or new},
    )


def test_changing_your_own_password_needs_the_current_one_and_ends_other_sessions(app):
    here, elsewhere = app.test_client(), app.test_client()
    assert log_in(here).status_code == 302 and log_in(elsewhere).status_code == 302
    wrong = change(here, "not my password at all", NEW_PASSWORD)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    mismatch = change(here, PASSWORD, NEW_PASSWORD, again="quiet lantern over the sea")
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    weak = change(here, PASSWORD, "password1234")
    assert weak.status_code == 400 and "Too easy to guess" in weak.text
    assert signed_in(elsewhere), "a refused change ends nothing"

    done = change(here, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 200 and "Your password is changed" in done.text
    assert signed_in(here) and not signed_in(elsewhere)
    assert log_in(app.test_client(), NEW_PASSWORD).status_code == 302


def test_expired_console_sessions_are_purged_at_the_next_login(app):
    clinic = app.extensions["clinic"]
    account = clinic.find_practitioner(EMAIL)
    clinic.start_console_session("old-session-hash", account["id"], "csrf", 0)
    assert log_in(app.test_client()).status_code == 302
    assert clinic.console_session("old-session-hash") is None
