"""What staff and the client portal see of a client's Autopay: method, next charge, attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from nextoria_hub.billing.clients import get_client, portal_client
from nextoria_hub.models import (
    AutopayAttempt,
    Invoice,
    InvoiceStatus,
    SavedPaymentMethod,
)
from nextoria_hub.models.ids import require_id
from nextoria_hub.payments.autopay.policy import _charge_date
from nextoria_hub.payments.autopay.records import _attempts_of, _autopay_row, _aware, active_method
from nextoria_hub.payments.stripe_connection import active_mode
from nextoria_hub.tenancy import Actor


@dataclass
class SavedMethodView:
    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    mode: str


@dataclass
class NextCharge:
    invoice_id: int
    number: str
    amount: int
    currency: str
    date: date


@dataclass
class AttemptView:
    at: datetime
    number: str
    amount: int
    currency: str
    status: str
    reason: str


@dataclass
class AutopayStatus:
    enabled: bool
    waiting_for_method: bool
    paused_reason: str
    method: SavedMethodView | None
    next_charge: NextCharge | None
    attempts: list[AttemptView] = field(default_factory=list)


def _view(method: SavedPaymentMethod) -> SavedMethodView:
    return SavedMethodView(
        id=require_id(method),
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month,
        exp_year=method.exp_year,
        mode=method.mode,
    )


def _status(db: Session, workspace_id: int, client_id: int) -> AutopayStatus:
    mode = active_mode(db, workspace_id)
    row = _autopay_row(db, workspace_id, client_id)
    method = active_method(db, workspace_id, client_id, mode)
    enabled = bool(row and row.enabled)
    paused = row.paused_reason if row and enabled else ""
    next_charge = None
    if enabled and method is not None and not paused:
        invoices = db.exec(
            select(Invoice)
            .where(
                Invoice.workspace_id == workspace_id,
                Invoice.client_id == client_id,
                Invoice.status == InvoiceStatus.open,
                col(Invoice.stripe_invoice_id) == "",
            )
            .order_by(col(Invoice.due_date), col(Invoice.id))
        ).all()
        best: tuple[datetime, Invoice] | None = None
        for invoice in invoices:
            if invoice.amount_due <= 0 or invoice.payment_failed:
                continue
            when = _charge_date(
                invoice, _attempts_of(db, workspace_id, require_id(invoice)), method
            )
            if when is not None and (best is None or when < best[0]):
                best = (when, invoice)
        if best is not None:
            when, invoice = best
            next_charge = NextCharge(
                invoice_id=require_id(invoice),
                number=invoice.number,
                amount=invoice.amount_due,
                currency=invoice.currency,
                date=when.date(),
            )
    rows = db.exec(
        select(AutopayAttempt, Invoice)
        .join(Invoice, col(Invoice.id) == col(AutopayAttempt.invoice_id))
        .where(AutopayAttempt.workspace_id == workspace_id, Invoice.client_id == client_id)
        .order_by(col(AutopayAttempt.id).desc())
        .limit(50)
    ).all()
    attempts = [
        AttemptView(
            at=_aware(a.created_at),
            number=inv.number,
            amount=a.amount,
            currency=a.currency,
            status=a.status,
            reason=a.failure_message or a.failure_code,
        )
        for a, inv in rows
    ]
    return AutopayStatus(
        enabled=enabled,
        waiting_for_method=enabled and method is None,
        paused_reason=paused,
        method=_view(method) if method is not None else None,
        next_charge=next_charge,
        attempts=attempts,
    )


# --- Staff ----------------------------------------------------------------------------------


def autopay_status(db: Session, actor: Actor, client_id: int) -> AutopayStatus:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    return _status(db, actor.workspace_id, require_id(client))


# --- Client portal --------------------------------------------------------------------------


def portal_autopay(db: Session, actor: Actor) -> AutopayStatus:
    client = portal_client(db, actor)
    return _status(db, actor.workspace_id, require_id(client))
