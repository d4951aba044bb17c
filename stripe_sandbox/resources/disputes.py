"""Disputes: test card 4000 0000 0000 0259 is charged, then disputed as fraudulent.

A dispute opens ``needs_response`` (``charge.dispute.created``, then
``charge.dispute.funds_withdrawn``); accepting it (``POST /v1/disputes/{id}/close``) loses it,
and the ``/_sandbox/disputes/{id}/close`` control decides it won or lost as the bank would
(``charge.dispute.closed``, and ``charge.dispute.funds_reinstated`` when won).
"""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, created_filter, paginate, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id
from ..store import public

EVIDENCE_DAYS = 7


def open_dispute(ctx: Ctx, charge: dict[str, Any]) -> dict[str, Any]:
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    dispute = build("dispute", id=new_id("dp"), object="dispute")
    dispute.update(
        amount=charge["amount"],
        balance_transactions=[],
        charge=charge["id"],
        created=ctx.now,
        currency=charge["currency"],
        is_charge_refundable=False,
        livemode=ctx.livemode,
        metadata={},
        payment_intent=charge.get("payment_intent"),
        reason="fraudulent",
        status="needs_response",
        enhanced_eligibility_types=[],
        payment_method_details={
            "type": "card",
            "card": {
                "brand": card.get("brand"),
                "case_type": "chargeback",
                "network_reason_code": "10.4",
            },
        },
    )
    dispute["evidence_details"] = {
        **(dispute.get("evidence_details") or {}),
        "due_by": ctx.now + EVIDENCE_DAYS * 86400,
        "has_evidence": False,
        "past_due": False,
        "submission_count": 0,
    }
    ctx.save(dispute)
    charge["disputed"] = True
    ctx.save(charge)
    ctx.emit("charge.dispute.created", dispute)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


def close(ctx: Ctx, dispute: dict[str, Any], outcome: str) -> dict[str, Any]:
    """Decide ``dispute`` (``won`` or ``lost``) with Stripe's events."""
    if outcome not in {"won", "lost"}:
        raise invalid("outcome must be won or lost", param="outcome")
    if dispute["status"] in {"won", "lost"}:
        raise invalid(f"This dispute is already closed (status {dispute['status']}).")
    previous = {"status": dispute["status"]}
    dispute["status"] = outcome
    dispute["evidence_details"]["past_due"] = False
    ctx.save(dispute)
    ctx.emit("charge.dispute.closed", dispute, previous)
    if outcome == "won":
        ctx.emit("charge.dispute.funds_reinstated", dispute)
    return dispute


@route("GET", "/v1/disputes/{id}", "charges")
def get_dispute(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "dispute", "dp_"))


@route("GET", "/v1/disputes", "charges")
def list_disputes(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = ctx.sb.store.of_type(ctx.scope, "dispute")
    for field in ("charge", "payment_intent"):
        if p.str(field):
            objs = [o for o in objs if o.get(field) == p.str(field)]
    return paginate(created_filter(objs, p), p, "/v1/disputes")


@route("POST", "/v1/disputes/{id}/close", "charges")
def close_dispute(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    """Accept the dispute: Stripe records it as lost."""
    return public(close(ctx, ctx.get(id, "dispute", "dp_"), "lost"))


@route("POST", "/v1/disputes/{id}", "charges")
def update_dispute(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    dispute = ctx.get(id, "dispute", "dp_")
    if dispute["status"] in {"won", "lost"}:
        raise invalid("This dispute is already closed and can no longer be updated.")
    dispute["metadata"] = p.metadata(current=dispute.get("metadata"))
    evidence = p.sub("evidence")
    if evidence.data:
        for key, value in evidence.data.items():
            if key in dispute["evidence"] and isinstance(value, str):
                dispute["evidence"][key] = value
        dispute["evidence_details"]["has_evidence"] = True
    previous = {"status": dispute["status"]}
    if p.bool("submit") and dispute["status"] == "needs_response":
        dispute["status"] = "under_review"
        dispute["evidence_details"]["submission_count"] += 1
    ctx.save(dispute)
    ctx.emit("charge.dispute.updated", dispute, previous)
    return public(dispute)
