"""The clinic store: practitioners, console sessions, clients and invitations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("practitioner", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("nickname", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_index(
        "clients_by_practitioner", "clients", ["practitioner", "created_ms"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("code_hash", sa.Text(collation="C"), nullable=False),
        sa.Column("plan_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index(
        "invitations_one_waiting_per_plan",
        "invitations",
        ["plan_id"],
        unique=True,
        postgresql_where=sa.text("used_ms IS NULL"),
    )
    op.create_table(
        "practitioners",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("email", sa.Text(collation="C"), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_pending", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("sid_hash", sa.Text(collation="C"), nullable=False),
        sa.Column("practitioner", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("csrf", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["practitioner"], ["practitioners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sid_hash"),
    )
    op.create_index(
        op.f("ix_console_sessions_practitioner"), "console_sessions", ["practitioner"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sessions_practitioner"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("practitioners")
    op.drop_index(
        "invitations_one_waiting_per_plan",
        table_name="invitations",
        postgresql_where=sa.text("used_ms IS NULL"),
    )
    op.drop_table("invitations")
    op.drop_index("clients_by_practitioner", table_name="clients")
    op.drop_table("clients")
