from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class StripeKeys(SQLModel, table=True):
    """A workspace's Stripe keys for one mode (test or live). Secrets are sealed, never plain."""

    __tablename__ = "stripe_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "mode"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    mode: str = Field(max_length=4)
    publishable_key: str = Field(max_length=255)
    secret_key_sealed: str = Field(repr=False)
    secret_key_mask: str = Field(max_length=40)
    webhook_secret_sealed: str = Field(default="", repr=False)
    webhook_secret_mask: str = Field(default="", max_length=40)
    webhook_endpoint_id: str = Field(default="", max_length=255)
    account_id: str = Field(default="", max_length=255)
    account_name: str = Field(default="", max_length=255)
    charges_enabled: bool = False
    details_submitted: bool = False
    requirements_due: str = ""  # comma-separated Stripe requirement names
    connected_at: datetime = Field(default_factory=utcnow)
    connected_by_id: int | None = Field(default=None, foreign_key="user.id")
    connected_by_label: str = Field(default="", max_length=254)
    checked_at: datetime = Field(default_factory=utcnow)
    # Set when the workspace connected through Stripe Connect (OAuth): calls use the platform
    # key with this account in Stripe-Account, and no secret of the agency is stored
    # (secret_key_sealed stays empty; events arrive at the platform's Connect endpoint).
    connected_account: str = Field(default="", max_length=255, index=True)
