"""A wrong webhook signing secret: Check connection says so, and registering again recovers."""

from __future__ import annotations

from sqlmodel import select

from nextoria_hub.models import AuditEntry, WebhookDelivery
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.webhooks_health import not_applied_events, webhook_health
from tests.inbox import drain_inbox
from tests.payments.conftest import Shop, post_event, sandbox_events


def test_refused_deliveries_fail_the_check_and_registering_replaces_the_endpoint(
    shop: Shop,
) -> None:
    old_endpoint = conn.connection_status(shop.db, shop.admin)[1][0].webhook_endpoint_id
    assert conn.check_connection(shop.db, shop.admin) == []
    # The admin pastes some other endpoint's secret: every delivery is refused from now on.
    conn.set_webhook_secret(shop.db, shop.admin, "test", "whsec_not_the_endpoints_secret")
    shop.db.commit()
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open"
    outcomes = {d.outcome for d in shop.db.exec(select(WebhookDelivery)).all()}
    assert "bad_signature" in outcomes
    health = webhook_health(shop.db, shop.tenant.id)
    assert health.refused and health.last_signature_failure
    assert conn.REFUSED_DELIVERIES in conn.check_connection(shop.db, shop.admin)
    shop.db.commit()

    row = conn.register_webhook(shop.db, shop.admin, "test")
    shop.db.commit()
    assert row.webhook_endpoint_id != old_endpoint
    endpoints = shop.stripe.v1.webhook_endpoints.list().data
    assert [e.id for e in endpoints] == [row.webhook_endpoint_id]  # the old one is deleted
    audit = shop.db.exec(
        select(AuditEntry).where(AuditEntry.action == "stripe.webhook_register")
    ).all()
    assert f"{old_endpoint} replaced by {row.webhook_endpoint_id}" in audit[-1].detail
    assert conn.REFUSED_DELIVERIES not in conn.check_connection(shop.db, shop.admin)
    shop.db.commit()  # the check stores fresh readiness; the webhook route needs the database

    # Stripe resends the payment's events to the new endpoint: they verify and apply.
    for event in sandbox_events(shop, type="checkout.session.completed"):
        shop.sandbox.control("POST", f"events/{event['id']}/redeliver", {})
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert not webhook_health(shop.db, shop.tenant.id).refused
    assert conn.check_connection(shop.db, shop.admin) == []


def test_registering_with_no_stored_secret_replaces_an_existing_endpoint(shop: Shop) -> None:
    """An endpoint made earlier (its secret lost) is replaced, not left without a secret."""
    row = conn.connection_status(shop.db, shop.admin)[1][0]
    keys = conn._keys(shop.db, shop.tenant.id, "test")
    assert keys is not None
    keys.webhook_secret_sealed, keys.webhook_secret_mask = "", ""
    shop.db.commit()
    again = conn.register_webhook(shop.db, shop.admin, "test")
    shop.db.commit()
    assert again.webhook_endpoint_id != row.webhook_endpoint_id
    assert again.webhook_secret_sealed
    assert [e.id for e in shop.stripe.v1.webhook_endpoints.list().data] == [
        again.webhook_endpoint_id
    ]


def test_every_event_has_a_reason_and_a_partial_endpoint_is_reported(shop: Shop) -> None:
    assert set(conn.SEED_EVENTS) <= set(conn.WEBHOOK_EVENTS)
    assert all(conn.WEBHOOK_EVENT_REASONS[e] for e in conn.WEBHOOK_EVENTS)
    endpoint_id = conn.connection_status(shop.db, shop.admin)[1][0].webhook_endpoint_id
    shop.stripe.v1.webhook_endpoints.update(endpoint_id, {"enabled_events": list(conn.SEED_EVENTS)})
    problems = conn.check_connection(shop.db, shop.admin)
    assert any("not subscribed to" in p and "checkout.session.completed" in p for p in problems)


def test_events_not_applied_are_listed_with_their_detail(shop: Shop) -> None:
    event = {
        "id": "evt_not_ours_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "livemode": False,
        "created": 1_790_000_000,
        "api_version": "2026-10-28.endive",
        "data": {"object": {"id": "pi_not_ours", "object": "payment_intent", "metadata": {}}},
    }
    resp = post_event(shop.port, shop.tenant.workspace.slug, event, shop.webhook_secret())
    assert resp.status_code == 200
    drain_inbox()  # the route only records; a worker applies
    health = webhook_health(shop.db, shop.tenant.id)
    rows = not_applied_events(shop.db, shop.tenant.id)
    assert health.not_applied == len(rows) >= 1
    assert rows[0].event_id == "evt_not_ours_1" and rows[0].outcome in ("unmatched", "error")
    assert rows[0].type == "payment_intent.succeeded"
