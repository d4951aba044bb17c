"""Payment methods: cards (number or ``pm_card_*``), bank debits (ACH, SEPA, iDEAL); attach, list."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .. import bank, cards
from ..api import Ctx, Params, paginate, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id
from ..store import private, public


def new_card_pm(
    ctx: Ctx,
    number: str,
    exp_month: int,
    exp_year: int,
    *,
    name: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """Tokenise a card (refusing it where Stripe would) and store the PaymentMethod."""
    cards.check_number(number, ctx.livemode)
    if exp_year < 100:
        exp_year += 2000
    now = time.gmtime()
    if not 1 <= exp_month <= 12:
        raise cards.Failure(
            "invalid_expiry_month", None, "Your card's expiration month is invalid."
        ).error(param="card[exp_month]")
    if (exp_year, exp_month) < (now.tm_year, now.tm_mon):
        raise cards.Failure(
            "invalid_expiry_year", None, "Your card's expiration year is invalid."
        ).error(param="card[exp_year]")
    brand = cards.brand_of(number)
    fingerprint = hashlib.sha256(f"{ctx.scope.account}:{number}".encode()).hexdigest()[:16]
    pm = build("payment_method", id=new_id("pm"), object="payment_method")
    pm.update(
        type="card",
        created=ctx.now,
        livemode=ctx.livemode,
        customer=None,
        metadata={},
        allow_redisplay="unspecified",
    )
    billing = pm.get("billing_details") or {}
    billing.update(name=name, email=email, phone=None)
    pm["billing_details"] = billing
    card = pm.get("card") or {}
    card.update(
        brand=brand,
        display_brand=brand,
        last4=number[-4:],
        exp_month=exp_month,
        exp_year=exp_year,
        funding="credit",
        country="US",
        fingerprint=fingerprint,
        networks={"available": [brand], "preferred": None},
        checks={"address_line1_check": None, "address_postal_code_check": None, "cvc_check": None},
        three_d_secure_usage={"supported": True},
        wallet=None,
    )
    pm["card"] = card
    private(pm)["number"] = number
    ctx.save(pm)
    return pm


def _bank_fingerprint(ctx: Ctx, value: str) -> str:
    return hashlib.sha256(f"{ctx.scope.account}:{value}".encode()).hexdigest()[:16]


def new_bank_pm(
    ctx: Ctx, type_: str, details: Params, billing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``us_bank_account``, ``sepa_debit`` or ``ideal`` PaymentMethod from its details."""
    pm = build("payment_method", id=new_id("pm"), object="payment_method")
    pm.update(
        type=type_,
        created=ctx.now,
        livemode=ctx.livemode,
        customer=None,
        metadata={},
        allow_redisplay="unspecified",
        card=None,
    )
    pm["billing_details"].update(billing or {})
    data = private(pm)
    if type_ == "us_bank_account":
        routing = details.str("routing_number", required=True) or ""
        account = details.str("account_number", required=True) or ""
        bank.check_ach(routing, account)
        data["bank"] = bank.ACH_ACCOUNTS.get(account)
        pm["us_bank_account"] = {
            "account_holder_type": details.str("account_holder_type", default="individual"),
            "account_type": details.str("account_type", default="checking"),
            "bank_name": bank.ACH_BANK_NAME if routing == bank.ACH_ROUTING else None,
            "financial_connections_account": None,
            "fingerprint": _bank_fingerprint(ctx, routing + account),
            "last4": account[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": routing,
            "status_details": None,
        }
    elif type_ == "sepa_debit":
        iban = bank.normalise_iban(details.str("iban", required=True) or "")
        bank.check_iban(iban)
        data["bank"] = bank.SEPA_IBANS.get(iban)
        pm["sepa_debit"] = {
            "bank_code": iban[4:12],
            "branch_code": "",
            "country": iban[:2],
            "fingerprint": _bank_fingerprint(ctx, iban),
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": iban[-4:],
        }
    elif type_ == "ideal":
        name = details.str("bank")
        if name is not None and name not in bank.IDEAL_BANKS:
            raise invalid(f"Invalid ideal[bank]: must be one of {bank.IDEAL_BANKS}", "ideal[bank]")
        pm["ideal"] = {"bank": name, "bic": bank.IDEAL_BICS.get(name or "")}
    else:
        raise invalid(f"The payment method type {type_!r} is not supported here.", param="type")
    ctx.save(pm)
    return pm


def pm_from_data(ctx: Ctx, p: Params, param: str = "payment_method_data") -> dict[str, Any]:
    """A new PaymentMethod from ``payment_method_data`` (or the create endpoint's params)."""
    type_ = p.str("type", required=True) or ""
    billing_in = p.sub("billing_details")
    billing = {k: billing_in.str(k) for k in ("name", "email", "phone") if billing_in.has(k)}
    if type_ == "card":
        raise invalid(
            "Sending card details in payment_method_data is not supported here; create the "
            "PaymentMethod first or use a pm_card_* id.",
            param=f"{param}[type]" if param else "type",
        )
    pm = new_bank_pm(ctx, type_, p.sub(type_), billing)
    pm["metadata"] = p.metadata()
    ctx.save(pm)
    return pm


def resolve_pm(ctx: Ctx, pm_id: str, param: str = "payment_method") -> dict[str, Any]:
    """A stored PaymentMethod, or a new one materialised from a ``pm_card_*`` shortcut."""
    if pm_id in bank.ACH_SHORTCUTS:
        details = {"routing_number": bank.ACH_ROUTING, "account_number": bank.ACH_SHORTCUTS[pm_id]}
        return new_bank_pm(ctx, "us_bank_account", Params(details, "us_bank_account"))
    if pm_id in cards.SHORTCUTS:
        year = time.gmtime().tm_year + 3
        return new_card_pm(ctx, cards.SHORTCUTS[pm_id], 12, year)
    return ctx.get(pm_id, "PaymentMethod", "pm_", param)


def card_number(pm: dict[str, Any]) -> str:
    return str(private(pm).get("number", "4242424242424242"))


def attach(ctx: Ctx, pm: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    if pm.get("customer") and pm["customer"] != customer["id"]:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    if pm.get("customer") == customer["id"]:
        return pm
    pm["customer"] = customer["id"]
    ctx.save(pm)
    ctx.emit("payment_method.attached", pm)
    return pm


@route("POST", "/v1/payment_methods", "payment_methods")
def create_pm(ctx: Ctx, p: Params) -> dict[str, Any]:
    type_ = p.str("type", default="card")
    if type_ != "card" and not p.str("payment_method"):
        return public(pm_from_data(ctx, p, param=""))
    if type_ != "card":
        raise invalid(f"The payment method type {type_!r} is not supported here.", param="type")
    if p.str("payment_method"):
        # Cloning a platform's method onto a connected account is not emulated: return a copy.
        return public(resolve_pm(ctx, p.str("payment_method") or ""))
    card = p.sub("card")
    token_ = card.str("token")
    if token_ and token_.startswith("tok_"):
        tail = token_[4:].lower()
        number = next((n for k, n in cards.SHORTCUTS.items() if k[8:].lower() == tail), "")
        if not number:
            raise invalid(f"No such token: '{token_}'", param="card[token]")
        pm = new_card_pm(ctx, number, 12, time.gmtime().tm_year + 3)
    else:
        number = (card.str("number", required=True) or "").replace(" ", "")
        pm = new_card_pm(
            ctx,
            number,
            card.int("exp_month", required=True) or 0,
            card.int("exp_year", required=True) or 0,
        )
    billing = p.sub("billing_details")
    pm["billing_details"].update(
        {k: billing.str(k) for k in ("name", "email", "phone") if billing.has(k)}
    )
    pm["metadata"] = p.metadata()
    ctx.save(pm)
    return public(pm)


@route("GET", "/v1/payment_methods/{id}", "payment_methods")
def get_pm(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "PaymentMethod", "pm_"))


@route("POST", "/v1/payment_methods/{id}", "payment_methods")
def update_pm(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pm = ctx.get(id, "PaymentMethod", "pm_")
    pm["metadata"] = p.metadata(current=pm.get("metadata"))
    ctx.save(pm)
    return public(pm)


@route("POST", "/v1/payment_methods/{id}/attach", "payment_methods")
def attach_pm(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pm = resolve_pm(ctx, id, "payment_method")
    customer = ctx.get(p.str("customer", required=True) or "", "customer", "cus_", "customer")
    return public(attach(ctx, pm, customer))


@route("POST", "/v1/payment_methods/{id}/detach", "payment_methods")
def detach_pm(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    pm = ctx.get(id, "PaymentMethod", "pm_")
    if not pm.get("customer"):
        raise invalid(
            f"The payment method {id} is not attached to a customer so detachment is impossible.",
            param="payment_method",
        )
    cus = ctx.sb.store.get(ctx.scope, pm["customer"])
    if cus is not None and (cus.get("invoice_settings") or {}).get("default_payment_method") == id:
        cus["invoice_settings"]["default_payment_method"] = None
        ctx.save(cus)
    pm["customer"] = None
    ctx.save(pm)
    ctx.emit("payment_method.detached", pm)
    return public(pm)


def customer_pms(ctx: Ctx, customer_id: str, type_: str | None = None) -> list[dict[str, Any]]:
    objs = ctx.sb.store.of_type(ctx.scope, "payment_method")
    return [
        o for o in objs if o.get("customer") == customer_id and (not type_ or o["type"] == type_)
    ]


@route("GET", "/v1/payment_methods", "payment_methods")
def list_pms(ctx: Ctx, p: Params) -> dict[str, Any]:
    customer = p.str("customer")
    if not customer:
        raise invalid("You must provide a customer to list payment methods.", param="customer")
    ctx.get(customer, "customer", "cus_", "customer")
    return paginate(customer_pms(ctx, customer, p.str("type")), p, "/v1/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods", "customers")
def list_customer_pms(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    ctx.get(id, "customer", "cus_")
    objs = customer_pms(ctx, id, p.str("type"))
    return paginate(objs, p, f"/v1/customers/{id}/payment_methods")
