"""reminders and late fees: workspace rules, per-client opt-out, sent steps, fees (unique keys)

Revision ID: 0010_reminders
Revises: 0009_one_way_to_pay
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0010_reminders"
down_revision: str | None = "0009_one_way_to_pay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "reminder_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("on_due_date", sa.Boolean(), nullable=False),
        sa.Column("days_after", sa.Integer(), nullable=False),
        sa.Column("repeat_every", sa.Integer(), nullable=False),
        sa.Column("max_after", sa.Integer(), nullable=False),
        sa.Column("late_fee_kind", S(length=8), nullable=False),
        sa.Column("late_fee_percent_bp", sa.Integer(), nullable=False),
        sa.Column("late_fee_fixed", S(length=20), nullable=False),
        sa.Column("late_fee_after_days", sa.Integer(), nullable=False),
        sa.Column("late_fee_monthly", sa.Boolean(), nullable=False),
        sa.Column("late_fee_max", sa.Integer(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("workspace_id"),
    )
    op.create_table(
        "client_reminder_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("reminders_off", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "client_id"),
    )
    with op.batch_alter_table("client_reminder_setting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_reminder_setting_workspace_id"), ["workspace_id"]
        )
        batch_op.create_index(batch_op.f("ix_client_reminder_setting_client_id"), ["client_id"])
    op.create_table(
        "invoice_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("step", S(length=20), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("email_id", sa.Integer(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(["email_id"], ["outbox_email.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "step"),
    )
    with op.batch_alter_table("invoice_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_reminder_workspace_id"), ["workspace_id"])
        batch_op.create_index(batch_op.f("ix_invoice_reminder_invoice_id"), ["invoice_id"])
    op.create_table(
        "late_fee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", S(length=3), nullable=False),
        sa.Column("applied_at", When(), nullable=False),
        sa.Column("waived_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["line_id"], ["invoice_line.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "seq"),
    )
    with op.batch_alter_table("late_fee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_fee_workspace_id"), ["workspace_id"])
        batch_op.create_index(batch_op.f("ix_late_fee_invoice_id"), ["invoice_id"])


def downgrade() -> None:
    op.drop_table("late_fee")
    op.drop_table("invoice_reminder")
    op.drop_table("client_reminder_setting")
    op.drop_table("reminder_settings")
