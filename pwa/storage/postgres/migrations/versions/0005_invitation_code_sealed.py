"""A waiting invitation's code, sealed, so the console can show the same invitation again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("code_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("invitations", "code_sealed")
