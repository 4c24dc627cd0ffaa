"""Absolute links the app hands out: device links, invitations, calendar feeds.

They leave the page they were made on (a QR code, a message, a calendar app), so they
must name the clinic's real address.  With PUBLIC_URL set they always do, whatever
Host header a request carried; without it they follow the request (behind a proxy,
its forwarded host when TRUSTED_PROXIES says to believe it), which suits one machine
on a local network and a development server.
"""

from __future__ import annotations

from flask import current_app
from flask import url_for


def external_url(endpoint: str, **values) -> str:
    """The absolute address of `endpoint`, from PUBLIC_URL when it is set."""
    public = current_app.config["PUBLIC_URL"]
    if not public:
        return url_for(endpoint, _external=True, **values)
    return public.rstrip("/") + url_for(endpoint, **values)
