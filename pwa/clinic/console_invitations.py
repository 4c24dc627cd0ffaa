"""A client's invitation, at /console/clients/<plan_id>/invitation.

Making one is a POST that answers with a redirect (303) to this GET page, so reloading the
page never makes another plan or another invitation.  The code is stored hashed, and
sealed beside its hash while it waits (storage: `waiting_invitation`), so the page shows
the same link and QR code again until the invitation is used or expires; then it offers
a new one.  The code travels only in the link's fragment: never in a URL's path or query
(nor in a log), never in the session cookie (signed, not encrypted).
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from ..core import links
from ..sync import devices
from . import accounts
from . import clinic_time
from .clients import clinic_zone
from .clients import own_client
from .console_auth import check_csrf
from .console_auth import clinic_store
from .console_auth import login_required
from .console_auth import now_ms

bp = Blueprint("invitations", __name__)

DAY_MS = 24 * 60 * 60 * 1000


@bp.get("/clients/<plan_id>/invitation")
@login_required
def show(plan_id: str):
    found = own_client(plan_id)
    now = now_ms()
    waiting = clinic_store().waiting_invitation(plan_id, now)
    shown = None
    if waiting:
        # The code travels in the fragment: never sent to a server, never in a log.
        link = links.external_url("settings.invite") + "#" + waiting["code"]
        shown = {
            "link": link,
            "qr": devices.qr_data_url(link),
            "until": clinic_time.spoken(waiting["expires_ms"], clinic_zone(), now),
        }
    return render_template("console/invitation.html", client=found, invitation=shown)


@bp.post("/clients/<plan_id>/invitation")
@login_required
def make(plan_id: str):
    check_csrf()
    found = own_client(plan_id)
    make_invitation(plan_id)
    flash(f"New invitation made for {found['nickname']}; an earlier unused one no longer works.")
    return redirect(url_for(".show", plan_id=plan_id), 303)


def make_invitation(plan_id: str) -> None:
    """A one-time invitation to the plan, replacing any unused one."""
    code = accounts.new_secret()
    expires = now_ms() + current_app.config["INVITATION_DAYS"] * DAY_MS
    clinic_store().add_invitation(accounts.digest(code), plan_id, expires, code)
