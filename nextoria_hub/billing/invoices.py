"""Invoices: drafts with lines and tax, numbering, sending, voiding, views and totals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import get_client, portal_client, portal_client_id
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.locales import Formatter
from nextoria_hub.billing.money import decimals, format_money, to_minor, validate_currency
from nextoria_hub.billing.payment_terms import apply_finance_defaults, fix_deposit_on_send
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import (
    Client,
    Invoice,
    InvoiceActivity,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Workspace,
)
from nextoria_hub.notifications.outbox import enqueue_email
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

MAX_LINES = 100
DEFAULT_TERMS_DAYS = 14
MAX_QUANTITY = Decimal("1000000")
STATUS_FILTERS = ("draft", "open", "overdue", "paid", "void")


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: str
    unit_price: str  # major units as typed, e.g. "1250.00"
    tax_rate: str = ""  # percent, e.g. "20" or "7.5"


@dataclass
class InvoiceView:
    invoice: Invoice
    client: Client
    lines: list[InvoiceLine]
    activity: list[InvoiceActivity]
    payments: list[Payment]


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _parse_line(line: LineInput, currency: str, position: int) -> InvoiceLine:
    field = f"lines.{position}"
    description = (line.description or "").strip()
    if not description:
        raise ValidationError(f"Line {position + 1}: enter a description.", f"{field}.description")
    if len(description) > 500:
        raise ValidationError(
            f"Line {position + 1}: use at most 500 characters.", f"{field}.description"
        )
    try:
        quantity = Decimal(str(line.quantity).strip().replace(",", "") or "1")
    except InvalidOperation:
        raise ValidationError(
            f"Line {position + 1}: enter a quantity like 1 or 2.5.", f"{field}.quantity"
        ) from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationError(
            f"Line {position + 1}: the quantity must be more than 0.", f"{field}.quantity"
        )
    if quantity.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValidationError(
            f"Line {position + 1}: use at most 4 decimals in the quantity.", f"{field}.quantity"
        )
    try:
        unit = to_minor(line.unit_price, currency, field=f"{field}.unit_price")
    except ValidationError as err:
        raise ValidationError(f"Line {position + 1}: {err.message}", err.field) from None
    if unit < 0:
        raise ValidationError(
            f"Line {position + 1}: the unit price can't be negative.", f"{field}.unit_price"
        )
    raw_rate = str(line.tax_rate or "").strip().rstrip("%").strip()
    try:
        rate = Decimal(raw_rate or "0")
    except InvalidOperation:
        raise ValidationError(
            f"Line {position + 1}: enter a tax rate like 20 or 7.5.", f"{field}.tax_rate"
        ) from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise ValidationError(
            f"Line {position + 1}: the tax rate must be between 0 and 100%.", f"{field}.tax_rate"
        )
    bp = rate * 100
    if bp != bp.to_integral_value():
        raise ValidationError(
            f"Line {position + 1}: use at most 2 decimals in the tax rate.", f"{field}.tax_rate"
        )
    amount = _half_up(quantity * unit)
    tax = _half_up(Decimal(amount) * int(bp) / Decimal(10000))
    return InvoiceLine(
        invoice_id=0,
        position=position,
        description=description,
        quantity=format(quantity.normalize(), "f"),
        unit_amount=unit,
        tax_rate_bp=int(bp),
        amount=amount,
        tax_amount=tax,
    )


def _parse_lines(lines: list[LineInput], currency: str) -> list[InvoiceLine]:
    if not lines:
        raise ValidationError("Add at least one line.", "lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(f"An invoice has at most {MAX_LINES} lines.", "lines")
    return [_parse_line(line, currency, i) for i, line in enumerate(lines)]


def _dates(issue_date: date | None, due_date: date | None) -> tuple[date, date]:
    issue = issue_date or utcnow().date()
    due = due_date or (issue + timedelta(days=DEFAULT_TERMS_DAYS))
    if due < issue:
        raise ValidationError("The due date can't be before the issue date.", "due_date")
    return issue, due


def _apply_totals(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    invoice.subtotal = sum(line.amount for line in lines)
    invoice.tax_total = sum(line.tax_amount for line in lines)
    invoice.total = invoice.subtotal + invoice.tax_total


def next_invoice_number(db: Session, workspace_id: int) -> str:
    """``INV-0001``, ``INV-0002``…: one atomic UPDATE … RETURNING on the workspace's counter."""
    bump = text(
        "UPDATE invoice_counter SET last_number = last_number + 1 "
        "WHERE workspace_id = :ws RETURNING last_number"
    )
    number = db.execute(bump, {"ws": workspace_id}).scalar()
    if number is None:
        dialect = db.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        db.execute(
            insert(InvoiceCounter)
            .values(workspace_id=workspace_id, last_number=0)
            .on_conflict_do_nothing(index_elements=["workspace_id"])
        )
        number = db.execute(bump, {"ws": workspace_id}).scalar()
    assert number is not None
    return f"INV-{int(number):04d}"


