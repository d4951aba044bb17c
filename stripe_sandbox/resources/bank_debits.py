"""Bank debits on PaymentIntents and SetupIntents: ACH and SEPA go ``processing``, iDEAL redirects.

A confirmed ACH or SEPA debit has a ``pending`` charge and settles later (the sandbox's
settler, after ``--bank-settle-seconds``, or the ``/_sandbox/intents/{id}/settle`` control).
The pending settlement is stored on the PaymentIntent itself, so it survives a restart.
"""

from __future__ import annotations

from typing import Any

from .. import bank
from ..api import Ctx
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id
from ..store import private, public
from .mandates import new_mandate, reusable_mandate
from .payment_methods import attach

MANDATE_REQUIRED = (
    "A mandate is required to confirm this {kind} with a {type} PaymentMethod: provide "
    "`mandate_data` with the customer's acceptance, or a `mandate`."
)


def _details(pm: dict[str, Any], mandate: str | None) -> dict[str, Any]:
    """The charge's ``payment_method_details`` for a bank PaymentMethod."""
    type_ = pm["type"]
    src = pm.get(type_) or {}
    if type_ == "us_bank_account":
        inner: dict[str, Any] = {
            k: src.get(k)
            for k in (
                "account_holder_type",
                "account_type",
                "bank_name",
                "fingerprint",
                "last4",
                "routing_number",
            )
        }
        inner.update(expected_debit_date=None, mandate=mandate, payment_reference=None)
    elif type_ == "sepa_debit":
        inner = {k: src.get(k) for k in ("bank_code", "branch_code", "country", "fingerprint")}
        inner.update(last4=src.get("last4"), mandate=mandate, expected_debit_date=None)
    else:
        inner = {
            "bank": src.get("bank"),
            "bic": src.get("bic"),
            "generated_sepa_debit": None,
            "generated_sepa_debit_mandate": None,
            "iban_last4": None,
            "transaction_id": None,
            "verified_name": None,
        }
    return {"type": type_, type_: inner, "card": None}


