"""What each Stripe event does to the hub; registered with ``@handler``.

Every handler runs in the transaction that records the event and goes through the
settlement functions, which are idempotent and monotonic, so events in any order and any
number of times end in the same state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
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
    record_processing,
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
# A PaymentIntent Stripe has given up on: the bank (or card) refused it.
FAILED = ("requires_payment_method", "canceled")


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
UNKNOWN = "Stripe does not know"


class NotConfirmed(RuntimeError):
    """Stripe could not be asked about a payment: the worker tries the event again later."""


def _ask(db: Session, ctx: EventContext, question: str, call: Callable[[str], Any]) -> Any:
    """``ask_stripe`` with the workspace's secret key, read (and unsealed) only when Stripe
    must still be asked: the try that applies the answer does not read it again."""
    if question in ctx.answers:
        return ask_stripe(ctx, question, lambda: None)
    key = secret_key_for(db, ctx.workspace_id, ctx.mode)
    return ask_stripe(ctx, question, lambda: call(key))


def _expanded_pi(db: Session, ctx: EventContext, pi_id: str) -> dict[str, Any] | None:
    """The PaymentIntent with its charge, asked of Stripe; None if our key can't read it.

    Stripe being unreachable raises: the worker tries the event again later.
    """
    try:
        return _ask(db, ctx, f"pi:{pi_id}", lambda key: gateway.retrieve_payment_intent(key, pi_id))
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        log.warning("could not read PaymentIntent for event %s: %s", ctx.event_id, err.message)
        return None


def confirmed_payment(
    db: Session, ctx: EventContext, pi_id: str
) -> tuple[str, dict[str, Any] | None]:
    """(the Checkout Session that took it, the PaymentIntent as Stripe returns it now).

    The hub settles from Stripe's answer (status, amount received, currency, metadata), never
    from the event body: a signed event about a PaymentIntent Stripe never created gives
    ``("", None)`` and settles nothing. Asked with no transaction open (``ask_stripe``); when
    Stripe can't be asked, raises so that the worker tries the event again later.
    """
    if not pi_id.startswith(PI_PREFIX):
        return "", None
    try:
        session_id, pi = _ask(
            db, ctx, f"checkout:{pi_id}", lambda key: gateway.checkout_payment(key, pi_id)
        )
        if pi is None:
            pi = _ask(
                db, ctx, f"pi:{pi_id}", lambda key: gateway.retrieve_payment_intent(key, pi_id)
            )
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        raise NotConfirmed(f"could not confirm {pi_id} with Stripe: {err.message}") from None
    return session_id, pi


def _confirmed_session(db: Session, ctx: EventContext, session_id: str) -> dict[str, Any] | None:
    """The Checkout Session as Stripe returns it now (PaymentIntent and charge expanded);
    None if Stripe does not know it. Raises, as above, when Stripe can't be asked."""
    if not session_id.startswith("cs_"):
        return None
    try:
        return _ask(
            db,
            ctx,
            f"session:{session_id}",
            lambda key: gateway.retrieve_checkout_session(key, session_id),
        )
    except gateway.StripeUnavailable:
        raise
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        raise NotConfirmed(f"could not confirm {session_id} with Stripe: {err.message}") from None


@handler("payment_intent.succeeded")
def payment_intent_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    pi_id = _ref_id(ctx.obj.get("id"))
    if not pi_id.startswith(PI_PREFIX):
        return "unmatched", f"{OUTSIDE} ({pi_id[:60]}): not a PaymentIntent id"
    invoice, why = _invoice_from_metadata(db, ctx, ctx.obj.get("metadata"))
    if invoice is None:
        return "unmatched", f"{OUTSIDE} ({pi_id}): {why}"
    session_id, pi = confirmed_payment(db, ctx, pi_id)
    if pi is None:
        return "unmatched", f"{UNKNOWN} PaymentIntent {pi_id}: nothing settled"
    return _settle_confirmed(db, ctx, pi, session_id)


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
    actual = _confirmed_session(db, ctx, _ref_id(session.get("id")))
    if actual is None:
        return "unmatched", f"{UNKNOWN} checkout session {session.get('id')}: nothing settled"
    if actual.get("payment_status") != "paid":
        return checkout_unpaid(db, ctx, invoice, actual)
    pi = actual.get("payment_intent")
    if not isinstance(pi, dict):
        return "ignored", f"{invoice.number}: the session names no PaymentIntent"
    return _settle_confirmed(db, ctx, pi, str(actual.get("id") or ""))


def follow_payment_intent(
    db: Session, ctx: EventContext, invoice: Invoice, pi_id: str, session_id: str | None = None
) -> HandlerResult:
    """Apply what Stripe says the PaymentIntent is now: processing, succeeded or failed."""
    pi = _expanded_pi(db, ctx, pi_id)
    if pi is None:
        return "ignored", f"{invoice.number}: Stripe could not show {pi_id}"
    status = str(pi.get("status") or "")
    if status == "succeeded":
        return _settle_confirmed(db, ctx, pi, session_id or "")
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
    """A Checkout Session complete but not paid yet: a bank debit started (or its answer)."""
    pi_id = _ref_id(session.get("payment_intent"))
    if not pi_id:
        return "ignored", f"{invoice.number}: the session names no PaymentIntent"
    return follow_payment_intent(db, ctx, invoice, pi_id, str(session.get("id") or ""))


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
    pi_id = _ref_id(obj.get("payment_intent"))
    pi = confirmed_payment(db, ctx, pi_id)[1] if pi_id else None
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
    pi_id = _ref_id(charge.get("payment_intent"))
    if not pi_id:
        return False
    _session_id, pi = confirmed_payment(db, ctx, pi_id)
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
    method = autopay.save_method_from_setup_intent(
        db, ctx.workspace_id, ctx.mode, si, lambda key, call: ask_stripe(ctx, key, call)
    )
    if method is None:
        return "ignored", f"{si.get('id')}: not an Autopay card of this workspace and mode"
    return "applied", f"card •••• {method.last4} saved for Autopay"


@handler("setup_intent.succeeded")
def setup_intent_succeeded(db: Session, ctx: EventContext) -> HandlerResult:
    si = ctx.obj
    if (si.get("metadata") or {}).get("nextoria_purpose") != autopay.PURPOSE:
        return "ignored", f"setup intent {si.get('id')} was not started by Nextoria Hub"
    return _save_setup(db, ctx, si)