def add_activity(db: Session, invoice: Invoice, kind: str, detail: str = "") -> InvoiceActivity:
    entry = InvoiceActivity(
        workspace_id=invoice.workspace_id, invoice_id=invoice.id, kind=kind, detail=detail
    )  # type: ignore[arg-type]
    db.add(entry)
    return entry


def create_invoice(
    db: Session,
    actor: Actor,
    *,
    client_id: int,
    lines: list[LineInput],
    currency: str | None = None,
    issue_date: date | None = None,
    due_date: date | None = None,
    notes: str = "",
) -> Invoice:
    """A numbered draft for a client of the actor's workspace."""
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is not None:
        raise ValidationError("This client is archived: restore it first.", "client_id")
    code = validate_currency(currency) if currency and currency.strip() else client.currency
    parsed = _parse_lines(lines, code)
    issue, due = _dates(issue_date, due_date)
    number = next_invoice_number(db, actor.workspace_id)
    invoice = Invoice(
        workspace_id=actor.workspace_id,
        client_id=client.id,  # type: ignore[arg-type]
        number=number,
        status=InvoiceStatus.draft,
        currency=code,
        issue_date=issue,
        due_date=due,
        notes=(notes or "").strip(),
    )
    _apply_totals(invoice, parsed)
    apply_finance_defaults(db, invoice)
    db.add(invoice)
    db.flush()
    for line in parsed:
        line.invoice_id = invoice.id  # type: ignore[assignment]
        db.add(line)
    add_activity(
        db,
        invoice,
        "created",
        f"Draft created by {actor.name} for {format_money(invoice.total, code)}",
    )
    record_audit(db, actor, "invoice.create", f"{number} for {client.name}")
    db.flush()
    return invoice


def _staff_invoice(db: Session, actor: Actor, invoice_id: int) -> Invoice:
    actor.require_staff()
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or invoice.workspace_id != actor.workspace_id:
        raise NotFound("This invoice does not exist.")
    return invoice


def get_invoice(db: Session, actor: Actor, invoice_id: int) -> Invoice:
    """An invoice the actor may see: staff any of the workspace, clients their own non-drafts."""
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or invoice.workspace_id != actor.workspace_id:
        raise NotFound("This invoice does not exist.")
    if not actor.is_staff:
        client = portal_client(db, actor)
        if invoice.client_id != client.id or invoice.status == InvoiceStatus.draft:
            raise NotFound("This invoice does not exist.")
    return invoice


