"""Every served object carries every key of Stripe's example object (fixtures3.json).

Comparison is recursive through nested dicts and the first element of lists; where the
sandbox has null for a nested example object, the key is present and that is enough.
``metadata`` is free-form and an event's ``data.object`` is whichever object the event is
about (the example event holds a plan), so neither is compared below its own key.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox.fixtures import raw_fixtures
from stripe_sandbox.testing import SandboxServer


def missing_paths(example: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(example, dict) and isinstance(actual, dict):
        out = []
        for key, value in example.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(where)
            elif key == "metadata" or where == "data.object":
                continue
            else:
                out.extend(missing_paths(value, actual[key], where))
        return out
    if isinstance(example, list) and isinstance(actual, list) and example and actual:
        return missing_paths(example[0], actual[0], f"{path}[0]")
    return []


def test_checker_reports_missing_paths() -> None:
    example = {"a": 1, "b": {"c": 2, "d": {"e": 3}}, "l": [{"x": 1}]}
    actual = {"a": None, "b": {"c": 2, "d": {}}, "l": [{}]}
    assert missing_paths(example, actual) == ["b.d.e", "l[0].x"]
    assert missing_paths(example, {"a": 1, "b": None, "l": []}) == []


def _objects(client: stripe.StripeClient, sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    out["account"] = client.v1.accounts.retrieve_current().to_dict()
    cus = client.v1.customers.create(params={"name": "Shape"})
    out["customer"] = cus.to_dict()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    out["payment_method"] = pm.to_dict()
    client.v1.customers.update(
        cus.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    out["setup_intent"] = client.v1.setup_intents.create(
        params={"customer": cus.id, "payment_method": "pm_card_visa", "confirm": True}
    ).to_dict()
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    out["payment_intent"] = pi.to_dict()
    out["charge"] = client.v1.charges.retrieve(pi.latest_charge).to_dict()
    out["refund"] = client.v1.refunds.create(params={"payment_intent": pi.id}).to_dict()
    out["balance"] = client.v1.balance.retrieve().to_dict()
    out["checkout.session"] = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://x.example/ok",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 500,
                        "product_data": {"name": "n"},
                    }
                }
            ],
        }
    ).to_dict()
    out["item"] = (
        client.v1.checkout.sessions.line_items.list(out["checkout.session"]["id"]).data[0].to_dict()
    )
    out["webhook_endpoint"] = client.v1.webhook_endpoints.create(
        params={"url": "https://x.example/h", "enabled_events": ["*"]}
    ).to_dict()
    out["deleted_webhook_endpoint"] = client.v1.webhook_endpoints.delete(
        out["webhook_endpoint"]["id"]
    ).to_dict()
    out["deleted_customer"] = client.v1.customers.delete(
        client.v1.customers.create(params={"name": "gone"}).id
    ).to_dict()
    prod = client.v1.products.create(params={"name": "P"})
    out["product"] = prod.to_dict()
    price = client.v1.prices.create(
        params={
            "product": prod.id,
            "unit_amount": 700,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    out["price"] = price.to_dict()
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price.id}]}
    )
    out["subscription"] = sub.to_dict()
    out["subscription_item"] = sub.to_dict()["items"]["data"][0]
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    out["invoice"] = inv.to_dict()
    out["line_item"] = inv.to_dict()["lines"]["data"][0]
    out["event"] = client.v1.events.list(params={"limit": 1}).data[0].to_dict()
    return out


def test_served_objects_have_every_fixture_key(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    fixtures = raw_fixtures()
    if not fixtures:
        pytest.skip("shared/stripe/fixtures3.json not found")
    objects = _objects(client, sandbox)
    problems = {
        name: missing
        for name, obj in objects.items()
        if (missing := missing_paths(fixtures[name], obj))
    }
    assert problems == {}
    assert objects["payment_intent"]["object"] == "payment_intent"
