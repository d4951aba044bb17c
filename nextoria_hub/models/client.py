from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class Client(SQLModel, table=True):
    """A company the agency bills. Its contacts sign in to the Client Portal as users."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=160)
    billing_email: str = Field(max_length=254)
    contact_name: str = Field(default="", max_length=120)
    currency: str = Field(max_length=3)
    notes: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    archived_at: datetime | None = None
    # Autopay (issue: autopay): on/off and the saved method per mode live in client_billing.


class StripeCustomer(SQLModel, table=True):
    """The Stripe customer of a client in one mode; created once and reused."""

    __tablename__ = "stripe_customer"
    __table_args__ = (UniqueConstraint("workspace_id", "client_id", "mode"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    mode: str = Field(max_length=4)
    customer_id: str = Field(max_length=255, index=True)
    created_at: datetime = Field(default_factory=utcnow)
