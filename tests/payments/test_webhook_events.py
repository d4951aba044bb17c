"""Real signed webhooks from the sandbox (and hand-signed ones for the edge cases) through
our HTTP route: duplicates, every order, signatures, modes, failures, refunds, strangers."""

from __future__ import annotations

import copy
import itertools
import json
import time
from typing import Any

import pytest
from sqlmodel import Session, select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import display_status, get_invoice_view
from nextoria_hub.clock import utcnow
from nextoria_hub.models import (
    InboxEvent,
    Invoice,
    OutboxEmail,
    Payment,
    StripeEvent,
    WebhookDelivery,
)
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.queries import list_payments, unmatched_events
from nextoria_hub.tenancy import Actor
from nextoria_hub.webhooks_health import webhook_health
from tests.inbox import drain_inbox, inbox_result
from tests.payments.conftest import DECLINED, Shop, make_shop, post_event, sandbox_events

WHSEC = "whsec_handsigned_test_secret"


def _paid_through_checkout(shop: Shop, card: str = "4242424242424242") -> Invoice:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url, card)
    shop.settle_webhooks()
    shop.refresh(invoice)
    return invoice


def _count(db: Session, model: Any, *where: Any) -> int:
    db.expire_all()
    return len(db.exec(select(model).where(*where)).all())


def _emails(db: Session, kind: str) -> list[OutboxEmail]:
    db.expire_all()
    return list(db.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)))


def test_duplicate_delivery_records_one_payment(shop: Shop) -> None:
    invoice = _paid_through_checkout(shop)
    assert invoice.status == "paid"
    wanted = ("payment_intent.succeeded", "checkout.session.completed")
    ids = [e["id"] for e in sandbox_events(shop) if e["type"] in wanted]
    assert len(ids) == 2
    shop.sandbox.control("POST", "events/deliver", {"events": ids, "twice": True})
    shop.settle_webhooks()
    assert _count(shop.db, Payment) == 1
    assert _count(shop.db, WebhookDelivery, WebhookDelivery.outcome == "duplicate") >= 4
    assert len(_emails(shop.db, "payment_receipt")) == 1
    assert len(_emails(shop.db, "payment_received_admin")) == 1  # one admin
    shop.refresh(invoice)
    assert invoice.amount_paid == 300000


def test_payment_emails_reach_admins_and_client_with_amounts(shop: Shop) -> None:
    second_admin = Actor.of(shop.tenant.admin)
    from tests.factories import quick_user

    quick_user(shop.db, second_admin.workspace_id, "boss@acme.test", "admin")
    invoice = _paid_through_checkout(shop)
    admin_mails = _emails(shop.db, "payment_received_admin")
    assert sorted(m.to_address for m in admin_mails) == ["admin@acme.test", "boss@acme.test"]
    for mail in admin_mails:
        assert "$3,000.00" in mail.subject and invoice.number in mail.subject
        assert "Initech" in mail.text_body and "Visa •••• 4242" in mail.text_body
        assert "Acme" in mail.html_body
    (receipt,) = _emails(shop.db, "payment_receipt")
    assert receipt.to_address == "ap@initech.test"
    assert "$3,000.00" in receipt.subject and "Acme" in receipt.subject
    assert f"/portal/invoices/{invoice.id}" in receipt.text_body


def test_receipts_switch_is_respected(shop: Shop) -> None:
    get_finance(shop.db, shop.tenant.id).receipts_enabled = False
    shop.db.commit()
    invoice = _paid_through_checkout(shop)
    assert invoice.status == "paid"
    assert _emails(shop.db, "payment_receipt") == []
    assert len(_emails(shop.db, "payment_received_admin")) == 1


