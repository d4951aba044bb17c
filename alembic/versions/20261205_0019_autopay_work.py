"""autopay work items: one row per due invoice for any worker to claim

Revision ID: 0019_autopay_work
Revises: 0018_outbox_claims
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0019_autopay_work"
down_revision: str | None = "0018_outbox_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "autopay_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("open_invoice_id", sa.Integer(), nullable=True),
        sa.Column("status", Text(length=10), nullable=False),
        sa.Column("claim_token", Text(length=32), nullable=False),
        sa.Column("run_at", When(), nullable=False),
        sa.Column("not_before", When(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("outcome", Text(length=20), nullable=False),
        sa.Column("finished_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_invoice_id"),
    )
    with op.batch_alter_table("autopay_item", schema=None) as batch_op:
        batch_op.create_index("ix_autopay_item_due", ["status", "not_before"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_autopay_item_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_autopay_item_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("autopay_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autopay_item_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_autopay_item_invoice_id"))
        batch_op.drop_index("ix_autopay_item_due")
    op.drop_table("autopay_item")
