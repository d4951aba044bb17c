"""Duplicate storm: every real delivery of many payment flows posted five times at once,
spread over two backend worker processes on one database, then applied by two inbox
workers at once.

Stripe delivers at least once and retries whatever times out, so the same event can reach
two workers at the same moment. Whatever the interleaving, each invoice must end with one
payment, one change to paid, and one email per recipient and kind.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlmodel import Session, col, select

from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.models import (
    AuditEntry,
    InboxEvent,
    Invoice,
    InvoiceActivity,
    OutboxEmail,
    Payment,
    StripeEvent,
    WebhookDelivery,
)
from nextoria_hub.notifications.delivery import deliver_pending
from nextoria_hub.payments.checkout import start_checkout
from stripe_sandbox.testing import SandboxServer, WebhookReceiver
from tests.faults.conftest import Delivery, connected_shops, deliveries_of, emails_by_invoice
from tests.inbox import drain_inbox
from tests.payments.conftest import DECLINED, VISA, Shop
from tests.resend_capture import ResendCapture

COPIES = 5
SEED = 7


def _pay_flows(shops: list[Shop], per_shop: int) -> dict[int, tuple[Shop, Invoice, bool]]:
    """Invoices paid through Checkout as a browser does; every third one declined first."""
    flows: dict[int, tuple[Shop, Invoice, bool]] = {}
    n = 0
    for shop in shops:
        for i in range(per_shop):
            n += 1
            invoice = shop.invoice(LineInput(f"Sprint {i}", "1", f"{100 + 37 * n}.00", "0"))
            url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
            shop.db.commit()
            declined_first = n % 3 == 0
            if declined_first:
                assert "declined" in shop.pay(url, DECLINED).text
            shop.pay(url, VISA)
            flows[invoice.id] = (shop, invoice, declined_first)  # type: ignore[index]
    return flows


def _storm(ports: list[int], deliveries: list[Delivery]) -> list[int]:
    """Each delivery COPIES times, shuffled, posted by many threads to alternating workers."""
    posts = [(d, ports[c % len(ports)]) for d in deliveries for c in range(COPIES)]
    random.Random(SEED).shuffle(posts)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(trust_env=False, timeout=120, limits=limits) as http:

        def post(item: tuple[Delivery, int]) -> int:
            delivery, port = item
            resp = http.post(
                f"http://127.0.0.1:{port}/api/webhooks/stripe",
                content=delivery.body,
                headers=delivery.headers,
            )
            return resp.status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            return list(pool.map(post, posts))


def _per_invoice(db: Session, model: Any, *where: Any) -> Counter[int]:
    db.expire_all()
    return Counter(row.invoice_id for row in db.exec(select(model).where(*where)))


def test_every_delivery_five_times_across_two_workers(
    db: Session,
    stripe_sandbox: SandboxServer,
    backend_pair: list[int],
    receiver: WebhookReceiver,
    resend_capture: ResendCapture,
) -> None:
    shops = connected_shops(db, stripe_sandbox, receiver, ["storm-a", "storm-b", "storm-c"])
    flows = _pay_flows(shops, per_shop=7)
    assert stripe_sandbox.wait_for_deliveries(60)
    deliveries = deliveries_of(receiver)
    types = Counter(d.event["type"] for d in deliveries)
    failing = sum(1 for *_, declined in flows.values() if declined)
    assert types == {
        "payment_intent.succeeded": len(flows),
        "checkout.session.completed": len(flows),
        "payment_intent.payment_failed": failing,
    }, types
    assert len({d.event["id"] for d in deliveries}) == len(deliveries)

    statuses = _storm(backend_pair, deliveries)
    assert len(statuses) == COPIES * len(deliveries)
    assert Counter(statuses) == {200: len(statuses)}, Counter(statuses)

    db.expire_all()
    # every event queued once, by exactly one of its five copies
    queued = Counter(e.event_id for e in db.exec(select(InboxEvent)))
    assert queued == {d.event["id"]: 1 for d in deliveries}
    outcomes: dict[str, Counter[str]] = {}
    for row in db.exec(select(WebhookDelivery)):
        outcomes.setdefault(row.event_id, Counter())[row.outcome] += 1
    for d in deliveries:
        assert outcomes[d.event["id"]] == {"received": 1, "duplicate": COPIES - 1}, (
            d.event["type"],
            outcomes[d.event["id"]],
        )
    # two workers drain the inbox at once; each event is applied and recorded once
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = list(pool.map(lambda _: drain_inbox(), range(2)))
    assert sum(t.applied for t in totals) == len(deliveries), totals
    db.expire_all()
    assert {e.status for e in db.exec(select(InboxEvent))} == {"applied"}
    recorded = Counter(e.event_id for e in db.exec(select(StripeEvent)))
    assert recorded == {d.event["id"]: 1 for d in deliveries}

    succeeded = _per_invoice(db, Payment, Payment.status == "succeeded")
    failed = _per_invoice(db, Payment, Payment.status == "failed")
    paid_changes = _per_invoice(db, InvoiceActivity, InvoiceActivity.kind == "paid")
    failed_notes = _per_invoice(db, InvoiceActivity, InvoiceActivity.kind == "payment_failed")
    audits = Counter(
        (a.workspace_id, a.detail.split(":", 1)[0])
        for a in db.exec(select(AuditEntry).where(AuditEntry.action == "invoice.payment"))
    )
    emails = emails_by_invoice(db)
    failure_recorded = {
        int(d.event["data"]["object"]["metadata"]["nextoria_invoice_id"]): "failed attempt recorded"
        in db.exec(select(StripeEvent.detail).where(StripeEvent.event_id == d.event["id"])).one()
        for d in deliveries
        if d.event["type"] == "payment_intent.payment_failed"
    }
    expected_emails: dict[tuple[int, str, str], int] = {}
    for invoice_id, (shop, invoice, declined_first) in flows.items():
        shop.refresh(invoice)
        assert (invoice.status, invoice.amount_paid) == ("paid", invoice.total), invoice.number
        assert succeeded[invoice_id] == 1 and paid_changes[invoice_id] == 1, invoice.number
        # a decline is recorded only if its event was applied before the success (a failure
        # after the payment changes nothing), and then once, with its activity and email
        noted = int(failure_recorded.get(invoice_id, False))
        assert noted <= int(declined_first)
        assert failed[invoice_id] == failed_notes[invoice_id] == noted, invoice.number
        assert audits[(invoice.workspace_id, invoice.number)] == 1, invoice.number
        client_mail = shop.client.billing_email
        expected_emails[(invoice_id, "payment_receipt", client_mail)] = 1
        expected_emails[(invoice_id, "payment_received_admin", shop.tenant.admin.email)] = 1
        if noted:
            expected_emails[(invoice_id, "payment_failed", client_mail)] = 1
    assert sum(succeeded.values()) == len(flows)
    assert emails == expected_emails

    # and delivery through Resend sends each outbox email once
    while deliver_pending(limit=200).claimed:
        pass
    db.expire_all()
    outbox = db.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind).in_(list({k for _, k, _ in emails})))
    ).all()
    assert {m.status for m in outbox} == {"sent"}
    sent = Counter(
        (r.body["to"][0] if isinstance(r.body["to"], list) else r.body["to"], r.body["subject"])
        for r in resend_capture.delivered
    )
    assert all(n == 1 for n in sent.values()), sent
    for mail in outbox:
        assert sent[(mail.to_address, mail.subject)] == 1
