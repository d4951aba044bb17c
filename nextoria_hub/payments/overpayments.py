"""Overpayments: money kept off an invoice until the admin refunds it with one click.

The refund is created through the gateway with no transaction open; it comes back through
the ``charge.refunded`` webhook like any refund, which marks the overpayment refunded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.money import format_money
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Invoice, Overpayment, Payment
from nextoria_hub.models.ids import require_id
from nextoria_hub.ownership import get_owned
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.stripe_objects import NextoriaMetadata
from nextoria_hub.tenancy import Actor

UNRESOLVED = ("open", "refunding")


@dataclass(frozen=True)
class OverpaymentView:
    id: int
    invoice_id: int
    number: str
    amount: str
    mode: str
    reason: str
    status: str
    refund_error: str


def list_overpayments(
    db: Session, actor: Actor, *, invoice_id: int | None = None, unresolved: bool = False
) -> list[OverpaymentView]:
    """The workspace's overpayments, newest first (staff)."""
    actor.require_staff()
    query = (
        select(Overpayment, Invoice.number)
        .join(Invoice, col(Invoice.id) == col(Overpayment.invoice_id))
        .where(Overpayment.workspace_id == actor.workspace_id)
    )
    if invoice_id is not None:
        query = query.where(Overpayment.invoice_id == invoice_id)
    if unresolved:
        query = query.where(col(Overpayment.status).in_(UNRESOLVED))
    rows = db.exec(query.order_by(col(Overpayment.id).desc())).all()
    return [
        OverpaymentView(
            id=require_id(o),
            invoice_id=o.invoice_id,
            number=number,
            amount=format_money(o.amount, o.currency),
            mode=o.mode,
            reason=o.detail or o.reason,
            status=o.status,
            refund_error=o.refund_error,
        )
        for o, number in rows
    ]


def refund_overpayment(actor: Actor, overpayment_id: int) -> str:
    """Refund an overpayment at Stripe (admins); the Stripe refund id.

    Marked ``refunding`` and committed first, Stripe called with no transaction open, and
    the same idempotency key on every try, so a double click or a retry refunds once.
    """
    actor.require_admin()
    with session_scope() as db:
        over = get_owned(db, Overpayment, overpayment_id, actor)
        if over is None:
            raise NotFound("This overpayment does not exist.")
        if over.status == "refunded":
            raise ValidationError("This overpayment was already refunded.", "overpayment")
        payment = db.get(Payment, over.payment_id)
        assert payment is not None
        if payment.mode not in ("test", "live") or not payment.payment_intent_id.startswith("pi_"):
            raise ValidationError(
                "This money was not paid through Stripe; return it outside the hub.", "overpayment"
            )
        secret_key = secret_key_for(db, actor.workspace_id, payment.mode)
        pi_id, amount, mode = payment.payment_intent_id, over.amount, payment.mode
        over.status = "refunding"
        over.refund_error = ""
        db.add(over)
    try:
        refund = gateway.create_refund(
            secret_key,
            payment_intent_id=pi_id,
            amount=amount,
            metadata=NextoriaMetadata(
                workspace_id=str(actor.workspace_id), overpayment_id=str(overpayment_id)
            ).to_stripe(),
            idempotency_key=f"overpayment-refund-{actor.workspace_id}-{overpayment_id}",
        )
    except gateway.StripeGatewayError as err:
        with session_scope() as db:
            over = db.get(Overpayment, overpayment_id)
            if over is not None and over.status == "refunding":
                over.status = "open"
                over.refund_error = err.message
                db.add(over)
        raise ValidationError(err.message, "overpayment") from None
    with session_scope() as db:
        over = db.get(Overpayment, overpayment_id)
        assert over is not None
        over.refund_id = str(refund.get("id") or "")
        db.add(over)
        record_audit(
            db,
            actor,
            "invoice.overpayment_refund",
            f"overpayment {overpayment_id}: {amount} refunded ({mode}; {over.refund_id})",
        )
    return str(refund.get("id") or "")
