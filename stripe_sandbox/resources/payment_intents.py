"""PaymentIntents and the charges they create: the heart of the test-card behaviours."""

from __future__ import annotations

from typing import Any

from .. import cards
from ..api import Ctx, Params, created_filter, paginate, route
from ..errors import StripeError, invalid
from ..fixtures import build
from ..ids import new_id, token
from ..method_types import changes as method_types_change
from ..method_types import resolve as resolve_method_types
from ..store import private, public
from .account import charges_enabled
from .mandates import acceptance_from
from .payment_methods import attach, card_number, pm_from_data, resolve_pm

_MINIMUM = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}


def new_pi(
    ctx: Ctx,
    amount: int,
    currency: str,
    *,
    customer: str | None = None,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
    payment_method_types: list[str] | None = None,
) -> dict[str, Any]:
    if amount < _MINIMUM.get(currency, 1):
        raise invalid(
            f"Amount must be at least {_MINIMUM.get(currency, 1)} {currency}",
            param="amount",
            code="amount_too_small",
        )
    pi_id = new_id("pi")
    pi = build("payment_intent", id=pi_id, object="payment_intent")
    pi.update(
        amount=amount,
        amount_capturable=0,
        amount_received=0,
        amount_refunded=0,
        currency=currency,
        customer=customer,
        metadata=metadata or {},
        description=description,
        client_secret=f"{pi_id}_secret_{token(25)}",
        created=ctx.now,
        livemode=ctx.livemode,
        status="requires_payment_method",
        payment_method=None,
        payment_method_types=payment_method_types or ["card"],
        latest_charge=None,
        last_payment_error=None,
        next_action=None,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic",
        confirmation_method="automatic",
        setup_future_usage=None,
        payment_method_options={"card": {"request_three_d_secure": "automatic"}},
    )
    return pi


def _charge(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], failure: cards.Failure | None
) -> dict:
    ok = failure is None
    card = pm.get("card") or {}
    charge = build("charge", id=new_id("ch"), object="charge")
    charge.update(
        amount=pi["amount"],
        amount_captured=pi["amount"] if ok else 0,
        amount_refunded=0,
        balance_transaction=new_id("txn") if ok else None,
        billing_details=pm.get("billing_details"),
        captured=ok,
        created=ctx.now,
        currency=pi["currency"],
        customer=pi.get("customer"),
        description=pi.get("description"),
        failure_code=None if ok else failure.code,
        failure_message=None if ok else failure.message,
        livemode=ctx.livemode,
        metadata=dict(pi.get("metadata") or {}),
        paid=ok,
        payment_intent=pi["id"],
        payment_method=pm["id"],
        refunded=False,
        status="succeeded" if ok else "failed",
        receipt_url=None,
        outcome={
            "network_status": "approved_by_network" if ok else "declined_by_network",
            "reason": None if ok else failure.decline_code,
            "risk_level": "normal",
            "seller_message": "Payment complete."
            if ok
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if ok else "issuer_declined",
        },
    )
    charge["payment_method_details"] = {
        "type": "card",
        "card": {
            "brand": card.get("brand"),
            "last4": card.get("last4"),
            "exp_month": card.get("exp_month"),
            "exp_year": card.get("exp_year"),
            "funding": card.get("funding"),
            "country": card.get("country"),
            "fingerprint": card.get("fingerprint"),
            "network": card.get("brand"),
            "checks": card.get("checks"),
            "three_d_secure": None,
        },
    }
    ctx.save(charge)
    ctx.emit("charge.succeeded" if ok else "charge.failed", charge)
    return charge


