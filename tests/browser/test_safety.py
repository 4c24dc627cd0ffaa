"""Safety on the phone, in real Chromium at 390 x 844: the triage card, what a tick
means, "Can I use it today?" with dates, the readiness check the day before a
session (and the console's column for it), and the at-home path's wording.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from helpers import accept_invitation
from helpers import as_today_writes
from helpers import axe_violations
from helpers import new_client_plan
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import stored_plans
from test_checklist import TIME_ZONE
from test_checklist import today_here
from test_sync import wait_for_server_state

ANSWER_STORED = phone_js("return Boolean(await phone('ticks', 'get', arg));")
PLAN = phone_js("return phone('plan', 'get', 'current');")


def _short(day: str) -> str:
    return as_today_writes(date.fromisoformat(day))


def _form(context, server):
    """Today's onboarding form on a new page, once its script has enabled it."""
    page = context.new_page()
    page.goto(server.url + "/")
    form = page.locator("[data-onboarding]")
    expect(form.get_by_role("button", name="Start my aftercare")).to_be_enabled()
    return page, form


CARTRIDGE = "Used a new sterile cartridge on a cleaned pen, and shared neither"


def test_triage_card_tick_meaning_and_dated_answers(clinic_server, desk, checked_phone, tmp_path):
    session = today_here(2)
    link = new_client_plan(desk, clinic_server.url, "Ro", session)
    page = accept_invitation(checked_phone, clinic_server.url, link)
    expect(page.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")

    # A tick means "done": the item says what she did, and its name is just that.
    hint = page.locator(".checklist__hint").first
    expect(hint).to_have_text("Tick each one once you have done it today.")
    hands = page.get_by_role("checkbox", name="Kept my hands off my face", exact=True)
    expect(hands).to_be_visible()
    hands.check()
    expect(hands).to_be_checked()
    row = page.locator("li.checklist__item", has=hands)
    # Its "Why?" says, to a screen reader, which item it explains.
    expect(row.locator("summary")).to_have_text("Why? Kept my hands off my face")
    row.locator("summary", has_text="Why?").click()
    source = row.locator(".checklist__source a")
    expect(source).to_have_attribute(
        "href", "https://monarchbrowandfacials.com/blog/microneedling-aftercare-instructions"
    )

    # Can I use it today? Plain answers with dates, always conditional.
    gates = page.locator("[data-gates] li")
    condition = "if your skin is calm and your practitioner agrees."
    makeup_day = (date.fromisoformat(session) + timedelta(days=2)).isoformat()
    retinoid_day = (date.fromisoformat(session) + timedelta(days=14)).isoformat()
    expect(gates.filter(has_text="Makeup:")).to_have_text(
        f"Makeup: yes, from {_short(makeup_day)}, {condition}"
    )
    expect(gates.filter(has_text="Retinoids")).to_have_text(
        f"Retinoids (retinol, tretinoin): not yet. From {_short(retinoid_day)}, {condition}"
    )

    # "Worried about your skin?" is in the first screen and jumps to the card.
    worried = page.get_by_role("link", name="Worried about your skin? See the warning signs")
    box = worried.bounding_box()
    assert box and box["y"] + box["height"] < 844, box
    worried.click()
    card = page.locator("#warning-signs")
    expect(card).to_be_in_viewport()
    # "Or a doctor" stays beside the clinic's own phone number.
    expect(
        card.get_by_role("heading", name="Call your practitioner or a doctor today")
    ).to_be_visible()
    expect(
        card.get_by_role("link", name="Call Harbour Skin Clinic: +44 20 7946 0000")
    ).to_be_visible()
    normal = card.locator("h3:has-text('Normal while you heal') + ul")
    expect(normal).to_contain_text("Mild swelling that goes down each day")
    emergency = card.locator("h3:has-text('Call emergency services now') + ul")
    expect(emergency).to_contain_text("Sudden swelling of the lips, tongue or throat")
    expect(emergency).to_contain_text("Blisters or sores spreading fast over the face")
    expect(emergency).not_to_contain_text("Swelling of the face")
    call_today = card.locator("h3:has-text('a doctor today') + ul")
    expect(call_today).to_contain_text("New firm lumps in the weeks after")
    expect(call_today).to_contain_text("Red streaks spreading from the area")
    chu = card.get_by_role("link", name="Chu 2021")
    expect(chu).to_have_attribute("href", "https://pubmed.ncbi.nlm.nih.gov/34448760/")
    page.screenshot(path=tmp_path / "warning-card.png")
    assert not axe_violations(page)


PAGE_HOLDS = """async ([url, text]) => (await (await fetch(url)).text()).includes(text)"""


def _wait_for_text(page, url: str, text: str) -> str:
    """Once `url` holds `text` (a phone syncs a moment after a tap), its main content."""
    page.goto(url)
    wait_for_async(page, PAGE_HOLDS, [url, text], timeout=30.0)
    page.goto(url)
    return page.locator("main").inner_text()


def test_readiness_the_day_before_reaches_the_console(clinic_server, desk, checked_phone, tmp_path):
    tomorrow = today_here(-1)
    link = new_client_plan(desk, clinic_server.url, "Bea", today_here(30), tomorrow)
    page = accept_invitation(checked_phone, clinic_server.url, link)

    check = page.locator("[data-readiness]")
    expect(check.get_by_role("heading", name="Ready for session 2?")).to_be_visible()
    questions = check.locator("fieldset")
    expect(questions).to_have_count(10)
    # Pre-care for tomorrow's session is on today's checklist, and the gates say so.
    expect(page.locator("[data-gates] li")).to_have_text(
        "Your last session’s waits are over. Before your next session, hold off what the list"
        " above says."
    )
    expect(
        page.get_by_role(
            "checkbox", name="Used no retinoids (retinol, tretinoin) or exfoliating acids today"
        )
    ).to_be_visible()

    cold_sore = questions.filter(has_text="cold sore")
    cold_sore.get_by_label("Yes").check()
    expect(cold_sore).to_contain_text("Tell your practitioner before the session.")
    expect(check.get_by_role("status")).to_have_text(
        "Tell your practitioner before the session: 1 answer needs a word."
    )
    for index in range(1, 10):
        questions.nth(index).get_by_label("No").check()
    expect(check.get_by_role("status")).to_contain_text("1 answer needs a word")
    page.screenshot(path=tmp_path / "readiness.png", full_page=True)
    assert not axe_violations(page)

    # The answers stay on the phone after a reload ...
    page.reload()
    expect(page.locator("[data-readiness] fieldset").first.get_by_label("Yes")).to_be_checked()
    # ... and reach the clinic: the console shows the session needs a word, and why.
    console = desk.new_page()
    listing = _wait_for_text(console, clinic_server.url + "/console/", "Needs a word")
    assert "Do you have a cold sore now, or do you often get them?" in listing
    # She changes her mind; the console follows.
    page.locator("[data-readiness] fieldset").first.get_by_label("No").check()
    _wait_for_text(console, clinic_server.url + "/console/", "Ready")


def test_at_home_path_names_a_doctor_and_adds_pen_safety(live_server, checked_phone, tmp_path):
    page, form = _form(checked_phone, live_server)
    form.locator("input[name=setting][value='home']").check()
    form.get_by_label("Date of your most recent session").fill(today_here(30))
    form.locator("input[name=next_session]").fill(today_here(-1))
    form.get_by_role("button", name="Start my aftercare").click()
    page.locator("[data-checklist] input[type=checkbox]").first.wait_for()

    card = page.locator("#warning-signs")
    assert card.get_by_role("heading", level=3).nth(1).inner_text() == "Call a doctor today"
    today_text = page.locator("[data-today]").inner_text() + card.inner_text()
    assert "practitioner" not in today_text.lower()
    expect(page.locator("[data-gates] li")).to_contain_text("Your last session’s waits are over.")

    check = page.locator("[data-readiness]")
    cold_sore = check.locator("fieldset").filter(has_text="cold sore")
    cold_sore.get_by_label("Yes").check()
    expect(cold_sore).to_contain_text("Don't needle while you have a cold sore.")
    expect(check.get_by_role("status")).to_have_text(
        "1 answer needs care: read the advice before you needle."
    )
    page.screenshot(path=tmp_path / "at-home.png", full_page=True)
    assert not axe_violations(page)


def test_at_home_session_day_adds_the_cartridge_item(live_server, checked_phone):
    page, form = _form(checked_phone, live_server)
    form.locator("input[name=setting][value='home']").check()
    form.get_by_role("button", name="Start my aftercare").click()  # last session: today
    expect(page.locator("[data-day-heading]")).to_have_text("Day 0 after session 1")
    expect(page.get_by_role("checkbox", name=CARTRIDGE)).to_be_visible()
    expect(
        page.get_by_role(
            "checkbox",
            name="Put on only plain, fragrance-free products made for freshly needled skin, "
            "nothing home-made",
        )
    ).to_be_visible()


def test_at_home_set_up_before_the_first_session(live_server, checked_phone):
    """Set up five days ahead: pre-care now, the readiness check the day before, day 0 after."""
    page, form = _form(checked_phone, live_server)
    # A date ahead is refused for a clinic client ...
    form.locator("input[name=setting][value='clinic']").check()
    first = today_here(-5)
    form.get_by_label("Date of your most recent session").fill(first)
    form.get_by_role("button", name="Start my aftercare").click()
    expect(page.locator("[data-form-error]")).to_have_text(
        "The most recent session cannot be in the future."
    )
    # ... and is her first session, still to come, at home.
    form.locator("input[name=setting][value='home']").check()
    expect(form.get_by_label("or of your first if it is still to come")).to_have_value(first)
    form.get_by_role("button", name="Start my aftercare").click()

    expect(page.locator("[data-day-heading]")).to_have_text("Session 1 is in 5 days")
    expect(page.locator("[data-day-note]")).to_contain_text(_short(first))
    precare = page.get_by_role(
        "checkbox", name="Used no retinoids (retinol, tretinoin) or exfoliating acids today"
    )
    precare.check()
    expect(page.locator("[data-progress-text]")).to_have_text("1 of 2 done today")
    expect(page.locator("[data-gates] li")).to_have_text("These start on the day of your session.")
    expect(page.locator("[data-readiness]")).to_be_hidden()
    expect(page.locator("[data-history] li")).to_have_count(0)
    plan = page.evaluate(PLAN)
    assert plan["startsPlanned"] is True

    # The tick reaches the server, which keeps the plan's first session as planned.
    wait_for_server_state(live_server, plan["planId"], "precare-no-actives", True)
    stored = stored_plans(live_server.data_dir).get_plan(plan["planId"])
    assert stored["starts_planned"] is True

    # Four days on, the session is tomorrow: the readiness check shows.
    at_noon = datetime.combine(date.fromisoformat(today_here(-4)), datetime.min.time())
    page.clock.set_system_time(at_noon.replace(hour=12, tzinfo=ZoneInfo(TIME_ZONE)))
    page.reload()
    expect(page.locator("[data-day-heading]")).to_have_text("Session 1 is tomorrow")
    expect(page.locator("[data-readiness] fieldset")).to_have_count(10)

    # On the day: nothing of the aftercare until she says the session happened (a "yes"
    # above may mean it should not); then day 0, with the pen-safety item.
    page.clock.set_system_time(
        at_noon.replace(hour=12, tzinfo=ZoneInfo(TIME_ZONE)) + timedelta(days=1)
    )
    page.reload()
    expect(page.locator("[data-day-heading]")).to_have_text("Session 1 is today")
    expect(page.locator("[data-readiness] fieldset")).to_have_count(10)
    expect(page.get_by_role("checkbox", name=CARTRIDGE)).to_have_count(0)
    page.get_by_role("button", name="I have had my session").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 0 after session 1")
    expect(page.locator("[data-day-note]")).to_contain_text(
        "Day 0 is the day of the session itself"
    )
    expect(page.get_by_role("checkbox", name=CARTRIDGE)).to_be_visible()


def test_after_the_recovery_run_everything_is_cleared(live_server, checked_phone):
    page, form = _form(checked_phone, live_server)
    form.locator("input[name=setting][value='clinic']").check()
    form.get_by_label("Date of your most recent session").fill(today_here(20))
    form.get_by_role("button", name="Start my aftercare").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 20 after session 1")
    expect(page.locator("[data-gates] li")).to_have_text(
        "All cleared. Keep up sun protection every day."
    )


def test_readiness_check_works_with_the_server_stopped(own_server, checked_phone):
    page = open_controlled(checked_phone, own_server.url + "/")
    form = page.locator("[data-onboarding]")
    expect(form.get_by_role("button", name="Start my aftercare")).to_be_enabled()
    form.locator("input[name=setting][value='home']").check()
    form.get_by_label("Date of your most recent session").fill(today_here(30))
    form.locator("input[name=next_session]").fill(today_here(-1))
    form.get_by_role("button", name="Start my aftercare").click()
    expect(page.locator("[data-readiness] fieldset")).to_have_count(10)

    own_server.stop()  # a real outage from here on
    page.reload()
    check = page.locator("[data-readiness]")
    spots = check.locator("fieldset").filter(has_text="spots, rash")
    spots.get_by_label("Yes").check()
    expect(spots).to_contain_text("Don't needle until the skin has healed.")
    # The screen changes before the answer's transaction commits: wait for it, then reload.
    wait_for_async(page, ANSWER_STORED, [today_here(-1), "ready-spots-infection"])
    page.reload()
    expect(
        check.locator("fieldset").filter(has_text="spots, rash").get_by_label("Yes")
    ).to_be_checked()
    # Offline too, the card names no practitioner for her.
    expect(page.locator("#warning-signs h3 [data-clinic-only]")).to_be_hidden()
    assert "Call a doctor today" in page.locator("#warning-signs").inner_text()