def test_declined_card_records_a_failed_attempt_and_a_later_success_wins(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    page = shop.pay(url, DECLINED)
    assert page.status_code == 200 and "declined" in page.text
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_paid == 0
    (failed,) = shop.db.exec(select(Payment)).all()
    assert (failed.status, failed.failure_code) == ("failed", "generic_decline")
    assert "declined" in failed.failure_message
    (mail,) = _emails(shop.db, "payment_failed")
    assert mail.to_address == "ap@initech.test" and "$3,000.00" in mail.subject
    assert f"{shop.base_url}/portal/invoices/{invoice.id}" in mail.text_body
    (agency,) = _emails(shop.db, "payment_failed_admin")  # the agency hears of it too
    assert agency.to_address == shop.tenant.admin.email and "failed" in agency.subject
    assert "declined" in agency.text_body and f"{shop.base_url}/invoices/{invoice.id}" in (
        agency.text_body
    )
    activity = get_invoice_view(shop.db, shop.admin, invoice.id).activity
    assert activity[-1].kind == "payment_failed" and "declined" in activity[-1].detail

    shop.pay(url)  # the same session, another card
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    # the failure delivered again after the success changes nothing
    failed_event = next(
        e for e in sandbox_events(shop) if e["type"] == "payment_intent.payment_failed"
    )
    shop.sandbox.control("POST", f"events/{failed_event['id']}/redeliver")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and display_status(invoice, utcnow().date()) == "Paid"
    assert _count(shop.db, Payment, Payment.status == "failed") == 1
    assert _count(shop.db, Payment, Payment.status == "succeeded") == 1
    assert len(_emails(shop.db, "payment_failed")) == 1
    assert len(_emails(shop.db, "payment_failed_admin")) == 1


def test_partial_then_full_refund(shop: Shop) -> None:
    invoice = _paid_through_checkout(shop)
    payment = shop.db.exec(select(Payment)).one()
    shop.stripe.v1.refunds.create({"payment_intent": payment.payment_intent_id, "amount": 50000})
    shop.settle_webhooks()
    shop.refresh(invoice, payment)
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 50000)
    assert invoice.amount_refunded == 50000 and invoice.status == "paid"
    assert display_status(invoice, utcnow().date()) == "Partially refunded"
    shop.stripe.v1.refunds.create({"payment_intent": payment.payment_intent_id})
    shop.settle_webhooks()
    shop.refresh(invoice, payment)
    assert (payment.status, payment.amount_refunded) == ("refunded", 300000)
    assert invoice.amount_refunded == 300000
    assert display_status(invoice, utcnow().date()) == "Refunded"
    kinds = [a.kind for a in get_invoice_view(shop.db, shop.admin, invoice.id).activity]
    assert kinds.count("refunded") == 2
    # the first refund's event again (a smaller amount_refunded) never lowers the total
    first = next(e for e in sandbox_events(shop) if e["type"] == "charge.refunded")
    shop.sandbox.control("POST", f"events/{first['id']}/redeliver")
    shop.settle_webhooks()
    shop.refresh(payment)
    assert payment.amount_refunded == 300000
    assert [p.id for p in list_payments(shop.db, shop.admin, status="refunded")] == [payment.id]
    assert list_payments(shop.db, shop.admin, mode="live") == []


def test_events_about_objects_the_hub_did_not_create_are_unmatched(shop: Shop) -> None:
    client = shop.stripe
    pi = client.v1.payment_intents.create(
        {"amount": 1234, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}  # type: ignore[typeddict-item]
    )
    client.v1.refunds.create({"payment_intent": pi.id})
    cus = client.v1.customers.create({"name": "Walk-in"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    sub = client.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product": client.v1.products.create({"name": "Retainer"}).id,
                        "unit_amount": 5000,
                        "recurring": {"interval": "month"},
                    }
                }
            ],
        }  # type: ignore[typeddict-item]
    )
    shop.sandbox.control("POST", f"subscriptions/{sub.id}/cancel")
    shop.settle_webhooks()
    found = {e.type: e for e in unmatched_events(shop.db, shop.admin)}
    assert set(found) >= {
        "payment_intent.succeeded",
        "charge.refunded",
        "invoice.paid",
        "customer.subscription.deleted",
    }
    assert "outside Nextoria Hub" in found["payment_intent.succeeded"].detail
    assert _count(shop.db, Payment) == 0
    assert _count(shop.db, WebhookDelivery, WebhookDelivery.outcome == "error") == 0
    assert webhook_health(shop.db, shop.tenant.id).not_applied >= 4


def test_stripe_invoice_paid_settles_the_linked_hub_invoice(shop: Shop) -> None:
    client = shop.stripe
    cus = client.v1.customers.create({"name": "Initech"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        sub = client.v1.subscriptions.create(
            {
                "customer": cus.id,
                "items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "product": client.v1.products.create({"name": "Retainer"}).id,
                            "unit_amount": 300000,
                            "recurring": {"interval": "month"},
                        }
                    }
                ],
            }  # type: ignore[typeddict-item]
        )
        invoice = shop.invoice()
        invoice.stripe_invoice_id = str(sub.latest_invoice)  # the retainer link
        shop.db.add(invoice)
        shop.db.commit()
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000
    payment = shop.db.exec(select(Payment)).one()
    assert payment.source == "stripe_invoice" and payment.status == "succeeded"


# ---- hand-signed deliveries: signatures, sizes, hosts, modes, foreign metadata, errors ----


