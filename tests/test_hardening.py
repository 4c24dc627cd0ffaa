"""Smaller hardening of a server on the open internet: odd credentials, caching of health
data, a traceback for every unexpected error, and a private data folder."""

from __future__ import annotations

import logging
import stat

import pytest
from test_api import Device

from pwa import create_app


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
