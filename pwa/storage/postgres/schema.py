"""The PostgreSQL tables: one MetaData that the migrations create and `alembic check` compares.

Ids are compared in the "C" collation: byte order, which is how Python and JavaScript
order strings, so the merge's tie-breaks (device id, event id) come out the same in
the database as on every phone.  Everything of a plan goes with it (ON DELETE CASCADE).
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _id(name: str, *constraints, **options) -> Column:
    return Column(name, String(64, collation="C"), *constraints, **options)


def _of_plan(primary_key: bool = True) -> Column:
    return Column(
        "plan_id",
        String(64, collation="C"),
        ForeignKey("plans.plan_id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def _ms(name: str, nullable: bool = False) -> Column:
    return Column(name, BigInteger, nullable=nullable)


plans = Table(
    "plans",
    metadata,
    _id("plan_id", primary_key=True),
    Column("plan", JSONB, nullable=False),
    # The plan's cursor: the seq of the last event stored.  The plan's row lock orders
    # its writers, so seqs commit in order and a cursor reader misses none.
    Column("seq", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False, server_default=text("0")),
    _ms("created_ms"),
)

devices = Table(
    "devices",
    metadata,
    _of_plan(),
    _id("device_id", primary_key=True),
    # The order devices were linked in ("oldest first"); ids are random.
    Column("number", Integer, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("credential_hash", Text, nullable=False),
    _ms("added_ms"),
    _ms("last_seen_ms"),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
)

join_tokens = Table(
    "join_tokens",
    metadata,
    _of_plan(),
    Column("token_hash", Text(collation="C"), primary_key=True),
    _ms("expires_ms"),
    _ms("used_ms", nullable=True),
)

# Ticks and session edits.  Of the ticks only each box's winner is kept, as in the
# file backend (merge.compact): the unique index on the box makes it so, and a newer
# winner replaces its row in one conditional upsert.  Every session edit is kept.
events = Table(
    "events",
    metadata,
    _of_plan(),
    _id("event_id", primary_key=True),
    Column("seq", BigInteger, nullable=False),
    _id("device", nullable=False),
    Column("counter", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("day", String(10, collation="C"), nullable=False),
    _id("item"),
    Column("done", Boolean),
    _id("session"),
    Column("time", String(5, collation="C")),
    Column("status", String(16, collation="C")),
    UniqueConstraint("plan_id", "seq", name="events_seq_once"),
    Index(
        "events_one_tick_per_box",
        "plan_id",
        "day",
        "item",
        unique=True,
        postgresql_where=text("session IS NULL"),
    ),
)

calendar_links = Table(
    "calendar_links",
    metadata,
    _of_plan(),
    Column("token_hash", Text(collation="C"), nullable=False),
    Column("explicit_titles", Boolean, nullable=False),
    _ms("made_ms"),
    _id("made_by", nullable=False, server_default=""),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    _of_plan(),
    _id("device_id", primary_key=True),
    Column("subscription", JSONB, nullable=False),
    Column("prefs", JSONB, nullable=False),
    _ms("added_ms"),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    _ms("retry_ms"),
)

reminders_sent = Table(
    "reminders_sent",
    metadata,
    _of_plan(),
    Column("key", Text(collation="C"), primary_key=True),
    _id("device_id", primary_key=True),
    _ms("sent_ms"),
)

# The clinic: practitioners, their console sign-ins, their clients, invitations.  A client
# record names a plan but does not hold it: the console forgets a record whose plan went.

practitioners = Table(
    "practitioners",
    metadata,
    _id("id", primary_key=True),
    Column("email", Text(collation="C"), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    # Sealed (core/sealed.py) with a key that is not stored beside them.
    Column("totp_secret", Text),
    Column("totp_pending", JSONB),
    Column("totp_last_step", BigInteger),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    _ms("created_ms"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("sid_hash", Text(collation="C"), primary_key=True),
    _id(
        "practitioner",
        ForeignKey("practitioners.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf", Text, nullable=False),
    _ms("created_ms"),
    _ms("last_seen_ms"),
)

clients = Table(
    "clients",
    metadata,
    _id("plan_id", primary_key=True),
    _id("practitioner", nullable=False),
    Column("nickname", Text, nullable=False),
    _ms("created_ms"),
    Index("clients_by_practitioner", "practitioner", "created_ms"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("code_hash", Text(collation="C"), primary_key=True),
    _id("plan_id", nullable=False),
    _ms("expires_ms"),
    _ms("used_ms", nullable=True),
    # The code itself while the invitation waits, sealed as two-step secrets are, so the
    # console can show it again; gone once the invitation is used.
    Column("code_sealed", Text),
    # A new invitation replaces the plan's unused one: at most one waits per plan.
    Index(
        "invitations_one_waiting_per_plan",
        "plan_id",
        unique=True,
        postgresql_where=text("used_ms IS NULL"),
    ),
)

# Wrong logins per opaque key (a hashed e-mail, alone or with an address): one count that
# every host sees, so guesses spread over hosts still slow the account.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", Text(collation="C"), primary_key=True),
    Column("failures", Integer, nullable=False),
    _ms("window_ends_ms"),
    _ms("wait_until_ms"),
)

# Secrets every app host must share (the secret key that signs cookies, the VAPID key
# that signs pushes): made once by whichever host starts first, read by all.
deployment_secrets = Table(
    "deployment_secrets",
    metadata,
    Column("name", Text(collation="C"), primary_key=True),
    Column("value", Text, nullable=False),
)
