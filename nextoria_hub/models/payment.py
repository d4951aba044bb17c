from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class CheckoutSession(SQLModel, table=True):
    """A Stripe Checkout Session we created for an invoice (Pay Now) or to save a card."""

    __tablename__ = "checkout_session"
    __table_args__ = (UniqueConstraint("workspace_id", "session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    mode: str = Field(max_length=4)  # test | live
    purpose: str = Field(default="payment", max_length=10)  # payment | setup
    session_id: str = Field(max_length=255)
    url: str = Field(max_length=2000)
    # creating (a row held while Stripe creates it) | open | processing (a bank debit on its
    # way) | expiring (closed here, to be expired at Stripe) | complete | expired
    status: str = Field(default="open", max_length=10, index=True)
    close_reason: str = ""  # why it was closed before being paid
    payment_intent_id: str = Field(default="", max_length=255)
    amount: int = 0
    currency: str = Field(default="", max_length=3)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    settled_at: datetime | None = None


class Payment(SQLModel, table=True):
    """A payment or a failed attempt on an invoice, through Stripe or recorded by hand."""

    __table_args__ = (UniqueConstraint("workspace_id", "payment_intent_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    # succeeded | failed | refunded | partially_refunded
    status: str = Field(max_length=20, index=True)
    # payment: the success record (one per PaymentIntent); attempt-N: a failed attempt.
    kind: str = Field(default="payment", max_length=20)
    # checkout | autopay | manual | stripe_invoice (widened to 20 by migration 0004_money)
    source: str = Field(default="checkout", max_length=20)
    mode: str = Field(default="", max_length=6)  # test | live | manual
    amount: int
    currency: str = Field(max_length=3)
    amount_refunded: int = 0
    method_type: str = Field(default="", max_length=40)  # card, sepa_debit…
    method_detail: str = Field(default="", max_length=80)  # "Visa •••• 4242"
    payment_intent_id: str = Field(default="", max_length=255, index=True)
    charge_id: str = Field(default="", max_length=255)
    checkout_session_id: str = Field(default="", max_length=255)
    failure_code: str = Field(default="", max_length=80)
    failure_message: str = ""
    note: str = ""
    # What the invoice still owed once this payment counted (its receipt prints it).
    balance_after: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
