"""Retainers: each period's invoice issued exactly once (hub), or billed through a Stripe
subscription whose webhooks mirror it (sandbox over HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from nextoria_hub.billing import retainers
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Invoice, OutboxEmail, Payment, RetainerPeriod
from nextoria_hub.payments import autopay
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, enable, ledger, save_card


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    """Webhooks a test set off are applied before the next test empties the tables."""
    yield
    stripe_sandbox.wait_for_deliveries(20)


LINES = [LineInput("Monthly retainer", "1", "500.00", "20")]


def hub_invoices(shop: Shop) -> list[Invoice]:
    shop.db.expire_all()
    return list(shop.db.exec(select(Invoice).order_by(Invoice.id)))  # type: ignore[arg-type]


def test_retainer_is_validated(shop: Shop) -> None:
    cid = shop.client.id
    assert cid is not None
    with pytest.raises(ValidationError):
        retainers.create_retainer(
            shop.db, shop.admin, cid, lines=LINES, interval="weekly", day_of_month=1,
            start_date=date(2026, 1, 1),
        )  # fmt: skip
    with pytest.raises(ValidationError):
        retainers.create_retainer(
            shop.db, shop.admin, cid, lines=LINES, interval="monthly", day_of_month=31,
            start_date=date(2026, 1, 1),
        )  # fmt: skip
    with pytest.raises(ValidationError):  # Stripe billing needs a saved card
        retainers.create_retainer(
            shop.db, shop.admin, cid, lines=LINES, interval="monthly", day_of_month=1,
            start_date=date(2026, 1, 1), billing="stripe",
        )  # fmt: skip


def test_hub_retainer_issues_each_period_once(shop: Shop) -> None:
    start = date.today().replace(day=1) - timedelta(days=1)  # a day in last month
    start = start.replace(day=5)
    retainer = retainers.create_retainer(
        shop.db,
        shop.admin,
        shop.client.id,  # type: ignore[arg-type]
        lines=LINES,
        interval="monthly",
        day_of_month=5,
        start_date=start,
    )
    shop.db.commit()
    assert [r.id for r in retainers.list_retainers(shop.db, shop.admin, shop.client.id)] == [  # type: ignore[arg-type]
        retainer.id
    ]
    first = start
    second = retainers._add_months(start, 1, 5)
    third = retainers._add_months(start, 2, 5)
    assert retainers.issue_retainer_invoices(at(first - timedelta(days=1))) == 0
    assert retainers.issue_retainer_invoices(at(first)) == 1
    assert retainers.issue_retainer_invoices(at(first, 18)) == 0  # repeated run
    # two schedulers at once on the next period
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(retainers.issue_retainer_invoices(at(second)))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 0, 1]
    # a "restart": a fresh engine/session state, then the job again
    from nextoria_hub.db import engine_for

    engine_for.cache_clear()
    assert retainers.issue_retainer_invoices(at(second + timedelta(days=3))) == 0
    invoices = hub_invoices(shop)
    assert [(i.issue_date, i.due_date, i.status, i.total) for i in invoices] == [
        (first, first, "open", 60000),
        (second, second, "open", 60000),
    ]
    assert all(i.retainer_id == retainer.id for i in invoices)
    assert len(shop.db.exec(select(RetainerPeriod)).all()) == 2
    sent = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_sent")).all()
    assert len(sent) == 2

    # ended: no more periods
    retainers.end_retainer(shop.db, shop.admin, retainer.id)  # type: ignore[arg-type]
    shop.db.commit()
    assert retainers.issue_retainer_invoices(at(third)) == 0


def test_hub_retainer_invoice_is_charged_by_autopay(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    today = date.today()
    retainers.create_retainer(
        shop.db,
        shop.admin,
        shop.client.id,  # type: ignore[arg-type]
        lines=LINES,
        interval="quarterly",
        day_of_month=min(today.day, 28),
        start_date=today.replace(day=min(today.day, 28)),
    )
    shop.db.commit()
    issue_day = today.replace(day=min(today.day, 28))
    assert retainers.issue_retainer_invoices(at(issue_day)) == 1
    assert autopay.charge_due_invoices(at(issue_day, 10)).charged == 1
    assert retainers.issue_retainer_invoices(at(issue_day, 11)) == 0
    assert autopay.charge_due_invoices(at(issue_day, 12)).charged == 0
    shop.settle_webhooks()
    [invoice] = hub_invoices(shop)
    assert invoice.status == "paid"
    assert len(ledger(shop)) == 1


def test_stripe_subscription_retainer(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    retainer = retainers.create_retainer(
        shop.db,
        shop.admin,
        shop.client.id,  # type: ignore[arg-type]
        lines=LINES,
        interval="monthly",
        day_of_month=1,
        start_date=date.today(),
        billing="stripe",
    )
    shop.db.commit()
    assert retainer.stripe_subscription_id.startswith("sub_")
    sub = shop.stripe.v1.subscriptions.retrieve(retainer.stripe_subscription_id)
    assert sub.metadata["nextoria_retainer_id"] == str(retainer.id)
    shop.settle_webhooks()
    [first] = hub_invoices(shop)
    assert first.status == "paid" and first.total == 60000 and first.stripe_invoice_id
    assert first.retainer_id == retainer.id

    advanced = shop.sandbox.control(
        "POST", f"subscriptions/{retainer.stripe_subscription_id}/advance"
    )
    shop.settle_webhooks()
    invoices = hub_invoices(shop)
    assert len(invoices) == 2
    second = invoices[1]
    assert second.stripe_invoice_id == advanced["invoice"]["id"]
    assert second.status == "paid" and second.amount_paid == 60000
    payments = shop.db.exec(select(Payment).where(Payment.kind == "payment")).all()
    assert sorted(p.source for p in payments) == ["stripe_invoice", "stripe_invoice"]
    # autopay never charges the mirrored invoices itself
    assert autopay.charge_due_invoices(at(date.today() + timedelta(days=40))).charged == 0

    shop.sandbox.control("POST", f"subscriptions/{retainer.stripe_subscription_id}/cancel")
    shop.settle_webhooks()
    shop.db.expire_all()
    shop.db.refresh(retainer)
    assert retainer.status == "ended" and retainer.ended_at is not None
    ended = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "retainer_ended")).all()
    assert [e.to_address for e in ended] == [shop.tenant.admin.email]
    assert len(ledger(shop)) == 2
