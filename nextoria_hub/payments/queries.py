"""Read-only lists of payments and of Stripe events the hub could not match."""

from __future__ import annotations

from sqlmodel import Session, col, select

from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Invoice, Payment, StripeEvent
from nextoria_hub.payments.stripe_connection import active_mode
from nextoria_hub.tenancy import Actor

PAYMENT_STATUSES = (
    "succeeded",
    "failed",
    "refunded",
    "partially_refunded",
    "processing",  # a bank debit on its way
    "refund_failed",
)


def list_payments(
    db: Session,
    actor: Actor,
    *,
    client_id: int | None = None,
    status: str | None = None,
    mode: str | None = None,
) -> list[Payment]:
    """Payments and failed attempts of the workspace, newest first (staff only)."""
    actor.require_staff()
    query = select(Payment).where(Payment.workspace_id == actor.workspace_id)
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    if status:
        if status not in PAYMENT_STATUSES:
            raise ValidationError(f"Unknown payment status “{status}”.", "status")
        query = query.where(Payment.status == status)
    if mode:
        query = query.where(Payment.mode == mode)
    elif active_mode(db, actor.workspace_id) == "live":
        query = query.where(Payment.mode != "test")  # test payments: shown under "test" only
    return list(db.exec(query.order_by(col(Payment.created_at).desc(), col(Payment.id).desc())))


def invoice_numbers(db: Session, actor: Actor, payments: list[Payment]) -> dict[int, str]:
    """Invoice id → number for the given payments, in one query (the Payments page's column)."""
    actor.require_staff()
    ids = {p.invoice_id for p in payments if p.invoice_id is not None}
    if not ids:
        return {}
    rows = db.exec(
        select(Invoice.id, Invoice.number).where(
            Invoice.workspace_id == actor.workspace_id, col(Invoice.id).in_(ids)
        )
    ).all()
    return {int(i): n for i, n in rows if i is not None}


def unmatched_events(db: Session, actor: Actor) -> list[StripeEvent]:
    """Verified events about objects the hub did not create, newest first (admins)."""
    actor.require_admin()
    return list(
        db.exec(
            select(StripeEvent)
            .where(
                StripeEvent.workspace_id == actor.workspace_id, StripeEvent.result == "unmatched"
            )
            .order_by(col(StripeEvent.id).desc())
        )
    )
