"""A cheap "version" of an invoice, so an open invoice page can tell when to reload itself.

The pages poll it from a background task (works with any number of web workers, since the
database is the only thing they share); a change of payment, refund, failure or dispute
changes the version.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from nextoria_hub.billing.invoices import get_invoice
from nextoria_hub.db import session_scope
from nextoria_hub.errors import AccessDenied, NotFound
from nextoria_hub.models import InvoiceActivity, Payment, User
from nextoria_hub.ownership import get_owned
from nextoria_hub.tenancy import Actor


def invoice_version(db: Session, actor: Actor, invoice_id: int) -> str:
    """Changes whenever what the invoice page shows about money changes; "" if not visible."""
    try:
        inv = get_invoice(db, actor, invoice_id)
    except (NotFound, AccessDenied):
        return ""
    payments = db.exec(
        select(Payment.status, func.count(), func.max(Payment.id))
        .where(Payment.invoice_id == inv.id, Payment.workspace_id == inv.workspace_id)
        .group_by(Payment.status)
        .order_by(Payment.status)
    ).all()
    activity = db.exec(
        select(func.count(), func.max(InvoiceActivity.id)).where(
            InvoiceActivity.invoice_id == inv.id,
            InvoiceActivity.workspace_id == inv.workspace_id,
        )
    ).one()
    return "|".join(
        str(part)
        for part in (
            inv.status,
            inv.amount_paid,
            inv.amount_refunded,
            inv.payment_failed,
            inv.amount_disputed,
            inv.amount_charged_back,
            payments,
            tuple(activity),
        )
    )


def invoice_version_for(workspace_id: int, user_id: int, invoice_id: int) -> str:
    """The version as ``user_id`` may see it, with a fresh session (for a background task).

    The user is read again each time: someone removed meanwhile gets "" and the poll stops.
    """
    with session_scope() as db:
        user = get_owned(db, User, user_id, workspace_id)
        if user is None or user.removed_at is not None:
            return ""
        return invoice_version(db, Actor.of(user), invoice_id)
