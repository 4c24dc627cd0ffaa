"""The embedded backend: the plan and clinic stores (contract.py) kept in TinyDB files.

One file per plan in `DATA_DIR/plans`, one clinic file in `DATA_DIR/clinic`, each
written under its own lock by one atomic replace (store.py).  The operations are the
functions of plan_file, plan_sync, reminder_state and clinic_file; this module binds
them to a folder, so the rest of the app holds an object and never a path.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from . import clinic_file
from . import plan_file
from . import plan_sync
from . import reminder_state
from .store import PlanNotFound
from .store import Store


def _on_files(operation: Callable[..., Any]) -> Any:
    """`operation(files, ...)` as a method of a store that keeps its data in `files`."""

    @functools.wraps(operation)
    def method(self, *args: Any, **kwargs: Any) -> Any:
        return operation(self.files, *args, **kwargs)

    return method


class FilePlanStore:
    """Plans in a folder of files (or, in tests, in memory): a contract.PlanStore."""

    def __init__(self, folder: str | os.PathLike[str] | None = None, **options: Any) -> None:
        # The file store itself: this backend's own tests reach through it to the files.
        self.files = Store(folder, **options) if folder is not None else Store(memory=True)

    create_plan = _on_files(plan_file.create_plan)
    get_plan = _on_files(plan_file.get_plan)
    update_plan = _on_files(plan_file.update_plan)
    delete_plan = _on_files(plan_file.delete_plan)
    export_plan = _on_files(plan_file.export_plan)
    last_activity_ms = _on_files(plan_file.last_activity_ms)
    add_device = _on_files(plan_file.add_device)
    check_room_for_device = _on_files(plan_file.check_room_for_device)
    device_is_valid = _on_files(plan_file.device_is_valid)
    list_devices = _on_files(plan_file.list_devices)
    revoke_device = _on_files(plan_file.revoke_device)
    add_join_token = _on_files(plan_file.add_join_token)
    redeem_join_token = _on_files(plan_file.redeem_join_token)

    snapshot = _on_files(plan_sync.snapshot)
    apply_events = _on_files(plan_sync.apply_events)
    apply_and_read = _on_files(plan_sync.apply_and_read)
    changes_since = _on_files(plan_sync.changes_since)
    session_events = _on_files(plan_sync.session_events)
    tick_state = _on_files(plan_sync.tick_state)

    calendar_link = _on_files(reminder_state.calendar_link)
    set_calendar_link = _on_files(reminder_state.set_calendar_link)
    set_calendar_options = _on_files(reminder_state.set_calendar_options)
    remove_calendar_link = _on_files(reminder_state.remove_calendar_link)
    set_push = _on_files(reminder_state.set_push)
    remove_push = _on_files(reminder_state.remove_push)
    push_subscriptions = _on_files(reminder_state.push_subscriptions)
    plans_with_push = _on_files(reminder_state.plans_with_push)
    push_outcome = _on_files(reminder_state.push_outcome)
    claim_reminder = _on_files(reminder_state.claim_reminder)
    release_reminder = _on_files(reminder_state.release_reminder)

    def plan_exists(self, plan_id: str) -> bool:
        return self.files.exists(plan_id)

    def plan_ids(self) -> list[str]:
        return self.files.plan_ids()

    def inactive_plans(self, cutoff_ms: int) -> list[str]:
        inactive = []
        for plan_id in self.files.plan_ids():
            try:
                if plan_file.last_activity_ms(self.files, plan_id) < cutoff_ms:
                    inactive.append(plan_id)
            except PlanNotFound:
                continue  # deleted meanwhile, or a file that is not a plan
        return inactive

    def housekeeping(self) -> int:
        # Temp files of writes cut short by a crash or a kill; the data is safe without them.
        return self.files.remove_stale_temp_files()


class FileClinicStore:
    """The clinic's file in a folder (or memory): a contract.ClinicStore.

    `sealer` (core.sealed.SecretBox) seals two-step secrets on write.
    """

    def __init__(
        self, folder: str | os.PathLike[str] | None = None, sealer: Any = None, **options: Any
    ) -> None:
        if folder is None:
            self.files = Store(memory=True, sealer=sealer, **options)
        else:
            self.files = Store(folder, sealer=sealer, **options)

    add_practitioner = _on_files(clinic_file.add_practitioner)
    find_practitioner = _on_files(clinic_file.find_practitioner)
    get_practitioner = _on_files(clinic_file.get_practitioner)
    list_practitioners = _on_files(clinic_file.list_practitioners)
    set_password_hash = _on_files(clinic_file.set_password_hash)
    set_disabled = _on_files(clinic_file.set_disabled)
    set_pending_totp = _on_files(clinic_file.set_pending_totp)
    set_totp = _on_files(clinic_file.set_totp)
    use_totp_step = _on_files(clinic_file.use_totp_step)
    start_console_session = _on_files(clinic_file.start_console_session)
    console_session = _on_files(clinic_file.console_session)
    touch_console_session = _on_files(clinic_file.touch_console_session)
    end_console_session = _on_files(clinic_file.end_console_session)
    end_console_sessions = _on_files(clinic_file.end_console_sessions)
    purge_console_sessions = _on_files(clinic_file.purge_console_sessions)
    add_client = _on_files(clinic_file.add_client)
    client_owner = _on_files(clinic_file.client_owner)
    clients_of = _on_files(clinic_file.clients_of)
    remove_client = _on_files(clinic_file.remove_client)
    add_invitation = _on_files(clinic_file.add_invitation)
    waiting_invitation = _on_files(clinic_file.waiting_invitation)
    invitation_plan = _on_files(clinic_file.invitation_plan)
    redeem_invitation = _on_files(clinic_file.redeem_invitation)
    seal_plain_secrets = _on_files(clinic_file.seal_plain_secrets)
    count_login_failure = _on_files(clinic_file.count_login_failure)
    login_wait_ends_ms = _on_files(clinic_file.login_wait_ends_ms)
    forget_login_failures = _on_files(clinic_file.forget_login_failures)
