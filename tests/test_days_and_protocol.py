"""The protocol engine and the day number (Python side of the shared vectors)."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest

from pwa import create_app
from pwa.care.adherence import run_progress
from pwa.care.days import day_number
from pwa.care.days import local_day
from pwa.care.protocol import CONDITION
from pwa.care.protocol import NOT_REVIEWED
from pwa.care.protocol import SHIPPED_DIR
from pwa.care.protocol import STANDARD_SKIN_TYPES
from pwa.care.protocol import ProtocolError
from pwa.care.protocol import day_items
from pwa.care.protocol import expand
from pwa.care.protocol import gate_message
from pwa.care.protocol import load_protocols
from pwa.care.protocol import standard_mode_allowed
from pwa.care.sources import load_registry

VECTORS = json.loads((Path(__file__).parent / "vectors" / "day_numbers.json").read_text())["cases"]
DEFAULT = SHIPPED_DIR / "microneedling-default.toml"


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_day_number_vectors(case):
    instant = datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    assert local_day(instant, case["tz"], case["start"]).isoformat() == case["local_day"]
    session = date.fromisoformat(case["session"])
    assert day_number(session, instant, case["tz"], case["start"]) == case["day"]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        local_day(datetime(2026, 11, 26, 12), "UTC")


@pytest.fixture(scope="module")
def schedule():
    return expand(load_protocols()["microneedling-default"])


def _day(schedule, mode, day):
    entry = schedule["modes"][mode]["days"][day]
    return entry["items"], {g["id"]: g for g in entry["gates"]}


@pytest.mark.parametrize(
    ("gate", "standard_day", "pih_day"),
    [
        ("makeup", 2, 2),
        ("sweaty-exercise", 5, 5),
        ("sauna-steam-swimming", 5, 5),
        ("aha-bha", 7, 10),
        ("vitamin-c", 7, 10),
        ("benzoyl-peroxide", 7, 10),
        # The most careful guide waits two weeks for retinoids, in both modes.
        ("retinoids", 14, 14),
    ],
)
def test_conservative_gate_defaults(schedule, gate, standard_day, pih_day):
    for mode, first_day in (("standard", standard_day), ("pih_risk", pih_day)):
        _, gates = _day(schedule, mode, 0)
        assert gates[gate]["from_day"] == first_day
        _, gates = _day(schedule, mode, first_day - 1)
        assert gates[gate]["days_left"] == 1
        _, gates = _day(schedule, mode, first_day)
        assert gates[gate]["days_left"] == 0


def test_gate_countdown_wording_is_conditional(schedule):
    _, gates = _day(schedule, "standard", 2)
    assert gates["retinoids"]["message"] == (
        f"Retinoids (retinol, tretinoin): from day 14 — 12 more days, {CONDITION}."
    )
    for mode in schedule["modes"].values():
        for day in mode["days"]:
            for gate in day["gates"]:
                assert gate["message"].endswith(f"{CONDITION}.")
                assert "start" not in gate["message"].lower()
    assert gate_message("Makeup", 2, 1) == f"Makeup: from day 2 — 1 more day, {CONDITION}."


def test_sun_rules_are_items_not_gates(schedule):
    for mode in ("standard", "pih_risk"):
        gates = {g["id"] for g in schedule["modes"][mode]["days"][0]["gates"]}
        assert not any("sun" in g for g in gates)
        for day in range(0, 7):
            assert "avoid-direct-sun" in _day(schedule, mode, day)[0]
        assert "avoid-direct-sun" not in _day(schedule, mode, 7)[0]
        assert "mineral-spf" not in _day(schedule, mode, 0)[0]
        for day in range(1, 15):
            assert "mineral-spf" in _day(schedule, mode, day)[0]
        # Sun protection never ends: it is an ongoing item after the recovery run.
        assert "mineral-spf" in schedule["modes"][mode]["ongoing"]["items"]


def test_pih_risk_mode_is_data(schedule):
    standard, pih = schedule["modes"]["standard"], schedule["modes"]["pih_risk"]
    assert "iron oxides" in pih["items"]["mineral-spf"]["text"]
    assert "iron oxides" not in standard["items"]["mineral-spf"]["text"]
    assert "watch-darkening" in pih["items"] and "watch-darkening" not in standard["items"]


@pytest.mark.parametrize(
    ("skin_type", "history", "standard"),
    [
        ("I", "no", True),
        ("II", "no", True),
        ("II", "yes", False),
        ("I", "not-sure", False),
        ("III", "no", False),
        ("VI", "no", False),
        ("not-sure", "no", False),
    ],
)
def test_unknown_skin_type_or_history_gets_the_stricter_mode(skin_type, history, standard):
    assert standard_mode_allowed(skin_type, history) is standard


def test_every_item_carries_a_source_and_a_why(schedule):
    for mode in schedule["modes"].values():
        for item in mode["items"].values():
            assert item["why"] and item["text"]
            for source in (item["source"], item.get("home", {}).get("source", item["source"])):
                cited = schedule["sources"][source]
                assert cited["citation"] and cited["link"].startswith("http") and cited["read_on"]


def test_every_source_the_protocol_names_is_in_the_registry(schedule):
    registry = load_registry()
    named = set(schedule["sources"])
    assert named and named <= set(registry)
    assert set(schedule["warning_signs"]["sources"]) <= named
    assert {q["source"] for q in schedule["readiness"]} <= named


def test_avoid_items_read_as_done_not_as_orders(schedule):
    """A tick means "done": an avoid item says what the person did, never "No ..."."""
    for mode in schedule["modes"].values():
        for item in mode["items"].values():
            if item["kind"] == "avoid":
                first = item["text"].split()[0]
                assert first in DONE_VERBS, item["text"]


DONE_VERBS = {"Kept", "Went", "Skipped", "Stayed", "Used", "Had", "Let"}


@pytest.mark.parametrize("mode", ["standard", "pih_risk"])
def test_while_a_gate_is_closed_the_checklist_has_an_avoid_item_for_it(schedule, mode):
    """Every day, for every closed gate, the day's checklist holds an avoid item naming it."""
    chosen = load_protocols()["microneedling-default"]
    covered_by = {gate["id"]: gate["covered_by"] for gate in chosen["gates"]}
    plan = schedule["modes"][mode]
    for day in plan["days"]:
        for gate in day["gates"]:
            if gate["days_left"]:
                item = covered_by[gate["id"]]
                assert item in day["items"], (mode, day["day"], gate["id"])
                assert plan["items"][item]["kind"] == "avoid"


