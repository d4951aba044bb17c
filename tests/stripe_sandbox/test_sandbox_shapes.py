"""Every served object carries every key of Stripe's example object (fixtures3.json).

Comparison is recursive through nested dicts and the first element of lists; where the
sandbox has null for a nested example object, the key is present and that is enough.
``metadata`` is free-form and an event's ``data.object`` is whichever object the event is
about (the example event holds a plan), so neither is compared below its own key; the object
inside each delivered event is compared with the example of its own type instead.

The fixtures file is required: without it these tests fail rather than skip, since a sandbox
whose shapes are unchecked is the kind of fake that lets a product pass and Stripe refuse.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox.fixtures import fixture_path, raw_fixtures
from stripe_sandbox.store import public
from stripe_sandbox.testing import SandboxServer, WebhookReceiver, submit_checkout

# Every object type the sandbox produces today; mandate, dispute and the like join the sweep
# below by themselves as soon as a flow stores them.
PRODUCED = {
    "account",
    "balance",
    "charge",
    "checkout.session",
    "customer",
    "deleted_customer",
    "deleted_webhook_endpoint",
    "event",
    "invoice",
    "item",
    "line_item",
    "payment_intent",
    "payment_method",
    "price",
    "product",
    "refund",
    "setup_intent",
    "subscription",
    "subscription_item",
    "webhook_endpoint",
}


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


def _fixtures() -> dict[str, Any]:
    fixtures = raw_fixtures()
    if not fixtures:
        pytest.fail(
            "shared/stripe/fixtures3.json not found (looked beside parent folders and in "
            f"STRIPE_SANDBOX_FIXTURES; found {fixture_path()}): the shapes cannot be checked"
        )
    return fixtures


def _hosted_flows(client: stripe.StripeClient) -> None:
    """Sessions completed on the hosted page, in both modes, plus a declined attempt."""
    paid = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://x.example/ok",
            "allowed_payment_method_types": ["card"],
            "customer_creation": "always",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 900,
                        "product_data": {"name": "Hosted"},
                    }
                }
            ],
        }
    )
    assert submit_checkout(paid.url, "4000000000000002").status_code == 200
    assert submit_checkout(paid.url).status_code == 303
    setup = client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "usd", "success_url": "https://x.example/ok"}
    )
    assert submit_checkout(setup.url).status_code == 303


def test_served_objects_have_every_fixture_key(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    fixtures = _fixtures()
    objects = _objects(client, sandbox)
    assert set(objects) >= PRODUCED
    problems = {
        name: missing
        for name, obj in objects.items()
        if (missing := missing_paths(fixtures[name], obj))
    }
    assert problems == {}
    assert objects["payment_intent"]["object"] == "payment_intent"


def test_every_stored_object_and_sent_event_has_every_fixture_key(
    client: stripe.StripeClient, sandbox: SandboxServer, account: dict[str, Any]
) -> None:
    """All objects of the account after many flows, and every event payload delivered."""
    fixtures = _fixtures()
    with WebhookReceiver() as receiver:
        client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
        _objects(client, sandbox)
        _hosted_flows(client)
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.create(
                params={
                    "amount": 700,
                    "currency": "eur",
                    "payment_method": "pm_card_chargeDeclined",
                    "confirm": True,
                }
            )
        canceled = client.v1.payment_intents.create(params={"amount": 700, "currency": "eur"})
        client.v1.payment_intents.cancel(canceled.id)
        assert sandbox.wait_for_deliveries()
        delivered = receiver.events()
    assert delivered, "no event was delivered"
    problems: dict[str, list[str]] = {}
    for event in delivered:
        inner = event["data"]["object"]
        missing = missing_paths(fixtures["event"], event)
        missing += [f"data.object.{m}" for m in missing_paths(fixtures[inner["object"]], inner)]
        if missing:
            problems[f"event {event['type']}"] = missing
    scope = next(s for s in sandbox.sandbox.store._objects if s.account == account["account_id"])
    stored = [public(o) for o in sandbox.sandbox.store._objects[scope].values()]
    kinds = {str(o.get("object")) for o in stored}
    for obj in stored:
        kind = str(obj.get("object"))
        assert kind in fixtures, f"{kind} has no example object in fixtures3.json"
        if missing := missing_paths(fixtures[kind], obj):
            problems[f"{kind} {obj['id']}"] = missing
    print(f"checked {len(delivered)} delivered events and {len(stored)} stored objects")
    assert problems == {}
    assert {"payment_intent", "charge", "checkout.session", "setup_intent", "event"} <= kinds
