"""What the app may ask of its storage: the plan store and the clinic store, as types.

A backend implements these with whatever it keeps data in (`file_backend.py`: today's
TinyDB files).  Each method is a whole operation ("apply this batch and read from this
cursor", "redeem this token", "claim this reminder"), so a backend can make each one a
single transaction, and nothing outside this package needs to know how data is kept.
Views and commands reach the stores through `app.extensions["plans"]` and
`app.extensions["clinic"]`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol


class PlanNotFound(LookupError):
    """The plan does not exist (or was deleted while the caller waited for it)."""


class StoreBusy(TimeoutError):
    """A plan's lock stayed taken for longer than the store waits for it."""


class PlanExists(Exception):
    """A plan with this id is already stored."""


class DeviceExists(Exception):
    """The plan already has (or had, before revoking it) a device with this id."""


class UnknownDevice(LookupError):
    """The device is not linked to the plan, or was revoked."""


class TooMany(Exception):
    """A per-plan limit (devices, device links waiting, events) is reached; the message
    says which."""


class SchemaOutOfDate(RuntimeError):
    """The database's schema is not the one this code needs."""


class AccountExists(Exception):
    """A practitioner with this e-mail address already exists."""


@dataclass(frozen=True)
class Page:
    """Events for a device, oldest first; `cursor` is where to ask from next time, and
    `more` says whether events after it are already waiting."""

    events: list[dict]
    cursor: int
    more: bool


class PlanSnapshot(Protocol):
    """One consistent read of a plan, for a request that needs several parts of it."""

    plan: dict

    def device_is_valid(self, device_id: str, credential_hash: str) -> bool: ...

    def session_events(self) -> list[dict]:
        """Every stored session event of the plan, oldest first."""
        ...

    def page(self, cursor: int, limit: int | None = None) -> Page:
        """The events stored after `cursor`, at most `limit` of them: those stored when the
        snapshot was read, and (a backend may) any stored since."""
        ...


class PlanStore(Protocol):
    """Plans: each with its devices, device links, events and reminder state."""

    # The plan and its devices.
    def create_plan(
        self,
        plan_id: str,
        plan: dict,
        device_id: str,
        credential_hash: str,
        now_ms: int,
        name: str = "",
    ) -> None:
        """Store a new plan and its first device; raise PlanExists if the id is taken."""
        ...

    def get_plan(self, plan_id: str) -> dict | None: ...

    def plan_exists(self, plan_id: str) -> bool: ...

    def plan_ids(self) -> list[str]:
        """Every stored plan's id, sorted."""
        ...

    def update_plan(self, plan_id: str, changes: dict) -> dict: ...

    def delete_plan(self, plan_id: str) -> bool:
        """Erase the plan with everything stored for it; False if there was none."""
        ...

    def export_plan(self, plan_id: str) -> dict[str, Any]:
        """Everything stored for the plan, secrets shown only as present."""
        ...

    def last_activity_ms(self, plan_id: str) -> int: ...

    def inactive_plans(self, cutoff_ms: int) -> list[str]:
        """The plans with no activity (made, or a device synced) since `cutoff_ms`."""
        ...

    def add_device(
        self, plan_id: str, device_id: str, credential_hash: str, now_ms: int, name: str = ""
    ) -> None: ...

    def check_room_for_device(self, plan_id: str) -> None:
        """Raise TooMany if the plan has all the devices it may have."""
        ...

    def device_is_valid(self, plan_id: str, device_id: str, credential_hash: str) -> bool: ...

    def list_devices(self, plan_id: str) -> list[dict]: ...

    def revoke_device(self, plan_id: str, device_id: str) -> bool:
        """Stop the device's credential and whatever it could still open."""
        ...

    def add_join_token(
        self, plan_id: str, token_hash: str, expires_ms: int, now_ms: int = 0
    ) -> None: ...

    def redeem_join_token(self, plan_id: str, token_hash: str, now_ms: int) -> bool:
        """Use the token up; False if it is unknown, used or expired."""
        ...

    # Events.
    def snapshot(self, plan_id: str) -> PlanSnapshot | None:
        """One consistent read of the plan; None for an unknown or malformed id."""
        ...

    def apply_events(
        self, plan_id: str, device_id: str, events: Sequence[dict], now_ms: int
    ) -> int:
        """Store the device's events once each; the plan's cursor."""
        ...

    def apply_and_read(
        self,
        plan_id: str,
        device_id: str,
        events: Sequence[dict],
        now_ms: int,
        cursor: int | None,
        seen: PlanSnapshot | None = None,
        limit: int | None = None,
    ) -> Page:
        """Apply the batch and read the events after `cursor`, as one operation."""
        ...

    def changes_since(self, plan_id: str, cursor: int) -> tuple[list[dict], int]: ...

    def session_events(self, plan_id: str) -> list[dict]: ...

    def tick_state(self, plan_id: str) -> dict[tuple[str, str], dict]:
        """The winning tick of each (day, item)."""
        ...

    # Reminders.
    def calendar_link(self, plan_id: str, token_hash: str | None = None) -> dict | None: ...

    def set_calendar_link(
        self,
        plan_id: str,
        token_hash: str,
        explicit_titles: bool,
        now_ms: int,
        made_by: str = "",
    ) -> None: ...

    def set_calendar_options(self, plan_id: str, explicit_titles: bool) -> bool: ...

    def remove_calendar_link(self, plan_id: str) -> None: ...

    def set_push(
        self, plan_id: str, device_id: str, subscription: dict, prefs: dict, now_ms: int
    ) -> None: ...

    def remove_push(self, plan_id: str, device_id: str, endpoint: str | None = None) -> bool: ...

    def push_subscriptions(self, plan_id: str) -> list[dict]: ...

    def plans_with_push(self) -> list[str]: ...

    def push_outcome(
        self, plan_id: str, device_id: str, endpoint: str, failed: bool, now_ms: int
    ) -> None: ...

    def claim_reminder(self, plan_id: str, key: str, device_id: str, now_ms: int) -> bool:
        """Record that this reminder is being sent to the device; False if it already was."""
        ...

    def release_reminder(self, plan_id: str, key: str, device_id: str) -> None: ...

    # Upkeep.
    def housekeeping(self) -> int:
        """Clear what interrupted writes left behind; how many things were cleared."""
        ...


