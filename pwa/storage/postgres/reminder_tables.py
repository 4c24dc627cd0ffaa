"""The plan store's reminder state in PostgreSQL: the calendar feed's key, each device's
Web Push subscription and preferences, and the log of reminders sent.

A reminder is claimed by one INSERT … ON CONFLICT DO NOTHING: any number of senders,
on any number of hosts, send each reminder to each device at most once.
"""

from __future__ import annotations

import hmac

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import exc
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from ..contract import PlanNotFound
from ..contract import UnknownDevice
from ..rules import PUSH_FIRST_WAIT_MS
from ..rules import PUSH_LONGEST_WAIT_MS
from ..rules import check_plan_id
from ..rules import well_formed
from .common import PlanTables
from .common import check_json
from .schema import calendar_links
from .schema import devices
from .schema import push_subscriptions
from .schema import reminders_sent


class ReminderTables(PlanTables):
    """Calendar feed, push subscriptions and the reminders sent, of each plan."""

    # Calendar feed.

    def set_calendar_link(self, plan_id, token_hash, explicit_titles, now_ms, made_by=""):
        if not isinstance(token_hash, str) or not token_hash:
            raise ValueError("token hash must be a non-empty string")
        check_plan_id(plan_id)
        link = {
            "token_hash": token_hash,
            "explicit_titles": bool(explicit_titles),
            "made_ms": now_ms,
            "made_by": made_by,
        }
        with self.db.writing() as connection:
            self._lock(connection, plan_id)
            connection.execute(
                insert(calendar_links)
                .values(plan_id=plan_id, **link)
                .on_conflict_do_update(index_elements=["plan_id"], set_=link)
            )

    def set_calendar_options(self, plan_id, explicit_titles):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            changed = connection.execute(
                update(calendar_links)
                .where(calendar_links.c.plan_id == plan_id)
                .values(explicit_titles=bool(explicit_titles))
            )
        return changed.rowcount == 1

    def remove_calendar_link(self, plan_id):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            self._lock(connection, plan_id)
            connection.execute(delete(calendar_links).where(calendar_links.c.plan_id == plan_id))

    def calendar_link(self, plan_id, token_hash=None):
        if not well_formed(plan_id):
            return None
        with self.db.reading() as connection:
            link = connection.execute(
                select(calendar_links).where(calendar_links.c.plan_id == plan_id)
            ).first()
        if link is None:
            return None
        if token_hash is not None and not hmac.compare_digest(
            link.token_hash.encode(), str(token_hash).encode()
        ):
            return None
        return {"explicit_titles": link.explicit_titles, "made_ms": link.made_ms}

    # Web Push subscriptions and the sent-log.

    def set_push(self, plan_id, device_id, subscription, prefs, now_ms):
        check_plan_id(plan_id)
        entry = {
            "subscription": check_json(subscription),
            "prefs": check_json(prefs),
            "added_ms": now_ms,
            # A new subscription starts with no failures behind it.
            "failures": 0,
            "retry_ms": 0,
        }
        with self.db.writing() as connection:
            self._lock(connection, plan_id)
            revoked = connection.execute(
                select(devices.c.revoked).where(
                    devices.c.plan_id == plan_id, devices.c.device_id == device_id
                )
            ).scalar()
            if revoked is not False:
                raise UnknownDevice(device_id)
            connection.execute(
                insert(push_subscriptions)
                .values(plan_id=plan_id, device_id=device_id, **entry)
                .on_conflict_do_update(index_elements=["plan_id", "device_id"], set_=entry)
            )

    def remove_push(self, plan_id, device_id, endpoint=None):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            entry = self._push_entry(connection, plan_id, device_id)
            if entry is None:
                return False
            if endpoint is not None and entry.subscription["endpoint"] != endpoint:
                return False  # the device subscribed again meanwhile
            connection.execute(
                delete(push_subscriptions).where(
                    push_subscriptions.c.plan_id == plan_id,
                    push_subscriptions.c.device_id == device_id,
                )
            )
        return True

    def push_subscriptions(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            self._require_plan(connection, plan_id)
            rows = connection.execute(
                select(push_subscriptions)
                .join(
                    devices,
                    (devices.c.plan_id == push_subscriptions.c.plan_id)
                    & (devices.c.device_id == push_subscriptions.c.device_id),
                )
                .where(push_subscriptions.c.plan_id == plan_id, devices.c.revoked.is_(False))
                .order_by(push_subscriptions.c.added_ms)
            ).all()
        return [
            {
                "device": row.device_id,
                "subscription": row.subscription,
                "prefs": row.prefs,
                "retry_ms": row.retry_ms,
            }
            for row in rows
        ]

    def push_outcome(self, plan_id, device_id, endpoint, failed, now_ms):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            entry = self._push_entry(connection, plan_id, device_id, lock=True)
            if entry is None or entry.subscription["endpoint"] != endpoint:
                return
            if not failed and not entry.failures:
                return  # the usual case: nothing to write
            failures = entry.failures + 1 if failed else 0
            wait = min(PUSH_LONGEST_WAIT_MS, PUSH_FIRST_WAIT_MS * 2 ** (failures - 1))
            connection.execute(
                update(push_subscriptions)
                .where(
                    push_subscriptions.c.plan_id == plan_id,
                    push_subscriptions.c.device_id == device_id,
                )
                .values(failures=failures, retry_ms=now_ms + wait if failed else 0)
            )

    def plans_with_push(self):
        with self.db.reading() as connection:
            return list(
                connection.execute(
                    select(push_subscriptions.c.plan_id)
                    .distinct()
                    .order_by(push_subscriptions.c.plan_id)
                ).scalars()
            )

    def claim_reminder(self, plan_id, key, device_id, now_ms):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            try:
                claimed = connection.execute(
                    insert(reminders_sent)
                    .values(plan_id=plan_id, key=key, device_id=device_id, sent_ms=now_ms)
                    .on_conflict_do_nothing()
                    .returning(reminders_sent.c.key)
                ).first()
            except exc.IntegrityError:
                # The plan went (its row is what the claim refers to).
                raise PlanNotFound(plan_id) from None
        return claimed is not None

    def release_reminder(self, plan_id, key, device_id):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            connection.execute(
                delete(reminders_sent).where(
                    reminders_sent.c.plan_id == plan_id,
                    reminders_sent.c.key == key,
                    reminders_sent.c.device_id == device_id,
                )
            )

    def _push_entry(self, connection: Connection, plan_id: str, device_id: str, lock=False):
        query = select(push_subscriptions).where(
            push_subscriptions.c.plan_id == plan_id, push_subscriptions.c.device_id == device_id
        )
        return connection.execute(query.with_for_update() if lock else query).first()

    def _forget_what_device_opened(
        self, connection: Connection, plan_id: str, device_id: str
    ) -> None:
        """A removed device's calendar feed and push subscription go with it."""
        connection.execute(
            delete(calendar_links).where(
                calendar_links.c.plan_id == plan_id,
                calendar_links.c.made_by == device_id,
            )
        )
        connection.execute(
            delete(push_subscriptions).where(
                push_subscriptions.c.plan_id == plan_id,
                push_subscriptions.c.device_id == device_id,
            )
        )
