"""``payment_intent.succeeded`` alone settles a Checkout payment completely: one call to
Stripe finds the session and the card; the delivery is logged as received, the event as
applied."""

from __future__ import annotations

from sqlmodel import select

from nextoria_hub.models import CheckoutSession, Payment, StripeEvent, WebhookDelivery
from nextoria_hub.payments.checkout import start_checkout
from tests.payments.conftest import Shop, sandbox_events


def test_payment_intent_event_alone_links_session_and_card(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.sandbox.control("POST", "webhooks/pause")
    shop.pay(url)
    (event,) = sandbox_events(shop, type="payment_intent.succeeded")
    assert isinstance(event["data"]["object"]["latest_charge"], str)  # as Stripe sends it
    shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    shop.sandbox.control("POST", "events/deliver", {"events": [event["id"]]})
    shop.settle_webhooks()

    shop.refresh(invoice)
    assert invoice.status == "paid"
    payment = shop.db.exec(select(Payment)).one()
    row = shop.db.exec(select(CheckoutSession)).one()
    assert payment.method_detail == "Visa •••• 4242" and payment.charge_id.startswith("ch_")
    assert payment.checkout_session_id == row.session_id
    assert row.status == "complete" and row.payment_intent_id == payment.payment_intent_id
    deliveries = shop.db.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.event_id == event["id"])
        .order_by(WebhookDelivery.id)  # type: ignore[arg-type]
    ).all()
    assert [d.outcome for d in deliveries[:1]] == ["received"]
    assert {d.outcome for d in deliveries[1:]} <= {"duplicate"}  # held copy, if released
    assert event["id"] in deliveries[0].body
    recorded = shop.db.exec(select(StripeEvent)).one()
    assert (recorded.event_id, recorded.result) == (event["id"], "applied")
