"""Payment reminders and late fees: the workspace's rules, per-client opt-outs, what was done."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class ReminderSettings(SQLModel, table=True):
    """Settings → Finance → Reminders and late fees of one workspace."""

    __tablename__ = "reminder_settings"

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True)
    enabled: bool = False
    days_before: int = 3  # 0: no reminder before the due date
    on_due_date: bool = True
    days_after: int = 2  # 0: none after the due date
    repeat_every: int = 7  # days between the reminders after the due date
    max_after: int = 3  # reminders after the due date, at most
    # Late fees: none | percent | fixed. A percentage of the invoice's total before any fee
    # (basis points), or a fixed amount per currency: JSON ``{"usd": 2500, "jpy": 3000}`` in
    # minor units; an invoice in a currency without an amount gets no fixed fee.
    late_fee_kind: str = Field(default="none", max_length=8)
    late_fee_percent_bp: int = 0
    late_fee_fixed_amounts: str = Field(default="{}", max_length=4000)
    late_fee_after_days: int = 30
    late_fee_monthly: bool = False  # again every 30 days overdue, up to late_fee_max fees
    late_fee_max: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class ClientReminderSetting(SQLModel, table=True):
    """A client for whom reminders are off (no row: on)."""

    __tablename__ = "client_reminder_setting"
    __table_args__ = (UniqueConstraint("workspace_id", "client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    reminders_off: bool = True


class InvoiceReminder(SQLModel, table=True):
    """One reminder step sent for an invoice; the unique key makes a second run a no-op."""

    __tablename__ = "invoice_reminder"
    __table_args__ = (UniqueConstraint("invoice_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    step: str = Field(max_length=20)  # before | due | after-1, after-2…
    sent_on: date
    email_id: int | None = Field(default=None, foreign_key="outbox_email.id")
    created_at: datetime = Field(default_factory=utcnow)


class LateFee(SQLModel, table=True):
    """A late fee added to an invoice as a line; ``seq`` 1, 2… once each (unique)."""

    __tablename__ = "late_fee"
    __table_args__ = (UniqueConstraint("invoice_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    seq: int
    line_id: int | None = Field(default=None, foreign_key="invoice_line.id")
    amount: int
    currency: str = Field(max_length=3)
    applied_at: datetime = Field(default_factory=utcnow)
    waived_at: datetime | None = None
