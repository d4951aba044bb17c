"""What each Stripe event does to the hub; registered with ``@handler``.

Every handler runs in the transaction that records the event and goes through the
settlement functions, which are idempotent and monotonic, so events in any order and any
number of times end in the same state.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing import retainers
from nextoria_hub.db import session_scope
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import CheckoutSession, Invoice
from nextoria_hub.payments import autopay
from nextoria_hub.payments.settlement import (
    payment_for_charge,
    record_failed_attempt,
    record_refund,
    settle_payment,
)
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, handler

log = logging.getLogger(__name__)

OUTSIDE = "payment made outside Nextoria Hub"


def _invoice_from_metadata(
    db: Session, ctx: EventContext, metadata: dict[str, Any] | None
) -> tuple[Invoice | None, str]:
    metadata = metadata or {}
    raw = str(metadata.get("nextoria_invoice_id") or "")
    if not raw:
        return None, "no Nextoria Hub invoice in its metadata"
    if not raw.isdigit():
        return None, f"unknown invoice reference “{raw[:40]}”"
    named_mode = metadata.get("nextoria_mode")
    if named_mode and named_mode != ctx.mode:
        return None, f"created in {named_mode} mode but received in {ctx.mode} mode"
    invoice = db.get(Invoice, int(raw))
    if invoice is None or invoice.workspace_id != ctx.workspace_id:
        return None, f"invoice {raw} is not in this workspace"
    return invoice, ""


def _source(metadata: dict[str, Any] | None) -> str:
    source = str((metadata or {}).get("nextoria_source") or "checkout")
    return source if source in ("checkout", "autopay") else "checkout"


def _ref_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


PI_PREFIX = "pi_"


def confirm_with_stripe(ctx: EventContext) -> EventContext:
    """``ctx`` with what Stripe says about the money the event is about (``ctx.stripe``).

    Called before the event's transaction opens: the hub settles from the PaymentIntent
    Stripe returns (amount received, currency, status, metadata), never from the event
    body, so a signed event about a PaymentIntent Stripe never created settles nothing.
    Stripe unreachable raises (the delivery fails and Stripe sends it again).
    """
    obj = ctx.obj
    session_id = ""
    metadata = obj.get("metadata")
    ours = isinstance(metadata, dict) and bool(metadata.get("nextoria_invoice_id"))
    if ctx.event_type in ("payment_intent.succeeded", "checkout.session.completed") and not ours:
        return ctx  # about nothing of ours: the handler says so without asking Stripe
    if ctx.event_type == "payment_intent.succeeded":
        pi_id = _ref_id(obj.get("id"))
    elif ctx.event_type in ("charge.refunded", "invoice.paid"):
        pi_id = _ref_id(obj.get("payment_intent"))
    elif ctx.event_type == "checkout.session.completed" and obj.get("mode") != "setup":
        session_id = _ref_id(obj.get("id"))
        pi_id = ""
    else:
        return ctx
    unknown = {"looked_up": True, "pi": None, "session_id": "", "session": None}
    if ctx.event_type == "checkout.session.completed" and not session_id.startswith("cs_"):
        return replace(ctx, stripe=unknown)  # not an id Stripe gives: it can't know it
    if not session_id and not pi_id.startswith(PI_PREFIX):
        return replace(ctx, stripe=unknown) if pi_id else ctx
    with session_scope() as db:
        try:
            secret_key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        except StripeNotConnected as err:
            return replace(ctx, stripe={"looked_up": False, "error": err.message})
    found: dict[str, Any] = {"looked_up": True, "pi": None, "session_id": "", "session": None}
    try:
        if session_id:
            session = gateway.retrieve_checkout_session(secret_key, session_id)
            found["session"] = session
            if session is not None:
                found["session_id"] = session_id
                pi = session.get("payment_intent")
                found["pi"] = pi if isinstance(pi, dict) else None
        elif ctx.event_type == "payment_intent.succeeded":
            found["session_id"], found["pi"] = gateway.checkout_payment(secret_key, pi_id)
            if found["pi"] is None:
                found["pi"] = gateway.retrieve_payment_intent(secret_key, pi_id)
        else:
            found["pi"] = gateway.retrieve_payment_intent(secret_key, pi_id)
    except gateway.StripeUnavailable:
        raise
    except gateway.StripeGatewayError as err:
        log.warning("could not confirm event %s with Stripe: %s", ctx.event_id, err.message)
        return replace(ctx, stripe={"looked_up": False, "error": err.message})
    return replace(ctx, stripe=found)


class NotConfirmed(RuntimeError):
    """Stripe could not be asked about a payment: fail the delivery so Stripe retries."""


def _confirmed_pi(ctx: EventContext) -> dict[str, Any] | None:
    """The PaymentIntent as Stripe returned it; None if Stripe does not know it."""
    if not ctx.stripe.get("looked_up"):
        raise NotConfirmed(
            "could not confirm the payment with Stripe: " + str(ctx.stripe.get("error") or "")
        )
    pi = ctx.stripe.get("pi")
    return pi if isinstance(pi, dict) else None


UNKNOWN = "Stripe does not know"


@handler("payment_intent.succeeded")
def payment_intent_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    pi_id = _ref_id(ctx.obj.get("id"))
    if not pi_id.startswith(PI_PREFIX):
        return "unmatched", f"{OUTSIDE} ({pi_id[:60]}): not a PaymentIntent id"
    invoice, why = _invoice_from_metadata(db, ctx, ctx.obj.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi_id}): {why}"
    pi = _confirmed_pi(ctx)
    if pi is None:
        return "unmatched", f"{UNKNOWN} PaymentIntent {pi_id}: nothing settled"
    return _settle_confirmed(db, ctx, pi, str(ctx.stripe.get("session_id") or ""))


def _settle_confirmed(
    db: Session, ctx: EventContext, pi: dict[str, Any], session_id: str
) -> HandlerResult:
    """Settle from Stripe's own PaymentIntent: its status, metadata and amount received."""
    if pi.get("status") != "succeeded":
        return "ignored", f"Stripe says {pi.get('id')} is {pi.get('status')}: nothing settled"
    metadata = pi.get("metadata") or {}
    named = metadata.get("nextoria_workspace_id")
    if named and str(named) != str(ctx.workspace_id):
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): Stripe's metadata names workspace {named}"
    invoice, why = _invoice_from_metadata(db, ctx, metadata)
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    recorded = _record_success(db, ctx, invoice, pi, session_id)
    return "applied", f"{invoice.number}: " + (
        "payment recorded" if recorded else "already recorded"
    )