def update_draft(
    db: Session,
    actor: Actor,
    invoice_id: int,
    *,
    lines: list[LineInput],
    currency: str,
    issue_date: date,
    due_date: date,
    notes: str,
    client_id: int | None = None,
) -> Invoice:
    """Replace a draft's lines, dates, notes, currency and (optionally) client.

    Under the invoice's row lock, so an edit and a send of the same draft can't interleave:
    what is sent is what was last saved.
    """
    invoice = _locked_staff_invoice(db, actor, invoice_id)
    if invoice.status != InvoiceStatus.draft:
        raise ValidationError(
            "Only drafts can be edited. Use “Void and duplicate as draft” to revise a sent "
            "invoice.",
            "status",
        )
    if client_id is not None and client_id != invoice.client_id:
        client = get_client(db, actor, client_id)
        if client.archived_at is not None:
            raise ValidationError("This client is archived: restore it first.", "client_id")
        invoice.client_id = client.id  # type: ignore[assignment]
    code = validate_currency(currency) if currency and currency.strip() else invoice.currency
    parsed = _parse_lines(lines, code)
    issue, due = _dates(issue_date, due_date)
    for old in db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all():
        db.delete(old)
    db.flush()
    invoice.currency, invoice.issue_date, invoice.due_date = code, issue, due
    invoice.notes = (notes or "").strip()
    _apply_totals(invoice, parsed)
    db.add(invoice)
    for line in parsed:
        line.invoice_id = invoice.id  # type: ignore[assignment]
        db.add(line)
    add_activity(db, invoice, "edited", f"Draft edited by {actor.name}")
    db.flush()
    return invoice


def portal_link(slug: str, invoice_id: int) -> str:
    return get_settings().workspace_url(slug, f"/portal/invoices/{invoice_id}")


def send_invoice(db: Session, actor: Actor, invoice_id: int) -> Invoice:
    """Draft → open; the client gets an email with the amount and a link to pay."""
    invoice = _staff_invoice(db, actor, invoice_id)
    if invoice.status != InvoiceStatus.draft:
        raise ValidationError("Only drafts can be sent; this invoice was already sent.", "status")
    if invoice.total <= 0:
        raise ValidationError("This invoice totals zero: add an amount before sending.", "lines")
    client = db.get(Client, invoice.client_id)
    workspace = db.get(Workspace, invoice.workspace_id)
    assert client is not None and workspace is not None
    fix_deposit_on_send(invoice)
    invoice.status = InvoiceStatus.open
    invoice.sent_at = utcnow()
    db.add(invoice)
    fmt = Formatter.of(db, invoice.workspace_id)
    amount = fmt.money(invoice.total, invoice.currency)
    enqueue_email(
        db,
        workspace_id=invoice.workspace_id,
        to=client.billing_email,
        kind="invoice_sent",
        context={
            "workspace_name": workspace.name,
            "client_name": client.contact_name or client.name,
            "number": invoice.number,
            "amount": amount,
            "due_date": fmt.day(invoice.due_date),
            "deposit": fmt.money(invoice.deposit_amount, invoice.currency)
            if invoice.deposit_amount
            else "",
            "link": portal_link(workspace.slug, invoice.id),  # type: ignore[arg-type]
        },
    )
    add_activity(db, invoice, "sent", f"Sent to {client.billing_email} by {actor.name} ({amount})")
    record_audit(db, actor, "invoice.send", f"{invoice.number} to {client.billing_email}")
    db.flush()
    return invoice


def _locked_staff_invoice(db: Session, actor: Actor, invoice_id: int) -> Invoice:
    """The invoice under its row lock, so the checks that follow hold until commit."""
    from nextoria_hub.billing.locks import lock_invoice

    _staff_invoice(db, actor, invoice_id)
    invoice = lock_invoice(db, actor.workspace_id, invoice_id)
    if invoice is None:
        raise NotFound("This invoice does not exist.")
    return invoice


