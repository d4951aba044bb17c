from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class FinanceSettings(SQLModel, table=True):
    """Settings → Finance of one workspace, plus which Stripe mode is in use."""

    __tablename__ = "finance_settings"

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True)
    default_currency: str = Field(default="usd", max_length=3)
    # Payment method types Checkout may offer (allowed_payment_method_types), comma-separated;
    # card is always on. Ignored while dashboard_methods is on.
    payment_methods: str = Field(default="card", max_length=200)
    # "Use what my Stripe Dashboard enables": Checkout sends no list (dynamic payment methods).
    dashboard_methods: bool = False
    receipts_enabled: bool = True
    # Days after the first failure, comma-separated, strictly increasing.
    retry_days: str = Field(default="1,3,5,7", max_length=100)
    autopay_notice_days: int = 3
    # New invoices' payment terms: parts allowed, with this minimum (major units of the
    # invoice's currency, as typed: "50" is $50.00 or ¥50).
    partial_payments: bool = False
    partial_minimum: str = Field(default="0", max_length=20)
    stripe_mode: str = Field(default="test", max_length=4)
    updated_at: datetime = Field(default_factory=utcnow)
