"""Products, prices, subscriptions and their invoices, enough for a retainer billed monthly.

A subscription's first invoice is charged at once; ``advance`` (a test control) bills the next
period. Invoices carry both the current API's ``payments`` and the older ``paid`` and
``payment_intent`` fields.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from ..api import Ctx, Params, created_filter, paginate, route
from ..errors import StripeError, invalid
from ..fixtures import build
from ..ids import new_id, token
from ..store import private, public
from .payment_intents import confirm, new_pi
from .payment_methods import customer_pms, resolve_pm

_INTERVALS = {"day", "week", "month", "year"}


def _product(ctx: Ctx, name: str, p: Params | None = None) -> dict[str, Any]:
    prod = build("product", id=new_id("prod", 14), object="product")
    prod.update(
        name=name,
        active=True,
        created=ctx.now,
        updated=ctx.now,
        livemode=ctx.livemode,
        metadata=p.metadata() if p else {},
        description=p.str("description") if p else None,
        default_price=None,
        images=[],
        marketing_features=[],
        url=None,
    )
    ctx.save(prod)
    ctx.emit("product.created", prod)
    return prod


@route("POST", "/v1/products", "products")
def create_product(ctx: Ctx, p: Params) -> dict[str, Any]:
    return public(_product(ctx, p.str("name", required=True) or "", p))


@route("GET", "/v1/products/{id}", "products")
def get_product(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "product", "prod_"))


@route("POST", "/v1/products/{id}", "products")
def update_product(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    prod = ctx.get(id, "product", "prod_")
    if p.str("name"):
        prod["name"] = p.str("name")
    if p.has("active"):
        prod["active"] = p.bool("active")
    prod["metadata"] = p.metadata(current=prod.get("metadata"))
    prod["updated"] = ctx.now
    ctx.save(prod)
    return public(prod)


@route("GET", "/v1/products", "products")
def list_products(ctx: Ctx, p: Params) -> dict[str, Any]:
    return paginate(ctx.sb.store.of_type(ctx.scope, "product"), p, "/v1/products")


def _price(ctx: Ctx, p: Params, param: str = "") -> dict[str, Any]:
    """A price from create params or ``price_data`` (``product`` or ``product_data``)."""
    product_id = p.str("product")
    if product_id:
        ctx.get(product_id, "product", "prod_", f"{param}product" if param else "product")
    else:
        name = p.sub("product_data").str("name")
        if not name:
            raise invalid(
                "You must specify either `product` or `product_data` when creating a price.",
                param=f"{param}product",
            )
        product_id = _product(ctx, name)["id"]
    unit = p.int("unit_amount", required=True) or 0
    recurring = p.sub("recurring")
    rec = None
    if recurring.data:
        interval = recurring.str("interval", required=True)
        if interval not in _INTERVALS:
            raise invalid(f"Invalid interval: {interval}", param=f"{param}recurring[interval]")
        rec = {
            "interval": interval,
            "interval_count": recurring.int("interval_count", default=1),
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        }
    price = build("price", id=new_id("price"), object="price")
    price.update(
        active=True,
        billing_scheme="per_unit",
        created=ctx.now,
        currency=(p.str("currency", required=True) or "").lower(),
        livemode=ctx.livemode,
        lookup_key=p.str("lookup_key"),
        metadata=p.metadata(),
        nickname=p.str("nickname"),
        product=product_id,
        recurring=rec,
        type="recurring" if rec else "one_time",
        unit_amount=unit,
        unit_amount_decimal=str(unit),
        tax_behavior="unspecified",
        tiers_mode=None,
        transform_quantity=None,
        custom_unit_amount=None,
    )
    ctx.save(price)
    ctx.emit("price.created", price)
    return price


@route("POST", "/v1/prices", "prices")
def create_price(ctx: Ctx, p: Params) -> dict[str, Any]:
    return public(_price(ctx, p))


@route("GET", "/v1/prices/{id}", "prices")
def get_price(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "price", "price_"))


@route("GET", "/v1/prices", "prices")
def list_prices(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "price")
    if p.str("product"):
        objs = [o for o in objs if o["product"] == p.str("product")]
    return paginate(objs, p, "/v1/prices")


def period_end(start: int, interval: str, count: int) -> int:
    if interval == "day":
        return start + 86400 * count
    if interval == "week":
        return start + 7 * 86400 * count
    t = time.gmtime(start)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(t.tm_mon - 1 + months, 12)
    year, month = t.tm_year + year, month + 1
    day = min(t.tm_mday, calendar.monthrange(year, month)[1])
    return calendar.timegm((year, month, day, t.tm_hour, t.tm_min, t.tm_sec, 0, 0, 0))


def _default_pm(ctx: Ctx, sub: dict[str, Any]) -> dict[str, Any] | None:
    if sub.get("default_payment_method"):
        return ctx.sb.store.get(ctx.scope, sub["default_payment_method"])
    customer = ctx.get(sub["customer"], "customer", "cus_", "customer")
    pm_id = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if pm_id:
        return ctx.sb.store.get(ctx.scope, pm_id)
    saved = customer_pms(ctx, customer["id"], "card")
    return saved[0] if saved else None


def _invoice(ctx: Ctx, sub: dict[str, Any], reason: str) -> dict[str, Any]:
    item = sub["items"]["data"][0]
    price = item["price"]
    amount = int(price["unit_amount"] or 0) * int(item["quantity"])
    start, end = sub["current_period_start"], sub["current_period_end"]
    customer = ctx.get(sub["customer"], "customer", "cus_")
    inv_id = new_id("in")
    line = build("line_item", id=new_id("il"), object="line_item")
    line.update(
        amount=amount,
        currency=price["currency"],
        description=f"{item['quantity']} × {price.get('nickname') or price['product']}",
        invoice=inv_id,
        livemode=ctx.livemode,
        metadata=dict(sub.get("metadata") or {}),
        period={"start": start, "end": end},
        quantity=item["quantity"],
        subscription=sub["id"],
        pricing={
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price["product"]},
            "unit_amount_decimal": str(price["unit_amount"]),
        },
    )
    inv = build("invoice", id=inv_id, object="invoice")
    inv.update(
        account_country="US",
        account_name=ctx.sb.store.accounts[ctx.scope.account]["name"],
        amount_due=amount,
        amount_paid=0,
        amount_remaining=amount,
        attempt_count=0,
        attempted=False,
        auto_advance=True,
        billing_reason=reason,
        collection_method="charge_automatically",
        created=ctx.now,
        currency=price["currency"],
        customer=customer["id"],
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        livemode=ctx.livemode,
        metadata={},
        number=f"{customer['invoice_prefix']}-{token(4).upper()}",
        paid=False,
        payment_intent=None,
        period_start=start,
        period_end=end,
        status="open",
        subscription=sub["id"],
        subtotal=amount,
        total=amount,
        hosted_invoice_url=None,
        invoice_pdf=None,
        effective_at=ctx.now,
        due_date=None,
        next_payment_attempt=None,
        status_transitions={
            "finalized_at": ctx.now,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        parent={
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(sub.get("metadata") or {}),
                "subscription": sub["id"],
            },
        },
    )
    inv["lines"] = {
        "object": "list",
        "data": [line],
        "has_more": False,
        "url": f"/v1/invoices/{inv_id}/lines",
    }
    inv["payments"] = {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/invoice_payments?invoice={inv_id}",
    }
    ctx.save(inv)
    ctx.emit("invoice.created", inv)
    ctx.emit("invoice.finalized", inv)
    return inv


def charge_invoice(ctx: Ctx, sub: dict[str, Any], inv: dict[str, Any]) -> StripeError | None:
    """Pay ``inv`` off-session; returns the card error if the charge failed."""
    pm = _default_pm(ctx, sub)
    inv["attempt_count"] += 1
    inv["attempted"] = True
    if pm is None:
        ctx.save(inv)
        ctx.emit("invoice.payment_failed", inv)
        return invalid(
            "This customer has no attached payment source or default payment method.",
            code="resource_missing",
        )
    pi = new_pi(ctx, inv["amount_due"], inv["currency"], customer=inv["customer"])
    pi["description"] = (
        "Subscription creation"
        if inv["billing_reason"] == "subscription_create"
        else "Subscription update"
    )
    private(pi)["invoice"] = inv["id"]
    ctx.save(pi)
    inv["payment_intent"] = pi["id"]
    error: StripeError | None = None
    try:
        confirm(ctx, pi, pm, off_session=True)
    except StripeError as exc:
        error = exc
    inv["payments"]["data"] = [
        {
            "id": new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": pi["amount_received"],
            "amount_requested": pi["amount"],
            "created": ctx.now,
            "currency": pi["currency"],
            "invoice": inv["id"],
            "is_default": True,
            "livemode": ctx.livemode,
            "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
            "status": "paid" if pi["status"] == "succeeded" else "open",
        }
    ]
    if pi["status"] == "succeeded":
        inv.update(paid=True, status="paid", amount_paid=inv["amount_due"], amount_remaining=0)
        inv["status_transitions"]["paid_at"] = ctx.now
        ctx.save(inv)
        ctx.emit("invoice.paid", inv)
        ctx.emit("invoice.payment_succeeded", inv)
        return None
    ctx.save(inv)
    ctx.emit("invoice.payment_failed", inv)
    return error or invalid(
        "The payment requires action.", code="invoice_payment_intent_requires_action"
    )


def _item_price(ctx: Ctx, item: Params) -> dict[str, Any]:
    if item.str("price"):
        price = ctx.get(item.str("price") or "", "price", "price_", f"{item.prefix}[price]")
    else:
        data = item.sub("price_data")
        if not data.data:
            raise invalid("Each item needs a `price` or `price_data`.", param=item.prefix)
        price = _price(ctx, data, f"{item.prefix}[price_data]")
    if not price.get("recurring"):
        raise invalid(
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=f"{item.prefix}[price]",
        )
    return price


@route("POST", "/v1/subscriptions", "subscriptions")
def create_subscription(ctx: Ctx, p: Params) -> dict[str, Any]:
    customer = ctx.get(p.str("customer", required=True) or "", "customer", "cus_", "customer")
    raw_items = p.list("items")
    if not raw_items:
        raise invalid("Missing required param: items.", param="items", code="parameter_missing")
    item = Params(raw_items[0] if isinstance(raw_items[0], dict) else {}, "items[0]")
    price = _item_price(ctx, item)
    quantity = item.int("quantity", default=1) or 1
    pm_id = p.str("default_payment_method")
    if pm_id:
        pm = resolve_pm(ctx, pm_id, "default_payment_method")
        if pm.get("customer") != customer["id"]:
            raise invalid(
                f"The customer does not have a payment method with the ID {pm_id}. The payment "
                "method must be attached to the customer.",
                param="default_payment_method",
            )
        pm_id = pm["id"]
    sub_id = new_id("sub")
    start = ctx.now
    rec = price["recurring"]
    end = period_end(start, rec["interval"], rec["interval_count"])
    si = build("subscription_item", id=new_id("si", 14), object="subscription_item")
    si.update(
        created=start,
        metadata={},
        price=public(price),
        plan=None,
        quantity=quantity,
        subscription=sub_id,
        current_period_start=start,
        current_period_end=end,
        tax_rates=[],
        discounts=[],
        billing_thresholds=None,
    )
    sub = build("subscription", id=sub_id, object="subscription")
    sub.update(
        customer=customer["id"],
        created=start,
        start_date=start,
        billing_cycle_anchor=start,
        current_period_start=start,
        current_period_end=end,
        currency=price["currency"],
        default_payment_method=pm_id,
        livemode=ctx.livemode,
        metadata=p.metadata(),
        status="incomplete",
        cancel_at_period_end=False,
        cancel_at=None,
        canceled_at=None,
        ended_at=None,
        latest_invoice=None,
        collection_method="charge_automatically",
        description=p.str("description"),
        trial_start=None,
        trial_end=None,
        items={
            "object": "list",
            "data": [si],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
    )
    ctx.save(sub)
    inv = _invoice(ctx, sub, "subscription_create")
    sub["latest_invoice"] = inv["id"]
    error = charge_invoice(ctx, sub, inv)
    behavior = p.str("payment_behavior", default="allow_incomplete")
    if error is None:
        sub["status"] = "active"
    elif behavior == "error_if_incomplete":
        sub["status"] = "incomplete_expired"
        ctx.save(sub)
        raise error
    ctx.save(sub)
    ctx.emit("customer.subscription.created", sub)
    return public(sub)


def advance(ctx: Ctx, sub: dict[str, Any]) -> dict[str, Any] | None:
    """Move to the next billing period and charge its invoice (a test control).

    A subscription set to cancel at period end is canceled instead (no invoice: None).
    """
    if sub["status"] in {"canceled", "incomplete_expired"}:
        raise invalid(f"Subscription {sub['id']} is {sub['status']}.")
    if sub.get("cancel_at_period_end"):
        cancel(ctx, sub, "cancellation_requested")
        return None
    before = {k: sub[k] for k in ("current_period_start", "current_period_end", "status")}
    rec = sub["items"]["data"][0]["price"]["recurring"]
    start = sub["current_period_end"]
    end = period_end(start, rec["interval"], rec["interval_count"])
    sub.update(current_period_start=start, current_period_end=end)
    for item in sub["items"]["data"]:
        item.update(current_period_start=start, current_period_end=end)
    ctx.save(sub)
    inv = _invoice(ctx, sub, "subscription_cycle")
    sub["latest_invoice"] = inv["id"]
    error = charge_invoice(ctx, sub, inv)
    sub["status"] = "active" if error is None else "past_due"
    ctx.save(sub)
    ctx.emit("customer.subscription.updated", sub, before)
    return inv


def cancel(ctx: Ctx, sub: dict[str, Any], reason: str = "cancellation_requested") -> dict[str, Any]:
    if sub["status"] == "canceled":
        raise invalid(
            f"No such subscription: '{sub['id']}'. This subscription is already canceled.",
            code="resource_missing",
        )
    sub.update(status="canceled", canceled_at=ctx.now, ended_at=ctx.now)
    sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": reason}
    ctx.save(sub)
    ctx.emit("customer.subscription.deleted", sub)
    return sub


@route("GET", "/v1/subscriptions/{id}", "subscriptions")
def get_subscription(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "subscription", "sub_"))


@route("POST", "/v1/subscriptions/{id}", "subscriptions")
def update_subscription(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    sub = ctx.get(id, "subscription", "sub_")
    before = public(sub)
    sub["metadata"] = p.metadata(current=sub.get("metadata"))
    if p.has("cancel_at_period_end"):
        sub["cancel_at_period_end"] = p.bool("cancel_at_period_end")
        sub["cancel_at"] = sub["current_period_end"] if sub["cancel_at_period_end"] else None
    if p.str("default_payment_method"):
        sub["default_payment_method"] = ctx.get(
            p.str("default_payment_method") or "", "PaymentMethod", "pm_", "default_payment_method"
        )["id"]
    ctx.save(sub)
    previous = {k: before[k] for k in before if before[k] != sub.get(k)}
    ctx.emit("customer.subscription.updated", sub, previous)
    return public(sub)


@route("DELETE", "/v1/subscriptions/{id}", "subscriptions")
def cancel_subscription(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(cancel(ctx, ctx.get(id, "subscription", "sub_")))


@route("GET", "/v1/subscriptions", "subscriptions")
def list_subscriptions(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "subscription")
    status = p.str("status")
    if status != "all":
        objs = (
            [o for o in objs if o["status"] == status]
            if status
            else [o for o in objs if o["status"] != "canceled"]
        )
    if p.str("customer"):
        objs = [o for o in objs if o["customer"] == p.str("customer")]
    return paginate(created_filter(objs, p), p, "/v1/subscriptions")


@route("GET", "/v1/invoices/{id}", "invoices")
def get_invoice(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "invoice", "in_"))


@route("GET", "/v1/invoices", "invoices")
def list_invoices(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "invoice")
    for field in ("customer", "subscription", "status"):
        if p.str(field):
            objs = [o for o in objs if o.get(field) == p.str(field)]
    return paginate(created_filter(objs, p), p, "/v1/invoices")
