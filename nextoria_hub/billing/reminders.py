"""Payment reminders and late fees: the rules (Settings → Finance), and the daily job.

One reminder per step per invoice, and one late fee per sequence number, each enforced by a
unique key: the job can run twice, or in two processes, and sends or charges once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import get_client
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import add_activity, get_invoice, portal_link
from nextoria_hub.billing.locales import Formatter
from nextoria_hub.billing.money import format_money, to_minor, validate_currency
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import (
    CheckoutSession,
    Client,
    ClientAutopay,
    ClientReminderSetting,
    Invoice,
    InvoiceLine,
    InvoiceReminder,
    InvoiceStatus,
    LateFee,
    Payment,
    ReminderSettings,
    Workspace,
)
from nextoria_hub.notifications.outbox import enqueue_email
from nextoria_hub.tenancy import Actor

log = logging.getLogger(__name__)

LATE_FEE_LABEL = "Late fee"
LATE_FEE_KINDS = ("none", "percent", "fixed")
MONTH_DAYS = 30
MAX_DAYS = 365
MAX_REPEATS = 12


# ---- settings ----


def get_reminder_settings(db: Session, workspace_id: int) -> ReminderSettings:
    """The workspace's rules (defaults while never saved: reminders off, no late fee)."""
    row = db.get(ReminderSettings, workspace_id)
    return row if row is not None else ReminderSettings(workspace_id=workspace_id)


def read_reminder_settings(db: Session, actor: Actor) -> ReminderSettings:
    actor.require_admin()
    return get_reminder_settings(db, actor.workspace_id)


@dataclass(frozen=True)
class ReminderUpdate:
    enabled: bool
    days_before: int
    on_due_date: bool
    days_after: int
    repeat_every: int
    max_after: int
    late_fee_kind: str = "none"
    late_fee_percent: str = ""  # "1.5" → 150 basis points
    # Per currency, major units as typed ({"usd": "25", "jpy": "3000"}); "" leaves one out.
    late_fee_fixed: dict[str, str] = field(default_factory=dict)
    late_fee_after_days: int = 30
    late_fee_monthly: bool = False
    late_fee_max: int = 1


def _days(value: int, field: str, low: int = 0, high: int = MAX_DAYS) -> int:
    if not low <= value <= high:
        raise ValidationError(f"Enter a number from {low} to {high}.", field)
    return value


def _percent_bp(raw: str) -> int:
    try:
        value = Decimal(raw.strip().rstrip("%"))
    except Exception:
        raise ValidationError("Enter a percentage like 1.5.", "late_fee_percent") from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 < bp <= 5000:
        raise ValidationError(
            "Enter a percentage above 0 and at most 50, with up to two decimals.",
            "late_fee_percent",
        )
    return int(bp)


def update_reminder_settings(db: Session, actor: Actor, update: ReminderUpdate) -> ReminderSettings:
    actor.require_admin()
    row = db.get(ReminderSettings, actor.workspace_id) or ReminderSettings(
        workspace_id=actor.workspace_id
    )
    row.enabled = update.enabled
    row.days_before = _days(update.days_before, "days_before")
    row.on_due_date = update.on_due_date
    row.days_after = _days(update.days_after, "days_after")
    row.repeat_every = _days(update.repeat_every, "repeat_every")
    row.max_after = _days(update.max_after, "max_after", 0, MAX_REPEATS)
    if update.late_fee_kind not in LATE_FEE_KINDS:
        raise ValidationError("Choose no late fee, a percentage or a fixed amount.", "late_fee")
    row.late_fee_kind = update.late_fee_kind
    row.late_fee_percent_bp = (
        _percent_bp(update.late_fee_percent) if update.late_fee_kind == "percent" else 0
    )
    fixed = parse_fixed_fees(update.late_fee_fixed) if update.late_fee_kind == "fixed" else {}
    if update.late_fee_kind == "fixed" and not fixed:
        raise ValidationError(
            "Enter the fee in at least one currency, e.g. 25 for USD.", "late_fee_fixed"
        )
    row.late_fee_fixed_amounts = json.dumps(fixed, sort_keys=True)
    row.late_fee_after_days = _days(update.late_fee_after_days, "late_fee_after_days", 1)
    row.late_fee_monthly = update.late_fee_monthly
    row.late_fee_max = _days(update.late_fee_max, "late_fee_max", 1, MAX_REPEATS)
    row.updated_at = utcnow()
    db.add(row)
    record_audit(db, actor, "finance.reminders", _describe(row))
    db.flush()
    return row


