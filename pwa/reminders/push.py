"""Web Push: the VAPID key, checking what browsers send us, and sending one message.

This module owns everything between "a browser handed us a PushSubscription" and
"one encrypted message was POSTed to its push service":

* the deployment's VAPID key pair (RFC 8292): a P-256 private key kept as a PEM
  file in the data folder, created once (race-safe, like the secret key in
  `data_dir`); its public half is the `applicationServerKey` the page passes to
  `PushManager.subscribe`.  Replacing the file invalidates every subscription.
* the VAPID contact (`sub` claim), which must be a real `mailto:` or `https:`
  address: Apple's push service refuses tokens naming localhost or a reserved
  domain.
* the subscription check.  The endpoint URL comes from the browser and the
  server POSTs to it, so it is an SSRF vector: only https endpoints on an
  allow-list of push-service hosts are accepted, and `send` checks again before
  every request and never follows a redirect.
* `send`: JSON payload (small: the encrypted body must fit 4096 bytes),
  encrypted with RFC 8291 `aes128gcm` by pywebpush, with a non-zero TTL and an
  Urgency header.  The outcome is a word, never a transport exception: "sent",
  "gone" (404/410: the caller deletes the subscription) or "failed".

It is pure: no Flask, no storage of subscriptions (the caller stores what
`check_subscription` returns, as sensitive data).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException
from pywebpush import webpush

from ..core.data_dir import create_once

VAPID_KEY_FILE = "vapid_private.pem"
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)

MAX_ENDPOINT_LENGTH = 2048
# The encrypted body must fit 4096 bytes; aes128gcm adds 86 bytes of header,
# a 16-byte tag and a padding delimiter.  3000 leaves a wide margin.
MAX_PAYLOAD_BYTES = 3000
# pywebpush's default TTL is 0 ("deliver now or drop"); FCM caps TTL at 4 weeks.
MAX_TTL = 28 * 24 * 60 * 60
URGENCIES = ("very-low", "low", "normal", "high")
# VAPID tokens may live at most 24 hours (RFC 8292 §2); 12 is what pywebpush uses.
VAPID_TOKEN_LIFETIME = 12 * 60 * 60

_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# Domains that are never a real contact: Apple answers 403 BadJwtToken for them.
_RESERVED_SUFFIXES = ("localhost", "local", "test", "example", "invalid")
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_NETLOC = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[1-9][0-9]{0,4}))?")
_MAILTO = re.compile(r"mailto:(?P<local>[A-Za-z0-9.!#$&'*+/=^_`{|}~-]{1,64})@(?P<domain>[^@]+)")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_URL_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces


class PushError(ValueError):
    """A subscription, contact or payload we refuse; the message names the field."""


# --- the VAPID key ------------------------------------------------------------


def ensure_vapid_key(data_dir: Path) -> Path:
    """Path of the deployment's VAPID private key, creating it on first use."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = data_dir / VAPID_KEY_FILE
    if not key_path.exists():
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


