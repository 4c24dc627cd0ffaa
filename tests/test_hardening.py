"""Smaller hardening of a server on the open internet: odd credentials, caching of health
data, a traceback for every unexpected error, and a private data folder."""

from __future__ import annotations

import logging
import re
import stat

import pytest
from test_api import Device

from pwa import create_app
from pwa.clinic import accounts


@pytest.fixture
def phone(client):
    device = Device(client)
    assert device.register().status_code == 201
    return device


@pytest.mark.parametrize("credential", ["\u00e9" * 32, "abc\u00ff" * 8])
def test_a_credential_with_other_characters_is_a_strangers_404(client, phone, credential):
    headers = {"Authorization": f"Bearer {phone.id}.{credential}"}
    for method, path in [
        ("POST", f"/api/plans/{phone.plan_id}/sync"),
        ("GET", f"/api/plans/{phone.plan_id}/export"),
        ("GET", f"/api/plans/{phone.plan_id}/devices"),
    ]:
        answer = client.open(path, method=method, headers=headers, json={"events": [], "cursor": 0})
        assert answer.status_code == 404, (method, path)
        assert answer.get_json()["error"] == "not_found"


def test_api_answers_are_never_cached_and_pages_may_be(client, phone):
    for answer in [
        client.get("/api/health"),
        client.get(f"/api/plans/{phone.plan_id}/export", headers=phone.auth),
        client.get(f"/api/plans/{phone.plan_id}/export"),  # a 404
        client.get("/api/no-such-thing"),
    ]:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
    assert "no-store" not in client.get("/learn/").headers.get("Cache-Control", "")


def test_an_unexpected_error_is_logged_with_its_traceback(data_dir, caplog):
    app = create_app({"TESTING": True, "DATA_DIR": data_dir})
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("the disk caught fire")

    app.add_url_rule("/api/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        answer = app.test_client().get("/api/broken")
    assert answer.status_code == 500
    assert answer.get_json()["error"] == "internal_server_error"
    assert "disk caught fire" not in answer.get_data(as_text=True)
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "GET /api/broken" in record.getMessage()
    assert record.exc_info and "the disk caught fire" in str(record.exc_info[1])


def test_the_data_folder_is_made_private(tmp_path):
    folder = tmp_path / "new" / "data"
    create_app({"TESTING": True, "DATA_DIR": folder})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


PUBLIC = "https://aftercare.example.org"


@pytest.mark.parametrize("public_url", ["", PUBLIC])
def test_links_handed_out_name_the_public_address_whatever_the_host_header(data_dir, public_url):
    app = create_app({"DATA_DIR": data_dir, "PUBLIC_URL": public_url})
    client = app.test_client()
    phone = Device(client)
    assert phone.register().status_code == 201
    evil = {**phone.auth, "Host": "evil.example"}
    base = f"/api/plans/{phone.plan_id}"
    join_link = client.post(f"{base}/join-tokens", json={}, headers=evil).get_json()["link"]
    feed = client.post(f"{base}/calendar-link", json={}, headers=evil).get_json()
    console = app.test_client()
    app.extensions["clinic"].add_practitioner("dr@example.org", accounts.hash_password("x" * 16), 0)
    # The whole console visit reaches the server under the forged host.
    evil_base = {"base_url": "http://evil.example"}
    page = console.get("/console/login", **evil_base).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "email": "dr@example.org", "password": "x" * 16}
    assert console.post("/console/login", data=form, **evil_base).status_code == 302
    new = console.get("/console/clients/new", **evil_base).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', new).group(1)
    created = console.post(
        "/console/clients/new",
        **evil_base,
        data={
            "csrf_token": token,
            "nickname": "Ash",
            "last_session": "2026-11-20",
            "session_number": "1",
            "planned_sessions": "3",
            "skin_type": "I",
            "pih_history": "no",
        },
        follow_redirects=True,
    )
    invitation = re.search(r"https?://[^\s\"<]+/settings/invite#", created.text).group(0)
    made = [join_link, feed["feed_url"], feed["webcal_url"], invitation]
    if public_url:
        assert all(link.split("://")[1].startswith("aftercare.example.org/") for link in made)
    else:  # without it, links follow the request: the documented trade-off
        assert all(link.split("://")[1].startswith("evil.example/") for link in made)


def test_a_public_url_that_is_not_an_address_stops_the_app(data_dir, monkeypatch):
    monkeypatch.setenv("PWA_PUBLIC_URL", "aftercare.example.org")
    with pytest.raises(ValueError, match="PWA_PUBLIC_URL: must be the app's address"):
        create_app({"DATA_DIR": data_dir})
