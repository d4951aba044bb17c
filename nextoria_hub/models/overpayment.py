"""Money that arrived but must not count towards an invoice, and reconciliation flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class Overpayment(SQLModel, table=True):
    """The part of a payment that went above the invoice's total, or all of a payment that
    must not count (a void, draft or paid invoice, another currency, test money on a live
    workspace). Kept until the admin refunds it; never silently absorbed."""

    __table_args__ = (UniqueConstraint("payment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    payment_id: int = Field(foreign_key="payment.id")
    mode: str = Field(max_length=6)  # the payment's: test | live
    amount: int  # minor units of ``currency``
    currency: str = Field(max_length=3)
    # over_total | void | draft | paid | currency | test_mode
    reason: str = Field(max_length=20)
    detail: str = ""
    # open | refunding | refunded
    status: str = Field(default="open", max_length=10, index=True)
    refund_id: str = Field(default="", max_length=255)
    refund_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None


class ReconciliationFlag(SQLModel, table=True):
    """Something the ledger at Stripe and our database disagree on, found by reconciliation.

    One row per (workspace, kind, subject); cleared when a later run no longer finds it.
    """

    __tablename__ = "reconciliation_flag"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    # double_charge | charge_without_payment | payment_without_charge
    kind: str = Field(max_length=30)
    subject: str = Field(max_length=255)  # the charge, PaymentIntent or invoice it is about
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    mode: str = Field(default="", max_length=4)
    detail: str = ""
    found_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
