"""drafts: void-and-duplicate link, workspace locale, fixed late fee per currency

Revision ID: 0014_drafts
Revises: 0017_connect_onboarding
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
# Written after 0013_stripe_connect; relinked after main's 0017 so the chain has one head.
down_revision: str | None = "0017_connect_onboarding"
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
    # Plain ADD COLUMNs: a batch copy would DROP TABLE invoice and workspace, which SQLite
    # refuses while other rows reference them (foreign_keys=ON). Alembic renders no inline
    # foreign key on SQLite's ADD COLUMN, so that one is written out.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE invoice ADD COLUMN duplicated_from_id INTEGER REFERENCES invoice (id)")
    else:
        op.add_column("invoice", sa.Column("duplicated_from_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_invoice_duplicated_from_id", "invoice", "invoice", ["duplicated_from_id"], ["id"]
        )
    op.create_index("ix_invoice_duplicated_from_id", "invoice", ["duplicated_from_id"])
    op.add_column(
        "workspace", sa.Column("locale", S(length=16), nullable=False, server_default="en_US")
    )
    op.add_column(
        "reminder_settings",
        sa.Column("late_fee_fixed_amounts", S(length=4000), nullable=False, server_default="{}"),
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
    op.drop_column("reminder_settings", "late_fee_fixed")  # ALTER … DROP COLUMN (SQLite ≥ 3.35)


def downgrade() -> None:
    op.add_column(
        "reminder_settings",
        sa.Column("late_fee_fixed", S(length=20), nullable=False, server_default=""),
    )
    op.drop_column("reminder_settings", "late_fee_fixed_amounts")
    op.drop_column("workspace", "locale")
    op.drop_index("ix_invoice_duplicated_from_id", table_name="invoice")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_invoice_duplicated_from_id", "invoice", type_="foreignkey")
    op.drop_column("invoice", "duplicated_from_id")
