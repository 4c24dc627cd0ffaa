"""The practitioner console through the real app, real TinyDB files and the real CLI.

Accounts made on the command line, login and its generic failure message, the
per-account lockout kept in the clinic store, the per-address rate limit,
CSRF on every form, sessions that really end at logout and at their timeouts,
who may see what (practitioners, anonymous visitors, client phones), and a
new client plan with its one-time invitation.

Time is never slept through: a test moves a stored clock (a session's
last_seen_ms, an invitation's expires_ms...) into the past in the clinic file,
under the store's own lock, as another worker process would write it.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import secrets
import subprocess
import time
from datetime import date
from datetime import timedelta
from urllib.parse import unquote

import pytest
from markupsafe import escape
from support import ROOT
from support import clean_environment

from pwa import create_app
from pwa import storage
from pwa.clinic import accounts
from pwa.clinic import login_waits
from pwa.storage import clinic_file
from pwa.storage import postgres
from pwa.storage.table_file import load_file

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

EMAIL = "dr.ana@harbour-skin.co.uk"
PASSWORD = "a long practitioner passphrase"
OTHER_EMAIL = "dr.ben@harbour-skin.co.uk"
OTHER_PASSWORD = "another long passphrase"
WRONG_LOGIN = "Wrong e-mail or password."
INVITATION_GONE = "This invitation has expired or was already used."
NOT_FOUND = "No plan with this id for this device."
MINUTE_MS = 60 * 1000
DAY_MS = 24 * 60 * MINUTE_MS

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INVITE_LINK = re.compile(r"data-invitation-link>(http://localhost/settings/invite#([\w-]+))</a>")
QR = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
CLIENT_PAGE = re.compile(r'href="/console/clients/([\w-]{16,64})"')


def now_ms() -> int:
    return int(time.time() * 1000)


def day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def make_app(stores, **config):
    # A generous per-address limit unless a test sets its own: every test
    # client is 127.0.0.1, and only the rate-limit test is about that limit.
    settings = {"TESTING": True, **stores, "LOGIN_RATE_LIMIT": "1000 per minute"}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(stores):
    return make_app(stores)


@functools.cache
def password_hash(password: str) -> str:
    # A real Argon2id hash, made once per password: hashing is the slow part of a test.
    return accounts.hash_password(password)


def add_practitioner(app, email=EMAIL, password=PASSWORD) -> str:
    clinic = app.extensions["clinic"]
    return clinic.add_practitioner(email, password_hash(password), now_ms())


def practitioner(app, email=EMAIL) -> dict:
    return app.extensions["clinic"].find_practitioner(email)


# What the clinic store holds, read and changed the way another worker process would:
# in the clinic file, or in PostgreSQL's table of the same name.


def clinic_rows(app, table: str) -> list[dict]:
    clinic = app.extensions["clinic"]
    if isinstance(clinic, storage.FileClinicStore):
        with clinic.files.reading(clinic_file.CLINIC) as tdb:
            return [dict(row) for row in tdb.table(table).all()]
    with clinic.db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.exec_driver_sql(f"SELECT * FROM {table}")]


def change_clinic_rows(app, table: str, changes: dict) -> None:
    """Set `changes` on every row of the table, under the store's lock."""
    clinic = app.extensions["clinic"]
    if isinstance(clinic, storage.FileClinicStore):
        with clinic.files.locked(clinic_file.CLINIC) as tdb:
            tdb.table(table).update(changes)
        return
    settings = ", ".join(f"{name} = %({name})s" for name in changes)
    with clinic.db.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {table} SET {settings}", changes)


def stored_clinic_text(stores) -> str:
    """Everything the clinic store keeps, as text: no secret may appear in it."""
    if "DATABASE_URL" not in stores:
        path = stores["DATA_DIR"] / "clinic" / f"{clinic_file.CLINIC}.json"
        return path.read_text() if path.exists() else ""
    with postgres.Database.at(stores["DATABASE_URL"]).engine.connect() as connection:
        return "\n".join(
            json.dumps(row[0], separators=(",", ":"))
            for table in CLINIC_TABLES
            for row in connection.exec_driver_sql(f"SELECT row_to_json(t) FROM {table} t")
        )


CLINIC_TABLES = ("practitioners", "console_sessions", "clients", "invitations", "login_failures")


def console_sessions(app) -> list[dict]:
    return clinic_rows(app, clinic_file.CONSOLE_SESSIONS)


def invitations(app) -> list[dict]:
    return clinic_rows(app, clinic_file.INVITATIONS)


# A browser at the console.


INVALID = re.compile(r'<(?:input|select)[^>]*\baria-invalid="true"[^>]*>')


def invalid_fields(page: str) -> list[tuple[str, str, bool]]:
    """Each field marked invalid: (its id, the id it is described by, whether it has the
    focus when the page loads)."""
    found = []
    for tag in INVALID.findall(page):
        described = re.search(r'aria-describedby="([^"]+)"', tag).group(1)
        found.append((re.search(r'id="([^"]+)"', tag).group(1), described, " autofocus" in tag))
    return found


