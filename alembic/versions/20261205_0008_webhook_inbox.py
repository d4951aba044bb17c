"""webhook inbox, worker heartbeats, delivery headers and source address, email context

Revision ID: 0008_webhook_inbox
Revises: 0007_disputes
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0008_webhook_inbox"
down_revision: str | None = "0007_disputes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("event_id", Text(length=255), nullable=False),
        sa.Column("event_type", Text(length=120), nullable=False),
        sa.Column("mode", Text(length=4), nullable=False),
        sa.Column("object_id", Text(length=255), nullable=False),
        sa.Column("stripe_created", sa.Integer(), nullable=False),
        sa.Column("body", Text(), nullable=False),
        sa.Column("status", Text(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", Text(length=32), nullable=False),
        sa.Column("received_at", When(), nullable=False),
        sa.Column("next_attempt_at", When(), nullable=False),
        sa.Column("applied_at", When(), nullable=True),
        sa.Column("result", Text(length=20), nullable=False),
        sa.Column("detail", Text(), nullable=False),
        sa.Column("last_error", Text(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "event_id"),
    )
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_inbox_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index("ix_webhook_inbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_webhook_inbox_object", ["workspace_id", "object_id", "stripe_created"], unique=False
        )
    op.create_table(
        "worker_heartbeat",
        sa.Column("id", Text(length=64), nullable=False),
        sa.Column("seen_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeat_seen_at"), ["seen_at"], unique=False)
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("headers", Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("source_address", Text(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.drop_column("context")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("source_address")
        batch_op.drop_column("headers")
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeat_seen_at"))
    op.drop_table("worker_heartbeat")
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_inbox_object")
        batch_op.drop_index("ix_webhook_inbox_due")
        batch_op.drop_index(batch_op.f("ix_webhook_inbox_workspace_id"))
    op.drop_table("webhook_inbox")