def test_pre_care_runs_in_the_days_before_a_session(schedule):
    for mode in schedule["modes"].values():
        before = {entry["day"]: entry["items"] for entry in mode["before"]}
        assert sorted(before) == list(range(-14, 0))
        assert all("precare-no-actives" in items for items in before.values())
        assert not any(i.startswith("precare") for d in mode["days"] for i in d["items"])


def test_home_wording_and_items(schedule):
    items = schedule["modes"]["standard"]["items"]
    assert items["home-new-cartridge"]["settings"] == ["home"]
    assert "home-new-cartridge" in schedule["modes"]["standard"]["days"][0]["items"]
    home = items["clinic-products-only"]["home"]
    assert "practitioner" not in home["text"] and home["source"] == "friedmann2024"
    for question in schedule["readiness"]:
        assert "practitioner" not in question["home"]
        assert "practitioner" in question["clinic"]
    assert schedule["condition"]["home"] == "if your skin is calm"


def test_recovery_run_and_ongoing_items(schedule):
    assert schedule["recovery_days"] == 14
    assert [d["day"] for d in schedule["modes"]["standard"]["days"]] == list(range(15))
    ongoing = schedule["modes"]["standard"]["ongoing"]
    assert all(g["days_left"] == 0 for g in ongoing["gates"])


def test_shipped_protocol_says_it_is_not_reviewed(schedule):
    assert schedule["review"] == NOT_REVIEWED
    reviewed = expand(load_protocols()["microneedling-default"], "Dr A", date(2026, 12, 1))
    assert reviewed["review"] == "Reviewed by Dr A on 1 December 2026."


