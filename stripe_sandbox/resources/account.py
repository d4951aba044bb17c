"""The key's own account and its balance."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, route
from ..errors import StripeError
from ..fixtures import build


def account_object(acct: dict[str, Any]) -> dict[str, Any]:
    obj = build("account", id=acct["id"], object="account", created=acct["created"])
    obj.update(
        charges_enabled=acct["charges_enabled"],
        details_submitted=acct["details_submitted"],
        payouts_enabled=acct.get("payouts_enabled", acct["charges_enabled"]),
        country="US",
        default_currency="usd",
        email=acct.get("email"),
        type="standard",
        metadata=acct.get("metadata") or {},
    )
    if acct.get("controller"):  # accounts the platform created (Connect Onboarding)
        obj["controller"] = {"is_controller": True, **acct["controller"]}
    profile = obj.get("business_profile") or {}
    profile.update(name=acct["name"] or None, url=acct.get("url"))
    obj["business_profile"] = profile
    settings = obj.get("settings") or {}
    dashboard = settings.get("dashboard") or {}
    dashboard.update(display_name=acct["name"] or None, timezone="Etc/UTC")
    settings["dashboard"] = dashboard
    obj["settings"] = settings
    due = list(acct.get("currently_due") or [])
    requirements = obj.get("requirements") or {}
    requirements.update(
        currently_due=due,
        eventually_due=due,
        past_due=[],
        disabled_reason=None if acct["charges_enabled"] else "requirements.past_due",
    )
    obj["requirements"] = requirements
    obj["external_accounts"] = {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/accounts/{acct['id']}/external_accounts",
    }
    return obj


@route("GET", "/v1/account", "account")
def get_account(ctx: Ctx, p: Params) -> dict[str, Any]:
    return account_object(ctx.sb.store.accounts[ctx.scope.account])


@route("GET", "/v1/accounts/{id}", "account")
def get_account_by_id(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    if id != ctx.scope.account and not ctx.sb.is_connected(ctx.scope.account, id):
        raise StripeError(
            403,
            "invalid_request_error",
            "The provided key does not have access to account '" + id + "' (or that account "
            "does not exist). Application access may have been revoked.",
            code="account_invalid",
        )
    return account_object(ctx.sb.store.accounts[id])


def charges_enabled(ctx: Ctx) -> None:
    """Stripe refuses live charges on accounts that cannot accept them yet (test mode works)."""
    if ctx.livemode and not ctx.sb.store.accounts[ctx.scope.account]["charges_enabled"]:
        raise StripeError(
            400,
            "invalid_request_error",
            "Your account cannot currently make live charges.",
            code="account_invalid",
        )


@route("GET", "/v1/balance", "balance")
def get_balance(ctx: Ctx, p: Params) -> dict[str, Any]:
    totals: dict[str, int] = {}
    for charge in ctx.sb.store.of_type(ctx.scope, "charge"):
        if charge["status"] == "succeeded":
            net = charge["amount"] - charge.get("amount_refunded", 0)
            totals[charge["currency"]] = totals.get(charge["currency"], 0) + net
    totals = totals or {"usd": 0}
    obj = build("balance", object="balance", livemode=ctx.livemode)
    obj["available"] = [
        {"amount": amt, "currency": cur, "source_types": {"card": amt}}
        for cur, amt in totals.items()
    ]
    obj["pending"] = [{"amount": 0, "currency": cur, "source_types": {"card": 0}} for cur in totals]
    obj["connect_reserved"] = [{"amount": 0, "currency": cur} for cur in totals]
    return obj
