"""Mandates: the customer's authorisation to debit a bank account, made when a debit is confirmed."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id, token
from ..store import private, public


def acceptance_from(p: Params, now: int) -> dict[str, Any] | None:
    """``mandate_data[customer_acceptance]`` as the mandate stores it (None when not sent)."""
    data = p.sub("mandate_data")
    if not data.data:
        return None
    acc = data.sub("customer_acceptance")
    kind = acc.str("type", required=True)
    if kind not in {"online", "offline"}:
        raise invalid(
            f"Invalid mandate_data[customer_acceptance][type]: {kind}",
            param="mandate_data[customer_acceptance][type]",
        )
    online = acc.sub("online")
    out: dict[str, Any] = {
        "accepted_at": acc.int("accepted_at", default=now),
        "type": kind,
        "offline": {} if kind == "offline" else None,
        "online": None,
    }
    if kind == "online":
        out["online"] = {
            "ip_address": online.str("ip_address", required=True),
            "user_agent": online.str("user_agent", required=True),
        }
    return out


def new_mandate(
    ctx: Ctx,
    pm: dict[str, Any],
    acceptance: dict[str, Any],
    *,
    multi_use: bool,
    amount: int | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Store a new active mandate for ``pm`` and remember it on the PaymentMethod."""
    details: dict[str, Any] = {"type": pm["type"]}
    if pm["type"] == "sepa_debit":
        reference = token(16).upper()
        details["sepa_debit"] = {
            "reference": reference,
            "url": "",
        }
    elif pm["type"] == "us_bank_account":
        details["us_bank_account"] = {"collection_method": None}
    mandate = build("mandate", id=new_id("mandate"), object="mandate")
    mandate.update(
        customer_acceptance=acceptance,
        livemode=ctx.livemode,
        multi_use={} if multi_use else None,
        single_use=None if multi_use else {"amount": amount, "currency": currency},
        payment_method=pm["id"],
        payment_method_details=details,
        status="active",
        type="multi_use" if multi_use else "single_use",
        on_behalf_of=None,
    )
    ctx.save(mandate)
    if multi_use:
        private(pm)["mandate"] = mandate["id"]
        ctx.save(pm)
    return mandate


def reusable_mandate(ctx: Ctx, pm: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentMethod's active multi-use mandate, if a SetupIntent or payment made one."""
    found = ctx.sb.store.get(ctx.scope, private(pm).get("mandate", ""))
    if found is not None and found.get("status") == "active":
        return found
    return None


@route("GET", "/v1/mandates/{id}", "payment_methods")
def get_mandate(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "mandate", "mandate_"))
