"""The clinic store (contract.ClinicStore) in PostgreSQL: practitioners, their console
sessions, their clients and invitations.

What must happen once happens in one statement: an invitation is used by an UPDATE that
only an unused, unexpired one matches; a TOTP time step is recorded only if it is later
than the last one used.  Two-step secrets, and the code of an invitation still waiting, are
sealed as the file backend seals them.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from .. import rules
from .. import sealing
from ..contract import AccountExists
from ..rules import check_hash
from .database import Database
from .schema import clients
from .schema import console_sessions
from .schema import invitations
from .schema import login_failures
from .schema import practitioners

_ACCOUNT = tuple(column.name for column in practitioners.columns)


class PostgresClinicStore:
    """The clinic in PostgreSQL: a contract.ClinicStore."""

    def __init__(self, db: Database, sealer) -> None:
        self.db = db
        self.sealer = sealer

    # Practitioners.

    def add_practitioner(self, email, password_hash, now_ms):
        practitioner_id = secrets.token_urlsafe(12)
        with self.db.writing() as connection:
            made = connection.execute(
                insert(practitioners)
                .values(
                    id=practitioner_id,
                    email=email,
                    password_hash=password_hash,
                    disabled=False,
                    created_ms=now_ms,
                )
                .on_conflict_do_nothing(index_elements=["email"])
                .returning(practitioners.c.id)
            ).first()
        if made is None:
            raise AccountExists(email)
        return practitioner_id

    def find_practitioner(self, email):
        return self._find_account(practitioners.c.email == email)

    def get_practitioner(self, practitioner_id):
        return self._find_account(practitioners.c.id == practitioner_id)

    def list_practitioners(self):
        counts = (
            select(console_sessions.c.practitioner, func.count().label("sessions"))
            .group_by(console_sessions.c.practitioner)
            .subquery()
        )
        query = (
            select(practitioners, func.coalesce(counts.c.sessions, 0).label("sessions"))
            .outerjoin(counts, counts.c.practitioner == practitioners.c.id)
            .order_by(practitioners.c.created_ms, practitioners.c.id)
        )
        with self.db.reading() as connection:
            rows = connection.execute(query).all()
        return [{**_account(row), "sessions": row.sessions} for row in rows]

    def set_password_hash(self, practitioner_id, password_hash):
        self._update(practitioner_id, password_hash=password_hash)

    def set_disabled(self, practitioner_id, disabled):
        with self.db.writing() as connection:
            connection.execute(
                update(practitioners)
                .where(practitioners.c.id == practitioner_id)
                .values(disabled=disabled)
            )
            if disabled:
                connection.execute(
                    delete(console_sessions).where(
                        console_sessions.c.practitioner == practitioner_id
                    )
                )

    def set_pending_totp(self, practitioner_id, secret, now_ms):
        self._update(
            practitioner_id, totp_pending={"secret": self.sealer.seal(secret), "made_ms": now_ms}
        )

    def set_totp(self, practitioner_id, secret):
        sealed = None if secret is None else self.sealer.seal(secret)
        self._update(practitioner_id, totp_secret=sealed, totp_last_step=None, totp_pending=None)

    def use_totp_step(self, practitioner_id, step):
        last = practitioners.c.totp_last_step
        with self.db.writing() as connection:
            used = connection.execute(
                update(practitioners)
                .where(practitioners.c.id == practitioner_id, or_(last.is_(None), last < step))
                .values(totp_last_step=step)
            )
        return used.rowcount == 1

    def seal_plain_secrets(self):
        # Called as the app is built: on a database whose schema is not made yet there is
        # nothing to seal, and the host's start-up check says what to run.
        if not self.db.has_schema():
            return 0
        with self.db.writing() as connection:
            rows = connection.execute(
                select(practitioners)
                .where(
                    or_(
                        practitioners.c.totp_secret.is_not(None),
                        practitioners.c.totp_pending.is_not(None),
                    )
                )
                .with_for_update()
            ).all()
            plain = [_account(row) for row in rows if sealing.has_plain_secret(_account(row))]
            for account in plain:
                connection.execute(
                    update(practitioners)
                    .where(practitioners.c.id == account["id"])
                    .values(**sealing.sealed_fields(self.sealer, account))
                )
        return len(plain)

    # Console sessions.

    def start_console_session(self, sid_hash, practitioner_id, csrf, now_ms):
        with self.db.writing() as connection:
            connection.execute(
                console_sessions.insert().values(
                    sid_hash=sid_hash,
                    practitioner=practitioner_id,
                    csrf=csrf,
                    created_ms=now_ms,
                    last_seen_ms=now_ms,
                )
            )

    def console_session(self, sid_hash):
        with self.db.reading() as connection:
            row = connection.execute(
                select(console_sessions).where(console_sessions.c.sid_hash == sid_hash)
            ).first()
        return None if row is None else dict(row._mapping)

    def touch_console_session(self, sid_hash, now_ms):
        with self.db.writing() as connection:
            connection.execute(
                update(console_sessions)
                .where(console_sessions.c.sid_hash == sid_hash)
                .values(last_seen_ms=now_ms)
            )

    def end_console_session(self, sid_hash):
        with self.db.writing() as connection:
            connection.execute(
                delete(console_sessions).where(console_sessions.c.sid_hash == sid_hash)
            )

    def end_console_sessions(self, practitioner_id, keep_sid_hash=""):
        with self.db.writing() as connection:
            ended = connection.execute(
                delete(console_sessions).where(
                    console_sessions.c.practitioner == practitioner_id,
                    console_sessions.c.sid_hash != keep_sid_hash,
                )
            )
        return ended.rowcount

    def purge_console_sessions(self, is_live):
        with self.db.writing() as connection:
            rows = connection.execute(select(console_sessions).with_for_update()).all()
            dead = [row.sid_hash for row in rows if not is_live(dict(row._mapping))]
            if dead:
                connection.execute(
                    delete(console_sessions).where(console_sessions.c.sid_hash.in_(dead))
                )
        return len(dead)

    # Clients and invitations.

    def add_client(self, plan_id, practitioner_id, nickname, now_ms):
        with self.db.writing() as connection:
            connection.execute(
                clients.insert().values(
                    plan_id=plan_id,
                    practitioner=practitioner_id,
                    nickname=nickname,
                    created_ms=now_ms,
                )
            )

    def client_owner(self, plan_id):
        with self.db.reading() as connection:
            return connection.execute(
                select(clients.c.practitioner).where(clients.c.plan_id == plan_id)
            ).scalar()

    def clients_of(self, practitioner_id):
        with self.db.reading() as connection:
            rows = connection.execute(
                select(clients)
                .where(clients.c.practitioner == practitioner_id)
                .order_by(clients.c.created_ms.desc())
            ).all()
        return [dict(row._mapping) for row in rows]

    def remove_client(self, plan_id):
        with self.db.writing() as connection:
            connection.execute(delete(clients).where(clients.c.plan_id == plan_id))
            connection.execute(delete(invitations).where(invitations.c.plan_id == plan_id))

    def add_invitation(self, code_hash, plan_id, expires_ms, code=None):
        check_hash(code_hash)
        sealed = None if code is None else self.sealer.seal(code)
        with self.db.writing() as connection:
            # A new invitation replaces any unused one: a lost link stops working.
            connection.execute(
                delete(invitations).where(
                    invitations.c.plan_id == plan_id, invitations.c.used_ms.is_(None)
                )
            )
            connection.execute(
                invitations.insert().values(
                    code_hash=code_hash, plan_id=plan_id, expires_ms=expires_ms, code_sealed=sealed
                )
            )

    def waiting_invitation(self, plan_id, now_ms):
        with self.db.reading() as connection:
            row = connection.execute(
                select(invitations).where(
                    invitations.c.plan_id == plan_id, invitations.c.used_ms.is_(None)
                )
            ).first()
        found = None if row is None else dict(row._mapping)
        return sealing.waiting_code(self.sealer, found, now_ms)

    def invitation_plan(self, code_hash, now_ms):
        with self.db.reading() as connection:
            return connection.execute(
                select(invitations.c.plan_id).where(*_usable(code_hash, now_ms))
            ).scalar()

    def redeem_invitation(self, code_hash, now_ms):
        # One statement: two phones racing for one invitation cannot both win it.
        with self.db.writing() as connection:
            return connection.execute(
                update(invitations)
                .where(*_usable(code_hash, now_ms))
                .values(used_ms=now_ms, code_sealed=None)
                .returning(invitations.c.plan_id)
            ).scalar()

    # Wrong logins.

    def count_login_failure(self, key, free, longest_ms, now_ms):
        window = {"key": key, "now": now_ms, "window": rules.LOGIN_FAILURE_WINDOW_MS}
        first_wait = rules.login_wait_ms(1, free, longest_ms)
        limits = {
            "free": free,
            "longest": longest_ms,
            "first": rules.LOGIN_FIRST_WAIT_MS,
            "most": rules.LOGIN_MOST_DOUBLINGS,
            "first_until": now_ms + first_wait if first_wait else 0,
        }
        with self.db.writing() as connection:
            return connection.execute(_COUNT_LOGIN_FAILURE, {**window, **limits}).scalar_one()

    def login_wait_ends_ms(self, keys, now_ms):
        with self.db.reading() as connection:
            return connection.execute(
                select(func.coalesce(func.max(login_failures.c.wait_until_ms), 0)).where(
                    login_failures.c.key.in_(list(keys)),
                    login_failures.c.wait_until_ms > now_ms,
                )
            ).scalar_one()

    def forget_login_failures(self, keys):
        with self.db.writing() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.key.in_(list(keys))))

    # Helpers.

    def _find_account(self, condition) -> dict | None:
        with self.db.reading() as connection:
            row = connection.execute(select(practitioners).where(condition)).first()
        return None if row is None else sealing.opened(self.sealer, _account(row))

    def _update(self, practitioner_id: str, **values) -> None:
        with self.db.writing() as connection:
            connection.execute(
                update(practitioners).where(practitioners.c.id == practitioner_id).values(**values)
            )


def _account(row) -> dict:
    return {name: getattr(row, name) for name in _ACCOUNT}


def _usable(code_hash: str, now_ms: int) -> tuple:
    return (
        invitations.c.code_hash == code_hash,
        invitations.c.used_ms.is_(None),
        invitations.c.expires_ms > now_ms,
    )


# One statement counts the failure, starts a new window when the last one ended, sets the
# wait as rules.login_wait_ms does (never shortening one that runs), and sweeps out other
# keys whose window and wait have both ended.  The sweep leaves `key` alone: one statement
# may not both delete and update a row.
_FAILURES_NOW = "CASE WHEN f.window_ends_ms <= :now THEN 1 ELSE f.failures + 1 END"
_COUNT_LOGIN_FAILURE = text(
    f"""
    WITH swept AS (
        DELETE FROM login_failures
        WHERE key <> :key AND window_ends_ms <= :now AND wait_until_ms <= :now
    )
    INSERT INTO login_failures AS f (key, failures, window_ends_ms, wait_until_ms)
    VALUES (:key, 1, :now + :window, :first_until)
    ON CONFLICT (key) DO UPDATE SET
        failures = {_FAILURES_NOW},
        window_ends_ms = CASE WHEN f.window_ends_ms <= :now THEN :now + :window
                              ELSE f.window_ends_ms END,
        wait_until_ms = GREATEST(
            f.wait_until_ms,
            CASE WHEN {_FAILURES_NOW} < :free THEN 0
                 ELSE :now + LEAST(
                     :longest,
                     :first * power(2, LEAST({_FAILURES_NOW} - :free, :most))::bigint
                 )
            END
        )
    RETURNING failures
    """
)
