from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class WebhookDelivery(SQLModel, table=True):
    """One POST to the webhook route, whatever became of it: the health panel reads these."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    # applied | duplicate | unmatched | ignored | bad_signature | wrong_mode | foreign | error
    outcome: str = Field(max_length=20, index=True)
    event_id: str = Field(default="", max_length=255)
    event_type: str = Field(default="", max_length=120)
    mode: str = Field(default="", max_length=4)
    detail: str = ""
    # The verified body, kept for replay; unverified bodies are not stored.
    body: str = ""
    headers: str = ""  # JSON of the request headers that matter (no cookies, no auth)
    source_address: str = Field(default="", max_length=64)


class StripeEvent(SQLModel, table=True):
    """A verified Stripe event, recorded once per workspace in the transaction that applies it."""

    __tablename__ = "stripe_event"
    __table_args__ = (UniqueConstraint("workspace_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    event_id: str = Field(max_length=255)
    type: str = Field(max_length=120, index=True)
    mode: str = Field(max_length=4)
    stripe_created: int = 0
    received_at: datetime = Field(default_factory=utcnow)
    # applied | unmatched (about objects the hub did not create) | ignored (types we don't act on)
    result: str = Field(max_length=20, index=True)
    detail: str = ""
