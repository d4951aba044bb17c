"""Money that comes back after an invoice is paid, against the sandbox over HTTP: disputes
(test card 4000 0000 0000 0259, closed won or lost by the sandbox's control) and refunds that
fail (4000 0000 0000 5126), with events duplicated and out of order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from nextoria_hub.billing.invoices import dashboard_totals, display_status
from nextoria_hub.clock import utcnow
from nextoria_hub.models import Dispute, Invoice, InvoiceActivity, OutboxEmail, Payment
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.webhook_handlers import handled_types
from stripe_sandbox.testing import SandboxServer
from tests.inbox import drain_inbox, inbox_result
from tests.payments.conftest import Shop, post_event, sandbox_events

DISPUTED = "4000000000000259"
REFUND_FAILS = "4000000000005126"


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


def paid(shop: Shop, card: str) -> Invoice:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    shop.pay(url, card)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    return invoice


def kinds(shop: Shop, invoice: Invoice) -> list[str]:
    shop.db.expire_all()
    return [
        a.kind
        for a in shop.db.exec(
            select(InvoiceActivity)
            .where(InvoiceActivity.invoice_id == invoice.id)
            .order_by(InvoiceActivity.id)  # type: ignore[arg-type]
        )
    ]


def emails(shop: Shop, kind: str) -> list[OutboxEmail]:
    shop.db.expire_all()
    return list(shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)))


def events_of(shop: Shop, *types: str) -> list[dict[str, Any]]:
    return [e for e in sandbox_events(shop) if e["type"] in types]


def deliver(shop: Shop, events: list[dict[str, Any]], *, twice: bool = False) -> None:
    ids = [e["id"] for e in events]
    shop.sandbox.control("POST", "events/deliver", {"events": ids, "twice": twice})
    shop.settle_webhooks()


def label(invoice: Invoice) -> str:
    return display_status(invoice, utcnow().date())


def dispute_id(shop: Shop) -> str:
    return str(events_of(shop, "charge.dispute.created")[0]["data"]["object"]["id"])


def test_dispute_flags_the_invoice_emails_admins_and_counts_at_risk(shop: Shop) -> None:
    invoice = paid(shop, DISPUTED)
    assert invoice.amount_disputed == 300000 and label(invoice) == "Disputed"
    assert invoice.status == "paid"
    (row,) = shop.db.exec(select(Dispute)).all()
    assert (row.outcome, row.amount, row.reason) == ("open", 300000, "fraudulent")
    mails = emails(shop, "dispute_opened_admin")
    assert [m.to_address for m in mails] == ["admin@acme.test"]
    assert "$3,000.00" in mails[0].subject and invoice.number in mails[0].subject
    totals = dashboard_totals(shop.db, shop.admin, utcnow().date())
    assert [(t["currency"], t["disputed"]) for t in totals] == [("usd", 300000)]
    assert "disputed" in kinds(shop, invoice)


def test_lost_dispute_is_money_returned(shop: Shop) -> None:
    invoice = paid(shop, DISPUTED)
    shop.sandbox.control("POST", f"disputes/{dispute_id(shop)}/close", {"outcome": "lost"})
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert (invoice.amount_disputed, invoice.amount_charged_back) == (0, 300000)
    assert label(invoice) == "Dispute lost"
    assert kinds(shop, invoice)[-1] == "dispute_lost"
    assert [m.subject for m in emails(shop, "dispute_closed_admin")] == [
        f"Dispute lost: $3,000.00 on invoice {invoice.number}"
    ]
    totals = dashboard_totals(shop.db, shop.admin, utcnow().date())
    assert totals[0]["disputed"] == 0
    # every dispute event again, created last: nothing changes, nothing reopens
    deliver(
        shop,
        list(reversed(events_of(shop, "charge.dispute.created", "charge.dispute.closed"))),
        twice=True,
    )
    shop.refresh(invoice)
    assert (invoice.amount_disputed, invoice.amount_charged_back) == (0, 300000)
    assert len(emails(shop, "dispute_opened_admin")) == 1
    assert len(emails(shop, "dispute_closed_admin")) == 1


def test_won_dispute_clears_the_flag(shop: Shop) -> None:
    invoice = paid(shop, DISPUTED)
    shop.sandbox.control("POST", f"disputes/{dispute_id(shop)}/close", {"outcome": "won"})
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.amount_disputed, invoice.amount_charged_back) == (0, 0)
    assert label(invoice) == "Paid"
    assert kinds(shop, invoice)[-1] == "dispute_won"


def test_dispute_closed_before_created_and_before_the_payment(shop: Shop) -> None:
    """Webhooks held back: the closing event arrives first, before we even saw the payment."""
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        invoice = shop.invoice()
        url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
        shop.db.commit()
        shop.pay(url, DISPUTED)
        shop.sandbox.control("POST", f"disputes/{dispute_id(shop)}/close", {"outcome": "lost"})
        held = sandbox_events(shop)
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    deliver(shop, list(reversed(held)), twice=True)
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000
    assert (invoice.amount_disputed, invoice.amount_charged_back) == (0, 300000)
    assert len(shop.db.exec(select(Payment).where(Payment.kind == "payment")).all()) == 1


def _refund(shop: Shop, invoice: Invoice) -> str:
    payment = shop.db.exec(select(Payment).where(Payment.invoice_id == invoice.id)).one()
    refund = shop.stripe.v1.refunds.create({"payment_intent": payment.payment_intent_id})
    shop.settle_webhooks()
    return str(refund.id)


def test_failed_refund_is_shown_and_the_refund_undone(shop: Shop) -> None:
    invoice = paid(shop, REFUND_FAILS)
    refund_id = _refund(shop, invoice)
    shop.refresh(invoice)
    assert invoice.amount_refunded == 300000 and label(invoice) == "Refunded"
    shop.sandbox.control("POST", f"refunds/{refund_id}/settle")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.amount_refunded == 0 and label(invoice) == "Paid"
    rows = shop.db.exec(select(Payment).where(Payment.invoice_id == invoice.id)).all()
    by_status = {p.status: p for p in rows}
    assert set(by_status) == {"succeeded", "refund_failed"}
    assert by_status["succeeded"].amount_refunded == 0
    note = by_status["refund_failed"].failure_message
    assert "refund of $3,000.00 failed" in note and "expired or canceled" in note
    assert kinds(shop, invoice)[-1] == "refund_failed"
    # the refund's events again, the failure first: still undone, noted once
    again = events_of(shop, "charge.refund.updated", "charge.refunded")
    deliver(shop, again, twice=True)
    shop.refresh(invoice)
    assert invoice.amount_refunded == 0
    assert kinds(shop, invoice).count("refund_failed") == 1


def test_refund_failure_before_the_refund_event(shop: Shop) -> None:
    invoice = paid(shop, REFUND_FAILS)
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        payment = shop.db.exec(select(Payment).where(Payment.invoice_id == invoice.id)).one()
        refund = shop.stripe.v1.refunds.create({"payment_intent": payment.payment_intent_id})
        shop.sandbox.control("POST", f"refunds/{refund.id}/settle")
        held = events_of(shop, "charge.refunded", "charge.refund.updated")
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    assert [e["type"] for e in held] == ["charge.refunded", "charge.refund.updated"]
    deliver(shop, list(reversed(held)))
    shop.refresh(invoice)
    assert invoice.amount_refunded == 0 and label(invoice) == "Paid"
    assert kinds(shop, invoice).count("refund_failed") == 1


def test_webhook_lists_every_handled_event_and_registration_updates_the_endpoint(
    shop: Shop,
) -> None:
    assert set(conn.CONNECT_WEBHOOK_EVENTS) == set(handled_types())
    assert not set(conn.CONNECT_ONLY_EVENTS) & set(conn.WEBHOOK_EVENTS)
    row = conn._keys(shop.db, shop.tenant.id, "test")
    assert row is not None
    shop.stripe.v1.webhook_endpoints.update(
        row.webhook_endpoint_id, {"enabled_events": ["payment_intent.succeeded"]}
    )
    conn.register_webhook(shop.db, shop.admin, "test")
    shop.db.commit()
    endpoint = shop.stripe.v1.webhook_endpoints.retrieve(row.webhook_endpoint_id)
    assert sorted(endpoint.enabled_events) == sorted(conn.WEBHOOK_EVENTS)
    assert len(shop.stripe.v1.webhook_endpoints.list().data) == 1


def test_events_the_product_does_not_use_are_acknowledged_and_ignored(shop: Shop) -> None:
    event = {
        "id": "evt_funds_withdrawn_1",
        "object": "event",
        "type": "charge.dispute.funds_withdrawn",
        "livemode": False,
        "created": 1_790_000_000,
        "data": {"object": {"id": "dp_123", "object": "dispute", "amount": 100}},
    }
    resp = post_event(shop.port, "acme", json.loads(json.dumps(event)), shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    drain_inbox()
    assert inbox_result("evt_funds_withdrawn_1") == ("applied", "ignored")


def test_a_dispute_stripe_does_not_know_changes_nothing(shop: Shop) -> None:
    invoice = paid(shop, "4242424242424242")
    payment = shop.db.exec(select(Payment).where(Payment.invoice_id == invoice.id)).one()
    event = {
        "id": "evt_forged_dispute",
        "object": "event",
        "type": "charge.dispute.created",
        "livemode": False,
        "created": 1_790_000_000,
        "data": {
            "object": {
                "id": "dp_forged",
                "object": "dispute",
                "amount": 300000,
                "currency": "usd",
                "charge": payment.charge_id,
                "payment_intent": payment.payment_intent_id,
                "status": "needs_response",
                "reason": "fraudulent",
            }
        },
    }
    resp = post_event(shop.port, "acme", event, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    drain_inbox()
    assert inbox_result("evt_forged_dispute") == ("applied", "unmatched")
    shop.refresh(invoice)
    assert invoice.amount_disputed == 0 and label(invoice) == "Paid"
    assert shop.db.exec(select(Dispute)).all() == []
