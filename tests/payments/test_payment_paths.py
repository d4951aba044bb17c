"""An invoice has at most one live way to be paid (issue 12), over HTTP against the sandbox.

Each test ends by comparing the sandbox's ledger (the account's charges, listed through the
stripe client) with the database: no invoice has two succeeded charges, every succeeded
charge is a Payment row and every Stripe Payment row is a succeeded charge.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import dashboard_totals, mark_paid_manually, void_invoice
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.models import (
    AutopayAttempt,
    CheckoutSession,
    Invoice,
    OutboxEmail,
    Overpayment,
    Payment,
    StripeEvent,
)
from nextoria_hub.payments import autopay
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.overpayments import list_overpayments, refund_overpayment
from nextoria_hub.payments.queries import list_payments
from nextoria_hub.tenancy import Actor
from nextoria_hub.webhooks_health import webhook_health
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.factories import quick_user
from tests.inbox import drain_inbox, inbox_result
from tests.payments.conftest import Shop, post_event, sandbox_events
from tests.payments.test_autopay import at, autopay_invoice, enable, save_card
from tests.payments.test_bank_debits import ach, pay_by_bank


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


def succeeded_charges(shop: Shop, mode: str = "test") -> list[dict]:
    client = shop.sandbox.client(shop.account[mode]["secret_key"])
    return [c.to_dict() for c in client.v1.charges.list({"limit": 100}).auto_paging_iter()
            if c.status == "succeeded"]  # fmt: skip


def assert_ledger_agrees(shop: Shop, mode: str = "test") -> list[dict]:
    """Stripe's succeeded charges and our Payment rows are the same set; no double charges."""
    charges = succeeded_charges(shop, mode)
    per_invoice = Counter(c["metadata"].get("nextoria_invoice_id") for c in charges)
    assert all(n == 1 for n in per_invoice.values()), per_invoice
    shop.db.expire_all()
    payments = shop.db.exec(
        select(Payment).where(
            Payment.workspace_id == shop.tenant.id,
            Payment.kind == "payment",
            Payment.mode == mode,
            Payment.status != "processing",  # a bank debit in flight: no succeeded charge yet
        )
    ).all()
    assert {p.payment_intent_id for p in payments} == {c["payment_intent"] for c in charges}
    return charges


def session_status(shop: Shop, url: str) -> str:
    return str(shop.stripe.v1.checkout.sessions.retrieve(url.rsplit("/", 1)[1]).status)