def parse_fixed_fees(typed: dict[str, str]) -> dict[str, int]:
    """Currency → fee in minor units, each with that currency's own decimals (¥ none, KWD 3)."""
    fees: dict[str, int] = {}
    for raw_code, raw_amount in typed.items():
        amount = str(raw_amount or "").strip()
        if not amount:
            continue
        code = validate_currency(raw_code, field="late_fee_fixed")
        where = f"late_fee_fixed.{code}"
        try:
            minor = to_minor(amount, code, field=where)
        except ValidationError as err:
            raise ValidationError(f"{code.upper()}: {err.message}", where) from None
        if minor <= 0:
            raise ValidationError(f"{code.upper()}: enter a fee above 0, e.g. 25.", where)
        fees[code] = minor
    return fees


def currencies_in_use(db: Session, actor: Actor) -> list[str]:
    """The workspace's default currency and its clients', offered first for a fixed fee."""
    actor.require_admin()
    codes = db.exec(
        select(Client.currency).where(Client.workspace_id == actor.workspace_id).distinct()
    ).all()
    default = get_finance(db, actor.workspace_id).default_currency
    return [default, *sorted(c for c in set(codes) if c != default)]


def fixed_fees(s: ReminderSettings) -> dict[str, int]:
    """The saved fixed late fee per currency, in minor units."""
    try:
        data = json.loads(s.late_fee_fixed_amounts or "{}")
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and v > 0}


def _describe(s: ReminderSettings) -> str:
    amounts = ", ".join(format_money(a, c) for c, a in sorted(fixed_fees(s).items()))
    fee = {
        "none": "no late fee",
        "percent": f"late fee {s.late_fee_percent_bp / 100:g}%",
        "fixed": f"late fee {amounts}",
    }[s.late_fee_kind]
    return (
        f"reminders {'on' if s.enabled else 'off'}: {s.days_before} days before, "
        f"{'on the due date, ' if s.on_due_date else ''}{s.days_after} days after, "
        f"every {s.repeat_every} days up to {s.max_after}; {fee}"
    )


def reminders_on_for_client(db: Session, actor: Actor, client_id: int) -> bool:
    actor.require_staff()
    get_client(db, actor, client_id)
    return not _client_off(db, actor.workspace_id, client_id)


def set_client_reminders(db: Session, actor: Actor, client_id: int, on: bool) -> bool:
    """Reminders on or off for one client; returns the new state."""
    actor.require_admin()
    client = get_client(db, actor, client_id)
    row = db.exec(
        select(ClientReminderSetting).where(
            ClientReminderSetting.workspace_id == actor.workspace_id,
            ClientReminderSetting.client_id == client_id,
        )
    ).first()
    if on and row is not None:
        db.delete(row)
    elif not on and row is None:
        db.add(ClientReminderSetting(workspace_id=actor.workspace_id, client_id=client_id))
    record_audit(db, actor, "client.reminders", f"{client.name}: {'on' if on else 'off'}")
    db.flush()
    return on


def _client_off(db: Session, workspace_id: int, client_id: int) -> bool:
    return (
        db.exec(
            select(ClientReminderSetting.id).where(
                ClientReminderSetting.workspace_id == workspace_id,
                ClientReminderSetting.client_id == client_id,
                col(ClientReminderSetting.reminders_off).is_(True),
            )
        ).first()
        is not None
    )


# ---- the rules ----


def reminder_steps(s: ReminderSettings) -> list[tuple[str, int]]:
    """(step, days from the due date) in order: before, due, after-1…after-M."""
    steps: list[tuple[str, int]] = []
    if s.days_before > 0:
        steps.append(("before", -s.days_before))
    if s.on_due_date:
        steps.append(("due", 0))
    if s.days_after > 0:
        count = s.max_after if s.repeat_every > 0 else min(s.max_after, 1)
        steps += [
            (f"after-{k}", s.days_after + (k - 1) * s.repeat_every) for k in range(1, count + 1)
        ]
    return steps


def step_due(s: ReminderSettings, due_date: date, today: date, sent: set[str]) -> str | None:
    """The step to send today: the latest one whose day has come, unless it was sent.

    Earlier steps that were missed (reminders just turned on, the job down for days) are
    not sent late: the client gets one reminder, the current one.
    """
    offset = (today - due_date).days
    current = None
    for step, day in reminder_steps(s):
        if day <= offset:
            current = step
    if current is None or current in sent or (current == "before" and offset >= 0):
        return None
    return current


