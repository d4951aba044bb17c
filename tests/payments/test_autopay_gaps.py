"""Autopay gaps: a late payment_failed webhook joins the job's retry schedule, one failing
workspace does not hold up the others, the per-workspace rate limit's accounting, and two
scheduler processes racing over many due invoices."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.db import get_engine
from nextoria_hub.models import AutopayAttempt, Invoice, InvoiceActivity, Payment
from nextoria_hub.models.webhook import StripeEvent
from nextoria_hub.payments import autopay
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import VISA, Shop, make_shop, sandbox_events
from tests.payments.test_autopay import (
    INSUFFICIENT,
    at,
    attempts,
    autopay_invoice,
    emails,
    enable,
    ledger,
    save_card,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


# --- 1. a payment_failed webhook joins the job's attempt ------------------------------------


def test_payment_failed_webhook_joins_the_same_attempt_and_schedule(shop: Shop) -> None:
    get_finance(shop.db, shop.tenant.id).retry_days = "1,3"
    shop.db.commit()
    enable(shop)
    save_card(shop, INSUFFICIENT)
    due = date.today()
    invoice = autopay_invoice(shop, due)

    # Hold the webhooks so the real signed payment_failed arrives after the job recorded it.
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        assert autopay.charge_due_invoices(at(due)).failed == 1
        [attempt] = attempts(shop, invoice)
        assert attempt.status == "failed" and attempt.failure_class == "soft"
        retry_at = attempt.next_retry_at
        assert retry_at is not None
        failed_events = select(StripeEvent).where(
            StripeEvent.type == "payment_intent.payment_failed"
        )
        assert shop.db.exec(failed_events).all() == []
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.db.expire_all()
    [recorded] = shop.db.exec(failed_events).all()
    assert recorded.result == "applied"

    [event] = sandbox_events(shop, type="payment_intent.payment_failed")
    pi = event["data"]["object"]
    assert pi["metadata"]["nextoria_source"] == "autopay"
    assert pi["metadata"]["nextoria_attempt"] == "1"
    assert pi["id"] == attempt.payment_intent_id
    # Deliver it again, twice, after the job recorded the failure (ignores any pause).
    queued = shop.sandbox.control(
        "POST", "events/deliver", {"events": [event["id"]], "twice": True}
    )
    assert queued["queued"]
    shop.settle_webhooks()
    delivered = shop.sandbox.control("GET", f"webhooks/attempts?event={event['id']}")["data"]
    assert len(delivered) >= 3 and all(d["ok"] for d in delivered), delivered

    rows = attempts(shop, invoice)
    assert [(a.attempt_no, a.status) for a in rows] == [(1, "failed")]
    assert rows[0].next_retry_at == retry_at
    failed = shop.db.exec(
        select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == "failed")
    ).all()
    assert len(failed) == 1 and failed[0].source == "autopay"
    retries = shop.db.exec(
        select(InvoiceActivity).where(
            InvoiceActivity.invoice_id == invoice.id, InvoiceActivity.kind == "autopay_retry"
        )
    ).all()
    assert len(retries) == 1  # no second schedule
    assert emails(shop, "autopay_failed") == []
    # The job keeps to that one schedule: nothing before the retry, attempt 2 on it.
    assert autopay.charge_due_invoices(at(due, 20)).failed == 0
    assert len(attempts(shop, invoice)) == 1
    shop.refresh(invoice)
    assert invoice.status == "open" and not invoice.payment_failed
    assert len(ledger(shop)) == 1


# --- 2. one failing workspace does not hold up the others -----------------------------------


def test_a_failing_workspace_does_not_hold_up_the_others(
    shop: Shop, stripe_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    other = make_shop(
        shop.db,
        stripe_sandbox,
        stripe_sandbox.create_account("Globex agency"),
        shop.port,
        slug="globex",
    )
    assert shop.tenant.id < other.tenant.id  # the failing one is charged first
    due = date.today()
    for s in (shop, other):
        enable(s)
        save_card(s, VISA)
    broken = autopay_invoice(shop, due)
    healthy = autopay_invoice(other, due)
    shop.sandbox.control("POST", "keys/revoke", {"key": shop.account["test"]["secret_key"]})

    with caplog.at_level(logging.INFO, logger="nextoria_hub.payments.autopay"):
        counts = autopay.charge_due_invoices(at(due))
    assert counts.charged == 1
    assert counts.workspaces_failed == 1
    assert any(
        r.levelno >= logging.ERROR and f"workspace {shop.tenant.id} failed" in r.getMessage()
        for r in caplog.records
    )
    other.settle_webhooks()
    assert [c["status"] for c in ledger(other)] == ["succeeded"]
    assert ledger(shop) == []
    shop.refresh(broken, healthy)
    assert broken.status == "open" and healthy.status == "paid"
    # A's attempt is claimed, never sent: it is replayed (same idempotency key) once A works.
    assert [(a.attempt_no, a.status) for a in attempts(shop, broken)] == [(1, "claimed")]

    counts = autopay.charge_due_invoices(at(due, 12))
    assert counts.charged == 0
    other.settle_webhooks()
    assert len(ledger(other)) == 1  # B is not charged twice
    assert ledger(shop) == []
    shop.refresh(broken)
    assert broken.status == "open"
    paid = shop.db.exec(
        select(Payment).where(Payment.invoice_id == healthy.id, Payment.status == "succeeded")
    ).all()
    assert len(paid) == 1


# --- 3. the per-workspace rate limit --------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        # A real sleep always lets the monotonic clock move by a measurable amount.
        step = max(seconds, 1e-6)
        self.now += step
        self.slept += step


@pytest.mark.parametrize(("mode", "limit"), [("test", 25), ("live", 100)])
def test_rate_limit_grants_at_most_the_mode_rate_in_any_second(mode: str, limit: int) -> None:
    clock = FakeClock()
    bucket = autopay.TokenBucket(autopay.RATE_PER_SECOND[mode], clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(limit * 5):
        bucket.take()
        granted.append(clock.now)
    # In any one-second window of (fake) time at most `limit` calls are granted ...
    for i, start in enumerate(granted):
        window = [t for t in granted[i:] if t < start + 1]
        assert len(window) <= limit, (start, len(window))
    # ... and the limiter is not stricter than it has to be: 5 × limit calls in about 5 s.
    assert granted[-1] - granted[0] <= 5.0


def test_each_workspace_and_mode_has_its_own_bucket() -> None:
    assert autopay._bucket(9001, "test") is autopay._bucket(9001, "test")
    assert autopay._bucket(9001, "test") is not autopay._bucket(9002, "test")
    assert autopay._bucket(9001, "test").rate == 25
    assert autopay._bucket(9001, "live").rate == 100


# --- 4. two scheduler processes race over many due invoices ---------------------------------


def _many_invoices(shop: Shop, due: date, n: int) -> list[int]:
    with Session(get_engine(), expire_on_commit=False) as db:
        ids = []
        for i in range(n):
            inv = create_invoice(
                db,
                shop.admin,
                client_id=shop.client.id,  # type: ignore[arg-type]
                lines=[LineInput(f"Item {i}", "1", f"{10 + i}.00")],
                issue_date=due,
                due_date=due,
            )
            send_invoice(db, shop.admin, inv.id)  # type: ignore[arg-type]
            ids.append(inv.id)
        db.commit()
    return ids  # type: ignore[return-value]


def test_two_scheduler_processes_charge_every_invoice_exactly_once(shop: Shop) -> None:
    n = 300
    enable(shop)
    save_card(shop)
    due = date.today()
    ids = _many_invoices(shop, due, n)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("NEXTORIA_DATABASE_URL", "NEXTORIA_STRIPE_API_BASE", "NEXTORIA_DATA_DIR"):
        assert env.get(key), key
    code = (
        "import json, datetime as d; from nextoria_hub.payments.autopay import "
        "charge_due_invoices; "
        f"print(json.dumps(charge_due_invoices(d.datetime.fromisoformat('{at(due).isoformat()}'))"
        ".as_dict()))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    deadline = time.monotonic() + 240
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["workspaces_failed"] for r in results) == 0, results
    assert sum(r["charged"] for r in results) == n, results
    assert all(r["failed"] == 0 and r["unknown"] == 0 for r in results), results

    # A concurrent run charges them in a burst; the sandbox then sends the webhooks one by one.
    shop.settle_webhooks(180)
    charges = ledger(shop)
    assert len(charges) == n and {c["status"] for c in charges} == {"succeeded"}
    assert sorted(int(c["metadata"]["nextoria_invoice_id"]) for c in charges) == sorted(ids)
    shop.db.expire_all()
    invoices = shop.db.exec(select(Invoice).where(Invoice.id.in_(ids))).all()  # type: ignore[union-attr]
    assert len(invoices) == n and {i.status for i in invoices} == {"paid"}
    succeeded = shop.db.exec(
        select(Payment.invoice_id).where(Payment.kind == "payment", Payment.status == "succeeded")
    ).all()
    assert sorted(succeeded) == sorted(ids)  # each invoice exactly one succeeded Payment
    rows = shop.db.exec(select(AutopayAttempt)).all()
    assert len(rows) == n and {(a.attempt_no, a.status) for a in rows} == {(1, "succeeded")}
