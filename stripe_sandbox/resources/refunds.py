"""Refunds of succeeded charges, full or partial, with ``charge.refunded``.

A refund of test card 4000 0000 0000 5126 (``pm_card_refundFail``) starts ``succeeded`` and
fails afterwards, as Stripe's does, with ``failure_reason: expired_or_canceled_card``.
"""

from __future__ import annotations

from typing import Any

from .. import cards
from ..api import Ctx, Params, paginate, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id
from ..store import private, public
from .payment_methods import card_number


def refund_charge(
    ctx: Ctx,
    charge: dict[str, Any],
    amount: int | None,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    if charge["status"] != "succeeded":
        raise invalid(f"Charge {charge['id']} has not succeeded and cannot be refunded.")
    remaining = charge["amount"] - charge.get("amount_refunded", 0)
    if remaining <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise invalid("Invalid positive integer", param="amount")
    if amount > remaining:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    refund = build("refund", id=new_id("re"), object="refund")
    refund.update(
        amount=amount,
        charge=charge["id"],
        payment_intent=charge.get("payment_intent"),
        currency=charge["currency"],
        created=ctx.now,
        metadata=metadata or {},
        reason=reason,
        status="succeeded",
        balance_transaction=new_id("txn"),
        failure_reason=None,
    )
    ctx.save(refund)
    charge["amount_refunded"] = charge.get("amount_refunded", 0) + amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    ctx.save(charge)
    pi = ctx.sb.store.get(ctx.scope, charge.get("payment_intent") or "")
    if pi is not None:
        # Not in Stripe's current PaymentIntent; a convenience the charge mirrors (README).
        pi["amount_refunded"] = pi.get("amount_refunded", 0) + amount
        ctx.save(pi)
    ctx.emit("refund.created", refund)
    ctx.emit("charge.refunded", charge, {"amount_refunded": charge["amount_refunded"] - amount})
    pm = ctx.sb.store.get(ctx.scope, charge.get("payment_method") or "")
    if pm is not None and pm.get("type") == "card" and card_number(pm) == cards.REFUND_FAILS:
        private(refund)["fails"] = True
        ctx.save(refund)
        ctx.sb.settler.schedule(ctx, refund)
    return refund


def fail_refund(ctx: Ctx, refund: dict[str, Any]) -> dict[str, Any]:
    """The bank sends the money back: the refund fails and the charge is unrefunded again."""
    if refund["status"] == "failed" or not private(refund).pop("fails", False):
        raise invalid(f"Refund {refund['id']} has no failure pending.")
    private(refund).pop("settle_at", None)
    previous = {"status": refund["status"], "failure_reason": None}
    refund.update(
        status="failed",
        failure_reason="expired_or_canceled_card",
        failure_balance_transaction=new_id("txn"),
    )
    ctx.save(refund)
    charge = ctx.get(refund["charge"], "charge", ("ch_", "py_"))
    charge["amount_refunded"] = max(0, charge.get("amount_refunded", 0) - refund["amount"])
    charge["refunded"] = False
    ctx.save(charge)
    pi = ctx.sb.store.get(ctx.scope, charge.get("payment_intent") or "")
    if pi is not None:
        pi["amount_refunded"] = max(0, pi.get("amount_refunded", 0) - refund["amount"])
        ctx.save(pi)
    ctx.emit("charge.refund.updated", refund, previous)
    ctx.emit("refund.updated", refund, previous)
    ctx.emit("refund.failed", refund)
    return refund


@route("POST", "/v1/refunds", "refunds")
def create_refund(ctx: Ctx, p: Params) -> dict[str, Any]:
    charge_id = p.str("charge")
    if not charge_id:
        pi_id = p.str("payment_intent")
        if not pi_id:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        pi = ctx.get(pi_id, "payment_intent", "pi_", "payment_intent")
        if pi["status"] != "succeeded" or not pi.get("latest_charge"):
            raise invalid(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge_id = pi["latest_charge"]
    charge = ctx.get(charge_id, "charge", ("ch_", "py_"), "charge")
    refund = refund_charge(ctx, charge, p.int("amount"), p.str("reason"), p.metadata())
    return public(refund)


@route("GET", "/v1/refunds/{id}", "refunds")
def get_refund(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "refund", "re_"))


@route("GET", "/v1/refunds", "refunds")
def list_refunds(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "refund")
    for field in ("charge", "payment_intent"):
        if p.str(field):
            objs = [o for o in objs if o.get(field) == p.str(field)]
    return paginate(objs, p, "/v1/refunds")


@route("POST", "/v1/charges/{id}/refunds", "refunds")
def create_charge_refund(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    charge = ctx.get(id, "charge", ("ch_", "py_"))
    return public(refund_charge(ctx, charge, p.int("amount"), p.str("reason"), p.metadata()))
