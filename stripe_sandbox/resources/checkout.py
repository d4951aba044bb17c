"""Checkout Sessions (payment and setup modes) and their completion from the hosted page."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, paginate, route
from ..errors import StripeError, invalid
from ..fixtures import build, fill
from ..ids import token
from ..method_types import resolve as resolve_method_types
from ..store import private, public
from .customers import new_customer
from .payment_intents import confirm, new_pi
from .setup_intents import confirm_si, new_si

DEFAULT_TTL = 24 * 3600


def _line_items(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    items = []
    for i, raw in enumerate(p.list("line_items")):
        item = Params(raw if isinstance(raw, dict) else {}, f"line_items[{i}]")
        quantity = item.int("quantity", default=1) or 1
        if item.str("price"):
            price = ctx.get(item.str("price") or "", "price", "price_", f"line_items[{i}][price]")
            unit, currency = int(price["unit_amount"] or 0), price["currency"]
            product = ctx.sb.store.get(ctx.scope, price["product"]) or {}
            name = product.get("name")
            price_obj = public(price)
        else:
            data = item.sub("price_data")
            if not data.data:
                raise invalid(
                    "You must specify either `price` or `price_data` for each line item.",
                    param=f"line_items[{i}]",
                )
            unit = data.int("unit_amount", required=True) or 0
            currency = (data.str("currency", required=True) or "").lower()
            name = data.sub("product_data").str("name")
            if not name and not data.str("product"):
                raise invalid(
                    "Missing required param: line_items[0][price_data][product_data].",
                    param=f"line_items[{i}][price_data][product_data]",
                    code="parameter_missing",
                )
            price_obj = {
                "id": f"price_{token(24)}",
                "created": ctx.now,
                "livemode": ctx.livemode,
                "active": False,
                "metadata": {},
                "object": "price",
                "currency": currency,
                "unit_amount": unit,
                "type": "one_time",
                "product": data.str("product"),
            }
            fill(price_obj)
        items.append(
            fill(
                {
                    "id": f"li_{token(24)}",
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit * quantity,
                    "amount_tax": 0,
                    "amount_total": unit * quantity,
                    "currency": currency,
                    "description": name,
                    "price": price_obj,
                    "quantity": quantity,
                }
            )
        )
    return items


def expire_if_due(ctx: Ctx, session: dict[str, Any]) -> dict[str, Any]:
    """Expire an open session whose ``expires_at`` has passed (``checkout.session.expired``)."""
    if session["status"] == "open" and session["expires_at"] <= ctx.now:
        private(session).pop("settle_at", None)
        session["status"] = "expired"
        ctx.save(session)
        ctx.emit("checkout.session.expired", session)
    return session


@route("POST", "/v1/checkout/sessions", "checkout_sessions")
def create_session(ctx: Ctx, p: Params) -> dict[str, Any]:
    mode = p.str("mode", required=True)
    if mode not in {"payment", "setup"}:
        raise invalid(
            f"Invalid mode: {mode}. This sandbox supports `payment` and `setup`.", param="mode"
        )
    success_url = p.str("success_url", required=True)
    customer = p.str("customer")
    if customer:
        ctx.get(customer, "customer", "cus_", "customer")
    if customer and p.str("customer_email"):
        raise invalid("You may only specify one of these parameters: customer, customer_email.")
    items = _line_items(ctx, p) if mode == "payment" else []
    if mode == "payment" and not items:
        raise invalid("`line_items` is required in `payment` mode.", param="line_items")
    currencies = {i["currency"] for i in items}
    if len(currencies) > 1:
        raise invalid("All line items must share one currency.", param="line_items")
    expires_at = p.int("expires_at") or ctx.now + DEFAULT_TTL
    if not ctx.now + 1800 - 5 <= expires_at <= ctx.now + DEFAULT_TTL + 5:
        raise invalid(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
            param="expires_at",
        )
    session_id = f"cs_{'live' if ctx.livemode else 'test'}_{token(58)}"
    amount = sum(i["amount_total"] for i in items) if items else None
    session = build("checkout.session", id=session_id, object="checkout.session")
    session.update(
        mode=mode,
        status="open",
        payment_status="unpaid" if mode == "payment" else "no_payment_required",
        amount_subtotal=amount,
        amount_total=amount,
        currency=next(iter(currencies)) if currencies else p.str("currency"),
        customer=customer,
        customer_email=p.str("customer_email"),
        customer_creation=p.str("customer_creation") if not customer else None,
        client_reference_id=p.str("client_reference_id"),
        success_url=success_url,
        cancel_url=p.str("cancel_url"),
        created=ctx.now,
        expires_at=expires_at,
        livemode=ctx.livemode,
        metadata=p.metadata(),
        payment_intent=None,
        setup_intent=None,
        subscription=None,
        invoice=None,
        payment_link=None,
        payment_method_types=resolve_method_types(
            p, next(iter(currencies)) if currencies else p.str("currency")
        ),
        locale=p.str("locale"),
        submit_type=p.str("submit_type"),
        ui_mode="hosted",
        client_secret=None,
        url=f"{ctx.base_url}/c/pay/{session_id}",
        customer_details=None,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    )
    data = private(session)
    data["line_items"] = items
    data["payment_intent_metadata"] = p.sub("payment_intent_data").metadata()
    data["payment_intent_description"] = p.sub("payment_intent_data").str("description")
    data["setup_future_usage"] = p.sub("payment_intent_data").str("setup_future_usage")
    data["setup_intent_metadata"] = p.sub("setup_intent_data").metadata()
    ctx.save(session)
    ctx.sb.settler.schedule(ctx, session, due=float(expires_at))  # expires on its own
    return public(session)


@route("GET", "/v1/checkout/sessions/{id}", "checkout_sessions")
def get_session(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    session = ctx.get(id, "checkout session", "cs_")
    return public(expire_if_due(ctx, session))


@route("GET", "/v1/checkout/sessions/{id}/line_items", "checkout_sessions")
def session_items(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    session = ctx.get(id, "checkout session", "cs_")
    items = private(session).get("line_items", [])
    return paginate(items, p, f"/v1/checkout/sessions/{id}/line_items")


@route("POST", "/v1/checkout/sessions/{id}/expire", "checkout_sessions")
def expire_session(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    session = expire_if_due(ctx, ctx.get(id, "checkout session", "cs_"))
    if session["status"] != "open":
        raise invalid(
            f'Only Checkout Sessions with a status in ["open"] can be expired. This session '
            f'has a status of "{session["status"]}".',
        )
    session["status"] = "expired"
    private(session).pop("settle_at", None)
    ctx.save(session)
    ctx.emit("checkout.session.expired", session)
    return public(session)


def expire_now(ctx: Ctx, session: dict[str, Any]) -> dict[str, Any]:
    """As if ``expires_at`` had passed (the sandbox's clock control for one session)."""
    if session["status"] != "open":
        raise invalid(f'Only open sessions can be expired; this one is "{session["status"]}".')
    session["expires_at"] = ctx.now
    return expire_if_due(ctx, session)


@route("GET", "/v1/checkout/sessions", "checkout_sessions")
def list_sessions(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = [expire_if_due(ctx, s) for s in ctx.sb.store.of_type(ctx.scope, "checkout.session")]
    for field in ("customer", "payment_intent", "status"):
        if p.str(field):
            objs = [o for o in objs if o.get(field) == p.str(field)]
    return paginate(objs, p, "/v1/checkout/sessions")


def _session_customer(ctx: Ctx, session: dict[str, Any], name: str | None) -> str | None:
    if session.get("customer"):
        return str(session["customer"])
    if session["mode"] == "setup" or session.get("customer_creation") == "always":
        cus = new_customer(ctx, name=name, email=session.get("customer_email"))
        ctx.save(cus)
        ctx.emit("customer.created", cus)
        session["customer"] = cus["id"]
        return str(cus["id"])
    return None


def complete(ctx: Ctx, session: dict[str, Any], paid: bool = True) -> dict[str, Any]:
    """Complete the session; a bank debit still processing leaves it ``unpaid``."""
    session["status"] = "complete"
    private(session).pop("settle_at", None)  # no longer expires
    if session["mode"] == "payment":
        session["payment_status"] = "paid" if paid else "unpaid"
    ctx.save(session)
    ctx.emit("checkout.session.completed", session)
    return session


def async_settled(ctx: Ctx, pi: dict[str, Any], ok: bool) -> None:
    """A delayed debit of a completed session settled: Stripe's ``async_payment_*`` events."""
    session = ctx.sb.store.get(ctx.scope, private(pi).get("checkout_session", ""))
    if session is None or session.get("status") != "complete":
        return
    if ok:
        session["payment_status"] = "paid"
        ctx.save(session)
        ctx.emit("checkout.session.async_payment_succeeded", session)
    else:
        ctx.emit("checkout.session.async_payment_failed", session)


def offered_methods(session: dict[str, Any]) -> list[str]:
    """The methods the hosted page offers: the session's types that fit its currency."""
    from ..bank import CURRENCIES

    currency = session.get("currency")
    types = [str(t) for t in session.get("payment_method_types") or ["card"]]
    return [t for t in types if t not in CURRENCIES or not currency or CURRENCIES[t] == currency]


def pay(
    ctx: Ctx,
    session: dict[str, Any],
    pm: dict[str, Any],
    name: str | None,
    acceptance: dict[str, Any] | None = None,
) -> str:
    """Pay (or set up) with ``pm``: ``"complete"`` or ``"action"``; raises card errors.

    ``acceptance`` is the mandate acceptance the page collected for a bank debit.
    """
    if pm["type"] not in offered_methods(session):
        raise invalid(f"This Checkout Session does not accept {pm['type']}.")
    data = private(session)
    session["customer_details"] = {
        "address": None,
        "email": session.get("customer_email"),
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }
    customer = _session_customer(ctx, session, name)
    if session["mode"] == "setup":
        si = ctx.sb.store.get(ctx.scope, data.get("setup_intent", ""))
        if si is None:
            si = new_si(
                ctx,
                customer,
                data.get("setup_intent_metadata"),
                payment_method_types=session["payment_method_types"],
            )
            ctx.save(si)
            ctx.emit("setup_intent.created", si)
            data["setup_intent"] = si["id"]
            session["setup_intent"] = si["id"]
            ctx.save(session)
        confirm_si(ctx, si, pm, None, acceptance)
        if si["status"] == "requires_action":
            return "action"
        complete(ctx, session)
        return "complete"
    pi = ctx.sb.store.get(ctx.scope, data.get("payment_intent", ""))
    if pi is None:
        pi = new_pi(
            ctx,
            int(session["amount_total"] or 0),
            str(session["currency"]),
            customer=customer,
            metadata=data.get("payment_intent_metadata"),
            description=data.get("payment_intent_description"),
            payment_method_types=session["payment_method_types"],
        )
        pi["setup_future_usage"] = data.get("setup_future_usage")
        private(pi)["checkout_session"] = session["id"]
        ctx.save(pi)
        ctx.emit("payment_intent.created", pi)
        data["payment_intent"] = pi["id"]
        ctx.save(session)
    confirm(ctx, pi, pm, acceptance=acceptance)
    if pi["status"] == "requires_action":
        return "action"
    session["payment_intent"] = pi["id"]
    complete(ctx, session, paid=pi["status"] == "succeeded")
    return "complete"


def finish_authentication(ctx: Ctx, session: dict[str, Any], ok: bool) -> str | None:
    """Resolve the 3DS step of a session: None on success, else the message to show."""
    from .payment_intents import authenticate
    from .setup_intents import authenticate_si

    data = private(session)
    if session["mode"] == "setup":
        si = ctx.get(data["setup_intent"], "setup_intent", "seti_")
        authenticate_si(ctx, si, ok)
        if si["status"] != "succeeded":
            return str((si.get("last_setup_error") or {}).get("message"))
    else:
        pi = ctx.get(data["payment_intent"], "payment_intent", "pi_")
        authenticate(ctx, pi, ok)
        if pi["status"] != "succeeded":
            return str((pi.get("last_payment_error") or {}).get("message"))
        session["payment_intent"] = pi["id"]
    complete(ctx, session)
    return None


__all__ = ["StripeError", "complete", "expire_if_due", "finish_authentication", "pay"]