def form_token(client, path: str, **request) -> str:
    page = client.get(path, **request)
    assert page.status_code == 200, (path, page.status_code)
    return CSRF.search(page.text).group(1)


def log_in(client, email=EMAIL, password=PASSWORD, next_path="", **request):
    token = form_token(client, "/console/login", **request)
    form = {"csrf_token": token, "email": email, "password": password, "next": next_path}
    return client.post("/console/login", data=form, **request)


def signed_in(app, email=EMAIL, password=PASSWORD):
    client = app.test_client()
    answer = log_in(client, email, password)
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
    return client


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("console")
    return cookie.value if cookie else None


def sid_hash(app, client) -> str:
    """The stored key of this browser's console session (the cookie holds the id itself)."""
    content = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    return accounts.digest(content["sid"])


def cookie_attributes(response, name: str = "console") -> list[str]:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return [part.strip() for part in header.split(";")[1:]]
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


def goes_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/console/login")


def plan_form(**changes) -> dict:
    form = {
        "nickname": "Jo (Tuesday)",
        "last_session": day(-2),
        "session_number": "1",
        "planned_sessions": "4",
        "next_session": day(26),
        "skin_type": "IV",
        "pih_history": "no",
    }
    form.update(changes)
    return form


def new_client(console, **changes):
    """Make a client plan from the console; (invitation page, plan id, invitation code).

    The POST answers with a redirect to the invitation's own page, which shows the code."""
    token = form_token(console, "/console/clients/new")
    made = console.post("/console/clients/new", data={"csrf_token": token, **plan_form(**changes)})
    assert made.status_code == 303, made.text
    page = console.get(made.headers["Location"])
    assert page.status_code == 200, page.text
    return page, CLIENT_PAGE.search(page.text).group(1), INVITE_LINK.search(page.text).group(2)


class Phone:
    """A client's phone: its own device id and credential, no console cookie."""

    def __init__(self, app):
        self.client = app.test_client()
        self.id = secrets.token_urlsafe(12)
        self.credential = secrets.token_urlsafe(24)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.id}.{self.credential}"}

    def check(self, code: str):
        return self.client.post("/api/invitations/check", json={"code": code})

    def redeem(self, code: str, device_id: str | None = None):
        body = {"code": code, "device_id": device_id or self.id, "credential": self.credential}
        return self.client.post("/api/invitations/redeem", json=body)

    def export(self, plan_id: str):
        return self.client.get(f"/api/plans/{plan_id}/export", headers=self.auth)

    def sync(self, plan_id: str):
        body = {"cursor": 0, "events": []}
        return self.client.post(f"/api/plans/{plan_id}/sync", json=body, headers=self.auth)


# 1. Accounts on the command line


def run_create(stores, email: str, password: str | None):
    env = clean_environment(**{name: str(value) for name, value in stores.items()})
    if password is not None:
        env["PWA_PASSWORD"] = password
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "pwa", "practitioner", "create", email],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_practitioners(stores) -> list[dict]:
    if "DATABASE_URL" in stores:
        with postgres.Database.at(stores["DATABASE_URL"]).engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT * FROM practitioners").all()
        return [dict(row._mapping) for row in rows]
    path = stores["DATA_DIR"] / "clinic" / f"{clinic_file.CLINIC}.json"
    if not path.exists():
        return []
    return list(load_file(path).get(clinic_file.PRACTITIONERS, {}).values())


def test_cli_creates_an_account_that_can_log_in(stores):
    made = run_create(stores, "Dr.Ana@Harbour-Skin.co.uk", PASSWORD)
    assert made.returncode == 0, made.stderr
    assert f"Created a console account for {EMAIL}" in made.stdout
    [account] = stored_practitioners(stores)
    assert account["email"] == EMAIL
    assert account["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in stored_clinic_text(stores)

    app = make_app(stores)
    answer = log_in(app.test_client(), EMAIL, PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"


def test_cli_refuses_an_email_that_exists_in_any_case(stores):
    assert run_create(stores, EMAIL, PASSWORD).returncode == 0
    again = run_create(stores, EMAIL.upper(), "a different long password")
    assert again.returncode != 0
    assert f"an account for {EMAIL} already exists" in again.stderr
    [account] = stored_practitioners(stores)
    app = make_app(stores)
    assert log_in(app.test_client(), EMAIL, PASSWORD).status_code == 302, "the first one stays"
    assert account["email"] == EMAIL


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (EMAIL, None, "no password: set PWA_PASSWORD"),
        (EMAIL, "11 letters!", "password: must be at least 12 characters"),
        ("not-an-address", PASSWORD, "email: must be an e-mail address"),
        ("ana@localhost", PASSWORD, "email: must be an e-mail address"),
    ],
)
def test_cli_refuses_bad_input_and_stores_nothing(stores, email, password, message):
    made = run_create(stores, email, password)
    assert made.returncode != 0
    assert message in made.stderr
    assert stored_practitioners(stores) == []


