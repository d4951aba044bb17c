"""one live way to pay: overpayments, reconciliation flags, checkout close reason

Revision ID: 0009_one_way_to_pay
Revises: 0008_webhook_inbox
Create Date: 2026-12-05 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0009_one_way_to_pay"
down_revision: str | None = "0008_webhook_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "overpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("mode", S(length=6), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", S(length=3), nullable=False),
        sa.Column("reason", S(length=20), nullable=False),
        sa.Column("detail", S(), nullable=False),
        sa.Column("status", S(length=10), nullable=False),
        sa.Column("refund_id", S(length=255), nullable=False),
        sa.Column("refund_error", S(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id"),
    )
    with op.batch_alter_table("overpayment") as batch:
        batch.create_index(batch.f("ix_overpayment_workspace_id"), ["workspace_id"])
        batch.create_index(batch.f("ix_overpayment_invoice_id"), ["invoice_id"])
        batch.create_index(batch.f("ix_overpayment_status"), ["status"])

    op.create_table(
        "reconciliation_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", S(length=30), nullable=False),
        sa.Column("subject", S(length=255), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("mode", S(length=4), nullable=False),
        sa.Column("detail", S(), nullable=False),
        sa.Column("found_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "kind", "subject"),
    )
    with op.batch_alter_table("reconciliation_flag") as batch:
        batch.create_index(batch.f("ix_reconciliation_flag_workspace_id"), ["workspace_id"])

    with op.batch_alter_table("checkout_session") as batch:
        batch.add_column(sa.Column("close_reason", S(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("checkout_session") as batch:
        batch.drop_column("close_reason")
    op.drop_table("reconciliation_flag")
    op.drop_table("overpayment")
