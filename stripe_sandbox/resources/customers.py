"""Customers: create, retrieve, update, list, delete."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, created_filter, paginate, route
from ..errors import invalid
from ..fixtures import build
from ..ids import new_id, token
from ..store import public

_SIMPLE = ("email", "name", "description", "phone")


def _apply(ctx: Ctx, cus: dict[str, Any], p: Params) -> None:
    for field in _SIMPLE:
        if p.has(field):
            cus[field] = p.str(field)
    cus["metadata"] = p.metadata(current=cus.get("metadata"))
    settings = p.sub("invoice_settings")
    if settings.has("default_payment_method"):
        pm_id = settings.str("default_payment_method")
        if pm_id:
            pm = ctx.get(pm_id, "PaymentMethod", "pm_", "invoice_settings[default_payment_method]")
            if pm.get("customer") != cus["id"]:
                raise invalid(
                    f"The customer does not have a payment method with the ID {pm_id}. The "
                    "payment method must be attached to the customer.",
                    param="invoice_settings[default_payment_method]",
                    code="resource_missing",
                )
        current = cus.get("invoice_settings") or {}
        current["default_payment_method"] = pm_id
        cus["invoice_settings"] = current


def new_customer(ctx: Ctx, **fields: Any) -> dict[str, Any]:
    cus = build(
        "customer",
        id=new_id("cus", 14),
        object="customer",
        created=ctx.now,
        livemode=ctx.livemode,
        invoice_prefix=token(8).upper(),
        balance=0,
        delinquent=False,
        currency=None,
        default_source=None,
        metadata={},
        email=None,
        name=None,
        description=None,
        phone=None,
    )
    cus["invoice_settings"] = {
        **(cus.get("invoice_settings") or {}),
        "default_payment_method": None,
    }
    cus.update(fields)
    return cus


@route("POST", "/v1/customers", "customers")
def create_customer(ctx: Ctx, p: Params) -> dict[str, Any]:
    cus = new_customer(ctx)
    _apply(ctx, cus, p)
    if p.str("payment_method"):
        from .payment_methods import attach, resolve_pm

        pm = resolve_pm(ctx, p.str("payment_method") or "", "payment_method")
        attach(ctx, pm, cus)
    ctx.save(cus)
    ctx.emit("customer.created", cus)
    return public(cus)


@route("GET", "/v1/customers/{id}", "customers")
def get_customer(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    obj = ctx.sb.store.get(ctx.scope, id)
    if obj is not None and obj.get("deleted"):
        return {"id": id, "object": "customer", "deleted": True}
    return public(ctx.get(id, "customer", "cus_"))


@route("POST", "/v1/customers/{id}", "customers")
def update_customer(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    cus = ctx.get(id, "customer", "cus_")
    before = public(cus)
    _apply(ctx, cus, p)
    ctx.save(cus)
    previous = {k: before[k] for k in before if before[k] != cus.get(k) and k != "_sb"}
    ctx.emit("customer.updated", cus, previous)
    return public(cus)


@route("DELETE", "/v1/customers/{id}", "customers")
def delete_customer(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    cus = ctx.get(id, "customer", "cus_")
    cus["deleted"] = True
    ctx.save(cus)
    ctx.emit("customer.deleted", {k: v for k, v in cus.items() if k != "deleted"})
    return {"id": id, "object": "customer", "deleted": True}


@route("GET", "/v1/customers", "customers")
def list_customers(ctx: Ctx, p: Params) -> dict[str, Any]:
    objs = [c for c in ctx.sb.store.of_type(ctx.scope, "customer") if not c.get("deleted")]
    email = p.str("email")
    if email:
        objs = [c for c in objs if c.get("email") == email]
    return paginate(created_filter(objs, p), p, "/v1/customers")
