"""Bank debits (ACH Direct Debit, SEPA Direct Debit): confirmed as ``processing``, settled by
the bank days later. Handlers for the events that follow one, registered with ``@handler``.

Each handler reads the PaymentIntent's current state from Stripe and applies that, whatever
the event said: the events of one debit (``payment_intent.processing``, Checkout's
``completed`` with ``payment_status: unpaid``, then ``succeeded``/``payment_failed`` and
``async_payment_succeeded``/``async_payment_failed``) arrive in any order and any number of
times, and all end in the state Stripe is in. A paid invoice never goes back.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import Invoice, Payment
from nextoria_hub.payments.settlement import processing_payment
from nextoria_hub.payments.stripe_events import (
    OUTSIDE,
    _invoice_from_metadata,
    checkout_unpaid,
    follow_payment_intent,
)
from nextoria_hub.payments.stripe_objects import NextoriaMetadata, stripe_id
from nextoria_hub.payments.webhook_handlers import (
    EventContext,
    HandlerResult,
    handler,
    run_asking_stripe,
)

log = logging.getLogger(__name__)


@handler("payment_intent.processing")
def payment_intent_processing(db: Session, ctx: EventContext) -> HandlerResult:
    pi = ctx.obj
    invoice, why = _invoice_from_metadata(db, ctx, NextoriaMetadata.of(pi))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    return follow_payment_intent(db, ctx, invoice, stripe_id(pi))


def _async_result(db: Session, ctx: EventContext) -> HandlerResult:
    session = ctx.obj
    if session.get("mode") != "payment":
        return "ignored", f"{session.get('mode')} session {session.get('id')}: nothing to pay"
    invoice, why = _invoice_from_metadata(db, ctx, NextoriaMetadata.of(session))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} (checkout session {session.get('id')}): {why}"
    return checkout_unpaid(db, ctx, invoice, session)


@handler("checkout.session.async_payment_succeeded")
def async_payment_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    return _async_result(db, ctx)


@handler("checkout.session.async_payment_failed")
def async_payment_failed(db: Session, ctx: EventContext) -> HandlerResult:
    return _async_result(db, ctx)


def follow_processing_debits(older_than: timedelta = timedelta(hours=1)) -> int:
    """The job: ask Stripe about bank debits still processing after ``older_than``, so a
    lost webhook never leaves an invoice Processing for good. Returns how many the bank has
    answered. One transaction per debit; a workspace Stripe refuses is skipped."""
    cutoff = utcnow() - older_than
    with session_scope() as db:
        rows = [
            (p.workspace_id, p.mode, p.invoice_id, p.payment_intent_id, p.checkout_session_id)
            for p in db.exec(
                select(Payment)
                .where(
                    Payment.kind == "payment",
                    Payment.status == "processing",
                    Payment.created_at <= cutoff,
                )
                .order_by(col(Payment.id))
            )
        ]
    answered = 0
    for workspace_id, mode, invoice_id, pi_id, session_id in rows:
        ctx = EventContext(workspace_id, mode, f"follow-{pi_id}", "job", {}, 0)

        def follow(
            db: Session,
            ctx: EventContext,
            invoice_id: int = invoice_id,
            pi_id: str = pi_id,
            session_id: str = session_id,
        ) -> bool:
            """Apply Stripe's answer; True if the bank has answered (no longer processing)."""
            invoice = db.get(Invoice, invoice_id)
            assert invoice is not None
            follow_payment_intent(db, ctx, invoice, pi_id, session_id or None)
            return processing_payment(db, ctx.workspace_id, invoice_id) is None

        try:
            answered += run_asking_stripe(ctx, follow)
        except NextoriaError as err:
            log.warning("could not follow %s of workspace %s: %s", pi_id, workspace_id, err.message)
    return answered