def succeed(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    if pm["type"] == "card":
        charge = _charge(ctx, pi, pm, None)
    else:  # iDEAL, once the customer authorised it at their bank
        from .bank_debits import new_charge

        charge = new_charge(ctx, pi, pm, "succeeded", None)
        ctx.emit("charge.succeeded", charge)
    pi.update(
        status="succeeded",
        amount_received=pi["amount"],
        latest_charge=charge["id"],
        payment_method=pm["id"],
        last_payment_error=None,
        next_action=None,
    )
    private(pi).pop("pending_pm", None)
    if pi.get("setup_future_usage") and pi.get("customer"):
        customer = ctx.sb.store.get(ctx.scope, pi["customer"])
        if customer is not None and not pm.get("customer"):
            attach(ctx, pm, customer)
    ctx.save(pi)
    ctx.emit("payment_intent.succeeded", pi)
    if pm["type"] == "card" and card_number(pm) == cards.DISPUTED:
        from .disputes import open_dispute

        open_dispute(ctx, charge)
    return pi


def fail(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], failure: cards.Failure, with_charge: bool
) -> StripeError:
    """Record a failed attempt; returns the 402 the API answers with."""
    charge = _charge(ctx, pi, pm, failure) if with_charge else None
    last = failure.as_last_error()
    last["payment_method"] = public(pm)
    if charge is not None:
        last["charge"] = charge["id"]
        pi["latest_charge"] = charge["id"]
    pi.update(status="requires_payment_method", payment_method=None, last_payment_error=last)
    pi["next_action"] = None
    private(pi).pop("pending_pm", None)
    ctx.save(pi)
    ctx.emit("payment_intent.payment_failed", pi)
    extra: dict[str, Any] = {"payment_intent": public(pi), "payment_method": public(pm)}
    if charge is not None:
        extra["charge"] = charge["id"]
    return failure.error(**extra)


def fail_authentication(ctx: Ctx, pi: dict[str, Any]) -> dict[str, Any]:
    pm = ctx.sb.store.get(ctx.scope, private(pi).get("pending_pm", ""))
    pi.update(
        status="requires_payment_method",
        payment_method=None,
        next_action=None,
        last_payment_error={
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": cards.AUTH_FAILED_MESSAGE,
            "payment_method": public(pm) if pm else None,
        },
    )
    private(pi).pop("pending_pm", None)
    ctx.save(pi)
    ctx.emit("payment_intent.payment_failed", pi)
    return pi


def confirm(
    ctx: Ctx,
    pi: dict[str, Any],
    pm: dict[str, Any],
    *,
    off_session: bool = False,
    return_url: str | None = None,
    acceptance: dict[str, Any] | None = None,
    mandate_id: str | None = None,
) -> dict[str, Any]:
    """Try to charge ``pm``; raises the 402 card error on failure (state is kept)."""
    if pi["status"] not in {"requires_payment_method", "requires_confirmation", "requires_action"}:
        raise invalid(
            f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    charges_enabled(ctx)
    if pi.get("customer") and pm.get("customer") and pm["customer"] != pi["customer"]:
        raise invalid(
            f"The provided PaymentMethod {pm['id']} was previously used with a PaymentIntent "
            "without Customer attachment, shared with a connected account without Customer "
            "attachment, or was detached from a Customer.",
            param="payment_method",
        )
    if pm["type"] != "card":
        from . import bank_debits

        return bank_debits.confirm_pi(
            ctx, pi, pm, acceptance=acceptance, mandate_id=mandate_id, return_url=return_url
        )
    pi["payment_method"] = pm["id"]
    result = cards.outcome(card_number(pm), setup=False, off_session=off_session)
    if result is None:
        return succeed(ctx, pi, pm)
    if result == "action":
        next_action: dict[str, Any] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
        }
        if return_url:
            next_action = {
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": f"{ctx.base_url}/_sandbox/authenticate/{pi['id']}",
                    "return_url": return_url,
                },
            }
        pi.update(status="requires_action", next_action=next_action)
        private(pi)["pending_pm"] = pm["id"]
        ctx.save(pi)
        ctx.emit("payment_intent.requires_action", pi)
        return pi
    assert isinstance(result, cards.Failure)
    raise fail(ctx, pi, pm, result, with_charge=result.code == "card_declined")


def authenticate(ctx: Ctx, pi: dict[str, Any], complete: bool) -> dict[str, Any]:
    """Finish (or fail) a pending 3D Secure step."""
    if pi["status"] != "requires_action":
        raise invalid(f"PaymentIntent {pi['id']} does not require authentication.")
    if not complete:
        return fail_authentication(ctx, pi)
    pm = ctx.get(private(pi)["pending_pm"], "PaymentMethod", "pm_")
    return succeed(ctx, pi, pm)


