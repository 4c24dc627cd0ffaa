"""Console forms that explain themselves (issue 16): a refused submit shows its message
beside the field it is about, the field says it is invalid and is described by the
message, and the focus starts on it; a refusal about no one field sits at the top of its
form and takes the focus.  What the practitioner typed stays (but passwords)."""

from __future__ import annotations

import html
import re
import time

import pyotp
import pytest
from test_console_handoff import made_plan
from test_console_handoff import session_ids
from test_console_security import CSRF
from test_console_security import add_practitioner
from test_console_security import day
from test_console_security import form_token
from test_console_security import invalid_fields
from test_console_security import make_app
from test_console_security import plan_form
from test_console_security import signed_in

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

PASSWORD = "a long practitioner passphrase"


@pytest.fixture
def app(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=3)
    add_practitioner(app)
    return app


def message(page: str, message_id: str) -> str:
    """The text of the element with this id, which must be there exactly once."""
    assert page.count(f'id="{message_id}"') == 1, message_id
    found = re.search(rf'<p [^>]*id="{message_id}"[^>]*>(.*?)</p>', page, re.S)
    return html.unescape(found.group(1))


def focused_once(page: str) -> None:
    assert page.count(" autofocus") == 1, "one place takes the focus"


def test_a_refused_new_client_form_ties_the_message_to_its_field_and_keeps_the_rest(app):
    console = signed_in(app)
    token = form_token(console, "/console/clients/new")
    form = plan_form(nickname="Bea", next_session=day(-5))
    answer = console.post("/console/clients/new", data={"csrf_token": token, **form})
    assert answer.status_code == 400
    page = answer.text
    assert invalid_fields(page) == [("next-session", "next-session-error", True)]
    assert message(page, "next-session-error") == (
        "Next session: must come after the latest session"
    )
    focused_once(page)
    # The message sits just above its field, inside the field's block.
    block = re.search(r'<label for="next-session">.*?</div>', page, re.S).group(0)
    assert block.index('id="next-session-error"') < block.index('id="next-session"')
    assert 'value="Bea"' in page and f'value="{day(-2)}"' in page


def test_a_refusal_about_no_field_on_the_form_sits_at_its_top_and_takes_the_focus(app):
    console = signed_in(app)
    token = form_token(console, "/console/clients/new")
    form = plan_form(protocol="made-up")  # one protocol here: the form shows no choice
    page = console.post("/console/clients/new", data={"csrf_token": token, **form}).text
    assert invalid_fields(page) == []
    assert message(page, "new-client-error") == "Protocol: unknown protocol 'made-up'"
    assert re.search(r'id="new-client-error" role="alert" tabindex="-1" autofocus', page)
    focused_once(page)


def test_a_refused_session_edit_marks_that_session_s_field_and_keeps_what_was_typed(app):
    console = signed_in(app)
    plan_id, _ = made_plan(console)
    first, second = session_ids(app, plan_id)
    token = form_token(console, f"/console/clients/{plan_id}")
    far = day(-3 * 366 - 10)
    sent = {"csrf_token": token, "session": second, "day": far, "time": "09:15"}
    answer = console.post(f"/console/clients/{plan_id}/sessions", data=sent)
    assert answer.status_code == 400
    page = answer.text
    field = f"s-{second}-day"
    assert invalid_fields(page) == [(field, f"{field}-error", True)]
    assert message(page, f"{field}-error") == (
        "Date: must be within 3 years before and 2 years after today"
    )
    focused_once(page)
    assert f'id="{field}" name="day" required value="{far}"' in page
    assert 'value="09:15"' in page
    assert f'id="s-{first}-day" name="day" required value="{day(-2)}"' in page, (
        "others as they were"
    )

    future_done = {"csrf_token": token, "session": second, "day": day(26), "status": "done"}
    page = console.post(f"/console/clients/{plan_id}/sessions", data=future_done).text
    status = f"s-{second}-status"
    assert invalid_fields(page) == [(status, f"{status}-error", True)]
    assert message(page, f"{status}-error") == "Status: a session in the future cannot be done yet"


def test_a_refused_new_session_is_marked_on_the_add_form(app):
    console = signed_in(app)
    plan_id, _ = made_plan(console)
    token = form_token(console, f"/console/clients/{plan_id}")
    sent = {"csrf_token": token, "day": "not a date", "status": "planned"}
    page = console.post(f"/console/clients/{plan_id}/sessions", data=sent).text
    assert invalid_fields(page) == [("new-day", "new-day-error", True)]
    assert message(page, "new-day-error") == "Date: must be a date YYYY-MM-DD"


