"""Autopay: per-client switch, saved payment methods, charge attempts, retainers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class ClientAutopay(SQLModel, table=True):
    """Whether a client's open invoices are charged to its saved method on the due date."""

    __tablename__ = "client_autopay"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", unique=True)
    enabled: bool = False
    enabled_at: datetime | None = None
    paused_reason: str = Field(default="", max_length=200)


class SavedPaymentMethod(SQLModel, table=True):
    """A card the client saved through a setup Checkout, in one Stripe mode."""

    __tablename__ = "saved_payment_method"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    mode: str = Field(max_length=4)
    payment_method_id: str = Field(max_length=255)
    customer_id: str = Field(default="", max_length=255)
    setup_intent_id: str = Field(default="", max_length=255)
    brand: str = Field(default="", max_length=40)
    last4: str = Field(default="", max_length=4)
    exp_month: int = 0
    exp_year: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    removed_at: datetime | None = None


class AutopayAttempt(SQLModel, table=True):
    """One off-session charge of an invoice; written (claimed) before Stripe is called."""

    __tablename__ = "autopay_attempt"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt_no"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    attempt_no: int
    idempotency_key: str = Field(max_length=80, unique=True)
    mode: str = Field(max_length=4)
    payment_method_id: str = Field(default="", max_length=255)
    amount: int = 0
    currency: str = Field(default="", max_length=3)
    # claimed | succeeded | failed | unknown | abandoned (the invoice was paid or closed
    # another way before this attempt was sent; the reason is in failure_message)
    status: str = Field(default="claimed", max_length=10, index=True)
    payment_intent_id: str = Field(default="", max_length=255, index=True)
    failure_code: str = Field(default="", max_length=80)
    decline_code: str = Field(default="", max_length=80)
    failure_class: str = Field(default="", max_length=16)  # soft | hard | authentication
    failure_message: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    settled_at: datetime | None = None
    next_retry_at: datetime | None = None


class AutopayItem(SQLModel, table=True):
    """One due invoice for any worker to charge: queued by the scheduled run, claimed with a
    lease (``not_before`` is then its expiry, else when it may next be tried).

    ``open_invoice_id`` is the invoice while the item is pending or claimed and NULL once done:
    being unique, it lets two schedulers queue an invoice only once.
    Statuses: ``pending``, ``claimed``, ``done``.
    """

    __tablename__ = "autopay_item"
    __table_args__ = (Index("ix_autopay_item_due", "status", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    open_invoice_id: int | None = Field(default=None, unique=True)
    status: str = Field(default="pending", max_length=10)
    claim_token: str = Field(default="", max_length=32)
    run_at: datetime = Field(default_factory=utcnow)  # when the scheduler found it due
    not_before: datetime = Field(default_factory=utcnow)
    tries: int = 0
    outcome: str = Field(default="", max_length=20)
    finished_at: datetime | None = None


class AutopayNotice(SQLModel, table=True):
    """The advance notice of an autopay charge: at most one per invoice."""

    __tablename__ = "autopay_notice"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", unique=True)
    sent_at: datetime = Field(default_factory=utcnow)


class Retainer(SQLModel, table=True):
    """A recurring invoice for a client: issued by the hub or billed by a Stripe subscription."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    interval: str = Field(default="monthly", max_length=10)  # monthly | quarterly
    day_of_month: int = 1
    start_date: date
    end_date: date | None = None
    currency: str = Field(max_length=3)
    lines_json: str = "[]"
    billing: str = Field(default="hub", max_length=6)  # hub | stripe
    mode: str = Field(default="", max_length=4)
    stripe_subscription_id: str = Field(default="", max_length=255, index=True)
    stripe_price_ids: str = ""  # comma-separated
    status: str = Field(default="active", max_length=8)  # active | ended
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class RetainerPeriod(SQLModel, table=True):
    """The invoice of one retainer period; the unique row makes issuing it happen once."""

    __tablename__ = "retainer_period"
    __table_args__ = (UniqueConstraint("retainer_id", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    retainer_id: int = Field(foreign_key="retainer.id", index=True)
    period_start: date
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    created_at: datetime = Field(default_factory=utcnow)
