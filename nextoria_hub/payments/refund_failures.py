"""A refund that fails after it was sent (the card was closed, the bank sent it back):
``charge.refund.updated`` with ``status: failed``. Registered with ``@handler``."""

from __future__ import annotations

from sqlmodel import Session

from nextoria_hub.payments.settlement import payment_for_charge, record_refund_failure
from nextoria_hub.payments.stripe_events import OUTSIDE, current_charge
from nextoria_hub.payments.stripe_objects import stripe_id
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, handler


@handler("charge.refund.updated")
def charge_refund_updated(db: Session, ctx: EventContext) -> HandlerResult:
    refund = ctx.obj
    if refund.get("status") != "failed":
        return "ignored", f"refund {refund.get('id')} is {refund.get('status')}: nothing to change"
    charge = current_charge(db, ctx, stripe_id(refund.get("charge")))
    if charge is None:
        return "ignored", f"refund {refund.get('id')}: Stripe could not show its charge"
    if payment_for_charge(db, ctx.workspace_id, charge) is None:
        return "unmatched", f"failed refund of a {OUTSIDE} ({refund.get('id')})"
    recorded = record_refund_failure(
        db, workspace_id=ctx.workspace_id, mode=ctx.mode, refund=refund, charge=charge
    )
    return "applied", "refund failure recorded" if recorded else "refund failure already recorded"