@route("POST", "/v1/payment_intents", "payment_intents")
def create_pi(ctx: Ctx, p: Params) -> dict[str, Any]:
    amount = p.int("amount", required=True) or 0
    currency = (p.str("currency", required=True) or "").lower()
    customer = p.str("customer")
    if customer:
        ctx.get(customer, "customer", "cus_", "customer")
    pi = new_pi(
        ctx,
        amount,
        currency,
        customer=customer,
        metadata=p.metadata(),
        description=p.str("description"),
        payment_method_types=resolve_method_types(p, currency),
    )
    pi["receipt_email"] = p.str("receipt_email")
    pi["setup_future_usage"] = p.str("setup_future_usage")
    if p.bool("off_session") and not p.bool("confirm"):
        raise invalid("You may only specify `off_session` when `confirm=true`.", "off_session")
    pm = None
    if p.str("payment_method"):
        pm = resolve_pm(ctx, p.str("payment_method") or "")
    elif p.has("payment_method_data"):
        pm = pm_from_data(ctx, p.sub("payment_method_data"))
    if pm is not None:
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    if p.bool("confirm"):
        if pm is None:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        charges_enabled(ctx)
    ctx.save(pi)
    ctx.emit("payment_intent.created", pi)
    if pm is not None and p.bool("confirm"):
        _confirm_with(ctx, p, pi, pm)
    return public(pi)


def _confirm_with(ctx: Ctx, p: Params, pi: dict[str, Any], pm: dict[str, Any]) -> None:
    """Confirm with the request's ``off_session``, ``return_url`` and mandate parameters."""
    confirm(
        ctx,
        pi,
        pm,
        off_session=p.bool("off_session"),
        return_url=p.str("return_url"),
        acceptance=acceptance_from(p, ctx.now),
        mandate_id=p.str("mandate"),
    )


@route("POST", "/v1/payment_intents/{id}/confirm", "payment_intents")
def confirm_pi(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pi = ctx.get(id, "payment_intent", "pi_")
    if p.has("payment_method_data") and not p.str("payment_method"):
        pm = pm_from_data(ctx, p.sub("payment_method_data"))
    else:
        pm_id = p.str("payment_method") or pi.get("payment_method")
        if not pm_id:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        pm = resolve_pm(ctx, pm_id)
    if method_types_change(p):
        pi["payment_method_types"] = resolve_method_types(p, pi["currency"])
    _confirm_with(ctx, p, pi, pm)
    return public(pi)


@route("POST", "/v1/payment_intents/{id}", "payment_intents")
def update_pi(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pi = ctx.get(id, "payment_intent", "pi_")
    if pi["status"] in {"succeeded", "canceled"} and (p.has("amount") or p.has("payment_method")):
        raise invalid(
            f"This PaymentIntent's amount could not be updated because it has a status of "
            f"{pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    if p.has("amount"):
        pi["amount"] = p.int("amount")
    if p.has("description"):
        pi["description"] = p.str("description")
    if method_types_change(p):
        pi["payment_method_types"] = resolve_method_types(p, pi["currency"])
    if p.str("payment_method"):
        pi["payment_method"] = resolve_pm(ctx, p.str("payment_method") or "")["id"]
        pi["status"] = "requires_confirmation"
    pi["metadata"] = p.metadata(current=pi.get("metadata"))
    ctx.save(pi)
    return public(pi)


@route("POST", "/v1/payment_intents/{id}/cancel", "payment_intents")
def cancel_pi(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pi = ctx.get(id, "payment_intent", "pi_")
    if pi["status"] in {"succeeded", "canceled"}:
        raise invalid(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses may be "
            "canceled: requires_payment_method, requires_capture, requires_confirmation, "
            "requires_action, processing.",
            code="payment_intent_unexpected_state",
        )
    private(pi).pop("settle_at", None)  # a canceled debit no longer settles
    pi.update(
        status="canceled",
        canceled_at=ctx.now,
        cancellation_reason=p.str("cancellation_reason", default="requested_by_customer"),
        next_action=None,
    )
    ctx.save(pi)
    ctx.emit("payment_intent.canceled", pi)
    return public(pi)


@route("GET", "/v1/payment_intents/{id}", "payment_intents")
def get_pi(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "payment_intent", "pi_"))


@route("GET", "/v1/payment_intents", "payment_intents")
def list_pis(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "payment_intent")
    if p.str("customer"):
        objs = [o for o in objs if o.get("customer") == p.str("customer")]
    return paginate(created_filter(objs, p), p, "/v1/payment_intents")


@route("GET", "/v1/charges/{id}", "charges")
def get_charge(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "charge", ("ch_", "py_")))


@route("GET", "/v1/charges", "charges")
def list_charges(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "charge")
    for field in ("customer", "payment_intent"):
        if p.str(field):
            objs = [o for o in objs if o.get(field) == p.str(field)]
    return paginate(created_filter(objs, p), p, "/v1/charges")
