"""A client's linked phones, at /console/clients/<plan_id>/devices/<device_id>/revoke.

Removing a phone asks first: the GET is a page naming the phone (browser and system, when
it was linked and last synced) with the button that removes it and a way back; the POST
removes it and says so on the client's page.  A removed phone's credential stops working
at once (and every device link still waiting with it: storage's `revoke_device`).
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from . import phones
from .clients import CLINIC_DEVICE
from .clients import clinic_zone
from .clients import own_client
from .clients import plan_store
from .console_auth import check_csrf
from .console_auth import login_required
from .console_auth import now_ms

bp = Blueprint("phones", __name__)


@bp.route("/clients/<plan_id>/devices/<device_id>/revoke", methods=["GET", "POST"])
@login_required
def remove(plan_id: str, device_id: str):
    if request.method == "POST":
        check_csrf()
    found = own_client(plan_id)
    phone = _phone(plan_id, device_id)
    back = redirect(url_for("console.client", plan_id=plan_id), 303)
    if phone["revoked"]:
        flash(f"{phone['label']} was removed already.")
        return back
    if request.method == "GET":
        return render_template("console/remove_phone.html", client=found, phone=phone)
    if plan_store().revoke_device(plan_id, device_id):
        flash(
            f"Removed {phone['label']} (linked {phone['linked']}): it no longer syncs "
            "with this plan."
        )
    else:
        flash(f"{phone['label']} was removed already.")
    return back


def _phone(plan_id: str, device_id: str) -> dict:
    """The plan's phone with this id, described; 404 for the clinic's own or an unknown."""
    if device_id != CLINIC_DEVICE:
        for device in plan_store().list_devices(plan_id):
            if device["device"] == device_id:
                return phones.described([device], clinic_zone(), now_ms())[0]
    abort(404)
