"""The plan store's devices and device links (join tokens), in PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from .. import rules
from ..contract import DeviceExists
from ..contract import PlanNotFound
from ..contract import TooMany
from ..rules import check_new_device
from ..rules import check_plan_id
from ..rules import credential_matches
from ..rules import well_formed
from .common import PlanTables
from .schema import devices
from .schema import join_tokens


class DeviceTables(PlanTables):
    """Who may act on a plan: its devices, and the links that let one more in."""

    def add_device(self, plan_id, device_id, credential_hash, now_ms, name=""):
        check_new_device(device_id, credential_hash)
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            self._lock(connection, plan_id)
            known = self._devices(connection, plan_id)
            if device_id in known:
                # A revoked id is refused too: re-adding it would bring it back to life.
                raise DeviceExists(device_id)
            _check_room(known)
            if len(known) >= rules.MAX_DEVICES_EVER:
                raise TooMany(
                    f"{rules.MAX_DEVICES_EVER} devices have been linked to this plan over time, "
                    "the most one plan can record. Start a new plan to link another."
                )
            connection.execute(
                devices.insert().values(
                    new_device(plan_id, device_id, credential_hash, now_ms, name, len(known) + 1)
                )
            )

    def check_room_for_device(self, plan_id):
        if not well_formed(plan_id):
            raise PlanNotFound(plan_id)
        with self.db.reading() as connection:
            self._require_plan(connection, plan_id)
            _check_room(self._devices(connection, plan_id))

    def device_is_valid(self, plan_id, device_id, credential_hash):
        if not well_formed(plan_id):
            return False
        with self.db.reading() as connection:
            return credential_matches(
                self._devices(connection, plan_id).get(device_id), credential_hash
            )

    def list_devices(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            self._require_plan(connection, plan_id)
            found = self._devices(connection, plan_id).values()
        return [
            {key: value for key, value in device.items() if key != "credential_hash"}
            for device in found
        ]

    def revoke_device(self, plan_id, device_id):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            if self._lock(connection, plan_id, missing_ok=True) is None:
                return False
            revoked = connection.execute(
                update(devices)
                .where(devices.c.plan_id == plan_id, devices.c.device_id == device_id)
                .values(revoked=True)
            )
            if revoked.rowcount == 0:
                return False
            connection.execute(delete(join_tokens).where(join_tokens.c.plan_id == plan_id))
            self._forget_what_device_opened(connection, plan_id, device_id)
        return True

    # Device links.

    def add_join_token(self, plan_id, token_hash, expires_ms, now_ms=0):
        if not isinstance(token_hash, str) or not token_hash:
            raise ValueError("token hash must be a non-empty string")
        check_plan_id(plan_id)
        dead = or_(join_tokens.c.used_ms.is_not(None), join_tokens.c.expires_ms <= now_ms)
        mine = join_tokens.c.plan_id == plan_id
        with self.db.writing() as connection:
            self._lock(connection, plan_id)
            waiting = connection.execute(
                select(func.count()).where(mine, ~dead, join_tokens.c.token_hash != token_hash)
            ).scalar()
            # Counted before anything is removed: a refusal changes nothing.
            if waiting >= rules.MAX_WAITING_LINKS:
                raise TooMany(
                    f"At most {rules.MAX_WAITING_LINKS} device links can wait to be used at "
                    "once. Use one, or wait a day for them to expire."
                )
            connection.execute(delete(join_tokens).where(mine, dead))
            connection.execute(
                insert(join_tokens)
                .values(plan_id=plan_id, token_hash=token_hash, expires_ms=expires_ms)
                .on_conflict_do_update(
                    index_elements=["plan_id", "token_hash"],
                    set_={"expires_ms": expires_ms, "used_ms": None},
                )
            )

    def redeem_join_token(self, plan_id, token_hash, now_ms):
        if not well_formed(plan_id):
            return False
        # One statement: two devices racing for one link cannot both win it.
        with self.db.writing() as connection:
            used = connection.execute(
                update(join_tokens)
                .where(
                    join_tokens.c.plan_id == plan_id,
                    join_tokens.c.token_hash == token_hash,
                    join_tokens.c.used_ms.is_(None),
                    join_tokens.c.expires_ms > now_ms,
                )
                .values(used_ms=now_ms)
            )
        return used.rowcount == 1


def _check_room(known: dict[str, dict]) -> None:
    if sum(1 for device in known.values() if not device["revoked"]) >= rules.MAX_DEVICES:
        raise TooMany(
            f"This plan has {rules.MAX_DEVICES} devices, the most it can have. "
            "Remove one in Settings on another device first."
        )


def new_device(
    plan_id: str, device_id: str, credential_hash: str, now_ms: int, name: str, number: int
) -> dict:
    return {
        "plan_id": plan_id,
        "device_id": device_id,
        "number": number,
        "name": name,
        "credential_hash": credential_hash,
        "added_ms": now_ms,
        "last_seen_ms": now_ms,
        "revoked": False,
    }
