"""What the server accepts before it will ever POST to a push service.

* the VAPID contact (`sub` claim), which must be a real `mailto:` or `https:`
  address: Apple's push service refuses tokens naming localhost or a reserved
  domain.
* the subscription.  The endpoint URL comes from the browser and the server POSTs
  to it, so it is an SSRF vector: only https endpoints on an allow-list of
  push-service hosts are accepted (push.send checks again before every request).

Pure: no Flask, no storage, no network.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)


MAX_ENDPOINT_LENGTH = 2048
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
