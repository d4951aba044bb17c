"""workspace_alias: a workspace's former address, redirected for 30 days after a change

Revision ID: 0011_workspace_alias
Revises: 0010_reminders
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011_workspace_alias"
down_revision: str | None = "0010_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "workspace_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("slug", S(length=40), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workspace_alias_workspace_id", "workspace_alias", ["workspace_id"])
    op.create_index("ix_workspace_alias_slug", "workspace_alias", ["slug"], unique=True)
    op.create_index("ix_workspace_alias_expires_at", "workspace_alias", ["expires_at"])


def downgrade() -> None:
    op.drop_table("workspace_alias")
