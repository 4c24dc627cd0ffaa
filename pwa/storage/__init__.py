"""Everything the app stores, and the only package that knows how it is kept.

Views, the CLI and the reminder sender call the functions named here; only the
modules of this package touch TinyDB or a store's files:

- `store.py`: a folder of JSON files (or memory, in tests), one lock per file,
  a fresh TinyDB per block, every change one atomic file replace.
- `table_file.py`: a file's format (a line per table, read head first).
- `plan_file.py`: a plan's file (the plan, devices, device links, events).
- `plan_events.py`: how the events sit in a plan's file (a table per month).
- `reminder_state.py`: calendar feed, push subscriptions, the reminders sent.
- `clinic_file.py`: the clinic's file (practitioners, console sessions, clients,
  invitations).
"""

from __future__ import annotations

from .clinic_file import CLIENTS
from .clinic_file import CLINIC
from .clinic_file import CONSOLE_SESSIONS
from .clinic_file import INVITATIONS
from .clinic_file import PRACTITIONERS
from .clinic_file import AccountExists
from .clinic_file import add_client
from .clinic_file import add_invitation
from .clinic_file import add_practitioner
from .clinic_file import client_owner
from .clinic_file import clients_of
from .clinic_file import console_session
from .clinic_file import end_console_session
from .clinic_file import end_console_sessions
from .clinic_file import find_practitioner
from .clinic_file import get_practitioner
from .clinic_file import invitation_plan
from .clinic_file import list_practitioners
from .clinic_file import purge_console_sessions
from .clinic_file import redeem_invitation
from .clinic_file import remove_client
from .clinic_file import seal_plain_secrets
from .clinic_file import set_disabled
from .clinic_file import set_password_hash
from .clinic_file import set_pending_totp
from .clinic_file import set_totp
from .clinic_file import start_console_session
from .clinic_file import touch_console_session
from .clinic_file import use_totp_step
from .plan_file import EXPORTED_AS
from .plan_file import MAX_DEVICES
from .plan_file import MAX_DEVICES_EVER
from .plan_file import MAX_WAITING_LINKS
from .plan_file import TOKENS
from .plan_file import DeviceExists
from .plan_file import PlanExists
from .plan_file import TooMany
from .plan_file import UnknownDevice
from .plan_file import add_device
from .plan_file import add_join_token
from .plan_file import check_room_for_device
from .plan_file import create_plan
from .plan_file import delete_plan
from .plan_file import device_is_valid
from .plan_file import export_plan
from .plan_file import get_plan
from .plan_file import last_activity_ms
from .plan_file import list_devices
from .plan_file import redeem_join_token
from .plan_file import revoke_device
from .plan_file import update_plan
from .plan_sync import MAX_EVENTS
from .plan_sync import PAGE_SIZE
from .plan_sync import Page
from .plan_sync import PlanSnapshot
from .plan_sync import apply_and_read
from .plan_sync import apply_events
from .plan_sync import changes_since
from .plan_sync import session_events
from .plan_sync import snapshot
from .plan_sync import tick_state
from .reminder_state import calendar_link
from .reminder_state import claim_reminder
from .reminder_state import plans_with_push
from .reminder_state import push_outcome
from .reminder_state import push_subscriptions
from .reminder_state import release_reminder
from .reminder_state import remove_calendar_link
from .reminder_state import remove_push
from .reminder_state import set_calendar_link
from .reminder_state import set_calendar_options
from .reminder_state import set_push
from .store import PlanNotFound
from .store import Store
from .store import StoreBusy

__all__ = [
    "CLIENTS",
    "CLINIC",
    "CONSOLE_SESSIONS",
    "INVITATIONS",
    "PRACTITIONERS",
    "AccountExists",
    "add_client",
    "add_invitation",
    "add_practitioner",
    "client_owner",
    "clients_of",
    "console_session",
    "end_console_session",
    "end_console_sessions",
    "find_practitioner",
    "get_practitioner",
    "invitation_plan",
    "list_practitioners",
    "purge_console_sessions",
    "redeem_invitation",
    "remove_client",
    "seal_plain_secrets",
    "set_disabled",
    "set_password_hash",
    "set_pending_totp",
    "set_totp",
    "start_console_session",
    "touch_console_session",
    "use_totp_step",
    "EXPORTED_AS",
    "MAX_DEVICES",
    "MAX_DEVICES_EVER",
    "MAX_EVENTS",
    "MAX_WAITING_LINKS",
    "PAGE_SIZE",
    "TOKENS",
    "DeviceExists",
    "Page",
    "PlanExists",
    "PlanSnapshot",
    "TooMany",
    "UnknownDevice",
    "add_device",
    "add_join_token",
    "apply_and_read",
    "apply_events",
    "changes_since",
    "check_room_for_device",
    "create_plan",
    "delete_plan",
    "device_is_valid",
    "export_plan",
    "get_plan",
    "last_activity_ms",
    "list_devices",
    "redeem_join_token",
    "revoke_device",
    "session_events",
    "snapshot",
    "tick_state",
    "update_plan",
    "calendar_link",
    "claim_reminder",
    "plans_with_push",
    "push_outcome",
    "push_subscriptions",
    "release_reminder",
    "remove_calendar_link",
    "remove_push",
    "set_calendar_link",
    "set_calendar_options",
    "set_push",
    "PlanNotFound",
    "Store",
    "StoreBusy",
]
