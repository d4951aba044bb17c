"""client_profile and workspace_branding: a client's billing details, a workspace's brand

Revision ID: 0012_client_profile
Revises: 0011_workspace_alias
Create Date: 2026-12-05 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0012_client_profile"
down_revision: str | None = "0011_workspace_alias"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "client_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("billing_name", S(length=160), nullable=False),
        sa.Column("line1", S(length=200), nullable=False),
        sa.Column("line2", S(length=200), nullable=False),
        sa.Column("city", S(length=100), nullable=False),
        sa.Column("state", S(length=100), nullable=False),
        sa.Column("postal_code", S(length=20), nullable=False),
        sa.Column("country", S(length=2), nullable=False),
        sa.Column("tax_id_type", S(length=20), nullable=False),
        sa.Column("tax_id", S(length=40), nullable=False),
        sa.Column("stripe_tax_ids", S(length=255), nullable=False),
        sa.Column("email_receipts", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stripe_synced_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("stripe_error", S(length=300), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "client_id"),
    )
    op.create_index("ix_client_profile_workspace_id", "client_profile", ["workspace_id"])
    op.create_index("ix_client_profile_client_id", "client_profile", ["client_id"])
    op.create_table(
        "workspace_branding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("logo_png", sa.LargeBinary(), nullable=True),
        sa.Column("accent", S(length=7), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id"),
    )


def downgrade() -> None:
    op.drop_table("workspace_branding")
    op.drop_table("client_profile")