def test_clinic_file_overrides_the_shipped_protocol(data_dir):
    folder = data_dir / "protocols"
    folder.mkdir(parents=True)
    text = DEFAULT.read_text().replace("version = 2", "version = 3")
    text = text.replace('name = "Makeup"\nfrom_day = 2', 'name = "Makeup"\nfrom_day = 3')
    # The gate waits a day longer, so its avoid item must too (the loader checks it).
    makeup = 'into them."\nfrom_day = 0\nto_day = 1'
    assert makeup in text
    text = text.replace(makeup, makeup.replace("to_day = 1", "to_day = 2"))
    (folder / "microneedling-default.toml").write_text(text)
    client = create_app({"DATA_DIR": data_dir}).test_client()
    schedule = client.get("/protocol.json").get_json()
    assert schedule["protocol"] == {"id": "microneedling-default", "version": 3}
    makeup = [g for g in schedule["modes"]["standard"]["days"][0]["gates"] if g["id"] == "makeup"]
    assert makeup[0]["from_day"] == 3


def _broken(data_dir, old, new):
    folder = data_dir / "protocols"
    folder.mkdir(parents=True)
    text = DEFAULT.read_text()
    assert old in text
    path = folder / "microneedling-default.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('time = "any"\nkind = "avoid"', 'time = "noon"\nkind = "avoid"', "items[0].time"),
        ("from_day = -14\nto_day = -1", "from_day = -14\nto_day = 0", "items[0].to_day"),
        ('source = "treja-needling"', 'source = "nowhere"', "items[0].source"),
        # A gate closed until day 14 whose avoid item stops on day 6.
        ('id = "no-retinoids"', 'id = "no-retinoids"\nmodes = ["standard"]', "gates[6].covered_by"),
        ("from_day = 0\nto_day = 13", "from_day = 0\nto_day = 6", "gates[6].covered_by"),
        ('covered_by = "no-makeup"', 'covered_by = "mineral-spf"', "gates[0].covered_by"),
        (
            'from_day = 2\nsource = "fifth-element-aftercare"',
            'from_day = 2\nsource = "unlisted"',
            "gates[0].source",
        ),
        ('source = "waldman2017"', 'source = "unlisted"', "readiness[2].source"),
        ('"gowda2021", "soltani2014"]', '"unlisted"]', "warning_signs.sources"),
        ('id = "precare-no-actives"', 'id = "Pre Care"', "items[0].id"),
        ("recovery_days = 14", 'recovery_days = "two weeks"', "recovery_days"),
        ('name = "Makeup"\nfrom_day = 2', 'name = "Makeup"\nfrom_day = 99', "gates[0].from_day"),
        ("version = 2", "version = 0", "version"),
    ],
)
def test_invalid_protocol_stops_start_up_naming_file_line_and_field(data_dir, old, new, message):
    path = _broken(data_dir, old, new)
    with pytest.raises(ProtocolError) as raised:
        create_app({"DATA_DIR": data_dir})
    text = str(raised.value)
    assert text.startswith(f"{path}, line ") and message in text
    line = int(text.split(", line ")[1].split(":")[0])
    key = message.split(".")[-1]
    assert path.read_text().splitlines()[line - 1].startswith(f"{key} =")


def test_bad_toml_names_the_line(data_dir):
    path = _broken(data_dir, "version = 2", "version = = 2")
    with pytest.raises(ProtocolError, match=rf"{path}: not valid TOML .*line \d+"):
        create_app({"DATA_DIR": data_dir})


def test_items_for_the_other_setting_are_not_the_plans_to_tick(schedule):
    clinic = {"mode": "standard", "setting": "clinic"}
    home = {"mode": "standard", "setting": "home"}
    assert "home-new-cartridge" not in day_items(schedule, clinic, 0)
    assert "home-new-cartridge" in day_items(schedule, home, 0)
    # A plan stored before plans had a setting is a clinic plan.
    assert day_items(schedule, {"mode": "standard"}, 0) == day_items(schedule, clinic, 0)


