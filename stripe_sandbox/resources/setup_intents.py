"""SetupIntents: save a card for later; success attaches the PaymentMethod to the customer."""

from __future__ import annotations

from typing import Any

from .. import cards
from ..api import Ctx, Params, paginate, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id, token
from ..method_types import changes as method_types_change
from ..method_types import resolve as resolve_method_types
from ..store import private, public
from .mandates import acceptance_from
from .payment_methods import attach, card_number, pm_from_data, resolve_pm


def new_si(
    ctx: Ctx,
    customer: str | None,
    metadata: dict[str, str] | None = None,
    usage: str = "off_session",
    payment_method_types: list[str] | None = None,
) -> dict[str, Any]:
    si_id = new_id("seti")
    si = build("setup_intent", id=si_id, object="setup_intent")
    si.update(
        client_secret=f"{si_id}_secret_{token(25)}",
        created=ctx.now,
        customer=customer,
        livemode=ctx.livemode,
        metadata=metadata or {},
        usage=usage,
        status="requires_payment_method",
        payment_method=None,
        payment_method_types=payment_method_types or ["card"],
        last_setup_error=None,
        next_action=None,
        latest_attempt=None,
        cancellation_reason=None,
        description=None,
    )
    return si


def succeed_si(ctx: Ctx, si: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    if si.get("customer"):
        customer = ctx.get(si["customer"], "customer", "cus_", "customer")
        attach(ctx, pm, customer)
    si.update(status="succeeded", payment_method=pm["id"], next_action=None, last_setup_error=None)
    private(si).pop("pending_pm", None)
    ctx.save(si)
    ctx.emit("setup_intent.succeeded", si)
    return si


def fail_si(ctx: Ctx, si: dict[str, Any], pm: dict[str, Any] | None, last: dict) -> dict:
    last = dict(last)
    last["payment_method"] = public(pm) if pm else None
    si.update(status="requires_payment_method", payment_method=None, last_setup_error=last)
    si["next_action"] = None
    private(si).pop("pending_pm", None)
    ctx.save(si)
    ctx.emit("setup_intent.setup_failed", si)
    return si


def confirm_si(
    ctx: Ctx,
    si: dict[str, Any],
    pm: dict[str, Any],
    return_url: str | None,
    acceptance: dict[str, Any] | None = None,
    mandate_id: str | None = None,
) -> dict:
    if si["status"] not in {"requires_payment_method", "requires_confirmation", "requires_action"}:
        raise invalid(
            f"You cannot confirm this SetupIntent because it has a status of {si['status']}.",
            code="setup_intent_unexpected_state",
        )
    if pm["type"] != "card":
        from . import bank_debits

        return bank_debits.confirm_si(
            ctx, si, pm, acceptance=acceptance, mandate_id=mandate_id, return_url=return_url
        )
    result = cards.outcome(card_number(pm), setup=True, off_session=False)
    if result is None:
        return succeed_si(ctx, si, pm)
    if result == "action":
        url = f"{ctx.base_url}/_sandbox/authenticate/{si['id']}"
        si.update(
            status="requires_action",
            payment_method=pm["id"],
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": return_url},
            }
            if return_url
            else {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}},
        )
        private(si)["pending_pm"] = pm["id"]
        ctx.save(si)
        return si
    assert isinstance(result, cards.Failure)
    fail_si(ctx, si, pm, result.as_last_error())
    raise result.error(setup_intent=public(si), payment_method=public(pm))


def authenticate_si(ctx: Ctx, si: dict[str, Any], complete: bool) -> dict[str, Any]:
    if si["status"] != "requires_action":
        raise invalid(f"SetupIntent {si['id']} does not require authentication.")
    pm = ctx.get(private(si)["pending_pm"], "PaymentMethod", "pm_")
    if complete and pm["type"] == "ideal":
        from .bank_debits import ideal_to_sepa

        return succeed_si(ctx, si, ideal_to_sepa(ctx, si, pm))
    if complete:
        return succeed_si(ctx, si, pm)
    return fail_si(
        ctx,
        si,
        pm,
        {
            "type": "invalid_request_error",
            "code": "setup_intent_authentication_failure",
            "message": cards.AUTH_FAILED_MESSAGE,
        },
    )


