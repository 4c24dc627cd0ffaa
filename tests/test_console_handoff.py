"""The console's hand-off (issue 16): a plan made once however often its page is reloaded,
the invitation shown again while it waits, phones told apart and removed only after a
confirmation, and every change confirmed in one line on the page it lands on."""

from __future__ import annotations

import html
import re
import secrets
import time
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_console_security import CSRF
from test_console_security import INVITE_LINK
from test_console_security import OTHER_EMAIL
from test_console_security import OTHER_PASSWORD
from test_console_security import Phone
from test_console_security import add_practitioner
from test_console_security import change_clinic_rows
from test_console_security import clinic_rows
from test_console_security import day
from test_console_security import form_token
from test_console_security import invitations
from test_console_security import make_app
from test_console_security import plan_form
from test_console_security import signed_in
from test_console_security import stored_clinic_text

from pwa.care import series
from pwa.storage import clinic_file

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

ZONE = "Asia/Tokyo"  # far from UTC, so a UTC time would show
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FLASH = re.compile(r"<div class=\"notice\" role=\"status\" data-flash>(.*?)</div>", re.S)


@pytest.fixture
def app(stores):
    app = make_app(stores, CLINIC_TIME_ZONE=ZONE)
    add_practitioner(app)
    return app


def flashed(page) -> str:
    found = FLASH.search(page.text)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def create(console, **changes):
    token = form_token(console, "/console/clients/new")
    return console.post("/console/clients/new", data={"csrf_token": token, **plan_form(**changes)})


def made_plan(console, **changes) -> tuple[str, str]:
    """A plan made from the console; (plan id, its invitation code)."""
    made = create(console, **changes)
    page = console.get(made.headers["Location"])
    plan_id = made.headers["Location"].split("/")[3]
    return plan_id, INVITE_LINK.search(page.text).group(2)


def words(offset: int) -> str:
    """The day `offset` days from today as the console says it: "Mon 4 Jan" (and the year
    when it is not this year)."""
    moment = datetime.fromisoformat(day(offset))
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return text if moment.year == datetime.now(ZoneInfo(ZONE)).year else f"{text} {moment.year}"


def clock(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(ZONE)):%H:%M}"


def test_creating_a_plan_redirects_and_reloading_its_page_makes_nothing_new(app, stores):
    console = signed_in(app)
    made = create(console, nickname="Bea")
    assert made.status_code == 303
    location = made.headers["Location"]
    assert re.fullmatch(r"/console/clients/[\w-]{16,64}/invitation", location)
    pages = [console.get(location) for _ in range(3)]  # shown, then reloaded twice

    codes = {INVITE_LINK.search(page.text).group(2) for page in pages}
    assert len(codes) == 1, "the same invitation each time"
    [code] = codes
    assert all(page.status_code == 200 for page in pages)
    assert all(page.headers["Cache-Control"] == "no-store" for page in pages)
    assert len(clinic_rows(app, clinic_file.CLIENTS)) == 1
    assert len(app.extensions["plans"].plan_ids()) == 1
    assert len(invitations(app)) == 1
    assert "Bea" in console.get("/console/").text
    assert console.get("/console/").text.count("data-client=") == 1

    assert flashed(pages[0]) == "Plan made for Bea. Let them scan the invitation below."
    assert flashed(pages[1]) == "", "said once"
    # The code is never in a URL's path or query, the cookie or the store in plain.
    assert code not in location
    cookie = console.get_cookie("console").value
    content = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert code not in str(content)
    assert code not in stored_clinic_text(stores)
    assert Phone(app).check(code).status_code == 200


def test_a_used_or_expired_invitation_is_not_shown_again_and_a_new_one_can_be_made(app):
    console = signed_in(app)
    plan_id, code = made_plan(console)
    page = f"/console/clients/{plan_id}/invitation"
    assert Phone(app).redeem(code).status_code == 200

    used = console.get(page)
    assert used.status_code == 200 and code not in used.text
    assert "No invitation is waiting" in used.text and "data-invitation-link" not in used.text
    token = CSRF.search(used.text).group(1)
    made = console.post(page, data={"csrf_token": token})
    assert made.status_code == 303 and made.headers["Location"] == page
    shown = console.get(page)
    assert flashed(shown).startswith("New invitation made for Jo (Tuesday)")
    fresh = INVITE_LINK.search(shown.text).group(2)
    assert fresh != code and console.get(page).text.count(fresh) == 2  # link text and href

    change_clinic_rows(app, clinic_file.INVITATIONS, {"expires_ms": int(time.time() * 1000) - 1})
    expired = console.get(page)
    assert fresh not in expired.text and "No invitation is waiting" in expired.text


