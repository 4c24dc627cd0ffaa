"""A fake push service on 127.0.0.1, for testing Web Push without the internet.

It plays both sides a real deployment never sees: the browser (it makes the
subscription's P-256 key pair and auth secret, and decrypts what arrives) and
the vendor's push service (it checks the VAPID token and the headers RFC 8030
asks for, and answers as Google, Mozilla or Apple would).

    with PushReceiver() as receiver:
        subscription = receiver.subscribe("a")
        ... send to it, allowing receiver.origin ...
        receiver.messages   # what was delivered, decrypted
        receiver.rejected   # what was refused, and why

It checks the VAPID token with `cryptography` directly, not with py_vapid, so
it does not share a bug with the code under test.
"""

from __future__ import annotations

import base64
import binascii
import http.server
import json
import os
import re
import threading
import time
import traceback
from dataclasses import dataclass

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY = 4096  # RFC 8030 §7.2: push services must accept at least this, may refuse more
MAX_TOKEN_LIFETIME = 24 * 60 * 60  # RFC 8292 §2
_PATH = re.compile(r"/push/(?P<name>[A-Za-z0-9_-]+)")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    gone: bool = False
    status: int | None = None  # answer this instead of delivering (e.g. 500)
    redirect_to: str | None = None  # answer 307 to this URL instead of delivering
    delay: float = 0.0  # wait this long before answering


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class PushReceiver:
    """A push service on a free loopback port, run in a thread."""

    def __init__(self) -> None:
        # A condition, so that a test can wait for a delivery instead of polling for it.
        self._lock = threading.Condition()
        self._subscribers: dict[str, _Subscriber] = {}
        self._messages: list[dict] = []
        self._rejected: list[dict] = []
        self._requests: list[str] = []
        self._errors: list[str] = []
        self._closing = threading.Event()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.origin = ""

    # --- life cycle ---

    def __enter__(self) -> PushReceiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = self
        self._server = server
        self.origin = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()  # wakes handlers that were told to answer slowly
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads
        self._thread.join()

    # --- the browser's side ---

    def subscribe(
        self,
        name: str = "a",
        gone: bool = False,
        *,
        status: int | None = None,
        redirect_to: str | None = None,
        delay: float = 0.0,
    ) -> dict:
        """A new subscription, as `PushSubscription.toJSON()` gives it.

        `gone` answers 410 as a push service does for an expired subscription;
        `status`, `redirect_to` and `delay` make this endpoint misbehave.
        """
        if not _PATH.fullmatch(f"/push/{name}"):
            raise ValueError(f"subscription name {name!r}: letters, digits, _ and - only")
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth_secret = os.urandom(16)
        with self._lock:
            self._subscribers[name] = _Subscriber(
                private_key, auth_secret, gone, status, redirect_to, delay
            )
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": b64url_encode(point), "auth": b64url_encode(auth_secret)},
        }

    # --- what happened (copies, safe to read while the server runs) ---

    @property
    def messages(self) -> list[dict]:
        """Delivered messages: name, plaintext, payload (parsed JSON), ttl, urgency,
        claims, body_length, vapid_key."""
        with self._lock:
            return list(self._messages)

    def wait_for_messages(self, count: int, timeout: float) -> list[dict]:
        """The delivered messages once there are at least `count`, or after `timeout`
        seconds, whichever comes first."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._messages) >= count, timeout=timeout)
            return list(self._messages)

    @property
    def rejected(self) -> list[dict]:
        """Refused requests: path, status and reason."""
        with self._lock:
            return list(self._rejected)

    @property
    def requests(self) -> list[str]:
        """Every request line seen ("POST /push/a"), delivered or not."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Exceptions raised while answering (a client that hung up, or a receiver bug)."""
        with self._lock:
            return list(self._errors)

    # --- the push service's side ---

    def _handle(self, handler: _Handler) -> None:
        path = handler.path
        with self._lock:
            self._requests.append(f"{handler.command} {path}")
        try:
            status, headers = self._deliver(handler)
        except _Refused as refused:
            with self._lock:
                self._rejected.append(
                    {"path": path, "status": refused.status, "reason": refused.reason}
                )
            status, headers = refused.status, {}
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _deliver(self, handler: _Handler) -> tuple[int, dict[str, str]]:
        if handler.command != "POST":
            raise _Refused(405, f"method {handler.command}")
        match = _PATH.fullmatch(handler.path)
        with self._lock:
            subscriber = self._subscribers.get(match["name"]) if match else None
        # Read the whole body first, so that a refusal is an answer, not a reset.
        length = handler.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _Refused(411, "no Content-Length")
        body = handler.rfile.read(int(length))
        if subscriber is None:
            raise _Refused(404, f"no subscription at {handler.path}")
        name = match["name"]
        if subscriber.delay and self._closing.wait(subscriber.delay):
            raise _Refused(503, "receiver closed while the answer was delayed")
        claims, vapid_key = self._check_vapid(handler.headers.get("Authorization", ""))
        if handler.headers.get("Content-Encoding") != "aes128gcm":
            raise _Refused(415, f"Content-Encoding {handler.headers.get('Content-Encoding')!r}")
        ttl = handler.headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            raise _Refused(400, f"TTL {ttl!r}")
        urgency = handler.headers.get("Urgency")
        if urgency is not None and urgency not in ("very-low", "low", "normal", "high"):
            raise _Refused(400, f"Urgency {urgency!r}")
        if len(body) > MAX_BODY:
            raise _Refused(413, f"body of {len(body)} bytes")
        if subscriber.gone:
            raise _Refused(410, "subscription gone")
        if subscriber.status is not None:
            raise _Refused(subscriber.status, f"told to answer {subscriber.status}")
        if subscriber.redirect_to is not None:
            with self._lock:
                self._rejected.append(
                    {"path": handler.path, "status": 307, "reason": "told to redirect"}
                )
            return 307, {"Location": subscriber.redirect_to}
        try:
            plaintext = http_ece.decrypt(
                body,
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth_secret,
                version="aes128gcm",
            )
        except Exception as error:  # http_ece raises ValueError, ECEException, InvalidTag
            raise _Refused(400, f"cannot decrypt: {error!r}") from None
        try:
            payload = json.loads(plaintext)
        except ValueError:
            payload = None
        with self._lock:
            self._messages.append(
                {
                    "name": name,
                    "plaintext": plaintext,
                    "payload": payload,
                    "ttl": int(ttl),
                    "urgency": urgency,
                    "claims": claims,
                    "body_length": len(body),
                    "vapid_key": vapid_key,
                }
            )
            number = len(self._messages)
            self._lock.notify_all()
        return 201, {"Location": f"{self.origin}/message/{number}"}

    def _check_vapid(self, authorization: str) -> tuple[dict, str]:
        """Verify `Authorization: vapid t=<jwt>, k=<public key>` (RFC 8292 §3)."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise _Refused(401, f"Authorization scheme {scheme!r}")
        fields = {}
        for part in params.split(","):
            key, _, value = part.strip().partition("=")
            fields[key] = value
        token, key_text = fields.get("t", ""), fields.get("k", "")
        try:
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64url_decode(key_text)
            )
            header_text, claims_text, signature_text = token.split(".")
            header = json.loads(b64url_decode(header_text))
            claims = json.loads(b64url_decode(claims_text))
            signature = b64url_decode(signature_text)
        except (ValueError, binascii.Error) as error:
            raise _Refused(401, f"malformed VAPID header: {error!r}") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise _Refused(401, f"JWT header {header!r}")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        try:
            public_key.verify(
                encode_dss_signature(r, s),
                f"{header_text}.{claims_text}".encode("ascii"),
                ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            raise _Refused(403, "bad JWT signature") from None
        if not isinstance(claims, dict):
            raise _Refused(403, "JWT claims are not an object")
        if claims.get("aud") != self.origin:
            raise _Refused(403, f"aud {claims.get('aud')!r}")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or not now < exp <= now + MAX_TOKEN_LIFETIME:
            raise _Refused(403, f"exp {exp!r}")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            raise _Refused(403, f"sub {sub!r}")
        return claims, key_text


class _Server(http.server.ThreadingHTTPServer):
    receiver: PushReceiver
    daemon_threads = False  # server_close() waits for handlers to finish

    def handle_error(self, request, client_address) -> None:
        with self.receiver._lock:
            self.receiver._errors.append(traceback.format_exc())


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.receiver._handle(self)

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the receiver's lists are the log
