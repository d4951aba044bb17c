"""disputes: chargebacks per payment, amounts at risk and charged back on the invoice

Revision ID: 0007_disputes
Revises: 0006_dashboard_methods
Create Date: 2026-12-05 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0007_disputes"
down_revision: str | None = "0006_dashboard_methods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("mode", S(length=4), nullable=False),
        sa.Column("dispute_id", S(length=255), nullable=False),
        sa.Column("charge_id", S(length=255), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", S(length=3), nullable=False),
        sa.Column("reason", S(length=40), nullable=False),
        sa.Column("stripe_status", S(length=30), nullable=False),
        sa.Column("outcome", S(length=4), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "dispute_id"),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_workspace_id"), ["workspace_id"])
        batch_op.create_index(batch_op.f("ix_dispute_invoice_id"), ["invoice_id"])
        batch_op.create_index(batch_op.f("ix_dispute_outcome"), ["outcome"])

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("amount_disputed", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("amount_charged_back", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("amount_charged_back")
        batch_op.drop_column("amount_disputed")
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_outcome"))
        batch_op.drop_index(batch_op.f("ix_dispute_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_workspace_id"))
    op.drop_table("dispute")