def test_the_client_page_says_an_invitation_is_waiting_and_links_to_it(app):
    console = signed_in(app)
    plan_id, code = made_plan(console)
    page = console.get(f"/console/clients/{plan_id}").text
    assert "An invitation is waiting" in page
    assert f'href="/console/clients/{plan_id}/invitation"' in page
    assert code not in page, "the code is shown only on the invitation's own page"
    assert Phone(app).redeem(code).status_code == 200
    assert "An invitation is waiting" not in console.get(f"/console/clients/{plan_id}").text


def test_another_practitioner_cannot_see_the_invitation(app):
    add_practitioner(app, OTHER_EMAIL, OTHER_PASSWORD)
    plan_id, code = made_plan(signed_in(app))
    other = signed_in(app, OTHER_EMAIL, OTHER_PASSWORD)
    answer = other.get(f"/console/clients/{plan_id}/invitation")
    assert answer.status_code == 404 and code not in answer.text


def redeemed_with(app, code: str, user_agent: str) -> Phone:
    phone = Phone(app)
    phone.client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert phone.redeem(code).status_code == 200
    return phone


def test_phones_are_named_by_browser_and_system_with_times_in_the_clinic_zone(app):
    console = signed_in(app)
    plan_id, code = made_plan(console)
    android = redeemed_with(app, code, ANDROID_CHROME)
    token = form_token(console, f"/console/clients/{plan_id}")
    console.post(f"/console/clients/{plan_id}/invitation", data={"csrf_token": token})
    second = INVITE_LINK.search(console.get(f"/console/clients/{plan_id}/invitation").text)
    redeemed_with(app, second.group(2), IPHONE_SAFARI)

    page = console.get(f"/console/clients/{plan_id}").text
    linked = {d["device"]: d for d in app.extensions["plans"].list_devices(plan_id)}
    when = clock(linked[android.id]["added_ms"])
    assert phone_row(page, android.id).startswith(
        f"Chrome Mobile on Android · linked today {when} · last synced today {when} "
        "Remove this phone: Chrome Mobile on Android, linked today"
    )
    assert phone_row(page, second_phone_id(app, plan_id, android.id)).startswith(
        "Mobile Safari on iPhone · linked today"
    )
    assert "UTC" not in page
    listing = console.get("/console/").text
    last = max(d["last_seen_ms"] for d in linked.values() if d["device"] != "clinic-console")
    assert f"<td>today {clock(last)}</td>" in listing, "the last sync in words too"
    assert f"<td>{words(26)}</td>" in listing, "the next session in words"


