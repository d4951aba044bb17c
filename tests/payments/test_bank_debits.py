"""Bank debits through Checkout against the sandbox over HTTP: ACH and SEPA processing, then
settled or failed by the bank (the sandbox's settle control), with every event delivered to
our webhook route in Stripe's order, out of order and twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import (
    display_status,
    get_invoice_view,
    is_processing,
    last_failure,
    mark_paid_manually,
    void_invoice,
)
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import CheckoutSession, Invoice, InvoiceActivity, OutboxEmail, Payment
from nextoria_hub.payments.bank_debits import follow_processing_debits
from nextoria_hub.payments.checkout import checkout_return, start_checkout
from nextoria_hub.payments.reconciliation import reconcile_open_checkouts
from stripe_sandbox.testing import SandboxServer, submit_checkout_bank
from tests.payments.conftest import Shop, sandbox_events

ACH_OK = "000123456789"
ACH_CLOSED = "000111111113"
IBAN_OK = "DE89370400440532013000"
IBAN_FAILS = "AT861904300235473202"


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


@pytest.fixture
def bank_shop(shop: Shop) -> Shop:
    finance = get_finance(shop.db, shop.tenant.id)
    finance.payment_methods = "card,us_bank_account,sepa_debit"
    shop.db.add(finance)
    shop.db.commit()
    return shop


def pay_by_bank(shop: Shop, invoice: Invoice, method: str, fields: dict[str, str]) -> str:
    """Open Pay Now and submit the hosted page's bank form; the Checkout Session id."""
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    resp = submit_checkout_bank(url, method, fields)
    assert resp.status_code == 303, resp.text[:500]
    return url.rsplit("/", 1)[1]


def ach(account: str = ACH_OK) -> dict[str, str]:
    return {"ach_name": "Peter Gibbons", "routing_number": "110000000", "account_number": account}


def sepa(iban: str = IBAN_OK) -> dict[str, str]:
    return {"sepa_name": "Peter Gibbons", "iban": iban}


def payments(shop: Shop, invoice: Invoice) -> list[Payment]:
    shop.db.expire_all()
    return list(
        shop.db.exec(
            select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id)  # type: ignore[arg-type]
        )
    )


def emails(shop: Shop, kind: str) -> list[OutboxEmail]:
    shop.db.expire_all()
    return list(shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)))


def timeline(shop: Shop, invoice: Invoice) -> list[str]:
    shop.db.expire_all()
    return [
        a.kind
        for a in shop.db.exec(
            select(InvoiceActivity)
            .where(InvoiceActivity.invoice_id == invoice.id)
            .order_by(InvoiceActivity.id)  # type: ignore[arg-type]
        )
    ]


def the_pi(shop: Shop) -> str:
    return next(
        e["data"]["object"]["id"]
        for e in sandbox_events(shop)
        if e["type"] == "payment_intent.processing"
    )


def settle(shop: Shop, pi_id: str) -> dict[str, Any]:
    result: dict[str, Any] = shop.sandbox.control("POST", f"intents/{pi_id}/settle")
    return result