def _record_success(
    db: Session,
    ctx: EventContext,
    invoice: Invoice,
    pi: dict[str, Any],
    session_id: str,
) -> bool:
    """Settle a succeeded PaymentIntent (as Stripe returned it) on its invoice and its
    autopay attempt; ``session_id`` is the Checkout Session that took it, if any. True if new."""
    source = _source(pi.get("metadata"))
    recorded = settle_payment(
        db,
        workspace_id=ctx.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode=ctx.mode,
        payment_intent=pi,
        source=source,
        checkout_session_id=session_id,
    )
    if source == "autopay":
        attempt = autopay.attempt_for_pi(db, ctx.workspace_id, invoice.id, pi)  # type: ignore[arg-type]
        if attempt is not None:
            autopay.apply_success(db, ctx.workspace_id, attempt, pi)
    return recorded


@handler("checkout.session.completed")
def checkout_session_completed(db: Session, ctx: EventContext) -> HandlerResult:
    session = ctx.obj
    if session.get("mode") == "setup":
        return _setup_completed(db, ctx, session)
    invoice, why = _invoice_from_metadata(db, ctx, session.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} (checkout session {session.get('id')}): {why}"
    if not ctx.stripe.get("looked_up"):
        _confirmed_pi(ctx)  # raises: Stripe must be asked first
    actual = ctx.stripe.get("session")
    if not isinstance(actual, dict):
        return "unmatched", f"{UNKNOWN} checkout session {session.get('id')}: nothing settled"
    if actual.get("payment_status") != "paid":
        if actual.get("status") == "complete":
            pi = ctx.stripe.get("pi") or {}
            _mark_processing(db, ctx, str(actual.get("id") or ""), str(pi.get("id") or ""))
        return "ignored", f"{invoice.number}: checkout complete, payment still processing"
    pi = _confirmed_pi(ctx)
    if pi is None:
        return "ignored", f"{invoice.number}: the session names no PaymentIntent"
    return _settle_confirmed(db, ctx, pi, str(actual.get("id") or ""))


