from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class OutboxEmail(SQLModel, table=True):
    """An email written in the same transaction as its cause, delivered later by a worker."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int | None = Field(default=None, foreign_key="workspace.id", index=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=250)
    text_body: str
    html_body: str = ""
    kind: str = Field(max_length=60, index=True)  # the template's name
    # The template's context as JSON: an email queued while a payment settles is stored as
    # template + context only and rendered after that transaction, or at delivery.
    context: str = ""
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow)
    # The worker holding the email while it is ``sending`` (notifications.delivery_items).
    claim_token: str = Field(default="", max_length=32)
