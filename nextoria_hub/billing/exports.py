"""Exports (CSV, JSON) of invoices and payments, and the aged-receivables report.

The pages, the CLI and the dashboard call these; the filters are the list pages' own.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import display_status, list_invoices, processing_ids
from nextoria_hub.billing.money import decimals, from_minor
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Client, Invoice, InvoiceStatus, Payment
from nextoria_hub.models.ids import stored_key
from nextoria_hub.tenancy import Actor

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
AGING_LABELS = {
    "current": "Current",
    "1_30": "1–30 days",
    "31_60": "31–60 days",
    "61_90": "61–90 days",
    "over_90": "90+ days",
}

INVOICE_COLUMNS = [
    "number",
    "client",
    "status",
    "currency",
    "issue_date",
    "due_date",
    "subtotal",
    "tax",
    "total",
    "amount_paid",
    "amount_due",
    "sent_at",
    "paid_at",
]
PAYMENT_COLUMNS = [
    "created_at",
    "invoice",
    "client",
    "status",
    "source",
    "mode",
    "currency",
    "amount",
    "amount_refunded",
    "method",
    "reference",
    "failure",
]


def cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like text gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in columns])
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _major(amount: int, currency: str) -> str:
    """Minor units as a plain decimal in the currency's own places: 1250 JPY → "1250"."""
    return f"{from_minor(amount, currency):.{decimals(currency)}f}"


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def counts_as_money(payment: Payment, workspace_mode: str) -> bool:
    """Whether a payment belongs in reports: not a test payment of a workspace gone live."""
    return not (workspace_mode == "live" and payment.mode == "test")


def invoice_rows(
    db: Session,
    actor: Actor,
    today: date,
    *,
    status: str | None = None,
    client_id: int | None = None,
    search: str = "",
    since: date | None = None,
) -> list[dict[str, Any]]:
    """The Invoices page's list with its filters (staff), plus ``since`` on the issue date."""
    actor.require_staff()
    invoices = list_invoices(db, actor, status=status, client_id=client_id, search=search)
    names = _client_names(db, actor.workspace_id)
    busy = processing_ids(db, actor.workspace_id)
    return [
        {
            "number": i.number,
            "client": names.get(i.client_id, ""),
            "status": display_status(i, today, processing=i.id in busy),
            "currency": i.currency.upper(),
            "issue_date": i.issue_date.isoformat(),
            "due_date": i.due_date.isoformat(),
            "subtotal": _major(i.subtotal, i.currency),
            "tax": _major(i.tax_total, i.currency),
            "total": _major(i.total, i.currency),
            "amount_paid": _major(i.amount_paid, i.currency),
            "amount_due": _major(i.amount_due, i.currency),
            "sent_at": _when(i.sent_at),
            "paid_at": _when(i.paid_at),
        }
        for i in invoices
        if since is None or i.issue_date >= since
    ]


def payment_rows(
    db: Session,
    actor: Actor,
    *,
    client_id: int | None = None,
    status: str | None = None,
    mode: str | None = None,
    since: date | None = None,
) -> list[dict[str, Any]]:
    """The Payments page's list with its filters (staff), newest first.

    Without a mode filter, test payments of a live workspace are left out, as on the
    dashboard; choosing "test" on the page exports them.
    """
    actor.require_staff()
    query = select(Payment).where(Payment.workspace_id == actor.workspace_id)
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    if status:
        query = query.where(Payment.status == status)
    if mode:
        query = query.where(Payment.mode == mode)
    if since is not None:
        query = query.where(Payment.created_at >= datetime.combine(since, datetime.min.time(), UTC))
    payments = db.exec(query.order_by(col(Payment.created_at).desc(), col(Payment.id).desc()))
    workspace_mode = get_finance(db, actor.workspace_id).stripe_mode
    names = _client_names(db, actor.workspace_id)
    numbers = {
        invoice_id: number
        for invoice_id, number in db.exec(
            select(Invoice.id, Invoice.number).where(Invoice.workspace_id == actor.workspace_id)
        ).all()
    }
    return [
        {
            "created_at": _when(p.created_at),
            "invoice": numbers.get(p.invoice_id, ""),
            "client": names.get(p.client_id, ""),
            "status": p.status,
            "source": p.source,
            "mode": p.mode,
            "currency": p.currency.upper(),
            "amount": _major(p.amount, p.currency),
            "amount_refunded": _major(p.amount_refunded, p.currency),
            "method": p.method_detail or p.method_type,
            "reference": p.payment_intent_id,
            "failure": p.failure_message,
        }
        for p in payments
        if mode or counts_as_money(p, workspace_mode)
    ]


def _client_names(db: Session, workspace_id: int) -> dict[int, str]:
    found = db.exec(select(Client.id, Client.name).where(Client.workspace_id == workspace_id))
    return {stored_key(client_id): name for client_id, name in found.all()}


def aging_bucket(due: date, today: date) -> str:
    """Which column an unpaid balance falls in, by whole days past its due date."""
    days = (today - due).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1_30"
    if days <= 60:
        return "31_60"
    if days <= 90:
        return "61_90"
    return "over_90"


@dataclass
class AgingRow:
    client_id: int | None  # None: the total of the currency
    client: str
    currency: str
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGING_BUCKETS, 0))

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


def aged_receivables(db: Session, actor: Actor, today: date) -> list[AgingRow]:
    """Open balances per client and currency by days overdue, each currency's total last.

    Amounts are the invoices' ``amount_due`` (minor units); currencies are never added up.
    """
    actor.require_staff()
    invoices = db.exec(
        select(Invoice).where(
            Invoice.workspace_id == actor.workspace_id, Invoice.status == InvoiceStatus.open
        )
    ).all()
    names = _client_names(db, actor.workspace_id)
    rows: dict[tuple[str, int | None], AgingRow] = {}
    for invoice in invoices:
        if invoice.amount_due <= 0:
            continue
        bucket = aging_bucket(invoice.due_date, today)
        for key, who in ((invoice.client_id, names.get(invoice.client_id, "")), (None, "Total")):
            row = rows.setdefault((invoice.currency, key), AgingRow(key, who, invoice.currency))
            row.buckets[bucket] += invoice.amount_due
    return sorted(
        rows.values(),
        key=lambda r: (r.currency, r.client_id is None, r.client.lower(), r.client_id or 0),
    )


def parse_since(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"“{raw}” is not a date: use YYYY-MM-DD.", "since") from None