@route("POST", "/v1/setup_intents", "setup_intents")
def create_si(ctx: Ctx, p: Params) -> dict[str, Any]:
    customer = p.str("customer")
    if customer:
        ctx.get(customer, "customer", "cus_", "customer")
    si = new_si(
        ctx,
        customer,
        p.metadata(),
        p.str("usage", default="off_session") or "off_session",
        resolve_method_types(p, None),
    )
    si["description"] = p.str("description")
    pm = None
    if p.str("payment_method"):
        pm = resolve_pm(ctx, p.str("payment_method") or "")
    elif p.has("payment_method_data"):
        pm = pm_from_data(ctx, p.sub("payment_method_data"))
    if pm is not None:
        si.update(payment_method=pm["id"], status="requires_confirmation")
    ctx.save(si)
    ctx.emit("setup_intent.created", si)
    if p.bool("confirm"):
        if pm is None:
            raise invalid(
                "You cannot confirm this SetupIntent because it's missing a payment method.",
                code="setup_intent_unexpected_state",
            )
        confirm_si(ctx, si, pm, p.str("return_url"), acceptance_from(p, ctx.now), p.str("mandate"))
    return public(si)


@route("POST", "/v1/setup_intents/{id}/confirm", "setup_intents")
def confirm_si_route(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    si = ctx.get(id, "setup_intent", "seti_")
    if p.has("payment_method_data") and not p.str("payment_method"):
        pm = pm_from_data(ctx, p.sub("payment_method_data"))
    else:
        pm_id = p.str("payment_method") or si.get("payment_method")
        if not pm_id:
            raise invalid(
                "You cannot confirm this SetupIntent because it's missing a payment method.",
                code="setup_intent_unexpected_state",
            )
        pm = resolve_pm(ctx, pm_id)
    acceptance = acceptance_from(p, ctx.now)
    return public(confirm_si(ctx, si, pm, p.str("return_url"), acceptance, p.str("mandate")))


@route("POST", "/v1/setup_intents/{id}/cancel", "setup_intents")
def cancel_si(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    si = ctx.get(id, "setup_intent", "seti_")
    if si["status"] in {"succeeded", "canceled"}:
        raise invalid(
            f"You cannot cancel this SetupIntent because it has a status of {si['status']}.",
            code="setup_intent_unexpected_state",
        )
    si.update(status="canceled", cancellation_reason=p.str("cancellation_reason"))
    ctx.save(si)
    ctx.emit("setup_intent.canceled", si)
    return public(si)


@route("GET", "/v1/setup_intents/{id}", "setup_intents")
def get_si(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "setup_intent", "seti_"))


@route("GET", "/v1/setup_intents", "setup_intents")
def list_sis(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "setup_intent")
    if p.str("customer"):
        objs = [o for o in objs if o.get("customer") == p.str("customer")]
    return paginate(objs, p, "/v1/setup_intents")


@route("POST", "/v1/setup_intents/{id}", "setup_intents")
def update_si(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    si = ctx.get(id, "setup_intent", "seti_")
    if si["status"] in {"succeeded", "canceled"}:
        raise invalid(
            f"You cannot update this SetupIntent because it has a status of {si['status']}.",
            code="setup_intent_unexpected_state",
        )
    if p.has("description"):
        si["description"] = p.str("description")
    if method_types_change(p):
        si["payment_method_types"] = resolve_method_types(p, None)
    if p.str("payment_method"):
        pm = resolve_pm(ctx, p.str("payment_method") or "")
        si.update(payment_method=pm["id"], status="requires_confirmation")
    si["metadata"] = p.metadata(current=si.get("metadata"))
    ctx.save(si)
    return public(si)
