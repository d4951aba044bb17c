"""What a client keeps up to date from the portal, and the workspace brand it is shown in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class ClientProfile(SQLModel, table=True):
    """One per client (no row: the client's name, no address, receipts on).

    The billing details are copied to the client's Stripe customers (``stripe_synced_at``
    says when that last worked, ``stripe_error`` why it did not).
    """

    __tablename__ = "client_profile"
    __table_args__ = (UniqueConstraint("workspace_id", "client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    billing_name: str = Field(default="", max_length=160)
    line1: str = Field(default="", max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    state: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2)
    tax_id_type: str = Field(default="", max_length=20)
    tax_id: str = Field(default="", max_length=40)
    # The Stripe TaxId object per mode ("test:txi_…,live:txi_…"), replaced when it changes.
    stripe_tax_ids: str = Field(default="", max_length=255)
    # Payment receipts by email (Finance → Automatic payment receipts must be on too).
    # Reminders are the existing per-client opt-out (ClientReminderSetting), not a copy.
    email_receipts: bool = True
    updated_at: datetime = Field(default_factory=utcnow)
    stripe_synced_at: datetime | None = None
    stripe_error: str = Field(default="", max_length=300)


class WorkspaceBranding(SQLModel, table=True):
    """A workspace's logo and accent colour, shown to its clients (no row: the product's)."""

    __tablename__ = "workspace_branding"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", unique=True)
    # Re-encoded as PNG by accounts/branding.py (checked, size-limited, metadata dropped).
    logo_png: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    accent: str = Field(default="", max_length=7)  # "#rrggbb", or "" for the product's
    updated_at: datetime = Field(default_factory=utcnow)
