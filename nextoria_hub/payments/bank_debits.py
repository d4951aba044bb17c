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
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import Invoice, Payment
from nextoria_hub.payments import autopay
from nextoria_hub.payments.settlement import record_processing
from nextoria_hub.payments.stripe_events import (
    OUTSIDE,
    _expanded_pi,
    _invoice_from_metadata,
    _record_success,
    _source,
    payment_intent_failed,
)
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, handler

log = logging.getLogger(__name__)

FAILED = ("requires_payment_method", "canceled")


def _pi_id(value: Any) -> str:
    return str(value.get("id") or "") if isinstance(value, dict) else str(value or "")


def follow_payment_intent(
    db: Session, ctx: EventContext, invoice: Invoice, pi_id: str, session_id: str | None = None
) -> HandlerResult:
    """Apply what Stripe says the PaymentIntent is now: processing, succeeded or failed."""
    pi = _expanded_pi(db, ctx, pi_id)
    if pi is None:
        return "ignored", f"{invoice.number}: Stripe could not show {pi_id}"
    status = str(pi.get("status") or "")
    if status == "succeeded":
        recorded = _record_success(db, ctx, invoice, pi, session_id)
        return "applied", f"{invoice.number}: " + (
            "payment recorded" if recorded else "already recorded"
        )
    if status == "processing":
        source = _source(pi.get("metadata"))
        recorded = record_processing(
            db,
            workspace_id=ctx.workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            mode=ctx.mode,
            payment_intent=pi,
            source=source,
            checkout_session_id=session_id or "",
        )
        if source == "autopay":
            autopay.mark_processing(db, ctx.workspace_id, invoice.id, pi)  # type: ignore[arg-type]
        return "applied", f"{invoice.number}: " + (
            "bank payment processing" if recorded else "nothing to change"
        )
    if status in FAILED and pi.get("last_payment_error"):
        return payment_intent_failed(db, replace(ctx, obj=pi))
    return "ignored", f"{invoice.number}: {pi_id} is {status or 'unknown'}"


def checkout_unpaid(
    db: Session, ctx: EventContext, invoice: Invoice, session: dict[str, Any]
) -> HandlerResult:
    """``checkout.session.completed`` with ``payment_status: unpaid``: a bank debit started."""
    pi_id = _pi_id(session.get("payment_intent"))
    if not pi_id:
        return "ignored", f"{invoice.number}: the session names no PaymentIntent"
    return follow_payment_intent(db, ctx, invoice, pi_id, str(session.get("id") or ""))


@handler("payment_intent.processing")
def payment_intent_processing(db: Session, ctx: EventContext) -> HandlerResult:
    pi = ctx.obj
    invoice, why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    return follow_payment_intent(db, ctx, invoice, _pi_id(pi))


def _async_result(db: Session, ctx: EventContext) -> HandlerResult:
    session = ctx.obj
    if session.get("mode") != "payment":
        return "ignored", f"{session.get('mode')} session {session.get('id')}: nothing to pay"
    invoice, why = _invoice_from_metadata(db, ctx, session.get("metadata"))
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
        try:
            with session_scope() as db:
                invoice = db.get(Invoice, invoice_id)
                assert invoice is not None
                follow_payment_intent(db, ctx, invoice, pi_id, session_id or None)
                still = db.exec(
                    select(Payment.id).where(
                        Payment.workspace_id == workspace_id,
                        Payment.payment_intent_id == pi_id,
                        Payment.status == "processing",
                    )
                ).first()
        except NextoriaError as err:
            log.warning("could not follow %s of workspace %s: %s", pi_id, workspace_id, err.message)
            continue
        answered += still is None
    return answered