def late_fee_amount(
    s: ReminderSettings, currency: str, base_total: int, days_overdue: int, fees_so_far: int
) -> int:
    """The late fee due now (minor units), or 0. Every late-fee rule is here.

    Once after ``late_fee_after_days`` days overdue; when monthly, again every 30 days, up to
    ``late_fee_max`` fees. A percentage is of ``base_total``, the invoice's balance without
    any fee (never compounding); a fixed fee is the amount set for the invoice's currency,
    and nothing when none is set for it.
    """
    if s.late_fee_kind == "none" or days_overdue < s.late_fee_after_days:
        return 0
    allowed = 1
    if s.late_fee_monthly:
        allowed = 1 + (days_overdue - s.late_fee_after_days) // MONTH_DAYS
    allowed = min(allowed, s.late_fee_max)
    if fees_so_far >= allowed:
        return 0
    if s.late_fee_kind == "percent":
        fee = Decimal(base_total) * s.late_fee_percent_bp / 10_000
        return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return fixed_fees(s).get(currency.lower(), 0)


def blocked_reason(db: Session, invoice: Invoice) -> str:
    """Why an invoice gets no reminder and no fee, or '' (shared by both)."""
    if invoice.status != InvoiceStatus.open or invoice.amount_due <= 0:
        return "not open"
    if invoice.stripe_invoice_id:
        return "billed by Stripe"
    if invoice.amount_disputed > 0:
        return "disputed"
    processing = db.exec(
        select(Payment.id).where(
            Payment.invoice_id == invoice.id,
            Payment.workspace_id == invoice.workspace_id,
            Payment.kind == "payment",
            Payment.status == "processing",
        )
    ).first()
    if processing is not None:
        return "processing"
    autopay = db.exec(
        select(ClientAutopay.id).where(
            ClientAutopay.workspace_id == invoice.workspace_id,
            ClientAutopay.client_id == invoice.client_id,
            col(ClientAutopay.enabled).is_(True),
            ClientAutopay.paused_reason == "",
        )
    ).first()
    if autopay is not None:
        return "autopay"
    return ""


# ---- late fees ----


def _staff_invoice(db: Session, actor: Actor, invoice_id: int) -> Invoice:
    actor.require_staff()
    return get_invoice(db, actor, invoice_id)


def _fees(db: Session, invoice: Invoice) -> list[LateFee]:
    return list(
        db.exec(
            select(LateFee)
            .where(LateFee.invoice_id == invoice.id, LateFee.workspace_id == invoice.workspace_id)
            .order_by(col(LateFee.seq))
        )
    )


def _totals_from_lines(db: Session, invoice: Invoice) -> None:
    lines = db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    invoice.subtotal = sum(line.amount for line in lines)
    invoice.tax_total = sum(line.tax_amount for line in lines)
    invoice.total = invoice.subtotal + invoice.tax_total
    db.add(invoice)


def apply_late_fee(
    db: Session, invoice: Invoice, s: ReminderSettings, today: date
) -> LateFee | None:
    """Add the late fee due today as a line, once (unique invoice + seq), or nothing."""
    if blocked_reason(db, invoice):
        return None
    open_checkout = db.exec(
        select(CheckoutSession.id).where(
            CheckoutSession.invoice_id == invoice.id,
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.status == "open",
            CheckoutSession.expires_at > utcnow(),
        )
    ).first()
    if open_checkout is not None:  # its amount is fixed: the fee waits until it ends
        return None
    fees = _fees(db, invoice)
    # Of the balance without fees: what the client still owes for the work (parts paid
    # and a deposit lower it), never a fee on a fee.
    base = max(invoice.total - sum(f.amount for f in fees if f.waived_at is None), 0)
    base = max(base - invoice.amount_paid, 0)
    amount = late_fee_amount(s, invoice.currency, base, (today - invoice.due_date).days, len(fees))
    if amount <= 0:
        return None
    fee = LateFee(
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        seq=len(fees) + 1,
        amount=amount,
        currency=invoice.currency,
    )
    try:
        with db.begin_nested():
            db.add(fee)
            db.flush()
    except IntegrityError:
        return None  # another run added it
    position = len(
        db.exec(select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id)).all()
    )
    line = InvoiceLine(
        invoice_id=invoice.id,  # type: ignore[arg-type]
        position=position,
        description=LATE_FEE_LABEL,
        quantity="1",
        unit_amount=amount,
        amount=amount,
    )
    db.add(line)
    db.flush()
    fee.line_id = line.id
    db.add(fee)
    _totals_from_lines(db, invoice)
    shown = Formatter.of(db, invoice.workspace_id).money(amount, invoice.currency)
    add_activity(db, invoice, "late_fee", f"{LATE_FEE_LABEL} of {shown} added")
    db.flush()
    return fee


def active_late_fees(db: Session, actor: Actor, invoice_id: int) -> list[LateFee]:
    """The late fees on an invoice that were not waived (staff)."""
    invoice = _staff_invoice(db, actor, invoice_id)
    return [f for f in _fees(db, invoice) if f.waived_at is None]


