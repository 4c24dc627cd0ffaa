""" "Ready for your session?": answers sync as ticks, and the console sums them up.

Through the real app: a clinic plan made in the console with the next session
tomorrow, a phone that redeems the invitation and syncs its answers, and the
console pages that show the session as ready, needing a word or not answered.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_device import ApiDevice
from api_device import plan_today

from pwa import create_app
from pwa.care import readiness
from pwa.care.protocol import expand
from pwa.care.protocol import load_protocols
from pwa.clinic import accounts

EMAIL, PASSWORD = "dr.ines@harbour-skin.co.uk", "a long practitioner passphrase"
ZONE = "Europe/London"
SCHEDULE = expand(load_protocols()["microneedling-default"])
QUESTIONS = SCHEDULE["readiness"]


def _answers(day: str, **yes_or_no: bool) -> dict:
    return {(day, f"ready-{key.replace('_', '-')}"): {"done": v} for key, v in yes_or_no.items()}


def test_states_from_the_answers():
    day = "2026-12-06"
    assert readiness.session_readiness(day, {}, SCHEDULE)["state"] == readiness.NOT_ANSWERED
    all_no = {(day, q["answer_id"]): {"done": False} for q in QUESTIONS}
    assert readiness.session_readiness(day, all_no, SCHEDULE)["state"] == readiness.READY
    # Answers for another day belong to another session.
    assert readiness.session_readiness("2026-12-07", all_no, SCHEDULE)["answered"] == 0
    one_yes = {**all_no, **_answers(day, cold_sore=True)}
    found = readiness.session_readiness(day, one_yes, SCHEDULE)
    assert found["state"] == readiness.NEEDS_A_WORD
    assert found["flagged"] == [QUESTIONS[0]["question"]]
    # A "yes" counts even before every question is answered.
    partial = _answers(day, pregnancy=True)
    assert readiness.session_readiness(day, partial, SCHEDULE)["state"] == readiness.NEEDS_A_WORD
    assert readiness.session_readiness(day, {}, {**SCHEDULE, "readiness": []}) is None


@pytest.fixture
def app(data_dir):
    app = create_app({"DATA_DIR": data_dir, "CLINIC_TIME_ZONE": ZONE})
    clinic = app.extensions["clinic"]
    clinic.add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    return app


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _console_with_a_phone(app, next_day: str | None, last_days_ago: int = 30):
    """Sign in, make a plan whose next session is `next_day`, link a phone to it."""
    console = app.test_client()
    console.post(
        "/console/login",
        data={
            "csrf_token": _token(console.get("/console/login").text),
            "email": EMAIL,
            "password": PASSWORD,
        },
    )
    today = plan_today(ZONE)
    form = {
        "csrf_token": _token(console.get("/console/clients/new").text),
        "nickname": "Bea",
        "last_session": (today - timedelta(days=last_days_ago)).isoformat(),
        "next_session": next_day or "",
        "session_number": "1",
        "planned_sessions": "3",
        "skin_type": "IV",
        "pih_history": "yes",
    }
    made = console.post("/console/clients/new", data=form, follow_redirects=True)
    assert made.status_code == 200, made.text
    code = re.search(r"/settings/invite#([A-Za-z0-9_-]+)", made.text).group(1)
    phone = ApiDevice(app.test_client())
    redeemed = phone.client.post(
        "/api/invitations/redeem",
        json={"code": code, "device_id": phone.id, "credential": phone.credential},
    )
    assert redeemed.status_code == 200, redeemed.text
    phone.plan_id = redeemed.get_json()["plan_id"]
    return console, phone


def test_answers_sync_and_the_console_shows_who_needs_a_word(app):
    tomorrow = (plan_today(ZONE) + timedelta(days=1)).isoformat()
    console, phone = _console_with_a_phone(app, tomorrow)
    listing = console.get("/console/").text
    assert re.search(r"data-readiness>\s*<span[^>]*>Not answered</span>", listing)

    answers = [
        phone.new_event(day=tomorrow, item=q["answer_id"], done=q["id"] == "cold-sore")
        for q in QUESTIONS
    ]
    synced = phone.post_sync(answers)
    assert synced.status_code == 200, synced.text
    listing = console.get("/console/").text
    assert "Needs a word</span>: " + QUESTIONS[0]["question"] in listing
    detail = console.get(f"/console/clients/{phone.plan_id}").text
    assert "Ready? Needs a word" in detail and "10 of 10 answered" in detail

    # Changed her mind: no cold sore after all.  The latest answer wins.
    fixed = phone.post_sync([phone.new_event(day=tomorrow, item="ready-cold-sore", done=False)])
    assert fixed.status_code == 200, fixed.text
    assert re.search(r"data-readiness>\s*<span[^>]*>Ready</span>", console.get("/console/").text)


def test_an_answer_for_an_unknown_question_is_set_aside_and_changes_nothing(app):
    tomorrow = (plan_today(ZONE) + timedelta(days=1)).isoformat()
    console, phone = _console_with_a_phone(app, tomorrow)
    refused = phone.post_sync([phone.new_event(day=tomorrow, item="ready-made-up", done=True)])
    (aside,) = refused.get_json()["set_aside"]
    assert refused.status_code == 200 and "item" in aside["message"]
    assert re.search(
        r"data-readiness>\s*<span[^>]*>Not answered</span>", console.get("/console/").text
    )


def test_a_client_invited_late_is_not_counted_for_the_days_before(app):
    """Linked on day 6 of her run: the console counts nothing before day 6 against her."""
    console, phone = _console_with_a_phone(app, None, last_days_ago=6)
    detail = console.get(f"/console/clients/{phone.plan_id}").text
    assert "no finished days yet since the client started on day 6" in detail
    listing = console.get("/console/").text
    assert "day 6:\n      no finished days yet" in listing
    # Her ticks for today (day 6) count once the day is over; until then nothing is due.
    assert "0 of" not in re.search(r"data-progress>(.*?)</p>", detail, re.S).group(1)