def _mark_processing(db: Session, ctx: EventContext, session_id: str, pi_id: str) -> None:
    """A bank debit is on its way: Pay Now waits for it instead of taking money again."""
    row = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == ctx.workspace_id,
            CheckoutSession.session_id == session_id,
        )
    ).first()
    if row is not None and row.status in ("creating", "open", "expiring"):
        row.status = "processing"
        row.payment_intent_id = row.payment_intent_id or pi_id
        db.add(row)


def _end_processing(db: Session, ctx: EventContext, pi_id: str) -> None:
    """The bank debit failed: its (complete) session can't take money again; Pay Now can."""
    rows = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == ctx.workspace_id,
            CheckoutSession.payment_intent_id == pi_id,
            CheckoutSession.status == "processing",
        )
    ).all()
    for row in rows:
        row.status = "expired"
        row.close_reason = "the bank payment failed"
        db.add(row)


@handler("payment_intent.payment_failed")
def payment_intent_failed(db: Session, ctx: EventContext) -> HandlerResult:
    pi = ctx.obj
    invoice, why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    if _source(pi.get("metadata")) == "autopay":
        attempt = autopay.attempt_for_pi(db, ctx.workspace_id, invoice.id, pi)  # type: ignore[arg-type]
        if attempt is not None:
            # Joins the attempt's own schedule: classified and retried once, not twice.
            before = attempt.status
            autopay.apply_failure(db, ctx.workspace_id, attempt, pi)
            return "applied", f"{invoice.number}: autopay attempt {attempt.attempt_no} " + (
                "failed" if before in ("claimed", "unknown") else "already recorded"
            )
    _end_processing(db, ctx, _ref_id(pi.get("id")))
    recorded = record_failed_attempt(
        db,
        workspace_id=ctx.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode=ctx.mode,
        payment_intent=pi,
        source=_source(pi.get("metadata")),
    )
    return "applied", f"{invoice.number}: " + (
        "failed attempt recorded" if recorded else "nothing to change"
    )


@handler("invoice.paid")
def stripe_invoice_paid(db: Session, ctx: EventContext) -> HandlerResult:
    obj = ctx.obj
    stripe_id = str(obj.get("id") or "")
    invoice = (
        db.exec(
            select(Invoice).where(
                Invoice.workspace_id == ctx.workspace_id, Invoice.stripe_invoice_id == stripe_id
            )
        ).first()
        if stripe_id
        else None
    )
    if invoice is None:
        retainer = retainers.retainer_for_subscription(
            db, ctx.workspace_id, retainers.subscription_of(obj)
        )
        if retainer is None or not stripe_id:
            return "unmatched", f"Stripe invoice {stripe_id} was not created by Nextoria Hub"
        invoice = retainers.mirror_stripe_invoice(db, retainer, obj)
    pi_id = _ref_id(obj.get("payment_intent"))
    pi = _confirmed_pi(ctx) if ctx.stripe else None
    if pi_id and pi is None:
        return "unmatched", f"{UNKNOWN} PaymentIntent {pi_id} of Stripe invoice {stripe_id}"
    pi = pi or {
        "id": f"stripe_invoice_{stripe_id}",
        "amount": obj.get("amount_paid"),
        "currency": obj.get("currency"),
    }
    recorded = settle_payment(
        db,
        workspace_id=ctx.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode=ctx.mode,
        payment_intent=pi,
        source="stripe_invoice",
    )
    return "applied", f"{invoice.number}: " + (
        "payment recorded" if recorded else "already recorded"
    )