# 2. Login


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client):
    add_practitioner(app)
    wrong = log_in(client, EMAIL, "not the right passphrase")
    unknown = log_in(client, "nobody@harbour-skin.co.uk", PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert WRONG_LOGIN in answer.text
    # The same page to the byte: nothing tells an address with an account from one without.
    assert wrong.data == unknown.data
    assert console_sessions(app) == []
    assert goes_to_login(client.get("/console/"))
    # Each counted alike (per e-mail, and per e-mail and address), under hashed keys.
    counted = login_failures(app)
    assert sorted(counted.values()) == [1, 1, 1, 1]
    assert not any("harbour-skin" in key or "nobody" in key for key in counted)


def test_login_ignores_the_case_of_the_email_and_sets_a_strict_cookie(app, client):
    add_practitioner(app)
    answer = log_in(client, "DR.Ana@HARBOUR-skin.co.uk", PASSWORD)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/"
    attributes = cookie_attributes(answer)
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Secure" not in attributes, "a Secure cookie would never come back over plain http"
    index = client.get("/console/")
    assert index.status_code == 200 and EMAIL in index.text
    assert len(console_sessions(app)) == 1


def test_the_cookie_is_secure_over_https(app):
    add_practitioner(app)
    client = app.test_client()
    answer = log_in(client, base_url="https://localhost")
    assert answer.status_code == 302
    attributes = cookie_attributes(answer)
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(attributes)


def test_the_cookie_holds_only_a_session_id_the_store_keeps_hashed(app, stores):
    add_practitioner(app)
    client = signed_in(app)
    content = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    assert set(content) == {"sid"}
    [record] = console_sessions(app)
    assert record["sid_hash"] == accounts.digest(content["sid"])
    assert content["sid"] not in stored_clinic_text(stores)


@pytest.mark.parametrize(
    ("next_path", "landing"),
    [
        ("/console/clients/new", "/console/clients/new"),
        ("", "/console/"),
        ("/settings/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("///evil.example/console/", "/console/"),
        ("javascript:alert(1)//console/", "/console/"),
    ],
)
def test_after_login_only_console_paths_are_followed(app, client, next_path, landing):
    add_practitioner(app)
    answer = log_in(client, next_path=next_path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == landing


def test_a_page_asked_for_before_login_is_the_one_shown_after(app, client):
    add_practitioner(app)
    sent = client.get("/console/clients/new")
    assert goes_to_login(sent)
    next_path = unquote(sent.headers["Location"].split("next=", 1)[1])
    assert next_path == "/console/clients/new"
    assert f'name="next" value="{next_path}"' in client.get(sent.headers["Location"]).text
    assert log_in(client, next_path=next_path).headers["Location"] == "/console/clients/new"


# 3. Wrong logins grow a wait, counted where every worker sees it


def login_failures(app) -> dict[str, int]:
    """The wrong-login counts whose window runs, as the clinic store keeps them, by key."""
    now_ms = time.time() * 1000
    rows = clinic_rows(app, clinic_file.LOGIN_FAILURES)
    return {row["key"]: row["failures"] for row in rows if row["window_ends_ms"] > now_ms}


def end_the_wait(app) -> None:
    """Move every login wait's end into the past in the clinic store, as time would."""
    change_clinic_rows(app, clinic_file.LOGIN_FAILURES, {"wait_until_ms": 0})


def wait_in(answer) -> str:
    """The wait a refused login names, with the number of seconds made a placeholder."""
    found = re.search(r"Too many wrong tries for this e-mail\. Wait (\d+) seconds?", answer.text)
    assert found, answer.text
    return found.group(1)


def test_wrong_logins_grow_a_wait_that_every_worker_sees_and_that_ends(stores):
    config = {"LOGIN_MAX_FAILURES": 3, "LOGIN_LOCK_MINUTES": 10}
    app = make_app(stores, **config)
    add_practitioner(app)
    for _ in range(3):
        answer = log_in(app.test_client(), password="not the right passphrase")
        assert answer.status_code == 401 and WRONG_LOGIN in answer.text
    # The third wrong password costs a wait of 2 s: even the right one is not tried.
    refused = log_in(app.test_client())
    assert refused.status_code == 429
    assert wait_in(refused) in ("1", "2")
    assert console_sessions(app) == []
    # Another gunicorn worker (its own app on the same data folder) sees the same wait.
    other_worker = make_app(stores, **config)
    assert log_in(other_worker.test_client()).status_code == 429

    end_the_wait(app)
    wrong = log_in(other_worker.test_client(), password="still not the right one")
    assert wrong.status_code == 401
    assert wait_in(log_in(app.test_client())) in ("3", "4"), "the fourth doubles it"
    end_the_wait(app)
    answer = log_in(other_worker.test_client())
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
    assert login_failures(app) == {}, "a good login forgets the count"


def test_the_wait_reads_the_same_for_an_e_mail_with_no_account(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=2)
    add_practitioner(app)
    pages = []
    for email in (EMAIL, "nobody@harbour-skin.co.uk"):
        for _ in range(2):
            assert log_in(app.test_client(), email, "not the right one!").status_code == 401
        refused = log_in(app.test_client(), email, PASSWORD)
        assert refused.status_code == 429
        page = re.sub(r"Wait \d+ seconds?", "Wait N seconds", refused.text)
        pages.append(re.sub(r'name="csrf_token" value="[^"]*"', "", page))
    assert pages[0] == pages[1]


def test_the_wait_never_outgrows_its_longest(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=1, LOGIN_LOCK_MINUTES=3)
    add_practitioner(app)
    for _ in range(12):
        assert log_in(app.test_client(), password="not the right one!").status_code in (401, 429)
        end_the_wait(app)
    assert log_in(app.test_client(), password="not the right one!").status_code == 401
    assert "Wait 3 minutes" in log_in(app.test_client()).text


def test_wrong_tries_from_one_address_do_not_slow_the_owner_elsewhere(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=2)
    add_practitioner(app)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    for _ in range(2):
        assert log_in(attacker, password="not the right one!").status_code == 401
    assert log_in(attacker).status_code == 429
    assert log_in(app.test_client()).status_code == 302, "the owner, at the clinic's address"


def test_wrong_tries_spread_over_many_addresses_slow_that_e_mail_everywhere(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=100)
    add_practitioner(app)
    for n in range(login_waits.FREE_FAILURES_PER_EMAIL):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        assert log_in(client, password="not the right one!").status_code == 401
    assert log_in(app.test_client()).status_code == 429
    assert log_in(app.test_client(), "nobody@harbour-skin.co.uk", PASSWORD).status_code == 401


def test_a_good_login_resets_the_count_of_wrong_passwords(stores):
    app = make_app(stores, LOGIN_MAX_FAILURES=3)
    add_practitioner(app)
    for _ in range(2):
        assert log_in(app.test_client(), password="not the right one!").status_code == 401
    assert sorted(login_failures(app).values()) == [2, 2]
    signed_in(app)
    assert login_failures(app) == {}
    for _ in range(2):
        assert log_in(app.test_client(), password="not the right one!").status_code == 401
    signed_in(app)


# 4. Rate limit per address


def test_login_posts_are_limited_per_address_but_the_page_is_not(stores):
    app = make_app(stores, LOGIN_RATE_LIMIT="3 per minute")
    add_practitioner(app)
    client = app.test_client()
    token = form_token(client, "/console/login")
    wrong = {"csrf_token": token, "email": EMAIL, "password": "not the right passphrase"}
    for _ in range(3):
        assert client.post("/console/login", data=wrong).status_code == 401
    limited = client.post("/console/login", data={**wrong, "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert console_sessions(app) == []
    assert sorted(login_failures(app).values()) == [3, 3], "the refused attempt was not tried"
    for _ in range(5):
        assert client.get("/console/login").status_code == 200

    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert log_in(elsewhere).status_code == 302


# 5. CSRF


@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token-forged"])
def test_a_login_without_its_csrf_token_is_refused(app, client, token):
    add_practitioner(app)
    form_token(client, "/console/login")  # this browser has a token; the form does not send it
    form = {"email": EMAIL, "password": "not the right passphrase"}
    if token is not None:
        form["csrf_token"] = token
    assert client.post("/console/login", data=form).status_code == 400
    assert client.post("/console/login", data={**form, "password": PASSWORD}).status_code == 400
    assert console_sessions(app) == []
    assert login_failures(app) == {}
    assert goes_to_login(client.get("/console/"))


@pytest.mark.parametrize("kind", ["missing", "forged", "pre-login", "another session's"])
def test_console_forms_without_their_csrf_token_change_nothing(app, kind):
    add_practitioner(app)
    console = app.test_client()
    pre_login_token = form_token(console, "/console/login")
    assert log_in(console).status_code == 302
    _, plan_id, _ = new_client(console)
    tokens = {
        "missing": None,
        "forged": "forged-token-forged-token-forged",
        "pre-login": pre_login_token,
        "another session's": form_token(signed_in(app), "/console/"),
    }
    token = tokens[kind]
    sent = {} if token is None else {"csrf_token": token}
    store = app.extensions["plans"]
    before = {
        "clients": clinic_rows(app, clinic_file.CLIENTS),
        "invitations": invitations(app),
        "sessions": console_sessions(app),
        "plans": store.plan_ids(),
        "plan": store.export_plan(plan_id),
    }

    assert console.post("/console/clients/new", data={**sent, **plan_form()}).status_code == 400
    assert console.post(f"/console/clients/{plan_id}/invitation", data=sent).status_code == 400
    moved = {**sent, "day": day(30), "status": "planned"}
    assert console.post(f"/console/clients/{plan_id}/sessions", data=moved).status_code == 400
    confirmed = {**sent, "confirm": plan_form()["nickname"]}
    assert console.post(f"/console/clients/{plan_id}/delete", data=confirmed).status_code == 400
    refused = console.post("/console/logout", data=sent)
    assert refused.status_code == 400
    assert "Clear-Site-Data" not in refused.headers

    assert clinic_rows(app, clinic_file.CLIENTS) == before["clients"]
    assert invitations(app) == before["invitations"]
    assert console_sessions(app) == before["sessions"]
    assert store.plan_ids() == before["plans"]
    assert store.export_plan(plan_id) == before["plan"]
    assert console.get("/console/").status_code == 200, "still signed in"


# 6. Logout


def test_logout_ends_the_session_on_the_server(stores):
    app = make_app(stores)
    add_practitioner(app)
    console = signed_in(app)
    stolen = session_cookie(console)
    other_worker = make_app(stores).test_client()
    other_worker.set_cookie("console", stolen)
    assert other_worker.get("/console/").status_code == 200, "a session works in every worker"

    token = form_token(console, "/console/")
    answer = console.post("/console/logout", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/login"
    assert "cookies" in answer.headers["Clear-Site-Data"]
    assert "cache" in answer.headers["Clear-Site-Data"]
    assert console_sessions(app) == []

    assert goes_to_login(console.get("/console/"))
    for replay in (app.test_client(), make_app(stores).test_client()):
        replay.set_cookie("console", stolen)
        answer = replay.get("/console/")
        assert goes_to_login(answer)
        assert EMAIL not in answer.text


def test_a_login_gets_a_session_id_nobody_saw_before(app, client):
    add_practitioner(app)
    form_token(client, "/console/login")
    planted = session_cookie(client)  # what someone who handed this browser its cookie knows
    assert log_in(client).status_code == 302
    serializer = app.session_interface.get_signing_serializer(app)
    before, after = serializer.loads(planted), serializer.loads(session_cookie(client))
    assert after["sid"] not in before.values()
    fixed = app.test_client()
    fixed.set_cookie("console", planted)
    assert goes_to_login(fixed.get("/console/"))
    assert log_in(app.test_client()).status_code == 302
    assert len({record["sid_hash"] for record in console_sessions(app)}) == 2


# 7. Timeouts


def test_an_idle_session_ends(stores):
    app = make_app(stores, CONSOLE_IDLE_MINUTES=1)
    add_practitioner(app)
    console = signed_in(app)
    clinic = app.extensions["clinic"]
    cookie = session_cookie(console)

    clinic.touch_console_session(sid_hash(app, console), now_ms() - 30 * 1000)
    assert console.get("/console/").status_code == 200, "30 s idle is within the minute"

    clinic.touch_console_session(sid_hash(app, console), now_ms() - 2 * MINUTE_MS)
    answer = console.get("/console/")
    assert goes_to_login(answer)
    assert console_sessions(app) == [], "a timed-out session is removed from the store"
    replay = app.test_client()
    replay.set_cookie("console", cookie)
    assert goes_to_login(replay.get("/console/"))


def test_a_session_ends_after_its_maximum_age_even_when_active(stores):
    app = make_app(stores, CONSOLE_MAX_HOURS=1)
    add_practitioner(app)
    console = signed_in(app)
    started = now_ms() - 59 * MINUTE_MS
    change_clinic_rows(app, clinic_file.CONSOLE_SESSIONS, {"created_ms": started})
    assert console.get("/console/").status_code == 200, "59 minutes is within the hour"

    change_clinic_rows(app, clinic_file.CONSOLE_SESSIONS, {"created_ms": now_ms() - 61 * MINUTE_MS})
    [record] = console_sessions(app)
    assert now_ms() - record["last_seen_ms"] < MINUTE_MS, "the session is not idle"
    assert goes_to_login(console.get("/console/"))
    assert console_sessions(app) == []


def test_an_active_session_outlives_the_idle_timeout(stores):
    app = make_app(stores, CONSOLE_IDLE_MINUTES=1)
    add_practitioner(app)
    console = signed_in(app)
    hashed = sid_hash(app, console)
    clinic = app.extensions["clinic"]
    # Logged in 50 s ago, and a request now:
    change_clinic_rows(
        app,
        clinic_file.CONSOLE_SESSIONS,
        {"created_ms": now_ms() - 50 * 1000, "last_seen_ms": now_ms() - 50 * 1000},
    )
    assert console.get("/console/").status_code == 200
    # ... then 20 s pass (every stored clock moves back 20 s) and another request.
    [record] = console_sessions(app)
    clinic.touch_console_session(hashed, record["last_seen_ms"] - 20 * 1000)
    assert console.get("/console/").status_code == 200, "active 20 s ago, idle limit 1 minute"


# 8. Who may see what


def test_a_practitioner_sees_only_their_own_clients(app):
    add_practitioner(app)
    add_practitioner(app, OTHER_EMAIL, OTHER_PASSWORD)
    mine = signed_in(app)
    theirs = signed_in(app, OTHER_EMAIL, OTHER_PASSWORD)
    _, my_plan, _ = new_client(mine, nickname="Mine Alone")
    _, their_plan, their_code = new_client(theirs, nickname="Sam Theirs")
    their_phone = Phone(app)
    assert their_phone.redeem(their_code).status_code == 200
    store = app.extensions["plans"]
    their_data = store.export_plan(their_plan)

    listing = mine.get("/console/").text
    assert "Mine Alone" in listing and my_plan in listing
    assert "Sam Theirs" not in listing and their_plan not in listing

    page = mine.get(f"/console/clients/{their_plan}")
    assert page.status_code == 404 and "Sam Theirs" not in page.text
    before = invitations(app)
    token = form_token(mine, "/console/")
    made = mine.post(f"/console/clients/{their_plan}/invitation", data={"csrf_token": token})
    assert made.status_code == 404 and "settings/invite#" not in made.text
    assert invitations(app) == before

    # Nor change their sessions, unlink their phone or delete their plan.
    for path, form in [
        (f"/console/clients/{their_plan}/sessions", {"day": day(30), "status": "planned"}),
        (f"/console/clients/{their_plan}/devices/{their_phone.id}/revoke", {}),
        (f"/console/clients/{their_plan}/delete", {"confirm": "Sam Theirs"}),
    ]:
        answer = mine.post(path, data={"csrf_token": token, **form})
        assert answer.status_code == 404, path
    assert store.export_plan(their_plan) == their_data
    assert their_phone.export(their_plan).status_code == 200
    assert app.extensions["clinic"].client_owner(their_plan) is not None

    # The owner still reaches them, and an unknown id looks the same as someone else's.
    assert theirs.get(f"/console/clients/{their_plan}").status_code == 200
    assert mine.get(f"/console/clients/{secrets.token_urlsafe(16)}").status_code == 404


ANONYMOUS_MATRIX = [
    ("GET", "/console/"),
    ("GET", "/console/clients/new"),
    ("POST", "/console/clients/new"),
    ("GET", "/console/clients/{plan}"),
    ("GET", "/console/clients/{plan}/invitation"),
    ("POST", "/console/clients/{plan}/invitation"),
    ("POST", "/console/clients/{plan}/sessions"),
    ("GET", "/console/clients/{plan}/devices/clinic-console/revoke"),
    ("POST", "/console/clients/{plan}/devices/clinic-console/revoke"),
    ("POST", "/console/clients/{plan}/delete"),
    ("POST", "/console/logout"),
    ("GET", "/console/account/password"),
    ("POST", "/console/account/password"),
    ("GET", "/console/two-step"),
    ("POST", "/console/two-step/start"),
    ("POST", "/console/two-step/confirm"),
    ("POST", "/console/two-step/disable"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_MATRIX)
def test_anonymous_requests_go_to_login_and_change_nothing(app, method, path):
    add_practitioner(app)
    _, plan_id, _ = new_client(signed_in(app), nickname="Private Nickname")
    store = app.extensions["plans"]

    def state():
        return (
            clinic_rows(app, clinic_file.CLIENTS),
            invitations(app),
            console_sessions(app),
            store.plan_ids(),
            store.export_plan(plan_id),
        )

    before = state()
    stranger = app.test_client()
    token = form_token(stranger, "/console/login")  # even with a login page's token
    form = {"csrf_token": token, **plan_form(), "confirm": "Private Nickname", "day": day(30)}
    answer = stranger.open(path.format(plan=plan_id), method=method, data=form)
    assert goes_to_login(answer)
    assert "Private Nickname" not in answer.text
    assert state() == before


def test_the_anonymous_matrix_covers_every_console_route(app):
    """A console route added later must join the matrix above (or be a login step)."""
    matrix = {
        (method, path.replace("{plan}", "<plan_id>").replace("clinic-console", "<device_id>"))
        for method, path in ANONYMOUS_MATRIX
    }
    open_to_all = {"/console/login", "/console/login/code"}
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/console") and rule.rule not in open_to_all
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - matrix == set()


def test_a_client_phone_does_not_reach_the_console(app):
    add_practitioner(app)
    _, plan_id, code = new_client(signed_in(app), nickname="Private Nickname")
    phone = Phone(app)
    assert phone.redeem(code).status_code == 200
    assert phone.export(plan_id).status_code == 200, "the phone's credential works on the API"
    for path in ("/console/", f"/console/clients/{plan_id}", "/console/clients/new"):
        answer = phone.client.get(path, headers=phone.auth)
        assert goes_to_login(answer), path
        assert "Private Nickname" not in answer.text


def test_a_phone_of_one_plan_cannot_read_another(app):
    add_practitioner(app)
    console = signed_in(app)
    _, plan_a, code_a = new_client(console, nickname="Client A")
    _, plan_b, code_b = new_client(console, nickname="Client B")
    phone_a, phone_b = Phone(app), Phone(app)
    assert phone_a.redeem(code_a).get_json()["plan_id"] == plan_a
    assert phone_b.redeem(code_b).get_json()["plan_id"] == plan_b

    assert phone_a.export(plan_a).status_code == 200
    assert phone_a.sync(plan_a).status_code == 200
    for answer in (phone_a.export(plan_b), phone_a.sync(plan_b), phone_b.export(plan_a)):
        assert answer.status_code == 404
        assert answer.get_json()["message"] == NOT_FOUND


def test_an_invitation_works_once_and_checking_does_not_use_it(stores):
    app = make_app(stores, CLINIC_NAME="Harbour Skin Clinic")
    add_practitioner(app)
    _, plan_id, code = new_client(signed_in(app))
    phone, latecomer = Phone(app), Phone(app)
    for _ in range(2):
        checked = phone.check(code)
        assert checked.status_code == 200
        assert checked.get_json() == {"clinic_name": "Harbour Skin Clinic"}
    assert [row["used_ms"] for row in invitations(app)] == [None]

    taken = phone.redeem(code)
    assert taken.status_code == 200
    body = taken.get_json()
    assert body["plan_id"] == plan_id and body["cursor"] == 0
    assert body["plan"] == app.extensions["plans"].get_plan(plan_id)

    for answer in (phone.check(code), latecomer.redeem(code), phone.redeem(code)):
        assert answer.status_code == 404
        assert answer.get_json()["message"].startswith(INVITATION_GONE)
    devices = app.extensions["plans"].list_devices(plan_id)
    assert [d["device"] for d in devices] == ["clinic-console", phone.id]


def test_an_expired_invitation_is_refused(stores):
    app = make_app(stores, INVITATION_DAYS=2)
    add_practitioner(app)
    before = now_ms()
    _, plan_id, code = new_client(signed_in(app))
    after = now_ms()
    [stored] = invitations(app)
    assert stored["code_hash"] == accounts.digest(code)
    assert before + 2 * DAY_MS <= stored["expires_ms"] <= after + 2 * DAY_MS

    change_clinic_rows(app, clinic_file.INVITATIONS, {"expires_ms": now_ms() - 1000})
    phone = Phone(app)
    for answer in (phone.check(code), phone.redeem(code)):
        assert answer.status_code == 404
        assert answer.get_json()["message"].startswith(INVITATION_GONE)

    # One made already expired through the repository is refused the same way.
    other_code = accounts.new_secret()
    clinic = app.extensions["clinic"]
    clinic.add_invitation(accounts.digest(other_code), plan_id, now_ms() - 1)
    assert phone.redeem(other_code).status_code == 404
    devices = app.extensions["plans"].list_devices(plan_id)
    assert [d["device"] for d in devices] == ["clinic-console"]


def test_a_refused_redeem_does_not_use_up_the_invitation(app):
    add_practitioner(app)
    _, plan_id, code = new_client(signed_in(app))
    phone = Phone(app)
    # A device id already on the plan (here the clinic's own) is refused...
    refused = phone.redeem(code, device_id="clinic-console")
    assert refused.status_code == 409
    assert [row["used_ms"] for row in invitations(app)] == [None]
    # ... and the invitation still works for the phone's own id.
    assert phone.redeem(code).status_code == 200


def test_a_client_who_deleted_their_plan_leaves_the_console(app):
    add_practitioner(app)
    console = signed_in(app)
    _, plan_id, code = new_client(console, nickname="Gone Away")
    phone = Phone(app)
    assert phone.redeem(code).status_code == 200
    assert phone.client.delete(f"/api/plans/{plan_id}", headers=phone.auth).status_code == 204
    assert "Gone Away" not in console.get("/console/").text
    assert console.get(f"/console/clients/{plan_id}").status_code == 404
    token = form_token(console, "/console/")
    made = console.post(f"/console/clients/{plan_id}/invitation", data={"csrf_token": token})
    assert made.status_code == 404
    assert app.extensions["clinic"].client_owner(plan_id) is None


# 9. A new client plan


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"nickname": "   "}, "nickname", "Nickname: 1 to 40 characters"),
        ({"nickname": "x" * 41}, "nickname", "Nickname: 1 to 40 characters"),
        ({"last_session": ""}, "last-session", "Date of this session: must be a date YYYY-MM-DD"),
        (
            {"last_session": "2026-02-30"},
            "last-session",
            "Date of this session: must be a date YYYY-MM-DD",
        ),
        (
            {"last_session": "10/03/2026"},
            "last-session",
            "Date of this session: must be a date YYYY-MM-DD",
        ),
        (
            {"next_session": day(-2)},
            "next-session",
            "Next session: must come after the latest session",
        ),
        (
            {"next_session": day(-5)},
            "next-session",
            "Next session: must come after the latest session",
        ),
        ({"next_session": "soon"}, "next-session", "Next session: must be a date YYYY-MM-DD"),
        (
            {"session_number": "one"},
            "session-number",
            "Which session is it: session numbers must be whole numbers",
        ),
        ({"skin_type": "VII"}, "skin-type", "Skin type: must be one of"),
        ({"pih_history": "maybe"}, "pih-history", "History of PIH: must be one of"),
    ],
)
def test_a_bad_new_client_form_names_the_field_and_stores_nothing(app, changes, field, message):
    add_practitioner(app)
    console = signed_in(app)
    token = form_token(console, "/console/clients/new")
    form = plan_form(**changes)
    answer = console.post("/console/clients/new", data={"csrf_token": token, **form})
    assert answer.status_code == 400
    assert message in html.unescape(answer.text)
    assert invalid_fields(answer.text) == [(field, f"{field}-error", True)], "tied to its field"
    assert answer.headers["Cache-Control"] == "no-store"
    if "nickname" not in changes:
        assert f'value="{form["nickname"]}"' in answer.text, "the form keeps what was typed"
    assert clinic_rows(app, clinic_file.CLIENTS) == []
    assert invitations(app) == []
    assert app.extensions["plans"].plan_ids() == []


@pytest.mark.parametrize(
    ("skin_type", "pih_history", "mode"),
    [("IV", "no", "pih_risk"), ("I", "no", "standard"), ("II", "not-sure", "pih_risk")],
)
def test_a_new_client_plan_gives_an_invitation_and_joins_the_list(
    stores, skin_type, pih_history, mode
):
    app = make_app(stores, CLINIC_TIME_ZONE="Europe/Dublin")
    add_practitioner(app)
    console = signed_in(app)
    nickname = 'Jo & "Sam" <Tue>'
    page, plan_id, code = new_client(
        console, nickname=nickname, skin_type=skin_type, pih_history=pih_history
    )
    assert INVITE_LINK.search(page.text).group(1) == f"http://localhost/settings/invite#{code}"
    svg = base64.b64decode(QR.search(page.text).group(1))
    assert svg.lstrip().startswith(b"<svg")
    assert str(escape(nickname)) in page.text and nickname not in page.text

    plan = app.extensions["plans"].get_plan(plan_id)
    assert plan["mode"] == mode
    assert plan["skin_type"] == skin_type and plan["pih_history"] == pih_history
    assert plan["time_zone"] == "Europe/Dublin"
    assert plan["sessions"] == [{"day": day(-2), "number": 1}]
    assert plan["next_session"] == day(26)
    assert plan["planned_sessions"] == 4

    [client_row] = clinic_rows(app, clinic_file.CLIENTS)
    assert client_row["plan_id"] == plan_id and client_row["nickname"] == nickname
    assert client_row["practitioner"] == practitioner(app)["id"]
    listing = console.get("/console/")
    assert str(escape(nickname)) in listing.text and f"/console/clients/{plan_id}" in listing.text
    assert code not in stored_clinic_text(stores), "only the code's hash is stored"
    assert Phone(app).check(code).status_code == 200


def test_a_new_invitation_replaces_the_unused_one(app):
    add_practitioner(app)
    console = signed_in(app)
    _, plan_id, first = new_client(console, nickname="Jo")
    token = form_token(console, f"/console/clients/{plan_id}")
    made = console.post(f"/console/clients/{plan_id}/invitation", data={"csrf_token": token})
    assert made.status_code == 303
    assert made.headers["Location"] == f"/console/clients/{plan_id}/invitation"
    page = console.get(made.headers["Location"])
    second = INVITE_LINK.search(page.text).group(2)
    assert second != first
    # The new invitation replaces the unused one: a lost link stops working.
    assert {row["code_hash"] for row in invitations(app)} == {accounts.digest(second)}
    assert Phone(app).redeem(first).status_code == 404
    assert Phone(app).redeem(second).get_json()["plan_id"] == plan_id


def test_console_responses_are_never_cached(app):
    add_practitioner(app)
    anonymous = app.test_client()
    answers = [anonymous.get("/console/login"), anonymous.get("/console/")]
    answers.append(anonymous.post("/console/login", data={"email": EMAIL}))
    console = signed_in(app)
    page, plan_id, _ = new_client(console)
    answers += [
        page,
        console.get("/console/"),
        console.get("/console/clients/new"),
        console.get(f"/console/clients/{plan_id}"),
        console.get(f"/console/clients/{secrets.token_urlsafe(16)}"),
    ]
    assert [a.status_code for a in answers] == [200, 302, 400, 200, 200, 200, 200, 404]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
