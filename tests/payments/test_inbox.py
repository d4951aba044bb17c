"""The webhook inbox: the route records and answers, workers apply in each object's order,
failures are retried and kept, replay and the Events API bring events back."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlmodel import select
from typer.testing import CliRunner

from nextoria_hub.cli import app
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import InboxEvent, Invoice, Payment, StripeEvent, WebhookDelivery
from nextoria_hub.payments import inbox
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.inbox_recovery import fetch_missed_events, replay
from nextoria_hub.webhooks_health import webhook_health
from tests.inbox import drain_inbox, inbox_result
from tests.payments.conftest import DECLINED, Shop, post_event, sandbox_events


def _paid_unseen(shop: Shop, declined_first: bool = False) -> tuple[Invoice, list[dict[str, Any]]]:
    """An invoice paid at Stripe whose webhooks were never delivered; its events."""
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        invoice = shop.invoice()
        url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
        shop.db.commit()
        if declined_first:
            shop.pay(url, DECLINED)
        shop.pay(url)
        events = sandbox_events(shop)
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    return invoice, events


def _rows(shop: Shop) -> list[InboxEvent]:
    shop.db.expire_all()
    return list(shop.db.exec(select(InboxEvent).order_by(InboxEvent.id)))  # type: ignore[arg-type]


def test_the_route_records_once_and_applies_nothing(shop: Shop) -> None:
    invoice, events = _paid_unseen(shop)
    event = next(e for e in events if e["type"] == "payment_intent.succeeded")
    for _ in range(3):
        resp = post_event(shop.port, "acme", event, shop.webhook_secret())
        assert resp.status_code == 200
    (row,) = _rows(shop)
    assert (row.event_id, row.status, row.object_id) == (
        event["id"],
        "pending",
        event["data"]["object"]["id"],
    )
    assert json.loads(row.body)["id"] == event["id"]
    shop.refresh(invoice)
    assert invoice.status == "open" and shop.db.exec(select(Payment)).all() == []
    deliveries = shop.db.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()  # type: ignore[arg-type]
    assert [d.outcome for d in deliveries] == ["received", "duplicate", "duplicate"]
    assert deliveries[0].source_address == "127.0.0.1"
    headers = json.loads(deliveries[0].headers)
    assert headers["stripe-signature"].startswith("t=") and "content-type" in headers
    assert webhook_health(shop.db, shop.tenant.id).inbox_depth == 1

    assert drain_inbox().applied == 1
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert inbox_result(event["id"]) == ("applied", "applied")
    assert drain_inbox().claimed == 0  # nothing twice


def test_events_about_one_object_are_claimed_oldest_first(shop: Shop) -> None:
    _invoice, events = _paid_unseen(shop, declined_first=True)
    failed = next(e for e in events if e["type"] == "payment_intent.payment_failed")
    succeeded = next(e for e in events if e["type"] == "payment_intent.succeeded")
    assert failed["data"]["object"]["id"] == succeeded["data"]["object"]["id"]
    later = copy.deepcopy(succeeded)
    later["created"] = failed["created"] + 5
    earlier = copy.deepcopy(failed)
    # the later event arrives first
    for event in (later, earlier):
        assert post_event(shop.port, "acme", event, shop.webhook_secret()).status_code == 200
    engine = get_engine()
    token = inbox.new_token()
    first = inbox.claim(engine, utcnow(), 10, token)
    assert [r.event_id for r in _rows(shop) if r.id in first] == [earlier["id"]]
    assert inbox.claim(engine, utcnow(), 10, inbox.new_token()) == []  # the later one waits
    assert inbox.finish(engine, first[0], token, status="pending", next_attempt_at=utcnow())
    drain_inbox()
    assert {r.event_id: r.status for r in _rows(shop)} == {
        earlier["id"]: "applied",
        later["id"]: "applied",
    }


def test_a_failure_is_retried_then_kept_with_its_traceback_and_replayed(shop: Shop) -> None:
    invoice, events = _paid_unseen(shop)
    event = next(e for e in events if e["type"] == "payment_intent.succeeded")
    post_event(shop.port, "acme", event, shop.webhook_secret())
    shop.sandbox.control("POST", "chaos", {"failure_rate": 1.0, "failure_mode": "500"})
    try:
        assert drain_inbox().retrying == 1
        (row,) = _rows(shop)
        assert (row.status, row.attempts) == ("pending", 1)
        # the last try: no more backoff, the event is kept as failed
        row.attempts, row.next_attempt_at = inbox.MAX_ATTEMPTS - 1, utcnow()
        shop.db.add(row)
        shop.db.commit()
        assert drain_inbox().failed == 1
    finally:
        shop.sandbox.control("DELETE", "chaos")
    (row,) = _rows(shop)
    assert row.status == "failed" and "Traceback" in row.last_error
    assert "StripeUnavailable" in row.last_error
    health = webhook_health(shop.db, shop.tenant.id)
    assert health.failed == 1 and health.not_applied >= 1
    assert shop.db.exec(select(StripeEvent)).all() == []

    result = CliRunner().invoke(
        app, ["webhooks", "replay", "--workspace", "acme", "--failed", "--no-from-stripe", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["replayed"] == 1
    drain_inbox()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert inbox_result(event["id"]) == ("applied", "applied")
    assert webhook_health(shop.db, shop.tenant.id).failed == 0
    # replaying an applied event applies it again and changes nothing
    assert replay(event_id=event["id"]) == 1
    drain_inbox()
    assert len(shop.db.exec(select(Payment)).all()) == 1
    assert len(shop.db.exec(select(StripeEvent)).all()) == 1


def test_events_that_never_arrived_are_fetched_from_stripe(shop: Shop) -> None:
    invoice, events = _paid_unseen(shop)
    assert _rows(shop) == []
    counts = fetch_missed_events(shop.tenant.id)
    assert counts.queued >= 2 and counts.skipped_workspaces == 0
    assert {r.event_type for r in _rows(shop)} >= {
        "payment_intent.succeeded",
        "checkout.session.completed",
    }
    assert fetch_missed_events(shop.tenant.id).queued == 0  # already in the inbox
    drain_inbox()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert len(shop.db.exec(select(Payment)).all()) == 1
    wanted = {e["id"] for e in events}
    assert {r.event_id for r in _rows(shop)} <= wanted


def test_worker_command_refuses_a_bad_concurrency() -> None:
    result = CliRunner().invoke(app, ["worker", "--concurrency", "0"])
    assert result.exit_code != 0


def test_health_reports_inbox_depth_and_worker_heartbeat(shop: Shop) -> None:
    import httpx

    from nextoria_hub.workers import heartbeat

    _invoice, events = _paid_unseen(shop)
    event = next(e for e in events if e["type"] == "payment_intent.succeeded")
    post_event(shop.port, "acme", event, shop.webhook_secret())
    url = f"http://127.0.0.1:{shop.port}/api/health"
    body = httpx.get(url, trust_env=False, timeout=10).json()
    assert body["status"] == "ok" and body["inbox_depth"] == 1
    assert body["worker_heartbeat_seconds"] is None  # no worker has run yet
    heartbeat("test-worker")
    drain_inbox()
    body = httpx.get(url, trust_env=False, timeout=10).json()
    assert body["inbox_depth"] == 0 and 0 <= body["worker_heartbeat_seconds"] < 3600
    assert "acme" not in json.dumps(body) and event["id"] not in json.dumps(body)


def test_payment_emails_are_rendered_after_the_settling_transaction(shop: Shop) -> None:
    from nextoria_hub.models import OutboxEmail
    from nextoria_hub.notifications import outbox
    from nextoria_hub.notifications.delivery import deliver_pending

    # queued inside the deferred scope: template and context only, no text yet
    with outbox.rendering_deferred() as queued:
        mail = outbox.enqueue_email(
            shop.db,
            workspace_id=shop.tenant.id,
            to="ap@initech.test",
            kind="payment_failed",
            context={
                "workspace_name": "Acme",
                "client_name": "Initech",
                "amount": "$1.00",
                "number": "INV-1",
                "reason": "declined",
                "link": "http://acme.localhost/portal",
            },
        )
    shop.db.commit()
    assert queued == [mail] and (mail.subject, mail.text_body) == ("", "")
    assert json.loads(mail.context)["number"] == "INV-1"
    assert deliver_pending().logged >= 1  # delivery renders it from template + context
    shop.db.expire_all()
    stored = shop.db.get(OutboxEmail, mail.id)
    assert stored is not None and "$1.00" in stored.subject and "INV-1" in stored.text_body

    # a webhook's emails: rendered by the worker once the payment is committed
    invoice, events = _paid_unseen(shop)
    event = next(e for e in events if e["type"] == "payment_intent.succeeded")
    post_event(shop.port, "acme", event, shop.webhook_secret())
    drain_inbox()
    receipt = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt")).one()
    assert invoice.number in receipt.text_body and json.loads(receipt.context)["number"]
