"""Disputes (chargebacks): the client's bank pulls a payment back until the dispute is decided.

The invoice stays Paid but is flagged "Disputed" with the amount at risk; a lost dispute is
recorded as money returned (``Invoice.amount_charged_back``), a won one clears the flag. Every
change goes through ``apply_dispute``, which reads the dispute's state as Stripe has it now,
so ``created`` and ``closed`` in any order or number end the same way.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.invoices import add_activity
from nextoria_hub.billing.money import format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import Client, Dispute, DisputeOutcome, Invoice, Payment, Workspace
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications.outbox import email_admins
from nextoria_hub.payments.settlement import _lock_invoice, payment_for_charge
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.stripe_events import OUTSIDE, _settle_charge
from nextoria_hub.payments.stripe_objects import stripe_id
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, ask_stripe, handler
from nextoria_hub.settings import get_settings

# Stripe's dispute statuses, as the product reads them. An inquiry closed without a
# chargeback (``warning_closed``) cost nothing: it clears the flag like a won dispute.
CLOSED = {
    "won": DisputeOutcome.won,
    "warning_closed": DisputeOutcome.won,
    "lost": DisputeOutcome.lost,
}
REASONS = {
    "fraudulent": "the cardholder says they did not make this payment",
    "duplicate": "the client says they were charged twice",
    "product_not_received": "the client says they did not receive what they paid for",
    "product_unacceptable": "the client says what they received was not as described",
    "subscription_canceled": "the client says they canceled",
    "credit_not_processed": "the client says a promised refund was not made",
    "unrecognized": "the client does not recognise the payment",
}


def apply_dispute(
    db: Session, *, workspace_id: int, mode: str, dispute: dict[str, Any], payment: Payment
) -> list[str]:
    """Bring the invoice in line with ``dispute`` (as Stripe has it now): flag it when the
    dispute is new, and when Stripe has decided it, clear the flag (won) or record the money
    as returned (lost). Monotonic: a decided dispute is never reopened. Returns what changed."""
    invoice = _lock_invoice(db, workspace_id, payment.invoice_id)
    dispute_id = stripe_id(dispute)
    row = db.exec(
        select(Dispute).where(
            Dispute.workspace_id == workspace_id, Dispute.dispute_id == dispute_id
        )
    ).first()
    changes: list[str] = []
    counts = str(dispute.get("currency") or "").lower() == invoice.currency
    if row is None:
        row = Dispute(
            workspace_id=workspace_id,
            invoice_id=require_id(invoice),
            payment_id=payment.id,
            mode=mode,
            dispute_id=dispute_id,
            charge_id=stripe_id(dispute.get("charge")),
            amount=int(dispute.get("amount") or 0),
            currency=str(dispute.get("currency") or payment.currency).lower(),
            reason=str(dispute.get("reason") or "")[:40],
            stripe_status=str(dispute.get("status") or "")[:30],
        )
        db.add(row)
        if counts:
            invoice.amount_disputed += row.amount
        money = format_money(row.amount, row.currency)
        why = REASONS.get(row.reason, row.reason.replace("_", " ") or "no reason given")
        add_activity(
            db,
            invoice,
            "disputed",
            f"{money} disputed: {why}. The money is held until the bank decides; answer it in "
            f"the Stripe Dashboard → Disputes ({mode} mode; {dispute_id})",
        )
        _email(db, invoice, row, "dispute_opened_admin")
        changes.append("opened")
    outcome = CLOSED.get(str(dispute.get("status") or ""))
    row.stripe_status = str(dispute.get("status") or row.stripe_status)[:30]
    if outcome is not None and row.outcome == DisputeOutcome.open:
        row.outcome = outcome
        row.closed_at = utcnow()
        money = format_money(row.amount, row.currency)
        if counts:
            invoice.amount_disputed = max(invoice.amount_disputed - row.amount, 0)
        if outcome == DisputeOutcome.lost:
            if counts:
                invoice.amount_charged_back += row.amount
            add_activity(
                db,
                invoice,
                "dispute_lost",
                f"Dispute lost: {money} returned to the client's bank ({dispute_id})",
            )
        else:
            add_activity(
                db, invoice, "dispute_won", f"Dispute won: the {money} stays paid ({dispute_id})"
            )
        _email(db, invoice, row, "dispute_closed_admin")
        record_audit(
            db,
            None,
            f"invoice.dispute_{outcome}",
            f"{invoice.number}: {money} ({dispute_id})",
            workspace_id=workspace_id,
        )
        changes.append(str(outcome))
    db.add(row)
    db.add(invoice)
    db.flush()
    return changes


def _email(db: Session, invoice: Invoice, row: Dispute, kind: str) -> None:
    workspace = db.get(Workspace, invoice.workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    email_admins(
        db,
        invoice.workspace_id,
        kind=kind,
        context={
            "workspace_name": workspace.name,
            "client_name": client.name,
            "amount": format_money(row.amount, row.currency),
            "number": invoice.number,
            "reason": REASONS.get(row.reason, row.reason.replace("_", " ") or "no reason given"),
            "outcome": str(row.outcome),
            "link": get_settings().workspace_url(workspace.slug, f"/invoices/{invoice.id}"),
        },
    )


def disputes_at_risk(db: Session, workspace_id: int) -> list[Dispute]:
    """Open disputes of the workspace, oldest first (the dashboard's amount at risk)."""
    return list(
        db.exec(
            select(Dispute)
            .where(Dispute.workspace_id == workspace_id, Dispute.outcome == DisputeOutcome.open)
            .order_by(col(Dispute.opened_at))
        )
    )


def _current(db: Session, ctx: EventContext, dispute_id: str) -> dict[str, Any] | None:
    try:
        key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        return ask_stripe(
            ctx, f"dispute:{dispute_id}", lambda: gateway.retrieve_dispute(key, dispute_id)
        )
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError):
        return None


def _on_dispute(db: Session, ctx: EventContext) -> HandlerResult:
    dispute = _current(db, ctx, stripe_id(ctx.obj))
    if dispute is None:  # the event body is a hint, not proof
        return "unmatched", f"Stripe could not show dispute {stripe_id(ctx.obj)[:40]}"
    charge = {
        "id": stripe_id(dispute.get("charge")),
        "payment_intent": dispute.get("payment_intent"),
    }
    payment = payment_for_charge(db, ctx.workspace_id, charge)
    if payment is None and _settle_charge(db, ctx, charge):  # disputed before we saw it paid
        payment = payment_for_charge(db, ctx.workspace_id, charge)
    if payment is None:
        return "unmatched", f"dispute of a {OUTSIDE} ({dispute.get('id')})"
    changes = apply_dispute(
        db, workspace_id=ctx.workspace_id, mode=ctx.mode, dispute=dispute, payment=payment
    )
    return "applied", f"dispute {dispute.get('id')}: " + (
        ", ".join(changes) if changes else "already recorded"
    )


@handler("charge.dispute.created")
def dispute_created(db: Session, ctx: EventContext) -> HandlerResult:
    return _on_dispute(db, ctx)


@handler("charge.dispute.closed")
def dispute_closed(db: Session, ctx: EventContext) -> HandlerResult:
    return _on_dispute(db, ctx)
