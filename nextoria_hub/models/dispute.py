"""A chargeback on a payment: the client's bank pulls the money back until the dispute is
decided. The invoice stays Paid but is flagged while any of its disputes is open."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class DisputeOutcome(StrEnum):
    open = "open"  # Stripe's warning_*, needs_response, under_review
    won = "won"
    lost = "lost"


class Dispute(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "dispute_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    payment_id: int | None = Field(default=None, foreign_key="payment.id")
    mode: str = Field(max_length=4)
    dispute_id: str = Field(max_length=255)  # dp_…
    charge_id: str = Field(default="", max_length=255)
    amount: int  # minor units of ``currency``: the amount at risk
    currency: str = Field(max_length=3)
    reason: str = Field(default="", max_length=40)  # Stripe's reason: fraudulent, duplicate…
    stripe_status: str = Field(default="", max_length=30)
    outcome: str = Field(default=DisputeOutcome.open, max_length=4, index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
