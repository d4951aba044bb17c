"""stripe connect: a workspace's connected account (no agency secret), single-use OAuth states

Revision ID: 0013_stripe_connect
Revises: 0012_client_profile
Create Date: 2026-12-05 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0013_stripe_connect"
down_revision: str | None = "0012_client_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("stripe_keys") as batch:
        batch.add_column(
            sa.Column("connected_account", S(length=255), nullable=False, server_default="")
        )
        batch.create_index("ix_stripe_keys_connected_account", ["connected_account"])
    op.create_table(
        "connect_oauth_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", S(length=64), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["user_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_connect_oauth_state_nonce", "connect_oauth_state", ["nonce"], unique=True)
    op.create_index(
        "ix_connect_oauth_state_workspace_id", "connect_oauth_state", ["workspace_id"]
    )


def downgrade() -> None:
    op.drop_table("connect_oauth_state")
    with op.batch_alter_table("stripe_keys") as batch:
        batch.drop_index("ix_stripe_keys_connected_account")
        batch.drop_column("connected_account")