def _create_vapid_key(key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    # PKCS#8 PEM with no trailing blank line: py_vapid's `from_pem` takes the
    # lines between the first and the last as the base64 body.
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    create_once(key_path, pem)


def _load_private_key(key_path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{key_path} is not a P-256 private key")
    return key


# --- the contact (VAPID `sub`) ------------------------------------------------


def check_contact(value: str) -> str:
    """The VAPID `sub` claim: "mailto:someone@real.domain" or "https://real.domain".

    Returns it normalised (lower-case domain; an https contact is just the
    origin, because py_vapid refuses one with a path or a trailing slash).
    """
    if not isinstance(value, str) or not value:
        raise PushError("contact: must be a mailto: or https: address")
    if len(value) > 320 or not _URL_CHARS.fullmatch(value):
        raise PushError("contact: must be printable ASCII without spaces, at most 320 characters")
    mailto = _MAILTO.fullmatch(value)
    if mailto:
        local, domain = mailto["local"], mailto["domain"].lower()
        if local.startswith(".") or local.endswith(".") or ".." in local:
            raise PushError("contact: the mailto: address is not valid")
        _check_public_domain(domain)
        return f"mailto:{local}@{domain}"
    if value[:8].lower() == "https://":
        parts = urlsplit(value)
        if (
            parts.path not in ("", "/")
            or "?" in value
            or "#" in value
            or ":" in parts.netloc
            or not _NETLOC.fullmatch(parts.netloc)
        ):
            raise PushError(
                "contact: an https contact must be just the site, e.g. https://clinic.co.uk"
            )
        domain = parts.netloc.lower()
        _check_public_domain(domain)
        return f"https://{domain}"
    raise PushError("contact: must be a mailto: or https: address")


def _check_public_domain(domain: str) -> None:
    if not _HOST_NAME.fullmatch(domain) or not _TLD.fullmatch(domain.rsplit(".", 1)[1]):
        raise PushError(f"contact: {domain!r} is not a public domain name")
    labels = domain.split(".")
    if labels[-1] in _RESERVED_SUFFIXES or ".".join(labels[-2:]) in _RESERVED_DOMAINS:
        raise PushError(f"contact: {domain!r} is a reserved domain; push services refuse it")


# --- the allow-list -----------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    host: str  # lower case; for a wildcard, the suffix after "*."
    wildcard: bool = False
    http_port: int | None = None  # set only for an "http://loopback:port" rule

    def allows(self, scheme: str, host: str, port: int | None) -> bool:
        if self.http_port is not None:
            return scheme == "http" and host == self.host and port == self.http_port
        if scheme != "https" or port not in (None, 443):
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


def check_allowed_hosts(allowed_hosts: Iterable[str]) -> tuple[str, ...]:
    """The push-service allow-list from configuration, checked; ValueError names a bad entry."""
    entries = tuple(allowed_hosts)
    _rules(entries)
    return entries


def _rules(allowed_hosts: Iterable[str]) -> list[_Rule]:
    if isinstance(allowed_hosts, str | bytes):
        raise TypeError("allowed_hosts must be a collection of host names, not one string")
    rules = []
    for entry in allowed_hosts:
        if not isinstance(entry, str):
            raise ValueError(f"push allow-list entry {entry!r} is not a string")
        rules.append(_rule(entry.strip().lower()))
    return rules


def _rule(entry: str) -> _Rule:
    if entry.startswith("http://"):
        parts = urlsplit(entry)
        try:
            port = parts.port
        except ValueError:
            port = None
        if (
            parts.hostname not in _LOOPBACK_HOSTS
            or port is None
            or "@" in parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                f"push allow-list entry {entry!r}: http is allowed only for a loopback host "
                "with a port, e.g. http://127.0.0.1:8123"
            )
        return _Rule(parts.hostname, http_port=port)
    wildcard = entry.startswith("*.")
    host = entry[2:] if wildcard else entry
    if not _HOST_NAME.fullmatch(host) or _is_ip(host):
        raise ValueError(
            f"push allow-list entry {entry!r}: expected a host name such as "
            "fcm.googleapis.com or *.push.apple.com"
        )
    return _Rule(host, wildcard=wildcard)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _endpoint_origin(endpoint: object, rules: list[_Rule]) -> str:
    """Check an endpoint URL against the allow-list; return its origin (the VAPID `aud`)."""
    if not isinstance(endpoint, str) or not endpoint:
        raise PushError("endpoint: must be a non-empty string")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise PushError(f"endpoint: longer than {MAX_ENDPOINT_LENGTH} characters")
    # Printable ASCII only: no spaces, tabs or newlines (which urlsplit silently
    # drops) and no look-alike Unicode dots for IDNA to fold into real ones.
    if not _URL_CHARS.fullmatch(endpoint) or "\\" in endpoint:
        raise PushError("endpoint: must be a plain ASCII URL")
    try:
        parts = urlsplit(endpoint)
    except ValueError:  # e.g. a stray "[" in the host
        raise PushError("endpoint: the host is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise PushError("endpoint: must be an https URL")
    if "#" in endpoint:
        raise PushError("endpoint: must not have a fragment")
    if "@" in parts.netloc:
        raise PushError("endpoint: must not contain a user name or password")
    netloc = _NETLOC.fullmatch(parts.netloc)
    if not netloc:
        raise PushError("endpoint: the host is not valid")
    host = netloc["host"].lower()
    if host.startswith("["):
        host = host[1:-1]
    elif host.endswith(".") or ".." in host or host.startswith("."):
        raise PushError("endpoint: the host is not valid")
    port = int(netloc["port"]) if netloc["port"] else None
    if port is not None and not 0 < port < 65536:
        raise PushError("endpoint: the port is not valid")
    if not any(rule.allows(scheme, host, port) for rule in rules):
        if scheme == "http":
            raise PushError("endpoint: must be an https URL")
        if port not in (None, 443):
            raise PushError("endpoint: must not name a port")
        raise PushError(f"endpoint: {host!r} is not a known push service")
    authority = f"[{host}]" if ":" in host else host
    if port is not None and not (scheme == "https" and port == 443):
        authority += f":{port}"
    return f"{scheme}://{authority}"


# --- the subscription ---------------------------------------------------------


def check_subscription(raw: object, allowed_hosts: Iterable[str]) -> dict:
    """Validate a browser's `PushSubscription.toJSON()`.

    Returns only what sending needs: {"endpoint", "keys": {"p256dh", "auth"}},
    with the keys re-encoded as unpadded base64url.
    """
    return _check_subscription(raw, _rules(allowed_hosts))[0]


def _check_subscription(raw: object, rules: list[_Rule]) -> tuple[dict, str]:
    """The checked subscription and its endpoint's origin."""
    if not isinstance(raw, dict):
        raise PushError("subscription: must be a JSON object")
    extra = set(raw) - {"endpoint", "keys", "expirationTime"}
    if extra:
        raise PushError(f"subscription: unexpected field {sorted(map(str, extra))[0]!r}")
    expiration = raw.get("expirationTime")
    if expiration is not None and (
        isinstance(expiration, bool)
        or not isinstance(expiration, int | float)
        or not math.isfinite(expiration)
    ):
        raise PushError("expirationTime: must be null or a number")
    if "endpoint" not in raw:
        raise PushError("endpoint: missing")
    origin = _endpoint_origin(raw["endpoint"], rules)
    keys = raw.get("keys")
    if not isinstance(keys, dict):
        raise PushError("keys: must be an object with p256dh and auth")
    extra = set(keys) - {"p256dh", "auth"}
    if extra:
        raise PushError(f"keys: unexpected field {sorted(map(str, extra))[0]!r}")
    p256dh = _b64url_field(keys.get("p256dh"), "keys.p256dh")
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise PushError("keys.p256dh: must be a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise PushError("keys.p256dh: not a point on the P-256 curve") from None
    auth = _b64url_field(keys.get("auth"), "keys.auth")
    if len(auth) != 16:
        raise PushError("keys.auth: must be 16 bytes")
    keys = {"p256dh": _b64url(p256dh), "auth": _b64url(auth)}
    return {"endpoint": raw["endpoint"], "keys": keys}, origin


def _b64url_field(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise PushError(f"{field}: must be a base64url string")
    if not _BASE64URL.fullmatch(value):
        raise PushError(f"{field}: must be a base64url string")
    data = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise PushError(f"{field}: must be a base64url string") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