def waive_late_fee(db: Session, actor: Actor, invoice_id: int, fee_id: int) -> Invoice:
    """Remove a late fee's line and say so on the timeline (admins; open invoices only)."""
    actor.require_admin()
    invoice = _staff_invoice(db, actor, invoice_id)
    fee = db.get(LateFee, fee_id)
    if fee is None or fee.invoice_id != invoice.id or fee.workspace_id != actor.workspace_id:
        raise NotFound("This late fee does not exist.")
    if fee.waived_at is not None:
        raise ValidationError("This late fee was already waived.", "late_fee")
    if invoice.status != InvoiceStatus.open:
        raise ValidationError("Only an open invoice's late fee can be waived.", "status")
    line = db.get(InvoiceLine, fee.line_id) if fee.line_id else None
    fee.waived_at = utcnow()
    fee.line_id = None
    db.add(fee)
    db.flush()
    if line is not None and line.invoice_id == invoice.id:
        db.delete(line)
        db.flush()
    _totals_from_lines(db, invoice)
    amount = Formatter.of(db, invoice.workspace_id).money(fee.amount, fee.currency)
    detail = f"{LATE_FEE_LABEL} of {amount} waived by {actor.name}"
    add_activity(db, invoice, "late_fee_waived", detail)
    record_audit(db, actor, "invoice.waive_late_fee", f"{invoice.number}: {detail}")
    db.flush()
    return invoice


# ---- reminders ----


STEP_LABELS = {"before": "before the due date", "due": "on the due date"}


def _step_label(step: str) -> str:
    return STEP_LABELS.get(step, f"overdue reminder {step.removeprefix('after-')}")


def send_reminder(
    db: Session, invoice: Invoice, s: ReminderSettings, today: date
) -> InvoiceReminder | None:
    """Send today's reminder step of one invoice, if one is due and was not sent."""
    if blocked_reason(db, invoice) or _client_off(db, invoice.workspace_id, invoice.client_id):
        return None
    sent = set(
        db.exec(select(InvoiceReminder.step).where(InvoiceReminder.invoice_id == invoice.id)).all()
    )
    step = step_due(s, invoice.due_date, today, sent)
    if step is None:
        return None
    reminder = InvoiceReminder(
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        step=step,
        sent_on=today,
    )
    try:
        with db.begin_nested():
            db.add(reminder)
            db.flush()
    except IntegrityError:
        return None  # another run sent this step
    client = db.get(Client, invoice.client_id)
    workspace = db.get(Workspace, invoice.workspace_id)
    assert client is not None and workspace is not None
    fees = [f for f in _fees(db, invoice) if f.waived_at is None]
    fmt = Formatter.of(db, invoice.workspace_id)
    email = enqueue_email(
        db,
        workspace_id=invoice.workspace_id,
        to=client.billing_email,
        kind="invoice_reminder",
        context={
            "workspace_name": workspace.name,
            "client_name": client.contact_name or client.name,
            "number": invoice.number,
            "amount": fmt.money(invoice.amount_due, invoice.currency),
            "due_date": fmt.day(invoice.due_date),
            "overdue": invoice.due_date < today,
            "late_fee": fmt.money(sum(f.amount for f in fees), invoice.currency) if fees else "",
            "link": portal_link(workspace.slug, invoice.id),  # type: ignore[arg-type]
        },
    )
    reminder.email_id = email.id
    db.add(reminder)
    add_activity(
        db, invoice, "reminder", f"Reminder sent to {client.billing_email} ({_step_label(step)})"
    )
    db.flush()
    return reminder


@dataclass
class ReminderRun:
    reminders: int = 0
    late_fees: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"reminders": self.reminders, "late_fees": self.late_fees}


def send_due_reminders(db: Session, today: date | None = None) -> ReminderRun:
    """The daily job: late fees first (so the reminder tells them), then reminders."""
    today = today or utcnow().date()
    run = ReminderRun()
    workspaces = db.exec(
        select(ReminderSettings).where(
            col(ReminderSettings.enabled).is_(True) | (ReminderSettings.late_fee_kind != "none")
        )
    ).all()
    for s in workspaces:
        invoices = db.exec(
            select(Invoice)
            .where(Invoice.workspace_id == s.workspace_id, Invoice.status == InvoiceStatus.open)
            .order_by(col(Invoice.id))
        ).all()
        for invoice in invoices:
            if s.late_fee_kind != "none" and apply_late_fee(db, invoice, s, today):
                run.late_fees += 1
            if s.enabled and send_reminder(db, invoice, s, today):
                run.reminders += 1
    return run
