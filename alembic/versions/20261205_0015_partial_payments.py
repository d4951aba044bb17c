"""partial payments and deposits: an invoice's payment terms, the Finance default, and the
balance each payment left (printed on its receipt)

Revision ID: 0015_partial_payments
Revises: 0014_drafts
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0015_partial_payments"
# Written after 0013_stripe_connect; relinked after main's 0014_drafts (one head).
down_revision: str | None = "0014_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy: SQLite refuses to drop a table other rows reference).
    op.add_column(
        "invoice",
        sa.Column("allow_partial", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "invoice", sa.Column("partial_minimum", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "invoice", sa.Column("deposit_kind", S(length=8), nullable=False, server_default="")
    )
    op.add_column(
        "invoice", sa.Column("deposit_value", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "invoice", sa.Column("deposit_amount", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "finance_settings",
        sa.Column("partial_payments", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "finance_settings",
        sa.Column("partial_minimum", S(length=20), nullable=False, server_default="0"),
    )
    op.add_column("payment", sa.Column("balance_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+ and PostgreSQL), for the same reason as upgrade.
    op.drop_column("payment", "balance_after")
    op.drop_column("finance_settings", "partial_minimum")
    op.drop_column("finance_settings", "partial_payments")
    for name in ("deposit_amount", "deposit_value", "deposit_kind", "partial_minimum"):
        op.drop_column("invoice", name)
    op.drop_column("invoice", "allow_partial")