def test_a_refused_delete_marks_the_confirmation_field(app):
    console = signed_in(app)
    plan_id, _ = made_plan(console, nickname="Bea")
    token = form_token(console, f"/console/clients/{plan_id}")
    sent = {"csrf_token": token, "confirm": "bea"}
    answer = console.post(f"/console/clients/{plan_id}/delete", data=sent)
    assert answer.status_code == 400
    assert invalid_fields(answer.text) == [("confirm", "confirm-error", True)]
    assert message(answer.text, "confirm-error").startswith("Type the client's nickname exactly")
    focused_once(answer.text)
    assert app.extensions["plans"].plan_exists(plan_id)


@pytest.mark.parametrize(
    ("current", "new", "again", "fields", "text"),
    [
        ("not my password", "quiet lantern over the meadow", "quiet lantern over the meadow",
         [("current", "current-error", True)], "Your current password is wrong."),
        (PASSWORD, "quiet lantern over the meadow", "quiet lantern over the river",
         [("new", "new-error new-hint", True), ("again", "new-error", False)],
         "The two new passwords do not match."),
        (PASSWORD, "password1234", "password1234",
         [("new", "new-error new-hint", True)], "Too easy to guess"),
    ],
)  # fmt: skip
def test_a_refused_password_change_marks_the_field_at_fault(app, current, new, again, fields, text):
    console = signed_in(app)
    token = form_token(console, "/console/account/password")
    sent = {"csrf_token": token, "current": current, "new": new, "again": again}
    answer = console.post("/console/account/password", data=sent)
    assert answer.status_code == 400
    assert invalid_fields(answer.text) == fields
    assert message(answer.text, fields[0][1].split()[0]).startswith(text)
    focused_once(answer.text)
    assert new not in answer.text, "a password is never sent back"


def test_the_wait_after_wrong_passwords_sits_at_the_top_of_the_form(app):
    console = signed_in(app)
    for _ in range(3):
        token = form_token(console, "/console/account/password")
        sent = {"csrf_token": token, "current": "wrong", "new": "x", "again": "x"}
        console.post("/console/account/password", data=sent)
    token = form_token(console, "/console/account/password")
    sent = {"csrf_token": token, "current": PASSWORD, "new": "x", "again": "x"}
    page = console.post("/console/account/password", data=sent).text
    assert invalid_fields(page) == []
    assert message(page, "password-error").startswith("Too many wrong tries for this e-mail")
    focused_once(page)


def test_a_wrong_code_while_setting_up_two_step_marks_the_code(app):
    console = signed_in(app)
    page = console.get("/console/two-step").text
    started = console.post("/console/two-step/start", data={"csrf_token": CSRF.search(page)[1]})
    sent = {"csrf_token": CSRF.search(started.text)[1], "code": "000000"}
    answer = console.post("/console/two-step/confirm", data=sent)
    assert answer.status_code == 400
    assert invalid_fields(answer.text) == [("code", "code-error", True)]
    assert message(answer.text, "code-error") == "That code does not match. Try the next one."
    focused_once(answer.text)


def test_turning_two_step_off_with_a_wrong_code_marks_both_fields(app):
    console = signed_in(app)
    page = console.get("/console/two-step").text
    started = console.post("/console/two-step/start", data={"csrf_token": CSRF.search(page)[1]})
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", started.text).group(1)
    sent = {"csrf_token": CSRF.search(started.text)[1], "code": pyotp.TOTP(secret).now()}
    assert console.post("/console/two-step/confirm", data=sent).status_code == 302
    assert "Two-step sign-in is on" in console.get("/console/").text, "confirmed in one line"

    token = form_token(console, "/console/two-step")
    wrong = {"csrf_token": token, "password": PASSWORD, "code": "123456"}
    answer = console.post("/console/two-step/disable", data=wrong)
    assert answer.status_code == 400
    assert invalid_fields(answer.text) == [
        ("off-password", "off-password-error", True),
        ("code", "off-password-error", False),
    ]
    assert message(answer.text, "off-password-error").startswith("Wrong password, or a wrong")
    focused_once(answer.text)

    later = pyotp.TOTP(secret).at(time.time() + 30)
    right = {"csrf_token": token, "password": PASSWORD, "code": later}
    off = console.post("/console/two-step/disable", data=right)
    assert off.status_code == 302
    assert "Two-step sign-in is off." in console.get(off.headers["Location"]).text