def new_charge(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], status: str, mandate: str | None
) -> dict[str, Any]:
    charge = build("charge", id=new_id("py"), object="charge")
    charge.update(
        amount=pi["amount"],
        amount_captured=pi["amount"],
        amount_refunded=0,
        balance_transaction=new_id("txn"),
        billing_details=pm.get("billing_details"),
        captured=True,
        created=ctx.now,
        currency=pi["currency"],
        customer=pi.get("customer"),
        description=pi.get("description"),
        disputed=False,
        failure_code=None,
        failure_message=None,
        livemode=ctx.livemode,
        metadata=dict(pi.get("metadata") or {}),
        paid=status == "succeeded",
        payment_intent=pi["id"],
        payment_method=pm["id"],
        refunded=False,
        status=status,
        receipt_url=None,
        outcome={
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "not_assessed",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
    )
    charge["payment_method_details"] = _details(pm, mandate)
    ctx.save(charge)
    return charge


def mandate_for(
    ctx: Ctx,
    kind: str,
    pm: dict[str, Any],
    acceptance: dict[str, Any] | None,
    mandate_id: str | None,
    *,
    multi_use: bool,
    amount: int | None = None,
    currency: str | None = None,
) -> dict[str, Any] | None:
    """The mandate a debit runs under: given, reused, or made from ``mandate_data``."""
    if pm["type"] not in bank.MANDATED:
        return None
    if mandate_id:
        found = ctx.get(mandate_id, "mandate", "mandate_", "mandate")
        if found.get("payment_method") != pm["id"]:
            raise invalid(
                f"The mandate {mandate_id} does not belong to PaymentMethod {pm['id']}.",
                param="mandate",
            )
        return found
    if acceptance is not None:
        return new_mandate(
            ctx, pm, acceptance, multi_use=multi_use, amount=amount, currency=currency
        )
    found = reusable_mandate(ctx, pm)
    if found is None:
        raise invalid(MANDATE_REQUIRED.format(kind=kind, type=pm["type"]))
    return found


def check_allowed(intent: dict[str, Any], pm: dict[str, Any], kind: str) -> None:
    """Refuse a PaymentMethod whose type the intent does not allow (Stripe's 400)."""
    allowed = intent.get("payment_method_types") or ["card"]
    if pm["type"] not in allowed:
        raise invalid(
            f"The PaymentMethod provided ({pm['type']}) is not allowed for this {kind}. Please "
            f"attach a PaymentMethod of one of the following types: {', '.join(allowed)}. "
            "Alternatively update the allowed payment_method_types for this "
            f'{kind} to include "{pm["type"]}".',
            param="payment_method",
            code="payment_intent_incompatible_payment_method"
            if kind == "PaymentIntent"
            else "setup_intent_invalid_parameter",
        )


def confirm_pi(
    ctx: Ctx,
    pi: dict[str, Any],
    pm: dict[str, Any],
    *,
    acceptance: dict[str, Any] | None = None,
    mandate_id: str | None = None,
    return_url: str | None = None,
) -> dict[str, Any]:
    """Confirm ``pi`` with a bank PaymentMethod: ``processing`` (ACH, SEPA) or a redirect (iDEAL)."""
    check_allowed(pi, pm, "PaymentIntent")
    bank.check_currency(pm["type"], pi["currency"])
    pi["payment_method"] = pm["id"]
    if pm["type"] == "ideal":
        url = f"{ctx.base_url}/_sandbox/authenticate/{pi['id']}"
        pi.update(
            status="requires_action",
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": return_url},
            },
        )
        private(pi)["pending_pm"] = pm["id"]
        ctx.save(pi)
        ctx.emit("payment_intent.requires_action", pi)
        return pi
    mandate = mandate_for(
        ctx,
        "PaymentIntent",
        pm,
        acceptance,
        mandate_id,
        multi_use=bool(pi.get("setup_future_usage")),
        amount=pi["amount"],
        currency=pi["currency"],
    )
    charge = new_charge(ctx, pi, pm, "pending", mandate["id"] if mandate else None)
    pi.update(
        status="processing",
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    data = private(pi)
    data.pop("pending_pm", None)
    data["bank_failure"] = private(pm).get("bank")
    ctx.save(pi)
    ctx.emit("payment_intent.processing", pi)
    ctx.emit("charge.pending", charge)
    ctx.sb.settler.schedule(ctx, pi)
    return pi


def settle_pi(ctx: Ctx, pi: dict[str, Any]) -> dict[str, Any]:
    """The bank's answer: ``succeeded`` or back to ``requires_payment_method``, with events."""
    from .checkout import async_settled

    if pi["status"] != "processing":
        raise invalid(f"PaymentIntent {pi['id']} is not processing (status {pi['status']}).")
    data = private(pi)
    data.pop("settle_at", None)
    pm = ctx.get(str(pi["payment_method"]), "PaymentMethod", "pm_")
    charge = ctx.get(str(pi["latest_charge"]), "charge", ("ch_", "py_"))
    failure = bank.failure_of(pm["type"], data.pop("bank_failure", None))
    if failure is None:
        charge.update(status="succeeded", paid=True)
        ctx.save(charge)
        ctx.emit("charge.succeeded", charge)
        if pi.get("setup_future_usage") and pi.get("customer") and not pm.get("customer"):
            customer = ctx.sb.store.get(ctx.scope, pi["customer"])
            if customer is not None:
                attach(ctx, pm, customer)
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.save(pi)
        ctx.emit("payment_intent.succeeded", pi)
    else:
        charge.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            failure_code=failure.charge_code,
            failure_message=failure.message,
            failure_balance_transaction=new_id("txn"),
            outcome={
                **(charge.get("outcome") or {}),
                "network_status": "declined_by_network",
                "reason": failure.charge_code,
                "seller_message": failure.message,
                "type": "issuer_declined",
            },
        )
        ctx.save(charge)
        ctx.emit("charge.failed", charge)
        last = failure.as_last_error()
        last["payment_method"] = public(pm)
        last["charge"] = charge["id"]
        pi.update(status="requires_payment_method", payment_method=None, last_payment_error=last)
        ctx.save(pi)
        ctx.emit("payment_intent.payment_failed", pi)
    async_settled(ctx, pi, failure is None)
    return pi


def confirm_si(
    ctx: Ctx,
    si: dict[str, Any],
    pm: dict[str, Any],
    *,
    acceptance: dict[str, Any] | None = None,
    mandate_id: str | None = None,
    return_url: str | None = None,
) -> dict[str, Any]:
    """Save a bank account: the mandate is made and the SetupIntent succeeds (iDEAL redirects)."""
    from .setup_intents import succeed_si

    check_allowed(si, pm, "SetupIntent")
    if pm["type"] == "ideal":
        url = f"{ctx.base_url}/_sandbox/authenticate/{si['id']}"
        si.update(
            status="requires_action",
            payment_method=pm["id"],
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": return_url},
            },
        )
        private(si)["pending_pm"] = pm["id"]
        ctx.save(si)
        ctx.emit("setup_intent.requires_action", si)
        return si
    mandate = mandate_for(ctx, "SetupIntent", pm, acceptance, mandate_id, multi_use=True)
    si["mandate"] = mandate["id"] if mandate else None
    return succeed_si(ctx, si, pm)


def ideal_to_sepa(ctx: Ctx, si: dict[str, Any], ideal_pm: dict[str, Any]) -> dict[str, Any]:
    """iDEAL in setup mode saves a SEPA Direct Debit PaymentMethod (``generated_from``)."""
    from ..api import Params
    from .payment_methods import new_bank_pm

    iban = {"iban": "NL91ABNA0417164300"}
    pm = new_bank_pm(ctx, "sepa_debit", Params(iban, "sepa_debit"), ideal_pm.get("billing_details"))
    pm["sepa_debit"]["generated_from"] = {"charge": None, "setup_attempt": new_id("setatt")}
    ctx.save(pm)
    acceptance = {
        "accepted_at": ctx.now,
        "type": "offline",
        "offline": {},
        "online": None,
    }
    mandate = new_mandate(ctx, pm, acceptance, multi_use=True)
    si["mandate"] = mandate["id"]
    return pm
