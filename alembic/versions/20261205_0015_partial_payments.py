"""partial payments and deposits: an invoice's payment terms, the Finance default, and the
balance each payment left (printed on its receipt)

Revision ID: 0015_partial_payments
Revises: 0017_connect_onboarding
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0015_partial_payments"
down_revision: str | None = "0017_connect_onboarding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(
            sa.Column("allow_partial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("partial_minimum", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("deposit_kind", S(length=8), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("deposit_value", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("deposit_amount", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("finance_settings") as batch:
        batch.add_column(
            sa.Column("partial_payments", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("partial_minimum", S(length=20), nullable=False, server_default="0")
        )
    with op.batch_alter_table("payment") as batch:
        batch.add_column(sa.Column("balance_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("balance_after")
    with op.batch_alter_table("finance_settings") as batch:
        batch.drop_column("partial_minimum")
        batch.drop_column("partial_payments")
    with op.batch_alter_table("invoice") as batch:
        for name in ("deposit_amount", "deposit_value", "deposit_kind", "partial_minimum"):
            batch.drop_column(name)
        batch.drop_column("allow_partial")