def _captured_success(shop: Shop) -> tuple[Invoice, dict[str, Any]]:
    """A paid invoice, and its payment_intent.succeeded event as Stripe sent it."""
    invoice = _paid_through_checkout(shop)
    event = next(e for e in sandbox_events(shop) if e["type"] == "payment_intent.succeeded")
    return invoice, event


def test_bad_signature_is_400_and_counted(shop: Shop) -> None:
    _invoice, event = _captured_success(shop)
    before = webhook_health(shop.db, shop.tenant.id).signature_failures
    resp = post_event(shop.port, "acme", event, "whsec_not_the_right_one")
    assert resp.status_code == 400
    # Junk in Stripe-Signature (stale, no real MAC) is refused without counting as a failure.
    resp = post_event(shop.port, "acme", event, "", signature="t=1,v1=deadbeef")
    assert resp.status_code == 400
    shop.db.expire_all()
    health = webhook_health(shop.db, shop.tenant.id)
    assert health.signature_failures == before + 1 and health.last_signature_failure


def test_unknown_host_is_404_and_big_body_413(shop: Shop) -> None:
    _invoice, event = _captured_success(shop)
    resp = post_event(shop.port, "nobody", event, shop.webhook_secret())
    assert resp.status_code == 404
    huge = json.dumps({**event, "padding": "x" * (1024 * 1024)}).encode()
    resp = post_event(shop.port, "acme", huge, shop.webhook_secret())
    assert resp.status_code == 413


def test_stale_timestamp_is_refused(shop: Shop) -> None:
    _invoice, event = _captured_success(shop)
    event = {**event, "id": event["id"] + "_stale"}
    resp = post_event(
        shop.port, "acme", event, shop.webhook_secret(), timestamp=int(time.time()) - 301
    )
    assert resp.status_code == 400
    assert _count(shop.db, StripeEvent, StripeEvent.event_id == event["id"]) == 0


def _fresh_invoice_event(
    shop: Shop, event: dict[str, Any], suffix: str
) -> tuple[Invoice, dict[str, Any]]:
    """The captured event re-aimed at a new open invoice (what a forged or misrouted one would be)."""
    target = shop.invoice()
    forged = copy.deepcopy(event)
    forged["id"] = f"{event['id']}_{suffix}"
    forged["data"]["object"]["id"] = f"pi_{suffix}_{target.id}"
    forged["data"]["object"]["metadata"]["nextoria_invoice_id"] = str(target.id)
    return target, forged


def test_live_event_signed_with_the_test_secret_changes_nothing(shop: Shop) -> None:
    _invoice, event = _captured_success(shop)
    target, forged = _fresh_invoice_event(shop, event, "live")
    forged["livemode"] = True
    resp = post_event(shop.port, "acme", forged, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "wrong_mode"
    shop.refresh(target)
    assert target.status == "open" and _count(shop.db, Payment) == 1


def test_metadata_of_another_workspace_changes_nothing(shop: Shop) -> None:
    _invoice, event = _captured_success(shop)
    target, forged = _fresh_invoice_event(shop, event, "foreign")
    forged["data"]["object"]["metadata"]["nextoria_workspace_id"] = str(shop.tenant.id + 999)
    resp = post_event(shop.port, "acme", forged, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "foreign"
    # an invoice id of another workspace without the workspace id is unmatched, not applied
    other = make_shop(shop.db, shop.sandbox, shop.account, shop.port, "globex", register=False)
    theirs = other.invoice()
    forged2 = copy.deepcopy(forged)
    forged2["id"] += "2"
    forged2["data"]["object"]["metadata"].pop("nextoria_workspace_id")
    forged2["data"]["object"]["metadata"]["nextoria_invoice_id"] = str(theirs.id)
    resp = post_event(shop.port, "acme", forged2, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    drain_inbox()
    assert inbox_result(forged2["id"]) == ("applied", "unmatched")
    shop.refresh(target, theirs)
    assert target.status == "open" and theirs.status == "open"
    assert _count(shop.db, Payment) == 1


def test_stripe_down_while_applying_keeps_the_event_and_redelivery_applies_it(
    shop: Shop,
) -> None:
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        invoice = shop.invoice()
        url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
        shop.db.commit()
        shop.pay(url)
        event = next(e for e in sandbox_events(shop) if e["type"] == "payment_intent.succeeded")
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    # Stripe's API fails while the worker applies the event: the delivery is acknowledged,
    # the try rolls back and the event waits in the inbox for its next try
    resp = post_event(shop.port, "acme", event, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    shop.sandbox.control("POST", "chaos", {"failure_rate": 1.0, "failure_mode": "500"})
    try:
        counts = drain_inbox()
    finally:
        shop.sandbox.control("DELETE", "chaos")
    assert (counts.claimed, counts.retrying) == (1, 1)
    assert _count(shop.db, Payment) == 0
    assert _count(shop.db, StripeEvent, StripeEvent.event_id == event["id"]) == 0
    row = shop.db.exec(select(InboxEvent).where(InboxEvent.event_id == event["id"])).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Traceback" in row.last_error and row.next_attempt_at > utcnow()
    shop.refresh(invoice)
    assert invoice.status == "open"
    # Stripe sends it again: no second inbox row, and the waiting event is due at once
    shop.sandbox.control("POST", f"events/{event['id']}/redeliver")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and _count(shop.db, Payment) == 1
    assert _count(shop.db, InboxEvent, InboxEvent.event_id == event["id"]) == 1
    assert inbox_result(event["id"]) == ("applied", "applied")


# ---- every order of the seed's four events + checkout.session.completed ----


@pytest.fixture
def seed_events(db: Session, stripe_sandbox, stripe_account, public_port) -> dict[str, Any]:
    """One invoice paid after a decline, plus a Stripe subscription paid and canceled; the
    five events captured (no endpoint registered, so nothing was delivered)."""
    shop = make_shop(db, stripe_sandbox, stripe_account, public_port, "capture", register=False)
    invoice = shop.invoice()
    url = start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)
    db.commit()
    shop.pay(url, DECLINED)
    shop.pay(url)
    cus = shop.stripe.v1.customers.create({"name": "Initech"})
    pm = shop.stripe.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    shop.stripe.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    sub = shop.stripe.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product": shop.stripe.v1.products.create({"name": "Retainer"}).id,
                        "unit_amount": 5000,
                        "recurring": {"interval": "month"},
                    }
                }
            ],
        }  # type: ignore[typeddict-item]
    )
    shop.sandbox.control("POST", f"subscriptions/{sub.id}/cancel")
    events = {}
    for e in sandbox_events(shop):
        events.setdefault(e["type"], e)
    wanted = (
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "invoice.paid",
        "customer.subscription.deleted",
    )
    return {
        "events": [events[t] for t in wanted],
        "account": stripe_account,
        "sandbox": stripe_sandbox,
    }