def void_invoice(db: Session, actor: Actor, invoice_id: int, reason: str = "") -> Invoice:
    """Void an unpaid invoice; every open way to pay it is closed in the same transaction."""
    from nextoria_hub.payments.payment_paths import close_other_payment_paths

    invoice = _locked_staff_invoice(db, actor, invoice_id)
    if invoice.status == InvoiceStatus.paid:
        raise ValidationError(
            "A paid invoice can't be voided; refund it in Stripe instead.", "status"
        )
    if invoice.status == InvoiceStatus.void:
        raise ValidationError("This invoice is already void.", "status")
    if invoice.amount_paid > 0:
        raise ValidationError(
            "This invoice has payments recorded; refund them before voiding it.", "status"
        )
    _refuse_while_processing(db, invoice, "voided")
    invoice.status = InvoiceStatus.void
    invoice.voided_at = utcnow()
    db.add(invoice)
    reason = (reason or "").strip()
    add_activity(
        db, invoice, "voided", f"Voided by {actor.name}" + (f": {reason}" if reason else "")
    )
    record_audit(db, actor, "invoice.void", f"{invoice.number}" + (f": {reason}" if reason else ""))
    close_other_payment_paths(db, invoice, f"voided by {actor.name}")
    db.flush()
    return invoice


def mark_paid_manually(db: Session, actor: Actor, invoice_id: int, note: str) -> Invoice:
    """Record a payment received outside Stripe (bank transfer, cash) for the amount due.

    Admins only: it says money arrived, and it closes every other way to pay the invoice.
    """
    from nextoria_hub.payments.settlement import settle_payment

    actor.require_admin()
    invoice = _locked_staff_invoice(db, actor, invoice_id)
    if invoice.status == InvoiceStatus.paid:
        raise ValidationError("This invoice is already paid.", "status")
    if invoice.status == InvoiceStatus.void:
        raise ValidationError("This invoice is void.", "status")
    if invoice.status == InvoiceStatus.draft:
        raise ValidationError("Send this invoice before recording a payment.", "status")
    _refuse_while_processing(db, invoice, "marked paid")
    note = (note or "").strip()
    if not note:
        raise ValidationError("Say how it was paid, e.g. “Bank transfer 12 May”.", "note")
    settle_payment(
        db,
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode="manual",
        payment_intent={
            "id": f"manual_{invoice.id}",
            "amount": invoice.amount_due,
            "amount_received": invoice.amount_due,
            "currency": invoice.currency,
            "status": "succeeded",
            "payment_method_types": ["manual"],
        },
        source="manual",
        note=f"{note} (recorded by {actor.name})",
    )
    record_audit(db, actor, "invoice.mark_paid", f"{invoice.number}: {note}")
    db.flush()
    return invoice


def _refuse_while_processing(db: Session, invoice: Invoice, what: str) -> None:
    """A bank debit in flight may still be paid: the invoice waits for the bank's answer."""
    debit = db.exec(
        select(Payment.id).where(
            Payment.workspace_id == invoice.workspace_id,
            Payment.invoice_id == invoice.id,
            Payment.kind == "payment",
            Payment.status == "processing",
        )
    ).first()
    if debit is not None:
        raise ValidationError(
            f"A bank payment for this invoice is processing, so it can't be {what} now. "
            "Wait for the bank's answer (up to 4 business days).",
            "status",
        )


def is_overdue(invoice: Invoice, today: date) -> bool:
    return invoice.status == InvoiceStatus.open and invoice.due_date < today


BANK_PROCESSING = "Bank payment processing — this usually takes up to 4 business days."


def display_status(invoice: Invoice, today: date, *, processing: bool = False) -> str:
    """The status label; ``processing``: a bank debit is on its way (see processing_ids)."""
    if invoice.status == InvoiceStatus.void:
        return "Void"
    if invoice.status == InvoiceStatus.draft:
        return "Draft"
    if invoice.status == InvoiceStatus.paid:
        if invoice.amount_disputed > 0:
            return "Disputed"
        if invoice.amount_charged_back > 0:
            return "Dispute lost"
        if invoice.amount_refunded > 0 and invoice.amount_refunded >= invoice.amount_paid:
            return "Refunded"
        if invoice.amount_refunded > 0:
            return "Partially refunded"
        return "Paid"
    if processing:
        return "Processing"
    if invoice.payment_failed:
        return "Payment failed"
    if is_overdue(invoice, today):
        return "Overdue"
    if invoice.amount_paid > 0:
        return "Partially paid"
    return "Open"


