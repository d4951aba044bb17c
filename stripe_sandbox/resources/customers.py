"""Customers: create, retrieve, update, list, delete."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, created_filter, paginate, route
from ..errors import invalid, no_such
from ..fixtures import build
from ..ids import new_id, token
from ..store import public

_SIMPLE = ("email", "name", "description", "phone")


def _apply(ctx: Ctx, cus: dict[str, Any], p: Params) -> None:
    for field in _SIMPLE:
        if p.has(field):
            cus[field] = p.str(field)
    cus["metadata"] = p.metadata(current=cus.get("metadata"))
    if p.has("address"):  # "" clears it; a hash sets the fields it names
        if p.data.get("address") == "":
            cus["address"] = None
        else:
            given = p.sub("address")
            fields = ("city", "country", "line1", "line2", "postal_code", "state")
            cus["address"] = {f: given.str(f) for f in fields}
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


# Customer tax IDs: created and deleted (Stripe can't update one), listed per customer.


def _tax_id(ctx: Ctx, customer_id: str, tax_id: str) -> dict[str, Any]:
    ctx.get(customer_id, "customer", "cus_")
    obj = ctx.get(tax_id, "tax_id", "txi_")
    if obj.get("customer") != customer_id:
        raise no_such("tax_id", tax_id, "id")
    return obj


@route("POST", "/v1/customers/{id}/tax_ids", "customers")
def create_tax_id(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    cus = ctx.get(id, "customer", "cus_")
    kind, value = p.str("type", required=True), p.str("value", required=True)
    obj = {
        "id": new_id("txi", 24),
        "object": "tax_id",
        "country": (kind or "")[:2].upper() if kind not in ("eu_vat", "eu_oss_vat") else None,
        "created": ctx.now,
        "customer": cus["id"],
        "livemode": ctx.livemode,
        "type": kind,
        "value": value,
        "verification": {"status": "pending", "verified_address": None, "verified_name": None},
        "owner": {"type": "customer", "customer": cus["id"]},
    }
    ctx.save(obj)
    ctx.emit("customer.tax_id.created", obj)
    return public(obj)


@route("GET", "/v1/customers/{id}/tax_ids", "customers")
def list_tax_ids(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    ctx.get(id, "customer", "cus_")
    objs = [
        t
        for t in ctx.sb.store.of_type(ctx.scope, "tax_id")
        if t.get("customer") == id and not t.get("deleted")
    ]
    return paginate(objs, p, f"/v1/customers/{id}/tax_ids")


@route("GET", "/v1/customers/{id}/tax_ids/{tax_id}", "customers")
def get_tax_id(ctx: Ctx, p: Params, id: str, tax_id: str) -> dict[str, Any]:
    return public(_tax_id(ctx, id, tax_id))


@route("DELETE", "/v1/customers/{id}/tax_ids/{tax_id}", "customers")
def delete_tax_id(ctx: Ctx, p: Params, id: str, tax_id: str) -> dict[str, Any]:
    obj = _tax_id(ctx, id, tax_id)
    obj["deleted"] = True
    ctx.save(obj)
    ctx.emit("customer.tax_id.deleted", {k: v for k, v in obj.items() if k != "deleted"})
    return {"id": tax_id, "object": "tax_id", "deleted": True}
