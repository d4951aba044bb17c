"""What each Stripe event does to the hub; registered with ``@handler``.

Every handler runs in the transaction that records the event and goes through the
settlement functions, which are idempotent and monotonic, so events in any order and any
number of times end in the same state.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing import retainers
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import Invoice
from nextoria_hub.payments import autopay
from nextoria_hub.payments.settlement import (
    payment_for_charge,
    record_failed_attempt,
    record_refund,
    settle_payment,
)
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.webhook_handlers import (
    EventContext,
    HandlerResult,
    ask_stripe,
    handler,
)

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


def _expanded_pi(db: Session, ctx: EventContext, pi_id: str) -> dict[str, Any] | None:
    """The PaymentIntent with its charge, asked of Stripe; None if our key can't read it.

    Stripe being unreachable raises: the worker tries the event again later.
    """
    try:
        key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        return ask_stripe(ctx, f"pi:{pi_id}", lambda: gateway.retrieve_payment_intent(key, pi_id))
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        log.warning("could not read PaymentIntent for event %s: %s", ctx.event_id, err.message)
        return None


def _checkout_payment(
    db: Session, ctx: EventContext, pi_id: str
) -> tuple[str, dict[str, Any] | None]:
    """The Checkout Session that took this payment and the PaymentIntent with its charge, in
    one call (``("", None)`` if Stripe can't say right now; unreachable raises, as above)."""
    try:
        key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        return ask_stripe(ctx, f"checkout:{pi_id}", lambda: gateway.checkout_payment(key, pi_id))
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        log.warning("could not find the session for event %s: %s", ctx.event_id, err.message)
        return "", None


@handler("payment_intent.succeeded")
def payment_intent_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    pi = ctx.obj
    invoice, why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    session_id: str | None = None
    if _source(pi.get("metadata")) == "checkout":
        session_id, expanded = _checkout_payment(db, ctx, str(pi["id"]))
        pi = expanded or pi
    if isinstance(pi.get("latest_charge"), str):
        pi = _expanded_pi(db, ctx, str(pi["id"])) or pi
    recorded = _record_success(db, ctx, invoice, pi, session_id)
    return "applied", f"{invoice.number}: " + (
        "payment recorded" if recorded else "already recorded"
    )


def _record_success(
    db: Session,
    ctx: EventContext,
    invoice: Invoice,
    pi: dict[str, Any],
    session_id: str | None = None,
) -> bool:
    """Settle a succeeded PaymentIntent on its invoice (and its autopay attempt); True if new.

    ``session_id`` is the Checkout Session when the caller already knows it; otherwise a
    Checkout payment's session is asked of Stripe.
    """
    source = _source(pi.get("metadata"))
    if session_id is None:
        session_id = _checkout_payment(db, ctx, str(pi["id"]))[0] if source == "checkout" else ""
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
    if session.get("payment_status") != "paid":
        from nextoria_hub.payments import bank_debits  # it imports this module

        return bank_debits.checkout_unpaid(db, ctx, invoice, session)
    pi_ref = session.get("payment_intent")
    pi_id = pi_ref.get("id") if isinstance(pi_ref, dict) else str(pi_ref or "")
    if not pi_id:
        return "ignored", f"{invoice.number}: the session names no PaymentIntent"
    pi = _expanded_pi(db, ctx, pi_id) or {
        "id": pi_id,
        "amount": session.get("amount_total"),
        "currency": session.get("currency"),
        "metadata": session.get("metadata") or {},
    }
    recorded = settle_payment(
        db,
        workspace_id=ctx.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode=ctx.mode,
        payment_intent=pi,
        source=_source(pi.get("metadata")),
        checkout_session_id=str(session.get("id") or ""),
    )
    return "applied", f"{invoice.number}: " + (
        "payment recorded" if recorded else "already recorded"
    )


@handler("payment_intent.payment_failed")
def payment_intent_failed(db: Session, ctx: EventContext) -> HandlerResult:
    pi = ctx.obj
    invoice, why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi.get('id')}): {why}"
    pi = _with_failed_charge(db, ctx, pi)
    if _source(pi.get("metadata")) == "autopay":
        attempt = autopay.attempt_for_pi(db, ctx.workspace_id, invoice.id, pi)  # type: ignore[arg-type]
        if attempt is not None:
            # Joins the attempt's own schedule: classified and retried once, not twice.
            before = attempt.status
            autopay.apply_failure(db, ctx.workspace_id, attempt, pi)
            return "applied", f"{invoice.number}: autopay attempt {attempt.attempt_no} " + (
                "failed" if before in ("claimed", "unknown") else "already recorded"
            )
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


def _with_failed_charge(db: Session, ctx: EventContext, pi: dict[str, Any]) -> dict[str, Any]:
    """The PaymentIntent with its failed charge expanded: a bank debit's reason (account
    closed, IBAN not matched…) is on the charge, not in ``last_payment_error``."""
    charge_id = pi.get("latest_charge")
    if not isinstance(charge_id, str) or not charge_id:
        return pi
    current = _expanded_pi(db, ctx, str(pi["id"])) or {}
    charge = current.get("latest_charge")
    if isinstance(charge, dict) and charge.get("id") == charge_id:
        return {**pi, "latest_charge": charge}
    return pi


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
    pi_ref = obj.get("payment_intent")
    pi_id = pi_ref.get("id") if isinstance(pi_ref, dict) else str(pi_ref or "")
    pi = (_expanded_pi(db, ctx, pi_id) if pi_id else None) or {
        "id": pi_id or f"stripe_invoice_{stripe_id}",
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
    current = current_charge(db, ctx, str(charge.get("id") or ""))  # a refund may have failed since
    changed = record_refund(
        db, workspace_id=ctx.workspace_id, mode=ctx.mode, charge=current or charge
    )
    return "applied", "refund recorded" if changed else "refund already recorded"


def current_charge(db: Session, ctx: EventContext, charge_id: str) -> dict[str, Any] | None:
    """The charge as Stripe has it now; None if it can't say (unreachable raises)."""
    if not charge_id:
        return None
    try:
        key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        return ask_stripe(
            ctx, f"charge:{charge_id}", lambda: gateway.retrieve_charge(key, charge_id)
        )
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        log.warning("could not read the charge for event %s: %s", ctx.event_id, err.message)
        return None


def _settle_charge(db: Session, ctx: EventContext, charge: dict[str, Any]) -> bool:
    """A refund that arrives before its payment's event: record the payment first (as
    ``payment_intent.succeeded`` will), or the refund would be lost. True if recorded."""
    pi_ref = charge.get("payment_intent")
    pi_id = pi_ref.get("id") if isinstance(pi_ref, dict) else str(pi_ref or "")
    if not pi_id:
        return False
    pi = _expanded_pi(db, ctx, pi_id)
    if pi is None or pi.get("status") != "succeeded":
        return False
    invoice, _why = _invoice_from_metadata(db, ctx, pi.get("metadata"))
    named = (pi.get("metadata") or {}).get("nextoria_workspace_id")
    if invoice is None or (named and str(named) != str(ctx.workspace_id)):
        return False
    _record_success(db, ctx, invoice, pi)
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
        key = secret_key_for(db, ctx.workspace_id, ctx.mode)
        full = ask_stripe(ctx, f"si:{si_id}", lambda: gateway.retrieve_setup_intent(key, si_id))
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