def test_every_order_of_the_events_ends_in_the_same_state(
    db: Session, seed_events, public_port
) -> None:
    events = seed_events["events"]
    orders = list(itertools.permutations(range(len(events))))
    assert len(orders) == 120
    for n, order in enumerate(orders):
        slug = f"order{n}"
        shop = make_shop(
            db, seed_events["sandbox"], seed_events["account"], public_port, slug, register=False
        )
        conn.set_webhook_secret(db, shop.admin, "test", WHSEC)
        invoice = shop.invoice()
        # The hub settles from what Stripe says about the PaymentIntent, so each order pays
        # its own invoice for real (a decline, then Visa) and replays those events.
        url = start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)
        db.commit()
        shop.pay(url, DECLINED)
        shop.pay(url)
        own = {}
        for e in sandbox_events(shop):
            meta = e["data"]["object"].get("metadata") or {}
            if meta.get("nextoria_invoice_id") == str(invoice.id) and meta.get(
                "nextoria_workspace_id"
            ) == str(shop.tenant.id):
                own.setdefault(e["type"], e)
        mine = [own.get(e["type"], e) for e in events]
        for i in order:
            event = copy.deepcopy(mine[i])
            event["id"] = f"{event['id']}_{n}"
            resp = post_event(public_port, slug, event, WHSEC)
            assert resp.status_code == 200, (order, resp.text)
            drain_inbox()  # applied as it arrives: the handlers meet every order
        shop.refresh(invoice)
        ws = shop.tenant.id
        assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", 300000, 0), (
            order
        )
        ok = db.exec(
            select(Payment).where(Payment.workspace_id == ws, Payment.status == "succeeded")
        ).all()
        assert len(ok) == 1 and ok[0].method_detail == "Visa •••• 4242", order
        failed = _count(db, Payment, Payment.workspace_id == ws, Payment.status == "failed")
        failure_first = order.index(0) < min(order.index(1), order.index(2))
        assert failed == (1 if failure_first else 0), order
        receipts = _count(
            db, OutboxEmail, OutboxEmail.workspace_id == ws, OutboxEmail.kind == "payment_receipt"
        )
        assert receipts == 1, order
        results = {
            e.type: e.result
            for e in db.exec(select(StripeEvent).where(StripeEvent.workspace_id == ws))
        }
        assert results["invoice.paid"] == results["customer.subscription.deleted"] == "unmatched"
        assert (
            results["payment_intent.succeeded"]
            == results["checkout.session.completed"]
            == "applied"
        )
