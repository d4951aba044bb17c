"""drafts: void-and-duplicate link, workspace locale, fixed late fee per currency

Revision ID: 0014_drafts
Revises: 0013_stripe_connect
Create Date: 2026-12-05 17:00:00

A fixed late fee was one number applied in every currency. It becomes an amount per currency
in minor units; an existing fee is kept for the workspace's default currency only (the one
it was most likely meant for), so no invoice in another currency is charged a wrong amount.
"""

import json
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0014_drafts"
down_revision: str | None = "0013_stripe_connect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
# Stripe's zero- and three-decimal currencies, as of this revision (billing/money.py).
_ZERO = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd"}
_ZERO |= {"vuv", "xaf", "xof", "xpf"}
_THREE = {"bhd", "jod", "kwd", "omr", "tnd"}


def _minor(major: str, currency: str) -> int:
    places = 0 if currency in _ZERO else 3 if currency in _THREE else 2
    try:
        value = Decimal(major.strip()) * 10**places
    except InvalidOperation:
        return 0
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def upgrade() -> None:
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(sa.Column("duplicated_from_id", sa.Integer(), nullable=True))
        batch.create_index("ix_invoice_duplicated_from_id", ["duplicated_from_id"])
        batch.create_foreign_key(
            "fk_invoice_duplicated_from_id", "invoice", ["duplicated_from_id"], ["id"]
        )
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(
            sa.Column("locale", S(length=16), nullable=False, server_default="en_US")
        )
    with op.batch_alter_table("reminder_settings") as batch:
        batch.add_column(
            sa.Column(
                "late_fee_fixed_amounts", S(length=4000), nullable=False, server_default="{}"
            )
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT r.workspace_id, r.late_fee_fixed, f.default_currency "
            "FROM reminder_settings r LEFT JOIN finance_settings f "
            "ON f.workspace_id = r.workspace_id WHERE r.late_fee_fixed <> ''"
        )
    ).all()
    for workspace_id, fixed, currency in rows:
        code = (currency or "usd").lower()
        amount = _minor(fixed, code)
        amounts = json.dumps({code: amount}) if amount > 0 else "{}"
        bind.execute(
            sa.text(
                "UPDATE reminder_settings SET late_fee_fixed_amounts = :a "
                "WHERE workspace_id = :w"
            ),
            {"a": amounts, "w": workspace_id},
        )
    with op.batch_alter_table("reminder_settings") as batch:
        batch.drop_column("late_fee_fixed")


def downgrade() -> None:
    with op.batch_alter_table("reminder_settings") as batch:
        batch.add_column(
            sa.Column("late_fee_fixed", S(length=20), nullable=False, server_default="")
        )
    with op.batch_alter_table("reminder_settings") as batch:
        batch.drop_column("late_fee_fixed_amounts")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_constraint("fk_invoice_duplicated_from_id", type_="foreignkey")
        batch.drop_index("ix_invoice_duplicated_from_id")
        batch.drop_column("duplicated_from_id")
