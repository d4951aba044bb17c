"""finance: "use what my Stripe Dashboard enables" (dynamic payment methods)

Revision ID: 0006_dashboard_methods
Revises: 0005_autopay
Create Date: 2026-12-05 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006_dashboard_methods"
down_revision: str | None = "0005_autopay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # server_default so existing rows keep their explicit list (SQLite and PostgreSQL alike).
    with op.batch_alter_table("finance_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dashboard_methods", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("finance_settings", schema=None) as batch_op:
        batch_op.drop_column("dashboard_methods")
