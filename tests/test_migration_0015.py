"""Migration 0015_partial_payments on a database with data: an existing invoice and its
payment keep their rows and get the defaults (paid in full, no deposit, no balance noted),
with the tables altered in place; and back down. On its own SQLite file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from alembic import command
from nextoria_hub.db import alembic_config

NOW = "2026-12-05 12:00:00"


def test_existing_invoices_get_paid_in_full_terms(tmp_path: Path) -> None:
    path = tmp_path / "migrate.db"
    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    cfg.attributes["quiet"] = True
    before = ScriptDirectory.from_config(cfg).get_revision("0015_partial_payments").down_revision
    command.upgrade(cfg, before)  # type: ignore[arg-type]
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(
            sa.text("INSERT INTO workspace (id, slug, name, created_at) VALUES (1, 'w', 'W', :t)"),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO client (id, workspace_id, name, billing_email, contact_name, "
                "currency, notes, created_at) VALUES (1, 1, 'C', 'c@c.test', '', 'usd', '', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO invoice (id, workspace_id, client_id, number, status, currency, "
                "issue_date, due_date, notes, subtotal, tax_total, total, amount_paid, "
                "amount_refunded, created_at, stripe_invoice_id, payment_failed, "
                "amount_disputed, amount_charged_back) VALUES (1, 1, 1, 'INV-0001', 'paid', "
                "'usd', '2026-12-01', '2026-12-15', '', 100, 0, 100, 100, 0, :t, '', 0, 0, 0)"
            ),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO payment (workspace_id, invoice_id, client_id, status, kind, source, "
                "mode, amount, currency, amount_refunded, method_type, method_detail, "
                "payment_intent_id, charge_id, checkout_session_id, failure_code, "
                "failure_message, note, created_at) VALUES (1, 1, 1, 'succeeded', 'payment', "
                "'manual', 'manual', 100, 'usd', 0, 'manual', '', 'manual_1', '', '', '', '', "
                "'', :t)"
            ),
            {"t": NOW},
        )
    command.upgrade(cfg, "0015_partial_payments")
    with engine.connect() as conn:
        invoice = conn.execute(
            sa.text(
                "SELECT allow_partial, partial_minimum, deposit_kind, deposit_value, "
                "deposit_amount FROM invoice"
            )
        ).one()
        balance = conn.execute(sa.text("SELECT balance_after FROM payment")).scalar()
    assert tuple(invoice) == (0, 0, "", 0, 0) and balance is None
    command.downgrade(cfg, before)  # type: ignore[arg-type]
    columns = {c["name"] for c in sa.inspect(engine).get_columns("invoice")}
    assert "allow_partial" not in columns and "duplicated_from_id" in columns
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payment")).scalar() == 1
    engine.dispose()