def test_a_clinic_day_is_complete_without_the_home_only_item(schedule):
    """The console's adherence counts a day complete when the plan's own items are ticked."""
    plan = {"mode": "standard", "setting": "clinic", "sessions": [{"day": "2026-12-01"}]}
    sessions = [{"session": "s1", "day": "2026-12-01", "status": "done", "number": 1}]
    ticks = {("2026-12-01", item): {"done": True} for item in day_items(schedule, plan, 0)}
    progress = run_progress(plan, sessions, ticks, schedule, date(2026, 12, 2))
    assert (progress["days_complete"], progress["days_counted"]) == (1, 1)
    home = {**plan, "setting": "home"}
    assert run_progress(home, sessions, ticks, schedule, date(2026, 12, 2))["days_complete"] == 0


def test_adherence_counts_from_the_day_she_started_as_a_share_of_items(schedule):
    """Invited on day 3 of her run, she ticked everything on days 3 and 4 and half of day 5."""
    plan = {"mode": "pih_risk", "setting": "clinic", "sessions": [{"day": "2026-12-01"}]}
    sessions = [{"session": "s1", "day": "2026-12-01", "status": "done", "number": 1}]
    ticks = {}
    for number, share in ((3, 1.0), (4, 1.0), (5, 0.5)):
        day = f"2026-12-0{1 + number}"
        items = day_items(schedule, plan, number)
        for item in items[: round(len(items) * share)]:
            ticks[(day, item)] = {"done": True}
    today = date(2026, 12, 7)  # day 6, still under way
    progress = run_progress(plan, sessions, ticks, schedule, today, started=date(2026, 12, 4))
    due = sum(len(day_items(schedule, plan, n)) for n in (3, 4, 5))
    assert progress["days_before_start"] == 3 and progress["days_counted"] == 3
    assert progress["days_complete"] == 2
    assert progress["items_due"] == due
    assert progress["items_done"] == len(ticks)
    # Sun protection is counted on its own: not among the ticked half on day 5.
    assert ("2026-12-06", "mineral-spf") not in ticks
    assert progress["key"] == [
        {"id": "mineral-spf", "label": "Sun protection", "days_done": 2, "days_due": 3}
    ]
    # Without a start day every finished day counts, the untouched ones as nothing done.
    assert run_progress(plan, sessions, ticks, schedule, today)["days_counted"] == 6


def test_each_cited_source_has_a_short_name_for_tight_places(schedule):
    shorts = {key: source["short"] for key, source in schedule["sources"].items()}
    assert shorts["chu2021"] == "Chu 2021"
    assert shorts["cdc-mmwr-2024"] == "Stadelman-Behar 2024"  # not the 2018-2023 of its title
    assert shorts["fifth-element-aftercare"] == "Fifth Element Esthetics"


PLAN_VECTORS = json.loads((Path(__file__).parent / "vectors" / "plan.json").read_text())


@pytest.mark.parametrize(
    "case", PLAN_VECTORS["modes"], ids=lambda c: f"{c['skin_type']}-{c['pih_history']}"
)
def test_mode_vectors_shared_with_the_phone(case):
    """tests/vectors/plan.json, which tests/js/plan.test.mjs runs against the phone's modeFor."""
    standard = standard_mode_allowed(case["skin_type"], case["pih_history"])
    assert ("standard" if standard else "pih_risk") == case["mode"]
    # The rule the server sends the phone in every schedule is the one it applies itself.
    rule = PLAN_VECTORS["schedule"]["standard_mode_for"]
    assert rule == {"skin_types": list(STANDARD_SKIN_TYPES), "pih_history": ["no"]}


@pytest.mark.parametrize("case", PLAN_VECTORS["cases"], ids=lambda c: c["name"])
def test_day_item_vectors_shared_with_the_phone(case):
    plan = {"mode": case["mode"], **({"setting": case["setting"]} if case["setting"] else {})}
    assert day_items(PLAN_VECTORS["schedule"], plan, case["day"]) == case["items"]