def test_void_then_pay(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    void_invoice(shop.db, shop.admin, invoice.id, "sent by mistake")  # type: ignore[arg-type]
    shop.db.commit()  # the session is expired at Stripe once this commits
    assert session_status(shop, url) == "expired"
    row = shop.db.exec(select(CheckoutSession)).one()
    shop.refresh(row)
    assert row.status == "expired" and "voided" in row.close_reason
    resp = submit_checkout(url)
    assert resp.status_code >= 400 or "expired" in resp.text.lower()
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "void" and invoice.amount_paid == 0
    assert assert_ledger_agrees(shop) == []


def test_mark_paid_then_pay_and_only_admins_mark_paid(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    member = quick_user(shop.db, shop.tenant.id, "mo@acme.test", "member", "Mo")
    with pytest.raises(AccessDenied):
        mark_paid_manually(shop.db, Actor.of(member), invoice.id, "cash")  # type: ignore[arg-type]
    shop.db.rollback()
    mark_paid_manually(shop.db, shop.admin, invoice.id, "Bank transfer")  # type: ignore[arg-type]
    shop.db.commit()
    assert session_status(shop, url) == "expired"
    submit_checkout(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == invoice.total
    assert assert_ledger_agrees(shop) == []


def test_autopay_skips_an_invoice_with_a_checkout_open_and_picks_it_up_later(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    counts = autopay.charge_due_invoices(at(due))
    assert counts.charged == 0 and counts.skipped == 1
    assert shop.db.exec(select(AutopayAttempt)).all() == []
    shop.pay(url)  # the client pays on the page they had open: one charge, not two
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert autopay.charge_due_invoices(at(due)).charged == 0
    assert len(assert_ledger_agrees(shop)) == 1

    # a page left open only holds autopay off until it expires
    second = autopay_invoice(shop, due, "50.00")
    start_checkout(shop.db, shop.portal, second.id, base_url=shop.base_url)
    shop.db.commit()
    assert autopay.charge_due_invoices(at(due)).charged == 0
    later = at(due + timedelta(days=2))
    assert autopay.charge_due_invoices(later).charged == 1
    shop.settle_webhooks()
    shop.refresh(second)
    assert second.status == "paid"
    assert len(assert_ledger_agrees(shop)) == 2


def test_pay_now_refuses_while_an_autopay_charge_is_in_flight(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    refused: list[str] = []

    def pay_now_meanwhile(_attempt_id: int, _outcome: str) -> None:
        from nextoria_hub.db import session_scope

        with session_scope() as db, pytest.raises(ValidationError) as err:
            start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
        refused.append(err.value.message)

    autopay.after_stripe_call = pay_now_meanwhile
    try:
        assert autopay.charge_due_invoices(at(due)).charged == 1
    finally:
        autopay.after_stripe_call = None
    assert refused and "automatic payment" in refused[0]
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert (
        shop.db.exec(select(CheckoutSession).where(CheckoutSession.purpose == "payment")).all()
        == []
    )
    with pytest.raises(ValidationError, match="already paid"):
        start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    assert len(assert_ledger_agrees(shop)) == 1


def _go_live(shop: Shop) -> None:
    keys = shop.account["live"]
    conn.connect(
        shop.db, shop.admin, conn.ConnectInput(keys["publishable_key"], keys["secret_key"])
    )
    shop.db.commit()


def test_test_session_after_live(shop: Shop) -> None:
    _go_live(shop)
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    conn.set_mode(shop.db, shop.admin, "live")
    shop.db.commit()  # switching mode expires the test-mode page
    assert session_status(shop, url) == "expired"
    submit_checkout(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open"
    assert assert_ledger_agrees(shop) == []


def test_test_money_arriving_on_a_live_workspace_is_kept_as_a_test_payment(shop: Shop) -> None:
    """Paid at Stripe just before the switch (a Stripe-side race): recorded, not counted."""
    _go_live(shop)
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        shop.pay(url)
        conn.set_mode(shop.db, shop.admin, "live")
        shop.db.commit()  # too late to expire: Stripe says the page is complete
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_paid == 0
    [payment] = shop.db.exec(select(Payment)).all()
    assert payment.mode == "test" and payment.status == "succeeded"
    over = shop.db.exec(select(Overpayment)).one()
    assert (over.reason, over.amount, over.status) == ("test_mode", payment.amount, "open")
    # left out of revenue and of the payments list (shown under the test filter)
    [totals] = dashboard_totals(shop.db, shop.admin, date.today())
    assert totals["paid_this_month"] == 0
    assert list_payments(shop.db, shop.admin) == []
    assert [p.id for p in list_payments(shop.db, shop.admin, mode="test")] == [payment.id]
    assert [o.reason for o in list_overpayments(shop.db, shop.admin, unresolved=True)] == [
        over.detail
    ]
    assert len(assert_ledger_agrees(shop)) == 1


def test_an_overpayment_is_refunded_in_one_click_through_the_webhook(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        shop.pay(url)
        # marked paid by hand while the card payment's webhook is on its way
        mark_paid_manually(shop.db, shop.admin, invoice.id, "Cheque")  # type: ignore[arg-type]
        shop.db.commit()
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == invoice.total
    over = shop.db.exec(select(Overpayment)).one()
    assert over.reason == "paid" and over.amount == invoice.total
    emails = [e.kind for e in shop.db.exec(select(OutboxEmail))]  # type: ignore[attr-defined]
    assert "overpayment_admin" in emails
    refund_overpayment(shop.admin, over.id)  # type: ignore[arg-type]
    shop.settle_webhooks()
    shop.refresh(over, invoice)
    assert over.status == "refunded" and invoice.amount_refunded == 0
    [charge] = assert_ledger_agrees(shop)
    assert charge["amount_refunded"] == over.amount


def test_forged_event_for_an_unknown_payment_intent_settles_nothing(shop: Shop) -> None:
    paid = shop.invoice()
    url = start_checkout(shop.db, shop.portal, paid.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    event = next(e for e in sandbox_events(shop) if e["type"] == "payment_intent.succeeded")
    target = shop.invoice()
    forged = copy.deepcopy(event)
    forged["id"] = event["id"] + "_forged"
    forged["data"]["object"]["id"] = "pi_NeverCreatedByStripe"
    forged["data"]["object"]["metadata"]["nextoria_invoice_id"] = str(target.id)
    resp = post_event(shop.port, "acme", forged, shop.webhook_secret())
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    drain_inbox()
    assert inbox_result(forged["id"]) == ("applied", "unmatched")
    # a real PaymentIntent re-aimed at another invoice: Stripe's own metadata wins
    reaimed = copy.deepcopy(event)
    reaimed["id"] = event["id"] + "_reaimed"
    reaimed["data"]["object"]["metadata"]["nextoria_invoice_id"] = str(target.id)
    reaimed["data"]["object"]["amount_received"] = 1
    resp = post_event(shop.port, "acme", reaimed, shop.webhook_secret())
    assert resp.status_code == 200
    drain_inbox()
    shop.refresh(target, paid)
    assert target.status == "open" and target.amount_paid == 0
    assert paid.status == "paid" and paid.amount_paid == paid.total
    row = shop.db.exec(select(StripeEvent).where(StripeEvent.event_id == forged["id"])).one()
    assert row.result == "unmatched" and "Stripe does not know" in row.detail
    health = webhook_health(shop.db, shop.tenant.id)
    assert health.not_applied >= 1 and health.unknown_to_stripe == 1
    assert len(assert_ledger_agrees(shop)) == 1


def test_future_dated_signature_is_refused(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        shop.pay(url)
        event = next(e for e in sandbox_events(shop) if e["type"] == "payment_intent.succeeded")
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    for ahead in (360, 30 * 24 * 3600):  # beyond 300 s, with room for a slow request
        resp = post_event(
            shop.port, "acme", event, shop.webhook_secret(), timestamp=int(time.time()) + ahead
        )
        assert resp.status_code == 400
    shop.refresh(invoice)
    assert invoice.status == "open"
    assert shop.db.exec(select(StripeEvent)).all() == []
    # within the tolerance it is accepted (clocks differ a little)
    resp = post_event(
        shop.port, "acme", event, shop.webhook_secret(), timestamp=int(time.time()) + 60
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "received"
    drain_inbox()
    assert inbox_result(event["id"]) == ("applied", "applied")
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert len(assert_ledger_agrees(shop)) == 1


def test_two_first_pay_now_clicks_share_one_customer(shop: Shop) -> None:
    import threading

    from nextoria_hub.db import session_scope
    from nextoria_hub.models import StripeCustomer

    invoice = shop.invoice()
    urls: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        try:
            barrier.wait()
            with session_scope() as db:
                urls.append(start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url))  # type: ignore[arg-type]
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(urls) == 2
    shop.db.expire_all()
    assert len(shop.db.exec(select(StripeCustomer)).all()) == 1
    assert len(shop.stripe.v1.customers.list().data) == 1


__all__ = ["Invoice", "assert_ledger_agrees", "succeeded_charges"]


def test_pay_now_waits_for_a_processing_bank_debit(shop: Shop) -> None:
    """A real ACH debit on the hosted page stays processing (the shared sandbox holds bank
    debits for an hour): Pay Now says why instead of opening a second way to pay, and the
    autopay job leaves the invoice alone meanwhile."""
    finance = get_finance(shop.db, shop.tenant.id)
    finance.payment_methods = "card,us_bank_account"
    shop.db.add(finance)
    shop.db.commit()
    invoice = shop.invoice()
    pay_by_bank(shop, invoice, "us_bank_account", ach())
    shop.settle_webhooks()
    with pytest.raises(ValidationError, match="bank payment"):
        start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.rollback()
    from nextoria_hub.clock import utcnow
    from nextoria_hub.payments.payment_paths import checkout_blocks_autopay

    assert checkout_blocks_autopay(shop.db, invoice, utcnow() + timedelta(days=30))
    assert assert_ledger_agrees(shop) == []  # processing: no succeeded charge yet
    from nextoria_hub.payments.reconciliation import reconcile_ledger

    assert reconcile_ledger(shop.tenant.id) == 0  # a pending debit is no "payment without charge"
