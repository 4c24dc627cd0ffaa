"""The plan store: plans, devices, device links, events and reminder state.

Revision ID: 0001
Revises: (none: the first)
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_table(
        "calendar_links",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("token_hash", sa.Text(collation="C"), nullable=False),
        sa.Column("explicit_titles", sa.Boolean(), nullable=False),
        sa.Column("made_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "made_by", sa.String(length=64, collation="C"), server_default="", nullable=False
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_table(
        "devices",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("device_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("credential_hash", sa.Text(), nullable=False),
        sa.Column("added_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "device_id"),
    )
    op.create_table(
        "events",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("event_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("device", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(length=10, collation="C"), nullable=False),
        sa.Column("item", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=True),
        sa.Column("session", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("time", sa.String(length=5, collation="C"), nullable=True),
        sa.Column("status", sa.String(length=16, collation="C"), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "event_id"),
        sa.UniqueConstraint("plan_id", "seq", name="events_seq_once"),
    )
    op.create_index(
        "events_one_tick_per_box",
        "events",
        ["plan_id", "day", "item"],
        unique=True,
        postgresql_where=sa.text("session IS NULL"),
    )
    op.create_table(
        "join_tokens",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("token_hash", sa.Text(collation="C"), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "token_hash"),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("device_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("subscription", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("prefs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("added_ms", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("retry_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "device_id"),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("device_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "key", "device_id"),
    )


def downgrade() -> None:
    op.drop_table("reminders_sent")
    op.drop_table("push_subscriptions")
    op.drop_table("join_tokens")
    op.drop_index(
        "events_one_tick_per_box", table_name="events", postgresql_where=sa.text("session IS NULL")
    )
    op.drop_table("events")
    op.drop_table("devices")
    op.drop_table("calendar_links")
    op.drop_table("plans")
