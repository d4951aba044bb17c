from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class InvoiceStatus(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    void = "void"


class Invoice(SQLModel, table=True):
    """An invoice to a client. Amounts are integer minor units of ``currency``."""

    __table_args__ = (UniqueConstraint("workspace_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    number: str = Field(max_length=32)
    status: str = Field(default=InvoiceStatus.draft, max_length=16, index=True)
    currency: str = Field(max_length=3)
    issue_date: date
    due_date: date
    notes: str = ""
    subtotal: int = 0
    tax_total: int = 0
    total: int = 0
    amount_paid: int = 0
    amount_refunded: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    # A retainer billed through Stripe: the Stripe invoice this mirrors (unique per mode).
    stripe_invoice_id: str = Field(default="", max_length=255, index=True)
    # Autopay gave up after the last scheduled retry; shown as "Payment failed".
    payment_failed: bool = False
    # The retainer this invoice bills one period of, if any.
    retainer_id: int | None = Field(default=None, foreign_key="retainer.id", index=True)
    # Chargebacks (kept by payments/disputes.py): at risk while a dispute is open, and
    # returned to the client's bank by lost disputes. The invoice stays Paid either way.
    amount_disputed: int = 0
    amount_charged_back: int = 0
    # "Void and duplicate as draft": the sent invoice this draft was copied from.
    duplicated_from_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    # Payment terms (billing/payment_terms.py): the client may pay in parts of at least
    # ``partial_minimum``; a deposit (``deposit_kind`` percent in basis points or fixed in
    # minor units, as ``deposit_value``) is due on issue, ``deposit_amount`` once computed.
    allow_partial: bool = False
    partial_minimum: int = 0
    deposit_kind: str = Field(default="", max_length=8)  # "" | percent | fixed
    deposit_value: int = 0
    deposit_amount: int = 0

    @property
    def amount_due(self) -> int:
        return max(self.total - self.amount_paid, 0) if self.status != InvoiceStatus.void else 0


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int = 0
    description: str = Field(max_length=500)
    quantity: str = Field(default="1", max_length=20)  # a decimal as text, e.g. "1.5"
    unit_amount: int = 0  # minor units
    tax_rate_bp: int = 0  # basis points: 2000 = 20%
    amount: int = 0  # quantity × unit, rounded, before tax
    tax_amount: int = 0


class InvoiceCounter(SQLModel, table=True):
    """The next invoice number of a workspace, taken with one atomic UPDATE … RETURNING."""

    __tablename__ = "invoice_counter"

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True)
    last_number: int = 0


class InvoiceActivity(SQLModel, table=True):
    """The invoice timeline: created, sent, checkout started, payment failed, paid, refunded…"""

    __tablename__ = "invoice_activity"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=40)
    detail: str = ""
