"""Web Push: the VAPID key and sending one message.

This module owns everything between "a browser handed us a PushSubscription" and
"one encrypted message was POSTed to its push service":

* the deployment's VAPID key pair (RFC 8292): a P-256 private key kept as a PEM
  file in the data folder, created once (race-safe, like the secret key in
  `data_dir`); its public half is the `applicationServerKey` the page passes to
  `PushManager.subscribe`.  Replacing the file invalidates every subscription.
* the contact and the subscription, checked by push_checks.py; `send` checks
  the endpoint again before every request and never follows a redirect.
* `send`: JSON payload (small: the encrypted body must fit 4096 bytes),
  encrypted with RFC 8291 `aes128gcm` by pywebpush, with a non-zero TTL and an
  Urgency header.  The outcome is a word, never a transport exception: "sent",
  "gone" (404/410: the caller deletes the subscription) or "failed".

It is pure: no Flask, no storage of subscriptions (the caller stores what
`check_subscription` returns, as sensitive data).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException
from pywebpush import webpush

from ..core.data_dir import create_once
from ..core.data_dir import replace_private_file
from .push_checks import PushError
from .push_checks import _b64url
from .push_checks import _check_subscription
from .push_checks import _rules
from .push_checks import check_contact

VAPID_KEY_FILE = "vapid_private.pem"
# The encrypted body must fit 4096 bytes; aes128gcm adds 86 bytes of header,
# a 16-byte tag and a padding delimiter.  3000 leaves a wide margin.
MAX_PAYLOAD_BYTES = 3000
# pywebpush's default TTL is 0 ("deliver now or drop"); FCM caps TTL at 4 weeks.
MAX_TTL = 28 * 24 * 60 * 60
URGENCIES = ("very-low", "low", "normal", "high")
# VAPID tokens may live at most 24 hours (RFC 8292 §2); 12 is what pywebpush uses.
VAPID_TOKEN_LIFETIME = 12 * 60 * 60


# --- the VAPID key ------------------------------------------------------------


def ensure_vapid_key(data_dir: Path, shared_pem: str | None = None) -> Path:
    """Path of the deployment's VAPID private key, creating it on first use.

    `shared_pem` is the key every host of a deployment shares (kept in its database): the
    file then holds that one, since a subscription made with one host's key is refused
    when another host signs with its own.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = data_dir / VAPID_KEY_FILE
    if shared_pem is not None:
        replace_private_file(key_path, shared_pem.encode("ascii"))
    elif not key_path.exists():
        _create_vapid_key(key_path)
    _load_private_key(key_path)  # fail now, not at the first send, if it is damaged
    return key_path


def application_server_key(key_path: Path) -> str:
    """The public key as `PushManager.subscribe` wants it: base64url of the 65-byte point."""
    point = (
        _load_private_key(key_path)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return _b64url(point)


def new_vapid_pem() -> str:
    """A new P-256 private key as PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    # PKCS#8 PEM with no trailing blank line: py_vapid's `from_pem` takes the
    # lines between the first and the last as the base64 body.
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


def _create_vapid_key(key_path: Path) -> None:
    create_once(key_path, new_vapid_pem().encode("ascii"))


def _load_private_key(key_path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{key_path} is not a P-256 private key")
    return key


# --- sending ------------------------------------------------------------------


def send(
    subscription: dict,
    payload: dict,
    *,
    key_path: Path,
    contact: str,
    allowed_hosts: Iterable[str],
    ttl: int = 43200,
    urgency: str = "normal",
    timeout: float = 10,
) -> str:
    """Encrypt `payload` (as compact JSON) and POST it to the subscription's push service.

    Returns "sent" (2xx), "gone" (404/410: delete the subscription) or "failed"
    (any other answer, a redirect, or a network error or timeout).  Raises
    PushError for a subscription, contact or payload we refuse, and ValueError
    for a bad ttl, urgency or timeout: those are the caller's mistakes, and
    nothing is sent.
    """
    # Checked again here, not only when stored: never POST to a URL that is not allowed.
    subscription, origin = _check_subscription(subscription, _rules(allowed_hosts))
    contact = check_contact(contact)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be a whole number of seconds from 1 to {MAX_TTL}")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout < math.inf
    ):
        raise ValueError("timeout must be a positive number of seconds")
    try:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise PushError(f"payload: not JSON ({error})") from None
    if len(body.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise PushError(f"payload: more than {MAX_PAYLOAD_BYTES} bytes as JSON")
    if not key_path.is_file():
        # pywebpush would otherwise try to parse the path itself as a key.
        raise FileNotFoundError(f"VAPID key {key_path} does not exist")
    # A fresh dict each time: pywebpush writes `aud` and `exp` into the one it
    # is given, so a shared dict would carry one push service's `aud` to the next.
    claims: dict[str, str | int] = {
        "sub": contact,
        "aud": origin,
        "exp": int(time.time()) + VAPID_TOKEN_LIFETIME,
    }
    with _session() as session:
        try:
            response = webpush(
                subscription_info=subscription,
                data=body,
                vapid_private_key=str(key_path),
                vapid_claims=claims,
                content_encoding="aes128gcm",
                timeout=timeout,
                ttl=ttl,
                headers={"Urgency": urgency},
                requests_session=session,
            )
        except WebPushException as error:
            return _outcome(error.status_code)
        except requests.RequestException:
            # Connection refused or reset, DNS failure, timeout, a redirect
            # (TooManyRedirects), or a TLS error.
            return "failed"
    return _outcome(response.status_code)


def _session() -> requests.Session:
    session = requests.Session()
    # Never follow a redirect: a push service has no reason to send one, and
    # following it would POST to a URL nobody checked.  With max_redirects = 0
    # requests raises TooManyRedirects before it makes the second request.
    session.max_redirects = 0
    # Ignore the environment: a ~/.netrc entry would replace the VAPID
    # Authorization header, and proxy variables would send the request
    # somewhere other than the host we checked.
    session.trust_env = False
    return session


def _outcome(status: int | None) -> str:
    if status is not None and 200 <= status < 300:
        return "sent"
    if status in (404, 410):
        return "gone"
    return "failed"
