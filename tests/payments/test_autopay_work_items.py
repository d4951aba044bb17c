"""Autopay work items: queued once per invoice, claimed under a lease, taken over safely.

The processes-and-SIGKILL version is ``tests/resilience/test_autopay_worker_kill.py``; these
check the queue's rules one by one, in this process, against the sandbox.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import AutopayAttempt, AutopayItem, Invoice, Payment
from nextoria_hub.payments.autopay import engine, work_items
from nextoria_hub.payments.autopay.engine import ChargeCounts
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, autopay_invoice, enable, ledger, save_card


def _items(shop: Shop) -> list[AutopayItem]:
    shop.db.expire_all()
    return list(shop.db.exec(select(AutopayItem).order_by(col(AutopayItem.id))))


def test_two_runs_queue_an_invoice_once_and_a_worker_charges_it(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    assert work_items.enqueue_due_items(at(due - timedelta(days=1))) == {"due": 0, "queued": 0}
    assert work_items.enqueue_due_items(at(due)) == {"due": 1, "queued": 1}
    assert work_items.enqueue_due_items(at(due)) == {"due": 1, "queued": 0}  # a second scheduler
    assert work_items.queued() == {"pending": 1, "claimed": 0}
    assert ledger(shop) == []  # queueing charges nothing

    counts = work_items.work_until_empty(counts=ChargeCounts())
    assert counts.charged == 1
    [item] = _items(shop)
    assert (item.status, item.outcome, item.open_invoice_id) == ("done", "succeeded", None)
    assert [c["status"] for c in ledger(shop)] == ["succeeded"]
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    # Paid: the next run queues nothing, and a later due invoice gets an item of its own.
    assert work_items.enqueue_due_items(at(due, 12)) == {"due": 0, "queued": 0}


def test_a_lease_held_is_not_taken_and_a_lapsed_one_is_replayed_not_recharged(
    shop: Shop,
) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    work_items.enqueue_due_items(at(due))
    eng = get_engine()

    # Worker A claims the item, commits the attempt, sends the request, and dies before
    # writing the answer.
    dead = "a" * 32
    [item] = work_items.claim(eng, utcnow(), 10, dead)
    assert work_items.claim(eng, utcnow(), 10, "b" * 32) == []  # A's lease holds
    send, replays, skipped = work_items._attempts_to_send(item.workspace_id, [item])
    assert not replays and not skipped
    calls = engine.prepare_calls(item.workspace_id, list(send.values()))
    [call] = calls.values()
    assert call is not None and engine.send(call)[0] == "succeeded"
    assert len(ledger(shop)) == 1
    shop.db.expire_all()
    [attempt] = shop.db.exec(select(AutopayAttempt)).all()
    assert attempt.status == "claimed"

    # A's lease runs out: worker B takes the item over and replays the same request.
    with eng.begin() as conn:
        conn.execute(update(AutopayItem).values(not_before=utcnow() - timedelta(seconds=1)))
    counts = work_items.work_until_empty(counts=ChargeCounts())
    assert counts.resolved == 1 and counts.charged == 0
    assert len(ledger(shop)) == 1  # Stripe answered the replay from its stored result
    shop.db.expire_all()
    assert shop.db.get(AutopayAttempt, attempt.id).status == "succeeded"  # type: ignore[union-attr]
    assert shop.db.get(Invoice, invoice.id).status == "paid"  # type: ignore[union-attr]
    # A, back from the dead, can no longer close or requeue the item.
    assert work_items.finish(eng, dead, {item.id: "succeeded"}, {}) == 0
    assert work_items.finish(eng, dead, {}, {item.id: "error"}) == 0
    [row] = _items(shop)
    assert row.status == "done" and row.tries == 2
    payments = shop.db.exec(select(Payment).where(Payment.kind == "payment")).all()
    assert [p.invoice_id for p in payments] == [invoice.id]


def test_an_item_waiting_for_a_retry_is_due_again_on_the_next_run(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    shop.sandbox.control("POST", "chaos", {"failure_rate": 1.0, "failure_mode": "500"})
    try:
        counts = work_items.charge_due_invoices(at(due))
    finally:
        shop.sandbox.control("DELETE", "chaos")
    assert counts.unknown == 1
    [item] = _items(shop)
    assert item.status == "pending" and item.not_before > utcnow()  # backing off
    assert work_items.work_until_empty(counts=ChargeCounts()).resolved == 0  # not due yet
    counts = work_items.charge_due_invoices(at(due, 10))  # the next scheduled run
    assert counts.resolved == 1
    [item] = _items(shop)
    assert item.status == "done"
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and len(ledger(shop)) == 1
