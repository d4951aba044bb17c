"""outbox claims: a worker's token on the emails it delivers, and an index for due emails

Revision ID: 0018_outbox_claims
Revises: 0015_partial_payments (written on 0013_stripe_connect; relinked when main was merged in)
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0018_outbox_claims"
down_revision: str | None = "0015_partial_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch:
        batch.add_column(sa.Column("claim_token", S(length=32), nullable=False, server_default=""))
        batch.create_index("ix_outbox_email_due", ["status", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_index("ix_outbox_email_due")
        batch.drop_column("claim_token")