def status(shop: Shop, invoice: Invoice) -> str:
    view = get_invoice_view(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    return display_status(view.invoice, utcnow().date(), processing=is_processing(view))


def test_ach_is_processing_then_paid_with_both_emails(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice()
    session_id = pay_by_bank(shop, invoice, "us_bank_account", ach())
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_paid == 0
    rows = payments(shop, invoice)
    assert [(p.kind, p.status, p.method_detail) for p in rows] == [
        ("payment", "processing", "ACH Direct Debit •••• 6789")
    ]
    assert status(shop, invoice) == "Processing"
    assert checkout_return(shop.db, shop.portal, invoice.id, session_id) == "bank_processing"  # type: ignore[arg-type]
    shop.db.commit()
    with pytest.raises(ValidationError, match="already processing"):
        start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.rollback()
    assert emails(shop, "payment_receipt") == []
    assert "payment_processing" in timeline(shop, invoice)

    settle(shop, the_pi(shop))
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == invoice.total == 300000
    rows = payments(shop, invoice)
    assert [(p.kind, p.status, p.method_type) for p in rows] == [
        ("payment", "succeeded", "us_bank_account")
    ]
    assert status(shop, invoice) == "Paid"
    assert len(emails(shop, "payment_receipt")) == 1
    assert len(emails(shop, "payment_received_admin")) == 1
    kinds = timeline(shop, invoice)
    assert kinds.index("payment_processing") < kinds.index("paid")
    assert checkout_return(shop.db, shop.portal, invoice.id, session_id) == "paid"  # type: ignore[arg-type]


def test_sepa_failure_reopens_the_invoice_with_the_banks_reason(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice(currency="eur")
    pay_by_bank(shop, invoice, "sepa_debit", sepa(IBAN_FAILS))
    shop.settle_webhooks()
    assert status(shop, invoice) == "Processing"
    settle(shop, the_pi(shop))
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_paid == 0
    rows = payments(shop, invoice)
    assert [(p.status, p.failure_code) for p in rows] == [
        ("failed", "incorrect_account_holder_name")
    ]
    reason = rows[0].failure_message
    assert "could not be matched" in reason
    view = get_invoice_view(shop.db, shop.portal, invoice.id)  # type: ignore[arg-type]
    assert last_failure(view) == reason and status(shop, invoice) == "Open"
    mails = emails(shop, "payment_failed")
    assert len(mails) == 1 and mails[0].to_address == "ap@initech.test"
    assert "could not be matched" in mails[0].text_body
    assert "payment_failed" in timeline(shop, invoice)
    # Pay Now works again
    assert start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]


def test_ach_account_closed_reason_is_shown(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice()
    pay_by_bank(shop, invoice, "us_bank_account", ach(ACH_CLOSED))
    shop.settle_webhooks()
    settle(shop, the_pi(shop))
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open"
    failed = [p for p in payments(shop, invoice) if p.status == "failed"]
    assert len(failed) == 1 and failed[0].failure_code == "account_closed"
    assert "closed" in failed[0].failure_message
    assert not any(p.status == "processing" for p in payments(shop, invoice))


def _held_events(shop: Shop, invoice: Invoice, method: str, fields: dict[str, str]) -> list[dict]:
    """Pay by bank and let the bank answer with no webhook delivered: the events, in order."""
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        pay_by_bank(shop, invoice, method, fields)
        pi_id = next(
            e["data"]["object"]["id"]
            for e in sandbox_events(shop)
            if e["type"] == "payment_intent.processing"
        )
        settle(shop, pi_id)
        return [e for e in sandbox_events(shop) if pi_id in json.dumps(e["data"]["object"])]
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})


def deliver(shop: Shop, events: list[dict], *, twice: bool = False) -> None:
    shop.sandbox.control(
        "POST", "events/deliver", {"events": [e["id"] for e in events], "twice": twice}
    )
    shop.settle_webhooks()


BANK_TYPES = (
    "payment_intent.processing",
    "checkout.session.completed",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
)


def test_success_events_in_reverse_order_and_twice_end_paid(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice()
    events = [
        e for e in _held_events(shop, invoice, "us_bank_account", ach()) if e["type"] in BANK_TYPES
    ]
    types = [e["type"] for e in events]
    assert {"payment_intent.processing", "checkout.session.completed"} <= set(types)
    assert {"payment_intent.succeeded", "checkout.session.async_payment_succeeded"} <= set(types)
    deliver(shop, list(reversed(events)), twice=True)
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000
    assert [(p.kind, p.status) for p in payments(shop, invoice)] == [("payment", "succeeded")]
    assert len(emails(shop, "payment_receipt")) == 1
    # the processing events once more, late: a paid invoice never goes back
    deliver(shop, [e for e in events if e["type"] == "payment_intent.processing"])
    shop.refresh(invoice)
    assert invoice.status == "paid" and status(shop, invoice) == "Paid"
    assert "payment_processing" not in timeline(shop, invoice)


def test_async_succeeded_alone_settles(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice()
    events = _held_events(shop, invoice, "us_bank_account", ach())
    deliver(shop, [e for e in events if e["type"] == "checkout.session.async_payment_succeeded"])
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert payments(shop, invoice)[0].checkout_session_id.startswith("cs_")


def test_failure_events_in_reverse_order_leave_it_open_not_processing(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice(currency="eur")
    events = [
        e
        for e in _held_events(shop, invoice, "sepa_debit", sepa(IBAN_FAILS))
        if e["type"] in BANK_TYPES
    ]
    assert "checkout.session.async_payment_failed" in [e["type"] for e in events]
    deliver(shop, list(reversed(events)), twice=True)
    shop.refresh(invoice)
    assert invoice.status == "open"
    rows = payments(shop, invoice)
    assert [(p.status, p.failure_code) for p in rows] == [
        ("failed", "incorrect_account_holder_name")
    ]
    assert status(shop, invoice) == "Open"
    assert len(emails(shop, "payment_failed")) == 1


def test_events_in_stripes_order_then_all_again(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice(currency="eur")
    events = _held_events(shop, invoice, "sepa_debit", sepa())
    deliver(shop, events)
    deliver(shop, events, twice=True)
    shop.refresh(invoice)
    assert invoice.status == "paid"
    rows = payments(shop, invoice)
    assert [(p.status, p.method_detail) for p in rows] == [
        ("succeeded", "SEPA Direct Debit •••• 3000")
    ]
    assert len(emails(shop, "payment_receipt")) == 1
    assert len(emails(shop, "payment_received_admin")) == 1


def test_no_void_or_mark_paid_while_a_debit_is_processing(bank_shop: Shop) -> None:
    shop = bank_shop
    invoice = shop.invoice()
    pay_by_bank(shop, invoice, "us_bank_account", ach())
    shop.settle_webhooks()
    with pytest.raises(ValidationError, match="processing, so it can't be voided"):
        void_invoice(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    shop.db.rollback()
    with pytest.raises(ValidationError, match="processing, so it can't be marked paid"):
        mark_paid_manually(shop.db, shop.admin, invoice.id, "cash")  # type: ignore[arg-type]
    shop.db.rollback()
    shop.refresh(invoice)
    assert invoice.status == "open"


def test_the_checkout_session_is_processing_until_the_bank_answers(bank_shop: Shop) -> None:
    shop = bank_shop
    ok, fails = shop.invoice(), shop.invoice(currency="eur")
    pay_by_bank(shop, ok, "us_bank_account", ach())
    pay_by_bank(shop, fails, "sepa_debit", sepa(IBAN_FAILS))
    shop.settle_webhooks()

    def session_status(invoice: Invoice) -> str:
        shop.db.expire_all()
        row = shop.db.exec(
            select(CheckoutSession).where(CheckoutSession.invoice_id == invoice.id)
        ).one()
        return row.status

    assert session_status(ok) == session_status(fails) == "processing"
    for event in sandbox_events(shop, type="payment_intent.processing"):
        settle(shop, event["data"]["object"]["id"])
    shop.settle_webhooks()
    assert session_status(ok) == session_status(fails) == "complete"


def test_lost_webhooks_are_caught_by_the_jobs(bank_shop: Shop) -> None:
    """Every webhook of a debit lost: reconciliation finds it processing, the follow-up job
    finds it paid."""
    shop = bank_shop
    invoice = shop.invoice()
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        pay_by_bank(shop, invoice, "us_bank_account", ach())
        pi_id = the_pi(shop)
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    assert reconcile_open_checkouts(older_than=timedelta(0)) == 0
    assert status(shop, invoice) == "Processing"
    assert follow_processing_debits(older_than=timedelta(0)) == 0  # the bank has not answered
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        settle(shop, pi_id)
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    assert follow_processing_debits(older_than=timedelta(0)) == 1
    shop.refresh(invoice)
    assert invoice.status == "paid" and status(shop, invoice) == "Paid"
    assert len(emails(shop, "payment_receipt")) == 1
