"""connect onboarding: the idempotency key of a new Stripe account being created

Revision ID: 0017_connect_onboarding
Revises: 0013_stripe_connect
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0017_connect_onboarding"
down_revision: str | None = "0013_stripe_connect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "connect_onboarding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("mode", S(length=8), nullable=False),
        sa.Column("idempotency_key", S(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "mode"),
    )
    op.create_index(
        "ix_connect_onboarding_workspace_id", "connect_onboarding", ["workspace_id"]
    )


def downgrade() -> None:
    op.drop_table("connect_onboarding")