class ClinicStore(Protocol):
    """The clinic: practitioners, their console logins, their clients, invitations."""

    def add_practitioner(self, email: str, password_hash: str, now_ms: int) -> str: ...

    def find_practitioner(self, email: str) -> dict | None: ...

    def get_practitioner(self, practitioner_id: str) -> dict | None: ...

    def list_practitioners(self) -> list[dict]: ...

    def set_password_hash(self, practitioner_id: str, password_hash: str) -> None: ...

    def set_disabled(self, practitioner_id: str, disabled: bool) -> None: ...

    def set_pending_totp(self, practitioner_id: str, secret: str, now_ms: int) -> None: ...

    def set_totp(self, practitioner_id: str, secret: str | None) -> None: ...

    def use_totp_step(self, practitioner_id: str, step: int) -> bool:
        """Record a used TOTP time step; False if it (or a later one) was used already."""
        ...

    def start_console_session(
        self, sid_hash: str, practitioner_id: str, csrf: str, now_ms: int
    ) -> None: ...

    def console_session(self, sid_hash: str) -> dict | None: ...

    def touch_console_session(self, sid_hash: str, now_ms: int) -> None: ...

    def end_console_session(self, sid_hash: str) -> None: ...

    def end_console_sessions(self, practitioner_id: str, keep_sid_hash: str = "") -> int: ...

    def purge_console_sessions(self, is_live: Callable[[dict], bool]) -> int: ...

    def add_client(
        self, plan_id: str, practitioner_id: str, nickname: str, now_ms: int
    ) -> None: ...

    def client_owner(self, plan_id: str) -> str | None: ...

    def clients_of(self, practitioner_id: str) -> list[dict]: ...

    def remove_client(self, plan_id: str) -> None: ...

    def add_invitation(
        self, code_hash: str, plan_id: str, expires_ms: int, code: str | None = None
    ) -> None:
        """Store an invitation by its code's hash; it replaces the plan's unused one.  With
        `code`, the code is kept too, sealed (core/sealed.py), while the invitation waits,
        so the console can show the same link again (waiting_invitation)."""
        ...

    def waiting_invitation(self, plan_id: str, now_ms: int) -> dict | None:
        """The plan's unused, unexpired invitation whose code was kept, as
        {"code", "expires_ms"}; None when there is none, or its code cannot be opened."""
        ...

    def invitation_plan(self, code_hash: str, now_ms: int) -> str | None: ...

    def redeem_invitation(self, code_hash: str, now_ms: int) -> str | None:
        """Use the invitation up (its kept code goes); its plan id, or None if unknown, used
        or expired."""
        ...

    def seal_plain_secrets(self) -> int: ...

    # Wrong logins, counted under opaque keys (a hashed e-mail, with or without an address):
    # here, not in the rate-limit counters, so every worker and every host sees one count.

    def count_login_failure(self, key: str, free: int, longest_ms: int, now_ms: int) -> int:
        """Count one wrong login under `key` in its window (rules.LOGIN_FAILURE_WINDOW_MS);
        the failures counted.  From the `free`-th on, each sets a wait before the next try
        (rules.login_wait_ms).  Counts whose window and wait have both ended are dropped."""
        ...

    def login_wait_ends_ms(self, keys: Sequence[str], now_ms: int) -> int:
        """When the longest wait still running under any of `keys` ends (0: none is)."""
        ...

    def forget_login_failures(self, keys: Sequence[str]) -> None: ...