def processing_ids(db: Session, workspace_id: int) -> set[int]:
    """Invoices with a bank debit in flight (a ``processing`` payment): shown as Processing."""
    return set(
        db.exec(
            select(Payment.invoice_id).where(
                Payment.workspace_id == workspace_id,
                Payment.kind == "payment",
                Payment.status == "processing",
            )
        ).all()
    )


def is_processing(view: InvoiceView) -> bool:
    return any(p.kind == "payment" and p.status == "processing" for p in view.payments)


def last_failure(view: InvoiceView) -> str:
    """Why the latest attempt on an open invoice failed (the bank's or card's reason), or ''."""
    if view.invoice.status != InvoiceStatus.open:
        return ""
    attempts = [p for p in view.payments if p.kind == "payment" or p.kind.startswith("attempt-")]
    if attempts and attempts[-1].status == "failed":
        return attempts[-1].failure_message
    return ""


def list_invoices(
    db: Session,
    actor: Actor,
    *,
    status: str | None = None,
    client_id: int | None = None,
    search: str = "",
) -> list[Invoice]:
    """Newest first. ``open`` includes overdue invoices; ``overdue`` is open and past due."""
    query = select(Invoice).where(Invoice.workspace_id == actor.workspace_id)
    if actor.is_staff:
        if client_id is not None:
            query = query.where(Invoice.client_id == client_id)
    else:
        own_id = portal_client_id(db, actor)
        if own_id is None:  # a portal login not linked to a client yet sees an empty portal
            return []
        query = query.where(Invoice.client_id == own_id, Invoice.status != InvoiceStatus.draft)
    if status:
        if status not in STATUS_FILTERS:
            raise ValidationError(f"Unknown status “{status}”.", "status")
        if status == "overdue":
            query = query.where(
                Invoice.status == InvoiceStatus.open, Invoice.due_date < utcnow().date()
            )
        else:
            query = query.where(Invoice.status == status)
    needle = search.strip().lower()
    if needle:
        query = query.join(Client, Client.id == Invoice.client_id).where(
            or_(
                func.lower(Invoice.number).like(f"%{needle}%"),
                func.lower(Client.name).like(f"%{needle}%"),
            )
        )
    return list(db.exec(query.order_by(col(Invoice.id).desc())))


def get_invoice_view(db: Session, actor: Actor, invoice_id: int) -> InvoiceView:
    invoice = get_invoice(db, actor, invoice_id)
    client = db.get(Client, invoice.client_id)
    assert client is not None
    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    activity = db.exec(
        select(InvoiceActivity)
        .where(
            InvoiceActivity.invoice_id == invoice.id,
            InvoiceActivity.workspace_id == invoice.workspace_id,
        )
        .order_by(col(InvoiceActivity.at), col(InvoiceActivity.id))
    ).all()
    return InvoiceView(invoice, client, list(lines), list(activity), _payments_of(db, invoice))


def _payments_of(db: Session, invoice: Invoice) -> list[Payment]:
    return list(
        db.exec(
            select(Payment)
            .where(Payment.invoice_id == invoice.id, Payment.workspace_id == invoice.workspace_id)
            .order_by(col(Payment.created_at), col(Payment.id))
        )
    )


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "amount_refunded": payment.amount_refunded,
        "source": payment.source,
        "mode": payment.mode,
        "method": payment.method_detail or payment.method_type,
        "payment_intent_id": payment.payment_intent_id,
        "failure_code": payment.failure_code,
        "failure_message": payment.failure_message,
        "created_at": payment.created_at.isoformat(),
    }


