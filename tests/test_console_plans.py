"""Console plans: the practitioner may choose the stricter PIH-risk mode and another protocol."""

from __future__ import annotations

import html
import re

import pytest

from pwa import create_app
from pwa.care import protocol
from pwa.clinic import accounts

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

EMAIL, PASSWORD = "dr.kai@harbour-skin.co.uk", "a long practitioner passphrase"


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def app(data_dir, stores):
    # A clinic protocol beside the shipped one: a copy under another id.
    folder = data_dir / "protocols"
    folder.mkdir(parents=True)
    source = protocol.SHIPPED_DIR / "microneedling-default.toml"
    text = source.read_text().replace('id = "microneedling-default"', 'id = "clinic-gentle"')
    (folder / "clinic-gentle.toml").write_text(
        text.replace('title = "Microneedling aftercare"', 'title = "Gentle aftercare"')
    )
    app = create_app(stores)
    clinic = app.extensions["clinic"]
    clinic.add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    return app


def signed_in(app):
    client = app.test_client()
    page = client.get("/console/login").text
    client.post(
        "/console/login", data={"csrf_token": token(page), "email": EMAIL, "password": PASSWORD}
    )
    return client


def new_client_form(client, **fields) -> dict:
    """The console's new-client form, filled in, with the page's CSRF token."""
    page = client.get("/console/clients/new").text
    return {
        "csrf_token": token(page),
        "nickname": "Ash",
        "last_session": "2026-11-20",
        "session_number": "1",
        "planned_sessions": "3",
        "skin_type": "I",
        "pih_history": "no",
        **fields,
    }


def create(client, **fields):
    made = client.post("/console/clients/new", data=new_client_form(client, **fields))
    assert made.status_code == 303, made.text
    answer = client.get(made.headers["Location"])
    code = re.search(r"/settings/invite#([A-Za-z0-9_-]+)", answer.text).group(1)
    redeemed = client.post(
        "/api/invitations/redeem",
        json={"code": code, "device_id": "phone-000001", "credential": "c" * 24},
    )
    return redeemed.get_json()["plan"]


def test_standard_mode_by_the_rule_and_pih_risk_when_the_practitioner_chooses(app):
    client = signed_in(app)
    assert create(client)["mode"] == "standard"
    assert create(client, pih_risk_mode="on")["mode"] == "pih_risk"


def test_another_protocol_can_be_chosen_and_its_schedule_is_served(app):
    client = signed_in(app)
    page = client.get("/console/clients/new").text
    assert "Gentle aftercare (v2)" in page
    plan = create(client, protocol="clinic-gentle")
    assert plan["protocol"] == {"id": "clinic-gentle", "version": 2}
    schedule = client.get("/protocols/clinic-gentle.json").get_json()
    assert schedule["title"] == "Gentle aftercare"
    assert client.get("/protocols/no-such-protocol.json").status_code == 404


def test_an_unknown_protocol_is_refused(app):
    client = signed_in(app)
    data = new_client_form(client, protocol="made-up")
    answer = client.post("/console/clients/new", data=data)
    assert answer.status_code == 400 and "Protocol: unknown protocol" in html.unescape(answer.text)
    assert 'id="protocol" name="protocol" aria-invalid="true"' in answer.text
