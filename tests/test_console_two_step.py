"""Two-step sign-in for the console: set-up, codes, replays, the growing wait, a clinic
requiring it, and its secrets sealed at rest."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from cryptography.fernet import Fernet
from test_console_security import stored_clinic_text

from pwa import create_app
from pwa.clinic import accounts
from pwa.storage import clinic_file
from pwa.storage.table_file import AtomicJSONStorage
from pwa.storage.table_file import load_file

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

EMAIL, PASSWORD = "dr.lee@harbour-skin.co.uk", "a long practitioner passphrase"


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def app(stores):
    app = create_app({**stores, "REQUIRE_TOTP": True, "LOGIN_MAX_FAILURES": 3})
    clinic = app.extensions["clinic"]
    clinic.add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    return app


def password_step(client):
    page = client.get("/console/login").text
    return client.post(
        "/console/login", data={"csrf_token": token(page), "email": EMAIL, "password": PASSWORD}
    )


def start_set_up(client) -> tuple[str, str]:
    """Press "Set up two-step sign-in": the two-step page and the secret it shows."""
    page = client.get("/console/two-step").text
    started = client.post("/console/two-step/start", data={"csrf_token": token(page)})
    return page, re.search(r"data-totp-secret>([A-Z2-7]+)<", started.text).group(1)


def set_up(client) -> str:
    password_step(client)
    assert client.get("/console/").headers["Location"].endswith("/console/two-step")
    page, secret = start_set_up(client)
    wrong = client.post("/console/two-step/confirm", data={"csrf_token": token(page), "code": "1"})
    assert wrong.status_code == 400
    code = pyotp.TOTP(secret).now()
    done = client.post("/console/two-step/confirm", data={"csrf_token": token(page), "code": code})
    assert done.status_code == 302 and client.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": token(client.get("/console/").text)})
    return secret


def test_a_required_second_factor_is_set_up_before_anything_else(app):
    client = app.test_client()
    password_step(client)
    for path in ("/console/", "/console/clients/new"):
        assert client.get(path).headers["Location"].endswith("/console/two-step")
    secret = set_up(app.test_client())
    stored = app.extensions["clinic"].find_practitioner(EMAIL)
    assert stored["totp_secret"] == secret


def test_login_needs_a_fresh_code_after_the_password(app):
    client = app.test_client()
    secret = set_up(client)
    answer = password_step(client)
    assert answer.headers["Location"].endswith("/console/login/code")
    assert client.get("/console/").headers["Location"].startswith("/console/login")
    page = client.get("/console/login/code").text
    # The code used at set-up cannot be replayed; the next one (30 s on) is accepted.
    clinic = app.extensions["clinic"]
    last_step = clinic.find_practitioner(EMAIL)["totp_last_step"]
    used = pyotp.TOTP(secret).generate_otp(last_step)
    replay = client.post("/console/login/code", data={"csrf_token": token(page), "code": used})
    assert replay.status_code == 401
    following = pyotp.TOTP(secret).at(time.time() + 30)
    answer = client.post("/console/login/code", data={"csrf_token": token(page), "code": following})
    assert answer.status_code == 302 and client.get("/console/").status_code == 200


def test_wrong_codes_make_the_next_try_wait(app):
    client = app.test_client()
    secret = set_up(client)
    password_step(client)
    page = client.get("/console/login/code").text
    for _ in range(3):
        client.post("/console/login/code", data={"csrf_token": token(page), "code": "000000"})
    good = pyotp.TOTP(secret).at(time.time() + 30)
    answer = client.post("/console/login/code", data={"csrf_token": token(page), "code": good})
    assert answer.status_code == 429 and "Too many wrong tries for this e-mail. Wait" in answer.text
    assert client.get("/console/").status_code == 302, "not signed in"


def test_the_code_page_without_a_password_step_goes_back_to_login(stores, app):
    client = app.test_client()
    assert client.get("/console/login/code").headers["Location"].endswith("/console/login")


@pytest.fixture
def optional_app(stores):
    """A clinic that does not require two-step sign-in, so it can be turned off."""
    app = create_app({**stores, "LOGIN_MAX_FAILURES": 3})
    clinic = app.extensions["clinic"]
    clinic.add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    return app


def signed_in_with_two_step(app):
    """A browser signed in (password and code) on an account with two-step on; its secret."""
    client = app.test_client()
    password_step(client)
    page, secret = start_set_up(client)
    code = pyotp.TOTP(secret).now()
    client.post("/console/two-step/confirm", data={"csrf_token": token(page), "code": code})
    return client, secret


def test_the_secret_being_set_up_is_kept_on_the_server_not_in_the_cookie(app):
    client = app.test_client()
    password_step(client)
    _, secret = start_set_up(client)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert secret not in str(decoded) and secret not in cookie
    pending = app.extensions["clinic"].find_practitioner(EMAIL)["totp_pending"]
    assert pending["secret"] == secret


def test_a_factor_that_is_on_cannot_be_replaced_from_a_signed_in_browser(optional_app):
    client, secret = signed_in_with_two_step(optional_app)
    page = client.get("/console/two-step").text
    again = client.post("/console/two-step/start", data={"csrf_token": token(page)})
    assert again.status_code == 400 and "turn it off first" in again.text
    stored = optional_app.extensions["clinic"].find_practitioner(EMAIL)
    assert stored["totp_secret"] == secret


def test_turning_it_off_needs_the_password_and_a_fresh_code_and_failures_count(optional_app):
    client, secret = signed_in_with_two_step(optional_app)
    clinic = optional_app.extensions["clinic"]
    page = client.get("/console/two-step").text
    following = pyotp.TOTP(secret).at(time.time() + 30)
    for form in (
        {"code": following},  # no password
        {"password": "not the passphrase", "code": following},
        {"password": PASSWORD, "code": "000000"},
    ):
        refused = client.post("/console/two-step/disable", data={"csrf_token": token(page), **form})
        assert refused.status_code in (400, 401)
        assert clinic.find_practitioner(EMAIL)["totp_secret"] == secret
    # Three failures: the next try waits, even with everything right.
    right = {"csrf_token": token(page), "password": PASSWORD, "code": following}
    waiting = client.post("/console/two-step/disable", data=right)
    assert waiting.status_code == 429 and "Too many wrong tries for this e-mail" in waiting.text
    assert clinic.find_practitioner(EMAIL)["totp_secret"] == secret


def test_turning_it_off_with_both_works_and_marks_the_code_used(stores, optional_app):
    client, secret = signed_in_with_two_step(optional_app)
    clinic = optional_app.extensions["clinic"]
    page = client.get("/console/two-step").text
    following = pyotp.TOTP(secret).at(time.time() + 30)
    done = client.post(
        "/console/two-step/disable",
        data={"csrf_token": token(page), "password": PASSWORD, "code": following},
    )
    assert done.status_code == 302
    assert clinic.find_practitioner(EMAIL)["totp_secret"] is None


# Secrets sealed at rest (pwa/core/sealed.py)


def clinic_text(stores) -> str:
    return stored_clinic_text(stores)


def log_in_with_code(app, secret: str) -> int:
    client = app.test_client()
    password_step(client)
    page = client.get("/console/login/code").text
    code = pyotp.TOTP(secret).at(time.time() + 30)
    return client.post("/console/login/code", data={"csrf_token": token(page), "code": code})


def test_the_secret_is_sealed_in_the_clinic_file_and_still_checks_codes(stores, app, data_dir):
    client = app.test_client()
    secret = set_up(client)
    stored = clinic_text(stores)
    assert secret not in stored and '"totp_secret":"fernet:' in stored
    key = (data_dir / "totp.key").read_bytes()
    assert key.strip() not in stored.encode(), "the key is not in the clinic file"
    assert (data_dir / "totp.key").stat().st_mode & 0o777 == 0o600
    assert log_in_with_code(app, secret).status_code == 302


@pytest.mark.files
def test_a_secret_stored_before_sealing_is_sealed_at_the_next_start(stores, app, data_dir):
    secret = accounts.new_totp_secret()
    clinic = app.extensions["clinic"]
    account = clinic.find_practitioner(EMAIL)
    path = data_dir / "clinic" / f"{clinic_file.CLINIC}.json"
    tables = load_file(path)
    tables[clinic_file.PRACTITIONERS] = {
        doc: {**row, "totp_secret": secret} if row["id"] == account["id"] else row
        for doc, row in tables[clinic_file.PRACTITIONERS].items()
    }
    AtomicJSONStorage(path).write(tables)
    assert secret in clinic_text(stores)
    restarted = create_app({**stores, "REQUIRE_TOTP": True})
    assert secret not in clinic_text(stores)
    assert log_in_with_code(restarted, secret).status_code == 302


def test_with_another_key_no_code_works_until_the_factor_is_reset(stores, app, data_dir, caplog):
    secret = set_up(app.test_client())
    (data_dir / "totp.key").unlink()
    replaced = create_app({**stores, "REQUIRE_TOTP": True})  # makes a new key
    refused = log_in_with_code(replaced, secret)
    assert refused.status_code == 401 and "Wrong or used code" in refused.text
    assert "practitioner reset-two-step" in caplog.text
    result = replaced.test_cli_runner().invoke(args=["practitioner", "reset-two-step", EMAIL])
    assert result.exit_code == 0, result.output
    client = replaced.test_client()
    password_step(client)
    # Signed in with the password; the clinic requires two-step, so set-up comes first.
    assert client.get("/console/").headers["Location"].endswith("/console/two-step")


def test_a_key_from_the_environment_never_touches_the_disk(stores, data_dir, monkeypatch):
    monkeypatch.setenv("PWA_TOTP_KEY", Fernet.generate_key().decode())
    app = create_app({**stores, "REQUIRE_TOTP": True})
    app.extensions["clinic"].add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    secret = set_up(app.test_client())
    assert not (data_dir / "totp.key").exists()
    assert secret not in clinic_text(stores)
    monkeypatch.setenv("PWA_TOTP_KEY", "not a key")
    with pytest.raises(ValueError, match="PWA_TOTP_KEY: not a key"):
        create_app({"DATA_DIR": data_dir})
