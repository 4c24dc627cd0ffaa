"""Web Push: the VAPID key, the contact and subscription checks, and real sends to a
fake push service on 127.0.0.1 (tests/push_receiver.py) that verifies and decrypts."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import stat
import time
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from push_receiver import PushReceiver
from support import free_port
from urllib3.util import parse_url

from pwa.reminders import push
from pwa.reminders import push_checks

CONTACT = "mailto:clinic@example-clinic.co.uk"
PAYLOAD = {"t": "Day 3: gentle cleanser only", "url": "/today", "n": 3}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def browser_keys() -> dict:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc:DEF-123", **extra):
    return {"endpoint": endpoint, "expirationTime": None, "keys": browser_keys(), **extra}


# --- the VAPID key ------------------------------------------------------------


def test_vapid_key_is_created_once_private_and_kept(tmp_path):
    data_dir = tmp_path / "data"
    key_path = push.ensure_vapid_key(data_dir)
    assert key_path == data_dir / push.VAPID_KEY_FILE
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    first = key_path.read_bytes()
    public = push.application_server_key(key_path)

    assert push.ensure_vapid_key(data_dir) == key_path
    assert key_path.read_bytes() == first
    assert push.application_server_key(key_path) == public
    assert sorted(p.name for p in data_dir.iterdir()) == [push.VAPID_KEY_FILE]


def test_application_server_key_is_the_uncompressed_public_point(tmp_path):
    key_path = push.ensure_vapid_key(tmp_path)
    text = push.application_server_key(key_path)
    assert "=" not in text and "+" not in text and "/" not in text
    point = unb64url(text)
    assert len(point) == 65 and point[0] == 0x04
    private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert point == private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_a_process_that_loses_the_race_keeps_the_first_key(tmp_path):
    key_path = tmp_path / push.VAPID_KEY_FILE
    push._create_vapid_key(key_path)
    first = key_path.read_bytes()
    push._create_vapid_key(key_path)  # finished second: its key is thrown away
    assert key_path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == [push.VAPID_KEY_FILE]


def _race(data_dir, barrier, results) -> None:
    barrier.wait(timeout=30)
    results.put(push.application_server_key(push.ensure_vapid_key(data_dir)))


def test_processes_racing_to_create_the_key_all_end_with_the_same_one(tmp_path):
    data_dir = tmp_path / "data"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(8)
    results = context.Queue()
    workers = [context.Process(target=_race, args=(data_dir, barrier, results)) for _ in range(8)]
    for worker in workers:
        worker.start()
    try:
        keys = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
        results.close()
        results.join_thread()
    assert [worker.exitcode for worker in workers] == [0] * 8
    assert len(set(keys)) == 1
    assert keys[0] == push.application_server_key(data_dir / push.VAPID_KEY_FILE)
    assert [p.name for p in data_dir.iterdir()] == [push.VAPID_KEY_FILE]


def test_a_damaged_key_file_is_reported_not_used(tmp_path):
    (tmp_path / push.VAPID_KEY_FILE).write_text("not a key\n")
    with pytest.raises(ValueError):
        push.ensure_vapid_key(tmp_path)


# --- the contact --------------------------------------------------------------


@pytest.mark.parametrize(
    "contact, expected",
    [
        (CONTACT, CONTACT),
        (
            "mailto:Clinic.Team+push@Example-Clinic.CO.UK",
            "mailto:Clinic.Team+push@example-clinic.co.uk",
        ),
        ("https://example-clinic.co.uk", "https://example-clinic.co.uk"),
        ("https://www.Example-Clinic.co.uk/", "https://www.example-clinic.co.uk"),
    ],
)
def test_contact_accepts_a_real_address(contact, expected):
    assert push_checks.check_contact(contact) == expected


@pytest.mark.parametrize(
    "contact",
    [
        "",
        None,
        "clinic@example-clinic.co.uk",
        "mailto:admin@localhost",
        "mailto:a@b.test",
        "mailto:a@clinic.local",
        "mailto:a@clinic.example",
        "mailto:a@example.com",
        "mailto:a@b.invalid",
        "mailto:a@127.0.0.1",
        "mailto:@example-clinic.co.uk",
        "mailto:a b@example-clinic.co.uk",
        "mailto:a@example-clinic.co.uk?subject=x",
        "http://example-clinic.co.uk",
        "https://localhost",
        "https://example-clinic.co.uk:8443",
        "https://example-clinic.co.uk/contact",
        "https://user@example-clinic.co.uk",
        "https://10.0.0.1",
        "ftp://example-clinic.co.uk",
    ],
)
def test_contact_refuses_what_push_services_reject(contact):
    with pytest.raises(push_checks.PushError, match="contact"):
        push_checks.check_contact(contact)


# --- the subscription ---------------------------------------------------------


def test_a_good_subscription_passes_and_keeps_only_what_sending_needs():
    raw = subscription(expirationTime=1767225600000)
    checked = push_checks.check_subscription(raw, push_checks.DEFAULT_PUSH_HOSTS)
    assert checked == {"endpoint": raw["endpoint"], "keys": raw["keys"]}
    assert push_checks.check_subscription(subscription(), push_checks.DEFAULT_PUSH_HOSTS)["keys"]


def test_padded_keys_are_accepted_and_stored_unpadded():
    raw = subscription()
    keys = dict(raw["keys"])
    padded = {name: value + "=" * (-len(value) % 4) for name, value in keys.items()}
    checked = push_checks.check_subscription(
        {**raw, "keys": padded}, push_checks.DEFAULT_PUSH_HOSTS
    )
    assert checked["keys"] == keys


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/x",
        "https://FCM.GoogleAPIs.com/fcm/send/x",
        "https://fcm.googleapis.com:443/fcm/send/x",
        "https://updates.push.services.mozilla.com/wpush/v2/x",
        "https://web.push.apple.com/QaBc",
        "https://api.push.apple.com/QaBc",
        "https://wns2-par02p.notify.windows.com/w/?token=x",
    ],
)
def test_known_push_services_are_allowed(endpoint):
    assert push_checks.check_subscription(subscription(endpoint), push_checks.DEFAULT_PUSH_HOSTS)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example/push/1",
        "https://fcm.googleapis.com.evil.com/fcm/send/x",
        "https://evilfcm.googleapis.com/fcm/send/x",
        "https://googleapis.com/fcm/send/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/push",
        "https://[::1]/push",
        "https://2130706433/push",
        "http://fcm.googleapis.com/fcm/send/x",
        "HTTP://fcm.googleapis.com/fcm/send/x",
        "ftp://fcm.googleapis.com/x",
        "//fcm.googleapis.com/fcm/send/x",
        "https://user@fcm.googleapis.com/fcm/send/x",
        "https://user:pw@fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com@evil.com/x",
        "https://evil.com#@fcm.googleapis.com/x",
        "https://evil.com\\@fcm.googleapis.com/x",
        "https://fcm.googleapis.com\\.evil.com/x",
        "https://fcm.googleapis.com:8443/fcm/send/x",
        "https://fcm.googleapis.com:0443/fcm/send/x",
        "https://fcm.googleapis.com:/fcm/send/x",
        "https://fcm.googleapis.com./fcm/send/x",
        "https://fcm.googleapis.com%2eevil.com/x",
        "https://fcm.googleapis.com\u3002evil.com/x",
        "https://fcm.googleapis.com/fcm/send/x#frag",
        "https://fcm.googleapis.com/fcm send/x",
        "https://fcm.goo\tgleapis.com/fcm/send/x",
        " https://fcm.googleapis.com/fcm/send/x",
        "https://push.apple.com/QaBc",
        "https://evilpush.apple.com/QaBc",
        "https://web.push.apple.com.evil.com/QaBc",
        "https://notify.windows.com/w/",
        "https://fcm.googleapis.com/" + "x" * 2048,
        "",
        None,
        42,
    ],
)
def test_endpoints_off_the_allow_list_are_refused(endpoint):
    with pytest.raises(push_checks.PushError, match="endpoint"):
        push_checks.check_subscription(subscription(endpoint), push_checks.DEFAULT_PUSH_HOSTS)


def test_a_wildcard_matches_sub_domains_only():
    hosts = ("*.push.apple.com",)
    assert push_checks.check_subscription(subscription("https://web.push.apple.com/a"), hosts)
    assert push_checks.check_subscription(subscription("https://a.b.push.apple.com/a"), hosts)
    for host in ("push.apple.com", "evilpush.apple.com", "apple.com", "push.apple.com.evil.io"):
        with pytest.raises(push_checks.PushError, match="endpoint"):
            push_checks.check_subscription(subscription(f"https://{host}/a"), hosts)


def test_an_http_loopback_entry_allows_exactly_that_origin():
    hosts = ("http://127.0.0.1:8123",)
    assert push_checks.check_subscription(subscription("http://127.0.0.1:8123/push/a"), hosts)
    for endpoint in (
        "http://127.0.0.1:8124/push/a",
        "http://127.0.0.1/push/a",
        "https://127.0.0.1:8123/push/a",
        "http://localhost:8123/push/a",
        "http://127.0.0.2:8123/push/a",
        "http://127.1:8123/push/a",
        "http://fcm.googleapis.com:8123/push/a",
    ):
        with pytest.raises(push_checks.PushError, match="endpoint"):
            push_checks.check_subscription(subscription(endpoint), hosts)
    ipv6 = ("http://[::1]:8123",)
    assert push_checks.check_subscription(subscription("http://[::1]:8123/push/a"), ipv6)


@pytest.mark.parametrize(
    "entry",
    [
        "http://10.0.0.5:8123",
        "http://fcm.googleapis.com:80",
        "http://127.0.0.1",
        "http://user@127.0.0.1:8123",
        "http://127.0.0.1:8123/path",
        "https://fcm.googleapis.com",
        "fcm.googleapis.com:443",
        "127.0.0.1",
        "localhost",
        "*",
        "*.com.",
        "",
    ],
)
def test_a_bad_allow_list_entry_is_a_configuration_error(entry):
    with pytest.raises(ValueError, match="allow-list entry"):
        push_checks.check_subscription(subscription(), ("fcm.googleapis.com", entry))


def test_the_allow_list_must_be_a_collection_not_a_string():
    with pytest.raises(TypeError):
        push_checks.check_subscription(subscription(), "fcm.googleapis.com")


def _not_on_curve() -> str:
    point = bytearray(unb64url(browser_keys()["p256dh"]))
    point[-1] ^= 1  # same x, y changed: no longer on the curve
    return b64url(bytes(point))


@pytest.mark.parametrize(
    "change, field",
    [
        ({"p256dh": _not_on_curve()}, "keys.p256dh"),
        ({"p256dh": b64url(b"\x04" + b"\x00" * 64)}, "keys.p256dh"),
        ({"p256dh": b64url(b"\x02" + os.urandom(32))}, "keys.p256dh"),
        ({"p256dh": b64url(os.urandom(64))}, "keys.p256dh"),
        ({"p256dh": "not base64!"}, "keys.p256dh"),
        ({"p256dh": 12}, "keys.p256dh"),
        ({"auth": b64url(os.urandom(15))}, "keys.auth"),
        ({"auth": b64url(os.urandom(17))}, "keys.auth"),
        ({"auth": ""}, "keys.auth"),
        ({"auth": None}, "keys.auth"),
        ({"extra": "x"}, "keys"),
    ],
)
def test_bad_keys_are_refused(change, field):
    raw = subscription()
    raw["keys"] = {**raw["keys"], **change}
    with pytest.raises(push_checks.PushError, match=field.replace(".", r"\.")):
        push_checks.check_subscription(raw, push_checks.DEFAULT_PUSH_HOSTS)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "https://fcm.googleapis.com/fcm/send/x",
        {"keys": browser_keys()},
        {"endpoint": "https://fcm.googleapis.com/fcm/send/x"},
        {"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": "x"},
        subscription(options={"userVisibleOnly": True}),
        subscription(expirationTime="tomorrow"),
        subscription(expirationTime=True),
    ],
)
def test_malformed_subscriptions_are_refused(raw):
    with pytest.raises(push_checks.PushError):
        push_checks.check_subscription(raw, push_checks.DEFAULT_PUSH_HOSTS)


_PIECES = st.sampled_from(
    [
        "https://", "http://", "HTTPS://", "//", "fcm.googleapis.com", "web.push.apple.com",
        "push.apple.com", "evil.com", "127.0.0.1", "[::1]", "@", ":", ":443", ":8443", "#", "?",
        "/", "\\", ".", "%2e", "%40", "\u3002", "\uff0e", " ", "\t", "user", "x",
    ]
)  # fmt: skip


@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_an_accepted_endpoint_means_the_same_host_to_requests(endpoint):
    """Whatever passes the check, urllib3 (what requests sends with) sees the same host."""
    try:
        push_checks.check_subscription(subscription(endpoint), push_checks.DEFAULT_PUSH_HOSTS)
    except push_checks.PushError:
        return
    url = parse_url(endpoint)
    assert url.scheme == "https"
    assert url.auth is None
    assert url.port in (None, 443)
    host = url.host.lower()
    assert host == "fcm.googleapis.com" or host.endswith(".push.apple.com")
    assert urlsplit(endpoint).hostname == host


# --- sending ------------------------------------------------------------------


@pytest.fixture
def key_path(tmp_path):
    return push.ensure_vapid_key(tmp_path / "data")


@pytest.fixture
def receiver():
    with PushReceiver() as receiver:
        yield receiver
    assert receiver.errors == []


def send(receiver, raw, key_path, payload=PAYLOAD, **options):
    hosts = (*push_checks.DEFAULT_PUSH_HOSTS, receiver.origin)
    stored = push_checks.check_subscription(raw, hosts)  # what the app would keep
    return push.send(
        stored, payload, key_path=key_path, contact=CONTACT, allowed_hosts=hosts, **options
    )


def test_a_message_arrives_decrypted_with_ttl_urgency_and_a_valid_token(receiver, key_path):
    payload = {**PAYLOAD, "t": "Jour 3 : nettoyant doux — pas de rétinol"}
    before = time.time()
    assert send(receiver, receiver.subscribe("a"), key_path, payload) == "sent"

    assert receiver.rejected == []
    [message] = receiver.messages
    assert message["name"] == "a"
    assert message["payload"] == payload
    assert message["plaintext"] == json.dumps(
        payload, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert message["ttl"] == 43200
    assert message["urgency"] == "normal"
    assert message["claims"]["sub"] == CONTACT
    assert message["claims"]["aud"] == receiver.origin
    assert before < message["claims"]["exp"] <= before + 24 * 60 * 60
    assert message["vapid_key"] == push.application_server_key(key_path)
    assert message["body_length"] <= 4096


def test_ttl_and_urgency_are_passed_on(receiver, key_path):
    assert send(receiver, receiver.subscribe("a"), key_path, ttl=3600, urgency="high") == "sent"
    [message] = receiver.messages
    assert (message["ttl"], message["urgency"]) == (3600, "high")


def test_the_largest_payload_allowed_fits_the_push_service_limit(receiver, key_path):
    payload = {"t": ""}
    payload["t"] = "x" * (push.MAX_PAYLOAD_BYTES - len(json.dumps(payload, separators=(",", ":"))))
    assert send(receiver, receiver.subscribe("a"), key_path, payload) == "sent"
    [message] = receiver.messages
    assert len(message["plaintext"]) == push.MAX_PAYLOAD_BYTES
    assert message["body_length"] <= 4096


def test_an_oversize_payload_is_refused_before_sending(receiver, key_path):
    payload = {"t": "x" * push.MAX_PAYLOAD_BYTES}
    with pytest.raises(push_checks.PushError, match="payload"):
        send(receiver, receiver.subscribe("a"), key_path, payload)
    # Multi-byte characters count as bytes, not characters.
    with pytest.raises(push_checks.PushError, match="payload"):
        send(receiver, receiver.subscribe("b"), key_path, {"t": "é" * 1600})
    with pytest.raises(push_checks.PushError, match="payload"):
        send(receiver, receiver.subscribe("c"), key_path, {"t": float("nan")})
    assert receiver.requests == []


def test_a_gone_subscription_says_gone(receiver, key_path):
    assert send(receiver, receiver.subscribe("old", gone=True), key_path) == "gone"
    assert receiver.messages == []
    assert [r["status"] for r in receiver.rejected] == [410]


@pytest.mark.parametrize(
    "status, outcome",
    [
        (200, "sent"),
        (202, "sent"),
        (204, "sent"),
        (400, "failed"),
        (403, "failed"),
        (404, "gone"),
        (413, "failed"),
        (429, "failed"),
        (500, "failed"),
        (503, "failed"),
    ],
)
def test_push_service_answers_map_to_outcomes(receiver, key_path, status, outcome):
    assert send(receiver, receiver.subscribe("a", status=status), key_path) == outcome


@pytest.mark.parametrize("target", ["same receiver", "elsewhere"])
def test_a_redirect_is_not_followed_and_counts_as_failed(receiver, key_path, target):
    if target == "same receiver":
        location = receiver.subscribe("target")["endpoint"]
    else:
        location = "http://169.254.169.254/latest/meta-data/"
    raw = receiver.subscribe("moved", redirect_to=location)
    assert send(receiver, raw, key_path) == "failed"
    assert receiver.requests == ["POST /push/moved"]
    assert receiver.messages == []


def test_a_subscription_on_a_refused_host_is_never_sent_to(receiver, key_path):
    raw = push_checks.check_subscription(receiver.subscribe("a"), (receiver.origin,))
    with pytest.raises(push_checks.PushError, match="endpoint"):
        push.send(
            raw,
            PAYLOAD,
            key_path=key_path,
            contact=CONTACT,
            allowed_hosts=push_checks.DEFAULT_PUSH_HOSTS,
        )
    tampered = {**raw, "endpoint": "https://evil.example/push/a"}
    with pytest.raises(push_checks.PushError, match="endpoint"):
        push.send(
            tampered, PAYLOAD, key_path=key_path, contact=CONTACT, allowed_hosts=(receiver.origin,)
        )
    assert receiver.requests == []


def test_a_closed_port_counts_as_failed(key_path):
    origin = f"http://127.0.0.1:{free_port()}"
    raw = subscription(f"{origin}/push/a")
    assert (
        push.send(raw, PAYLOAD, key_path=key_path, contact=CONTACT, allowed_hosts=(origin,))
        == "failed"
    )


def test_a_push_service_that_does_not_answer_times_out_as_failed(key_path):
    with PushReceiver() as receiver:
        raw = receiver.subscribe("slow", delay=10)
        started = time.monotonic()
        assert send(receiver, raw, key_path, timeout=0.5) == "failed"
        assert time.monotonic() - started < 5
    assert receiver.messages == []


def test_send_refuses_bad_options_before_sending(receiver, key_path):
    raw = receiver.subscribe("a")
    with pytest.raises(push_checks.PushError, match="contact"):
        push.send(
            push_checks.check_subscription(raw, (receiver.origin,)),
            PAYLOAD,
            key_path=key_path,
            contact="mailto:admin@localhost",
            allowed_hosts=(receiver.origin,),
        )
    for options in ({"ttl": 0}, {"ttl": -1}, {"ttl": True}, {"ttl": 1.5}, {"urgency": "now"}):
        with pytest.raises(ValueError):
            send(receiver, raw, key_path, **options)
    for timeout in (0, -1, float("inf"), None):
        with pytest.raises(ValueError):
            send(receiver, raw, key_path, timeout=timeout)
    with pytest.raises(FileNotFoundError):
        send(receiver, raw, key_path.with_name("missing.pem"))
    assert receiver.requests == []


def test_each_send_signs_for_its_own_push_service(key_path):
    """pywebpush writes `aud` into the claims dict it is given; one send must not
    leak its audience into the next."""
    with PushReceiver() as first, PushReceiver() as second:
        assert send(first, first.subscribe("a"), key_path) == "sent"
        assert send(second, second.subscribe("a"), key_path) == "sent"
    assert first.messages[0]["claims"]["aud"] == first.origin
    assert second.messages[0]["claims"]["aud"] == second.origin


def test_the_receiver_refuses_a_wrong_key_or_audience(receiver, key_path, tmp_path):
    """The fake push service really checks: a token for another origin is refused."""
    raw = receiver.subscribe("a")
    hosts = (receiver.origin,)
    stored = push_checks.check_subscription(raw, hosts)
    from pywebpush import WebPushException
    from pywebpush import webpush

    with pytest.raises(WebPushException):
        webpush(
            stored,
            data="{}",
            vapid_private_key=str(key_path),
            vapid_claims={"sub": CONTACT, "aud": "https://fcm.googleapis.com"},
            ttl=60,
            timeout=5,
        )
    assert [r["status"] for r in receiver.rejected] == [403]
    assert "aud" in receiver.rejected[0]["reason"]
    assert receiver.messages == []


def test_the_environment_cannot_reroute_or_rewrite_a_send(
    receiver, key_path, tmp_path, monkeypatch
):
    """A ~/.netrc entry would replace the VAPID Authorization header, and a proxy
    variable would send the request to another host: both are ignored."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert send(receiver, receiver.subscribe("a"), key_path) == "sent"
    assert receiver.rejected == []