def phone_row(page: str, device_id: str) -> str:
    """The text of a phone's row on the client's page, as one line."""
    row = re.search(rf'data-device="{device_id}">(.*?)</li>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", row)).split())


def second_phone_id(app, plan_id: str, first: str) -> str:
    [other] = [
        d["device"]
        for d in app.extensions["plans"].list_devices(plan_id)
        if d["device"] not in (first, "clinic-console")
    ]
    return other


def test_removing_a_phone_asks_first_then_says_what_happened(app):
    console = signed_in(app)
    plan_id, code = made_plan(console, nickname="Bea")
    phone = redeemed_with(app, code, ANDROID_CHROME)
    client_page = console.get(f"/console/clients/{plan_id}").text
    confirm_path = f"/console/clients/{plan_id}/devices/{phone.id}/revoke"
    assert f'href="{confirm_path}"' in client_page, "a link to the confirmation, not a button"

    confirm = console.get(confirm_path)
    assert confirm.status_code == 200 and confirm.headers["Cache-Control"] == "no-store"
    text = html.unescape(confirm.text)
    assert "Remove this phone from Bea’s plan?" in text
    assert "Chrome Mobile on Android" in text and "Linked today" in text
    assert f'action="{confirm_path}"' in confirm.text
    assert f'href="/console/clients/{plan_id}">Cancel</a>' in confirm.text
    assert phone.sync(plan_id).status_code == 200, "asking removed nothing"

    removed = console.post(confirm_path, data={"csrf_token": CSRF.search(confirm.text).group(1)})
    assert removed.status_code == 303
    assert removed.headers["Location"] == f"/console/clients/{plan_id}"
    landed = console.get(removed.headers["Location"])
    assert flashed(landed).startswith("Removed Chrome Mobile on Android (linked today ")
    assert flashed(landed).endswith("): it no longer syncs with this plan.")
    assert phone.sync(plan_id).status_code == 404
    assert confirm_path not in landed.text, "nothing left to remove"

    # Asked or sent again (a second tab, a double click): it says so and changes nothing.
    again = console.get(confirm_path)
    assert again.status_code == 303
    assert flashed(console.get(again.headers["Location"])) == (
        "Chrome Mobile on Android was removed already."
    )
    token = CSRF.search(landed.text).group(1)
    assert console.post(confirm_path, data={"csrf_token": token}).status_code == 303


@pytest.mark.parametrize("device", ["clinic-console", "no-such-device-id"])
def test_only_a_linked_phone_can_be_removed(app, device):
    console = signed_in(app)
    plan_id, _ = made_plan(console)
    path = f"/console/clients/{plan_id}/devices/{device}/revoke"
    assert console.get(path).status_code == 404
    token = form_token(console, f"/console/clients/{plan_id}")
    assert console.post(path, data={"csrf_token": token}).status_code == 404


def test_the_removal_needs_its_csrf_token_and_the_plan_s_owner(app):
    add_practitioner(app, OTHER_EMAIL, OTHER_PASSWORD)
    console = signed_in(app)
    plan_id, code = made_plan(console)
    phone = redeemed_with(app, code, ANDROID_CHROME)
    path = f"/console/clients/{plan_id}/devices/{phone.id}/revoke"
    assert console.post(path, data={"csrf_token": "forged"}).status_code == 400
    other = signed_in(app, OTHER_EMAIL, OTHER_PASSWORD)
    assert other.get(path).status_code == 404
    token = form_token(other, "/console/")
    assert other.post(path, data={"csrf_token": token}).status_code == 404
    assert phone.sync(plan_id).status_code == 200


def session_ids(app, plan_id: str) -> list[str]:
    store = app.extensions["plans"]
    sessions = series.build(store.get_plan(plan_id), store.session_events(plan_id))
    return [s["session"] for s in sessions]


def edit(console, plan_id: str, **form):
    token = form_token(console, f"/console/clients/{plan_id}")
    return console.post(f"/console/clients/{plan_id}/sessions", data={"csrf_token": token, **form})


def test_session_changes_confirm_in_one_line(app):
    console = signed_in(app)
    plan_id, _ = made_plan(console)  # session 1 two days ago, session 2 in 26 days
    first, second = session_ids(app, plan_id)

    def said(answer) -> str:
        assert answer.status_code == 303, answer.text
        assert answer.headers["Location"] == f"/console/clients/{plan_id}"
        return flashed(console.get(answer.headers["Location"]))

    moved = edit(console, plan_id, session=second, day=day(28), time="10:30", status="planned")
    assert said(moved) == f"Session 2 moved to {words(28)} at 10:30."
    saved = edit(console, plan_id, session=second, day=day(28), time="11:00", status="planned")
    assert said(saved) == f"Session 2 saved: {words(28)} at 11:00."
    added = edit(console, plan_id, day=day(60), time="", status="planned")
    assert said(added) == f"Session 3 added: {words(60)}."
    # Moving session 3 before session 2 renumbers them, and says so.
    third = session_ids(app, plan_id)[2]
    early = edit(console, plan_id, session=third, day=day(20), status="planned")
    assert said(early) == f"Session 3 moved to {words(20)}; it is now session 2."
    done = edit(console, plan_id, session=first, day=day(-2), status="done")
    assert said(done) == f"Session 1 marked done: {words(-2)}."
    cancelled = edit(console, plan_id, session=second, day=day(28), status="cancelled")
    assert said(cancelled) == "Session 3 cancelled."
    assert console.get(f"/console/clients/{plan_id}").text.count("data-flash") == 0


def test_deleting_a_plan_confirms_on_the_list(app):
    console = signed_in(app)
    plan_id, _ = made_plan(console, nickname="Bea")
    token = form_token(console, f"/console/clients/{plan_id}")
    gone = console.post(
        f"/console/clients/{plan_id}/delete", data={"csrf_token": token, "confirm": "Bea"}
    )
    assert gone.status_code == 303 and gone.headers["Location"] == "/console/"
    assert flashed(console.get("/console/")) == "Deleted the plan of Bea."


def test_an_unknown_plan_s_invitation_page_is_a_404(app):
    console = signed_in(app)
    assert (
        console.get(f"/console/clients/{secrets.token_urlsafe(16)}/invitation").status_code == 404
    )
