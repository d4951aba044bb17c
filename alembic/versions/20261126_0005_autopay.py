"""autopay: saved methods, charge attempts, notices, retainers

Revision ID: 0005_autopay
Revises: 0004_money
Create Date: 2026-11-26 23:47:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0005_autopay"
down_revision: str | None = "0004_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_autopay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paused_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("client_autopay", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_autopay_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "retainer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("interval", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("lines_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("billing", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column(
            "stripe_subscription_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("stripe_price_ids", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retainer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retainer_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_retainer_stripe_subscription_id"),
            ["stripe_subscription_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_retainer_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "saved_payment_method",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column(
            "payment_method_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("setup_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("brand", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("last4", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("saved_payment_method", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_payment_method_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_saved_payment_method_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "autopay_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column(
            "payment_method_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column(
            "payment_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("failure_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("decline_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("failure_class", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("failure_message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("settled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("next_retry_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("invoice_id", "attempt_no"),
    )
    with op.batch_alter_table("autopay_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_autopay_attempt_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_autopay_attempt_payment_intent_id"), ["payment_intent_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_autopay_attempt_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_autopay_attempt_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "autopay_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id"),
    )
    with op.batch_alter_table("autopay_notice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_autopay_notice_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "retainer_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("retainer_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.ForeignKeyConstraint(
            ["retainer_id"],
            ["retainer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("retainer_id", "period_start"),
    )
    with op.batch_alter_table("retainer_period", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retainer_period_retainer_id"), ["retainer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_retainer_period_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retainer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoice_retainer_id"), ["retainer_id"], unique=False)
        batch_op.create_foreign_key("fk_invoice_retainer_id", "retainer", ["retainer_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint("fk_invoice_retainer_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoice_retainer_id"))
        batch_op.drop_column("retainer_id")

    with op.batch_alter_table("retainer_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retainer_period_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_retainer_period_retainer_id"))

    op.drop_table("retainer_period")
    with op.batch_alter_table("autopay_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autopay_notice_workspace_id"))

    op.drop_table("autopay_notice")
    with op.batch_alter_table("autopay_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autopay_attempt_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_autopay_attempt_status"))
        batch_op.drop_index(batch_op.f("ix_autopay_attempt_payment_intent_id"))
        batch_op.drop_index(batch_op.f("ix_autopay_attempt_invoice_id"))

    op.drop_table("autopay_attempt")
    with op.batch_alter_table("saved_payment_method", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_payment_method_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_saved_payment_method_client_id"))

    op.drop_table("saved_payment_method")
    with op.batch_alter_table("retainer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retainer_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_retainer_stripe_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_retainer_client_id"))

    op.drop_table("retainer")
    with op.batch_alter_table("client_autopay", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_autopay_workspace_id"))

    op.drop_table("client_autopay")
