"""Migration 0014_drafts on a database with data: a fixed late fee that was one number in
every currency is kept for the workspace's default currency only (in that currency's minor
units), the new columns get their defaults, and tables other rows reference are altered in
place (a SQLite table copy could not drop them). On its own SQLite file; the PostgreSQL path
runs whenever the suite runs there (the session fixture migrates to head).
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from alembic import command
from nextoria_hub.db import alembic_config

NOW = "2026-12-05 12:00:00"


def _config(path: Path):  # type: ignore[no-untyped-def]
    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    cfg.attributes["quiet"] = True
    return cfg


def _seed(engine: sa.Engine) -> None:
    """Five workspaces with rules; the first with a client, an invoice and its line (rows
    that reference workspace and invoice, which a table copy could not drop)."""
    rows = [(1, "jpy", "fixed", "25.5"), (2, "usd", "fixed", "25"), (3, None, "fixed", "7"),
            (4, "kwd", "percent", ""), (5, "kwd", "fixed", "1.2345")]  # fmt: skip
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        for ws, currency, kind, fixed in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO workspace (id, slug, name, created_at) VALUES (:i, :s, :n, :t)"
                ),
                {"i": ws, "s": f"w{ws}", "n": f"W{ws}", "t": NOW},
            )
            if currency:
                conn.execute(
                    sa.text(
                        "INSERT INTO finance_settings (workspace_id, default_currency, "
                        "payment_methods, receipts_enabled, retry_days, autopay_notice_days, "
                        "stripe_mode, updated_at) VALUES (:w, :c, 'card', 1, '1', 3, 'test', :t)"
                    ),
                    {"w": ws, "c": currency, "t": NOW},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO reminder_settings (workspace_id, enabled, days_before, "
                    "on_due_date, days_after, repeat_every, max_after, late_fee_kind, "
                    "late_fee_percent_bp, late_fee_fixed, late_fee_after_days, late_fee_monthly, "
                    "late_fee_max, updated_at) VALUES (:w, 0, 3, 1, 2, 7, 3, :k, 150, :f, 30, 0, "
                    "1, :t)"
                ),
                {"w": ws, "k": kind, "f": fixed, "t": NOW},
            )


def _invoice(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO client (id, workspace_id, name, billing_email, contact_name, "
                "currency, notes, created_at) VALUES (1, 1, 'C', 'c@c.test', '', 'jpy', '', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO invoice (id, workspace_id, client_id, number, status, currency, "
                "issue_date, due_date, notes, subtotal, tax_total, total, amount_paid, "
                "amount_refunded, created_at, stripe_invoice_id, payment_failed, "
                "amount_disputed, amount_charged_back) VALUES (1, 1, 1, 'INV-0001', 'open', "
                "'jpy', '2026-12-01', '2026-12-15', '', 100, 0, 100, 0, 0, :t, '', 0, 0, 0)"
            ),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO invoice_line (invoice_id, position, description, quantity, "
                "unit_amount, tax_rate_bp, amount, tax_amount) VALUES (1, 0, 'X', '1', 100, 0, "
                "100, 0)"
            )
        )


def test_fixed_fee_kept_for_the_default_currency_only(tmp_path: Path) -> None:
    path = tmp_path / "migrate.db"
    cfg = _config(path)
    before = ScriptDirectory.from_config(cfg).get_revision("0014_drafts").down_revision
    command.upgrade(cfg, before)
    engine = sa.create_engine(f"sqlite:///{path}")
    _seed(engine)
    _invoice(engine)
    command.upgrade(cfg, "0014_drafts")
    with engine.connect() as conn:
        amounts = dict(
            conn.execute(
                sa.text("SELECT workspace_id, late_fee_fixed_amounts FROM reminder_settings")
            ).all()
        )
        locales = {r[0] for r in conn.execute(sa.text("SELECT locale FROM workspace"))}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM invoice_line")).scalar() == 1
    assert {k: json.loads(v) for k, v in amounts.items()} == {
        1: {"jpy": 26},  # ¥25.5 was charged as ¥26
        2: {"usd": 2500},
        3: {"usd": 700},  # never saved Finance: the default currency, USD
        4: {},  # a percentage fee has no fixed amounts
        5: {"kwd": 1235},  # KWD 1.2345 → 1.235 (three decimals)
    }
    assert locales == {"en_US"}
    columns = {c["name"] for c in sa.inspect(engine).get_columns("invoice")}
    assert "duplicated_from_id" in columns
    command.downgrade(cfg, before)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("reminder_settings")}
    assert "late_fee_fixed" in columns and "late_fee_fixed_amounts" not in columns
    engine.dispose()
