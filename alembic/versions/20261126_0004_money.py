"""payment.source wide enough for "stripe_invoice"

Revision ID: 0004_money
Revises: 0003_billing
Create Date: 2026-11-26 23:20:00

The schema documented ``stripe_invoice`` as a payment source but gave the column 12
characters; the value has 14. Widen it to 20 (SQLite rebuilds the table in batch mode).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_money"
down_revision: str | None = "0003_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.alter_column(
            "source",
            existing_type=sa.String(length=12),
            type_=sa.String(length=20),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.alter_column(
            "source",
            existing_type=sa.String(length=20),
            type_=sa.String(length=12),
            existing_nullable=False,
        )