def invoice_json(db: Session, invoice: Invoice, *, with_payments: bool = False) -> dict[str, Any]:
    client = db.get(Client, invoice.client_id)
    data: dict[str, Any] = {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "amount_due": invoice.amount_due,
        "currency": invoice.currency,
        "total": invoice.total,
        "subtotal": invoice.subtotal,
        "tax_total": invoice.tax_total,
        "amount_paid": invoice.amount_paid,
        "amount_refunded": invoice.amount_refunded,
        "amount_disputed": invoice.amount_disputed,
        "amount_charged_back": invoice.amount_charged_back,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "allow_partial": invoice.allow_partial,
        "partial_minimum": invoice.partial_minimum,
        "deposit_amount": invoice.deposit_amount,
        "client": {
            "id": client.id if client else None,
            "name": client.name if client else "",
            "email": client.billing_email if client else "",
        },
    }
    if with_payments:
        data["payments"] = [payment_json(p) for p in _payments_of(db, invoice)]
    return data


def _month_start(today: date) -> datetime:
    return datetime(today.year, today.month, 1, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def dashboard_totals(db: Session, actor: Actor, today: date) -> list[dict[str, Any]]:
    """Per currency: outstanding, overdue, and paid this month (minor units)."""
    actor.require_staff()
    totals: dict[str, dict[str, Any]] = {}

    def row(currency: str) -> dict[str, Any]:
        return totals.setdefault(
            currency,
            {
                "currency": currency,
                "outstanding": 0,
                "overdue": 0,
                "paid_this_month": 0,
                "disputed": 0,
            },
        )

    open_invoices = db.exec(
        select(Invoice).where(
            Invoice.workspace_id == actor.workspace_id, Invoice.status == InvoiceStatus.open
        )
    ).all()
    for invoice in open_invoices:
        entry = row(invoice.currency)
        entry["outstanding"] += invoice.amount_due
        if invoice.due_date < today:
            entry["overdue"] += invoice.amount_due
    disputed = db.exec(
        select(Invoice).where(
            Invoice.workspace_id == actor.workspace_id, Invoice.amount_disputed > 0
        )
    ).all()
    for invoice in disputed:
        row(invoice.currency)["disputed"] += invoice.amount_disputed
    start = _month_start(today)
    for payment in _received(db, actor.workspace_id, start):
        if _aware(payment.created_at).date() <= today:
            row(payment.currency)["paid_this_month"] += payment.amount
    return sorted(totals.values(), key=lambda r: r["currency"])


def _received(db: Session, workspace_id: int, since: datetime) -> list[Payment]:
    """Money received since ``since``; test payments count only while the workspace is in
    test mode (test and live do not share data: test money is never revenue)."""
    query = select(Payment).where(
        Payment.workspace_id == workspace_id,
        Payment.kind == "payment",
        col(Payment.status).not_in(["failed", "processing"]),  # not money (yet)
        Payment.created_at >= since,
    )
    if get_finance(db, workspace_id).stripe_mode == "live":
        query = query.where(Payment.mode != "test")
    return list(db.exec(query))


def payments_by_day(db: Session, actor: Actor, days: int = 90) -> list[dict[str, Any]]:
    """Money received per day and currency over the last ``days`` days, oldest first."""
    actor.require_staff()
    since = datetime.combine(utcnow().date() - timedelta(days=days - 1), datetime.min.time(), UTC)
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for payment in _received(db, actor.workspace_id, since):
        sums[(_aware(payment.created_at).date().isoformat(), payment.currency)] += payment.amount
    return [
        {"day": day, "currency": currency, "amount": amount}
        for (day, currency), amount in sorted(sums.items())
    ]


__all__ = [
    "InvoiceView",
    "LineInput",
    "create_invoice",
    "dashboard_totals",
    "decimals",
    "display_status",
    "get_invoice_view",
    "invoice_json",
    "list_invoices",
    "mark_paid_manually",
    "payments_by_day",
    "send_invoice",
    "update_draft",
    "void_invoice",
]