@handler("customer.subscription.deleted")
def subscription_deleted(db: Session, ctx: EventContext) -> HandlerResult:
    sub_id = str(ctx.obj.get("id") or "")
    retainer = retainers.retainer_for_subscription(db, ctx.workspace_id, sub_id)
    if retainer is not None:
        ended = retainers.subscription_ended(db, retainer, "the Stripe subscription was canceled")
        return "applied", f"retainer {retainer.id} " + ("ended" if ended else "already ended")
    return "unmatched", (
        f"subscription {ctx.obj.get('id')} is not linked to anything in Nextoria Hub "
        "(no retainer is billed through it)"
    )


@handler("charge.refunded")
def charge_refunded(db: Session, ctx: EventContext) -> HandlerResult:
    charge = ctx.obj
    if payment_for_charge(db, ctx.workspace_id, charge) is None and not _settle_charge(
        db, ctx, charge
    ):
        return "unmatched", f"refund of a {OUTSIDE} ({charge.get('id')})"
    changed = record_refund(db, workspace_id=ctx.workspace_id, mode=ctx.mode, charge=charge)
    return "applied", "refund recorded" if changed else "refund already recorded"


def _settle_charge(db: Session, ctx: EventContext, charge: dict[str, Any]) -> bool:
    """A refund that arrives before its payment's event: record the payment first (as
    ``payment_intent.succeeded`` will), or the refund would be lost. True if recorded."""
    if not _ref_id(charge.get("payment_intent")) or not ctx.stripe:
        return False
    pi = _confirmed_pi(ctx)
    if pi is None or pi.get("status") != "succeeded":
        return False
    invoice, _why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    named = (pi.get("metadata") or {}).get("nextoria_workspace_id")
    if invoice is None or (named and str(named) != str(ctx.workspace_id)):
        return False
    _record_success(db, ctx, invoice, pi, "")
    return payment_for_charge(db, ctx.workspace_id, charge) is not None


def _setup_completed(db: Session, ctx: EventContext, session: dict[str, Any]) -> HandlerResult:
    metadata = session.get("metadata") or {}
    if metadata.get("nextoria_purpose") != autopay.PURPOSE:
        return "ignored", f"setup session {session.get('id')} was not started by Nextoria Hub"
    si = session.get("setup_intent")
    si_id = si.get("id") if isinstance(si, dict) else str(si or "")
    if not si_id:
        return "ignored", f"setup session {session.get('id')} names no SetupIntent"
    try:
        full = gateway.retrieve_setup_intent(secret_key_for(db, ctx.workspace_id, ctx.mode), si_id)
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        return "ignored", f"could not read {si_id}: {err.message}"
    if full is None:
        return "ignored", f"{si_id} is unknown to Stripe"
    return _save_setup(db, ctx, full)


def _save_setup(db: Session, ctx: EventContext, si: dict[str, Any]) -> HandlerResult:
    method = autopay.save_method_from_setup_intent(db, ctx.workspace_id, ctx.mode, si)
    if method is None:
        return "ignored", f"{si.get('id')}: not an Autopay card of this workspace and mode"
    return "applied", f"card •••• {method.last4} saved for Autopay"


@handler("setup_intent.succeeded")
def setup_intent_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    si = ctx.obj
    if (si.get("metadata") or {}).get("nextoria_purpose") != autopay.PURPOSE:
        return "ignored", f"setup intent {si.get('id')} was not started by Nextoria Hub"
    return _save_setup(db, ctx, si)
