"""Products, prices, subscriptions, invoices and refunds: a retainer billed through Stripe."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox.testing import SandboxServer, WebhookReceiver


def _customer_with_card(client: stripe.StripeClient, pm: str = "pm_card_visa") -> tuple[str, str]:
    cus = client.v1.customers.create(params={"name": "Retainer client"})
    pm_obj = client.v1.payment_methods.attach(pm, params={"customer": cus.id})
    client.v1.customers.update(
        cus.id, params={"invoice_settings": {"default_payment_method": pm_obj.id}}
    )
    return cus.id, pm_obj.id


def test_products_and_prices(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "Design retainer"})
    price = client.v1.prices.create(
        params={
            "product": prod.id,
            "unit_amount": 300000,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    assert price.type == "recurring" and price.recurring.interval == "month"
    assert client.v1.prices.retrieve(price.id).product == prod.id
    assert [p.id for p in client.v1.prices.list(params={"product": prod.id}).data] == [price.id]
    assert client.v1.products.retrieve(prod.id).name == "Design retainer"


def test_subscription_charges_first_invoice_and_emits_invoice_paid(
    client: stripe.StripeClient, receiver: WebhookReceiver, sandbox: SandboxServer
) -> None:
    ep = client.v1.webhook_endpoints.create(
        params={
            "url": receiver.url,
            "enabled_events": ["invoice.paid", "customer.subscription.deleted"],
        }
    )
    cus_id, pm_id = _customer_with_card(client)
    # A subscription item's price_data names a product; only prices take product_data.
    product = client.v1.products.create(params={"name": "Retainer"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus_id,
            "items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product": product.id,
                        "unit_amount": 250000,
                        "recurring": {"interval": "month"},
                    }
                }
            ],
            "metadata": {"retainer": "r1"},
            "expand": ["latest_invoice"],
        }
    )
    assert sub.status == "active" and sub.customer == cus_id
    inv = sub.latest_invoice
    assert inv.paid is True and inv.status == "paid" and inv.amount_paid == 250000
    assert inv.subscription == sub.id and inv.customer == cus_id
    pi = client.v1.payment_intents.retrieve(inv.payment_intent)
    assert pi.status == "succeeded" and pi.payment_method == pm_id
    assert receiver.wait_for(lambda evs: any(e["type"] == "invoice.paid" for e in evs))
    paid_evt = next(e for e in receiver.events() if e["type"] == "invoice.paid")
    assert paid_evt["data"]["object"]["id"] == inv.id
    req = receiver.requests[0]
    stripe.Webhook.construct_event(req["body"], req["headers"]["Stripe-Signature"], ep.secret)

    nxt = sandbox.control("POST", f"subscriptions/{sub.id}/advance")
    assert (
        nxt["invoice"]["paid"] is True and nxt["invoice"]["billing_reason"] == "subscription_cycle"
    )
    assert nxt["subscription"]["current_period_start"] == sub.current_period_end
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert len(invoices) == 2 and all(i.status == "paid" for i in invoices)
    assert receiver.wait_for(lambda evs: sum(e["type"] == "invoice.paid" for e in evs) == 2)

    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.canceled_at
    assert receiver.wait_for(
        lambda evs: any(e["type"] == "customer.subscription.deleted" for e in evs)
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)


def test_dashboard_cancel_control(client: stripe.StripeClient, sandbox: SandboxServer) -> None:
    cus_id, _ = _customer_with_card(client, "pm_card_mastercard")
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "Care plan"},
            "unit_amount": 5000,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={"customer": cus_id, "items": [{"price": price.id}]}
    )
    out = sandbox.control("POST", f"subscriptions/{sub.id}/cancel")
    assert out["status"] == "canceled"
    again = sandbox.control("POST", f"subscriptions/{sub.id}/cancel")
    assert again["canceled_at"] == out["canceled_at"]
    assert len(client.v1.events.list(params={"type": "customer.subscription.deleted"}).data) == 1
    deleted = client.v1.events.list(params={"type": "customer.subscription.deleted"}).data
    assert deleted[0].data.object.id == sub.id
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_subscription_with_failing_card(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    cus_id, _ = _customer_with_card(client, "pm_card_chargeCustomerFail")
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "x"},
            "unit_amount": 5000,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={"customer": cus_id, "items": [{"price": price.id}]}
    )
    assert sub.status == "incomplete"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.paid is False and inv.status == "open"
    assert "invoice.payment_failed" in [e.type for e in client.v1.events.list().data]
    with pytest.raises(stripe.CardError):
        client.v1.subscriptions.create(
            params={
                "customer": cus_id,
                "items": [{"price": price.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )


def test_refunds_full_and_partial(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 10000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    partial = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 2500})
    assert (
        partial.status == "succeeded"
        and partial.amount == 2500
        and partial.charge == pi.latest_charge
    )
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.amount_refunded == 2500 and charge.refunded is False
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 7500
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.amount_refunded == 10000 and charge.refunded is True
    assert client.v1.payment_intents.retrieve(pi.id)["amount_refunded"] == 10000
    refunded = client.v1.events.list(params={"type": "charge.refunded"}).data
    assert [e.data.object.amount_refunded for e in refunded] == [10000, 2500]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id})
    assert exc.value.code == "charge_already_refunded"
    assert client.v1.refunds.retrieve(rest.id).amount == 7500
    assert len(client.v1.refunds.list(params={"payment_intent": pi.id}).data) == 2


def test_refund_too_large(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1001})
    assert exc.value.code == "amount_too_large"


def _sub_params(client: stripe.StripeClient, cus_id: str) -> Any:
    product = client.v1.products.create(params={"name": "p"})
    return {
        "customer": cus_id,
        "items": [
            {
                "price_data": {
                    "currency": "usd",
                    "product": product.id,
                    "unit_amount": 1000,
                    "recurring": {"interval": "year"},
                }
            }
        ],
    }


def test_subscription_without_payment_method(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "no card"})
    sub = client.v1.subscriptions.create(params=_sub_params(client, cus.id))
    assert sub.status == "incomplete"


def test_cancel_at_period_end_then_advance(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    cus_id, _ = _customer_with_card(client)
    sub = client.v1.subscriptions.create(params=_sub_params(client, cus_id))
    upd = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert upd.cancel_at_period_end is True and upd.cancel_at == sub.current_period_end
    out = sandbox.control("POST", f"subscriptions/{sub.id}/advance")
    assert out["invoice"] is None and out["subscription"]["status"] == "canceled"
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    deleted = client.v1.events.list(params={"type": "customer.subscription.deleted"}).data
    assert [e.data.object.id for e in deleted] == [sub.id]


def test_advance_with_failing_card_goes_past_due(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    cus_id, _ = _customer_with_card(client)
    sub = client.v1.subscriptions.create(params=_sub_params(client, cus_id))
    bad = client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": cus_id})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": bad.id})
    out = sandbox.control("POST", f"subscriptions/{sub.id}/advance")
    assert out["invoice"]["paid"] is False and out["subscription"]["status"] == "past_due"
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert "invoice.payment_failed" in types
