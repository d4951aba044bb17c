"""Autopay against the sandbox over HTTP: saving a card, charging on the due date, retries,
authentication, hard declines, notices, crash recovery and concurrent job runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    display_status,
    mark_paid_manually,
    send_invoice,
)
from nextoria_hub.db import get_engine
from nextoria_hub.errors import NotFound
from nextoria_hub.models import (
    AutopayAttempt,
    CheckoutSession,
    Invoice,
    InvoiceActivity,
    OutboxEmail,
    Payment,
    SavedPaymentMethod,
    StripeCustomer,
)
from nextoria_hub.notifications.outbox import render_stored
from nextoria_hub.payments import autopay
from nextoria_hub.payments.checkout import start_checkout
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import VISA, Shop


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    """Webhooks a test set off are applied before the next test empties the tables."""
    yield
    stripe_sandbox.wait_for_deliveries(20)


INSUFFICIENT = "4000000000009995"
AUTH = "4000002500003155"
ATTACH_THEN_DECLINE = "4000000000000341"


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def save_card(shop: Shop, card: str = VISA, *, authenticate: bool = False) -> str:
    """Save a card the way a client does: setup Checkout, the hosted form, webhooks."""
    url = autopay.start_setup_checkout(shop.db, shop.portal, base_url=shop.base_url)
    shop.db.commit()
    resp = shop.pay(url, card)
    if authenticate:
        assert resp.headers["location"].endswith("/authenticate")
        httpx.post(
            f"{url}/authenticate",
            data={"outcome": "complete"},
            trust_env=False,
            follow_redirects=False,
            timeout=30,
        )
    shop.settle_webhooks()
    shop.db.expire_all()
    return url.rsplit("/", 1)[1]


def autopay_invoice(shop: Shop, due: date, amount: str = "100.00") -> Invoice:
    invoice = create_invoice(
        shop.db,
        shop.admin,
        client_id=shop.client.id,  # type: ignore[arg-type]
        lines=[LineInput("Retainer", "1", amount)],
        issue_date=due - timedelta(days=14),
        due_date=due,
    )
    send_invoice(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    shop.db.commit()
    return invoice


def ledger(shop: Shop) -> list[dict[str, Any]]:
    return shop.sandbox.control("GET", f"accounts/{shop.account['account_id']}/ledger?mode=test")[
        "data"
    ]


def emails(shop: Shop, kind: str) -> list[OutboxEmail]:
    """The emails of ``kind`` as delivery sends them (rendered from their stored context)."""
    shop.db.expire_all()
    render_stored(list(shop.db.exec(select(OutboxEmail.id).where(OutboxEmail.kind == kind))))
    shop.db.expire_all()
    return list(shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)))


def attempts(shop: Shop, invoice: Invoice) -> list[AutopayAttempt]:
    shop.db.expire_all()
    return list(
        shop.db.exec(
            select(AutopayAttempt)
            .where(AutopayAttempt.invoice_id == invoice.id)
            .order_by(AutopayAttempt.attempt_no)  # type: ignore[arg-type]
        )
    )


def enable(shop: Shop) -> None:
    autopay.enable_autopay(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    shop.db.commit()


def test_setup_checkout_saves_the_card(shop: Shop) -> None:
    status = autopay.enable_autopay(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    shop.db.commit()
    assert status.enabled and status.waiting_for_method and status.method is None
    setup_mail = emails(shop, "autopay_setup")
    assert {e.to_address for e in setup_mail} == {"ap@initech.test", "peter@acme-client.test"}
    assert "/portal/payment-methods" in setup_mail[0].text_body

    url = autopay.start_setup_checkout(shop.db, shop.portal, base_url=shop.base_url)
    shop.db.commit()
    # a second click reuses the open session
    assert autopay.start_setup_checkout(shop.db, shop.portal, base_url=shop.base_url) == url
    session = shop.stripe.v1.checkout.sessions.retrieve(url.rsplit("/", 1)[1])
    customer = shop.db.exec(select(StripeCustomer)).one()
    assert session.mode == "setup" and session.customer == customer.customer_id
    assert list(session.payment_method_types) == ["card"]
    assert session.metadata.to_dict() == {
        "nextoria_workspace_id": str(shop.tenant.id),
        "nextoria_client_id": str(shop.client.id),
        "nextoria_mode": "test",
        "nextoria_purpose": "autopay_setup",
    }
    assert session.success_url == (
        f"{shop.base_url}/portal/payment-methods?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert session.cancel_url == f"{shop.base_url}/portal/payment-methods"

    shop.pay(url, VISA)
    shop.settle_webhooks()
    shop.db.expire_all()
    methods = autopay.list_payment_methods(shop.db, shop.portal)
    assert [(m.brand, m.last4, m.exp_month, m.exp_year, m.mode) for m in methods] == [
        ("Visa", "4242", 12, 2034, "test")
    ]
    saved = shop.db.exec(select(SavedPaymentMethod)).one()
    cus = shop.stripe.v1.customers.retrieve(customer.customer_id)
    assert cus.invoice_settings.default_payment_method == saved.payment_method_id
    # the return page's fallback is idempotent
    assert autopay.complete_setup(shop.db, shop.portal, session.id) is True
    shop.db.commit()
    assert len(shop.db.exec(select(SavedPaymentMethod)).all()) == 1
    assert shop.db.exec(select(CheckoutSession)).one().status == "complete"
    status = autopay.portal_autopay(shop.db, shop.portal)
    assert status.enabled and not status.waiting_for_method and status.method is not None

    # saving another card replaces the first
    save_card(shop, "5555555555554444")
    methods = autopay.list_payment_methods(shop.db, shop.portal)
    assert [(m.brand, m.last4) for m in methods] == [("Mastercard", "4444")]
    assert len(shop.db.exec(select(SavedPaymentMethod)).all()) == 2


def test_the_saved_card_webhook_asks_stripe_with_no_transaction_open(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event

    from nextoria_hub import stripe_gateway as gateway

    engine = get_engine()
    open_here = threading.local()

    def began(conn: Any) -> None:
        open_here.n = getattr(open_here, "n", 0) + 1

    def ended(conn: Any) -> None:
        open_here.n = getattr(open_here, "n", 0) - 1

    open_during_stripe: list[tuple[str, int]] = []

    def watched(name: str) -> Any:
        real = getattr(gateway, name)

        def call(*args: Any, **kwargs: Any) -> Any:  # the call itself is real
            open_during_stripe.append((name, getattr(open_here, "n", 0)))
            return real(*args, **kwargs)

        return call

    for name in ("retrieve_setup_intent", "retrieve_payment_method", "set_default_payment_method"):
        monkeypatch.setattr(gateway, name, watched(name))
    event.listen(engine, "begin", began)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    try:
        save_card(shop)  # the worker applies the webhooks in this thread
    finally:
        for name, fn in (("begin", began), ("commit", ended), ("rollback", ended)):
            event.remove(engine, name, fn)
    asked = {name for name, _ in open_during_stripe}
    assert "set_default_payment_method" in asked, open_during_stripe
    assert all(n == 0 for _, n in open_during_stripe), open_during_stripe
    saved = shop.db.exec(select(SavedPaymentMethod)).one()
    customer = shop.stripe.v1.customers.retrieve(saved.customer_id)
    assert customer.invoice_settings.default_payment_method == saved.payment_method_id


def test_complete_setup_when_the_webhook_is_late(shop: Shop) -> None:
    enable(shop)
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        url = autopay.start_setup_checkout(shop.db, shop.portal, base_url=shop.base_url)
        shop.db.commit()
        shop.pay(url)
        assert autopay.list_payment_methods(shop.db, shop.portal) == []
        assert autopay.complete_setup(shop.db, shop.portal, url.rsplit("/", 1)[1]) is True
        shop.db.commit()
        assert autopay.complete_setup(shop.db, shop.portal, "cs_test_unknown") is False
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.db.expire_all()
    assert len(shop.db.exec(select(SavedPaymentMethod)).all()) == 1
    assert [m.last4 for m in autopay.list_payment_methods(shop.db, shop.portal)] == ["4242"]


def test_charge_on_the_due_date(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today() + timedelta(days=10)
    invoice = autopay_invoice(shop, due)
    status = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    assert status.next_charge is not None
    assert (status.next_charge.invoice_id, status.next_charge.amount, status.next_charge.date) == (
        invoice.id,
        10000,
        due,
    )

    assert autopay.charge_due_invoices(at(due - timedelta(days=1))).charged == 0
    assert ledger(shop) == []
    counts = autopay.charge_due_invoices(at(due))
    assert counts.charged == 1
    shop.settle_webhooks()
    assert autopay.charge_due_invoices(at(due, 12)).charged == 0  # nothing twice
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 10000
    charges = ledger(shop)
    assert len(charges) == 1 and charges[0]["status"] == "succeeded"
    assert charges[0]["metadata"]["nextoria_source"] == "autopay"
    assert charges[0]["metadata"]["nextoria_attempt"] == "1"
    payment = shop.db.exec(select(Payment).where(Payment.kind == "payment")).one()
    assert (payment.source, payment.amount, payment.method_detail) == (
        "autopay",
        10000,
        "Visa •••• 4242",
    )
    [attempt] = attempts(shop, invoice)
    assert attempt.status == "succeeded"
    assert attempt.idempotency_key == f"autopay-{invoice.id}-1"
    kinds = [
        a.kind
        for a in shop.db.exec(
            select(InvoiceActivity).where(InvoiceActivity.invoice_id == invoice.id)
        )
    ]
    assert "paid" in kinds
    view = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    assert view.next_charge is None
    assert [(a.number, a.status) for a in view.attempts] == [(invoice.number, "succeeded")]


def test_disabled_or_without_card_nothing_is_charged(shop: Shop) -> None:
    due = date.today()
    invoice = autopay_invoice(shop, due)
    save_card(shop)  # a card, but autopay off
    assert autopay.charge_due_invoices(at(due)).charged == 0
    enable(shop)
    autopay.disable_autopay(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    shop.db.commit()
    assert autopay.charge_due_invoices(at(due)).charged == 0
    assert ledger(shop) == []
    shop.refresh(invoice)
    assert invoice.status == "open"


def test_insufficient_funds_retries_on_the_schedule_then_payment_failed(shop: Shop) -> None:
    get_finance(shop.db, shop.tenant.id).retry_days = "1,3"
    shop.db.commit()
    enable(shop)
    save_card(shop, INSUFFICIENT)
    due = date.today() + timedelta(days=2)
    invoice = autopay_invoice(shop, due)

    assert autopay.charge_due_invoices(at(due)).failed == 1
    shop.settle_webhooks()
    [first] = attempts(shop, invoice)
    assert (first.failure_class, first.decline_code) == ("soft", "insufficient_funds")
    assert first.next_retry_at is not None
    assert first.next_retry_at.replace(tzinfo=UTC) == at(due) + timedelta(days=1)
    # not before the retry is due, even run many times
    for hours in (1, 5, 20):
        assert autopay.charge_due_invoices(at(due) + timedelta(hours=hours)).failed == 0
    assert len(attempts(shop, invoice)) == 1
    assert autopay.charge_due_invoices(at(due) + timedelta(days=1)).failed == 1
    shop.settle_webhooks()
    second = attempts(shop, invoice)[1]
    assert second.next_retry_at is not None
    assert second.next_retry_at.replace(tzinfo=UTC) == at(due) + timedelta(days=3)
    assert autopay.charge_due_invoices(at(due) + timedelta(days=2)).failed == 0
    assert emails(shop, "autopay_failed") == []
    assert autopay.charge_due_invoices(at(due) + timedelta(days=3)).failed == 1
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.payment_failed and invoice.status == "open"
    assert display_status(invoice, due + timedelta(days=3)) == "Payment failed"
    assert [a.next_retry_at for a in attempts(shop, invoice)][-1] is None
    failed_mail = emails(shop, "autopay_failed")
    assert [e.to_address for e in failed_mail] == [shop.tenant.admin.email]
    # exhausted: no more attempts
    assert autopay.charge_due_invoices(at(due) + timedelta(days=30)).failed == 0
    assert len(attempts(shop, invoice)) == 3
    charges = ledger(shop)
    assert len(charges) == 3 and {c["status"] for c in charges} == {"failed"}
    failures = shop.db.exec(
        select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == "failed")
    ).all()
    assert len(failures) == 3  # every attempt is on the timeline, once


def test_authentication_required_emails_the_client_then_checkout_pays(shop: Shop) -> None:
    enable(shop)
    save_card(shop, AUTH, authenticate=True)
    assert [m.last4 for m in autopay.list_payment_methods(shop.db, shop.portal)] == ["3155"]
    due = date.today()
    invoice = autopay_invoice(shop, due)
    assert autopay.charge_due_invoices(at(due)).failed == 1
    shop.settle_webhooks()
    [attempt] = attempts(shop, invoice)
    assert (attempt.failure_class, attempt.failure_code) == (
        "authentication",
        "authentication_required",
    )
    assert attempt.next_retry_at is None
    action = emails(shop, "autopay_action_required")
    assert [e.to_address for e in action] == ["ap@initech.test"]
    assert f"/portal/invoices/{invoice.id}" in action[0].text_body
    # no blind retry
    assert autopay.charge_due_invoices(at(due) + timedelta(days=8)).failed == 0
    assert len(attempts(shop, invoice)) == 1
    shop.refresh(invoice)
    assert not invoice.payment_failed

    # the client pays in the portal, authenticating
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    resp = shop.pay(url, AUTH)
    assert resp.headers["location"].endswith("/authenticate")
    httpx.post(f"{url}/authenticate", data={"outcome": "complete"}, trust_env=False, timeout=30)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"


def test_generic_decline_on_a_saved_card_is_soft(shop: Shop) -> None:
    enable(shop)
    save_card(shop, ATTACH_THEN_DECLINE)  # attaches, then every charge is declined
    due = date.today()
    invoice = autopay_invoice(shop, due)
    assert autopay.charge_due_invoices(at(due)).failed == 1
    shop.settle_webhooks()
    [attempt] = attempts(shop, invoice)
    assert (attempt.failure_code, attempt.decline_code, attempt.failure_class) == (
        "card_declined",
        "generic_decline",
        "soft",
    )
    assert attempt.next_retry_at is not None
    assert emails(shop, "autopay_update_method") == []


@pytest.mark.parametrize(
    ("code", "decline", "expected"),
    [
        ("card_declined", "insufficient_funds", "soft"),
        ("card_declined", "generic_decline", "soft"),
        ("card_declined", "try_again_later", "soft"),
        ("processing_error", "", "soft"),
        ("card_declined", "lost_card", "hard"),
        ("card_declined", "stolen_card", "hard"),
        ("card_declined", "do_not_honor", "hard"),
        ("card_declined", "pickup_card", "hard"),
        ("expired_card", "", "hard"),
        ("incorrect_number", "", "hard"),
        ("authentication_required", "authentication_required", "authentication"),
        ("card_declined", "authentication_required", "authentication"),
    ],
)
def test_failure_classes(code: str, decline: str, expected: str) -> None:
    assert autopay.classify_failure(code, decline) == expected


def test_hard_decline_webhook_asks_for_a_new_card_and_never_retries(shop: Shop) -> None:
    """A hard decline (Stripe's ``expired_card``) as the webhook reports it for an autopay
    attempt: the client is asked to update the card, the admins are told, no retry."""
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    shop.db.add(
        AutopayAttempt(
            workspace_id=shop.tenant.id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            attempt_no=1,
            idempotency_key=f"autopay-{invoice.id}-1",
            mode="test",
            amount=10000,
            currency="usd",
            status="unknown",
            payment_method_id="pm_gone",
        )
    )
    shop.db.commit()
    attempt = attempts(shop, invoice)[0]
    autopay.apply_failure(
        shop.db,
        shop.tenant.id,
        attempt,
        {
            "id": "pi_hard_1",
            "amount": 10000,
            "currency": "usd",
            "metadata": {"nextoria_source": "autopay", "nextoria_attempt": "1"},
            "last_payment_error": {"code": "expired_card", "message": "Your card has expired."},
        },
    )
    shop.db.commit()
    attempt = attempts(shop, invoice)[0]
    assert (attempt.status, attempt.failure_class, attempt.next_retry_at) == (
        "failed",
        "hard",
        None,
    )
    update = emails(shop, "autopay_update_method")
    assert [e.to_address for e in update] == ["ap@initech.test"]
    assert "/portal/payment-methods" in update[0].text_body
    assert [e.to_address for e in emails(shop, "autopay_failed")] == [shop.tenant.admin.email]


def test_removing_the_card_pauses_autopay(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    [method] = autopay.list_payment_methods(shop.db, shop.portal)
    with pytest.raises(NotFound):
        autopay.remove_payment_method(shop.db, shop.portal, method.id + 999)
    autopay.remove_payment_method(shop.db, shop.portal, method.id)
    shop.db.commit()
    assert autopay.list_payment_methods(shop.db, shop.portal) == []
    status = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    assert status.paused_reason == "payment method removed"
    paused = emails(shop, "autopay_paused")
    assert [e.to_address for e in paused] == [shop.tenant.admin.email]
    due = date.today()
    autopay_invoice(shop, due)
    assert autopay.charge_due_invoices(at(due)).charged == 0
    assert ledger(shop) == []
    # a new card un-pauses it
    save_card(shop)
    status = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    assert status.paused_reason == "" and status.method is not None
    assert autopay.charge_due_invoices(at(due)).charged == 1


def test_notice_is_sent_once(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today() + timedelta(days=10)
    invoice = autopay_invoice(shop, due)
    assert autopay.send_autopay_notices(at(due - timedelta(days=4))) == 0
    assert autopay.send_autopay_notices(at(due - timedelta(days=3))) == 1
    assert autopay.send_autopay_notices(at(due - timedelta(days=3), 15)) == 0
    assert autopay.send_autopay_notices(at(due - timedelta(days=1))) == 0
    [notice] = emails(shop, "autopay_notice")
    assert notice.to_address == "ap@initech.test"
    assert f"/portal/invoices/{invoice.id}" in notice.text_body
    assert "/portal/payment-methods" in notice.text_body
    assert "Visa •••• 4242" in notice.text_body

    get_finance(shop.db, shop.tenant.id).autopay_notice_days = 0  # 0 turns it off
    shop.db.commit()
    autopay_invoice(shop, due)
    assert autopay.send_autopay_notices(at(due - timedelta(days=1))) == 0


def test_crash_after_the_stripe_call_is_settled_without_charging_again(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    shop.sandbox.control("POST", "webhooks/pause")
    crashed = []

    def crash(attempt_id: int, outcome: str) -> None:
        if not crashed:
            crashed.append((attempt_id, outcome))
            raise RuntimeError("process killed after Stripe answered")

    autopay.after_stripe_call = crash
    try:
        counts = autopay.charge_due_invoices(at(due))
    finally:
        autopay.after_stripe_call = None
    assert counts.workspaces_failed == 1 and crashed[0][1] == "succeeded"
    [attempt] = attempts(shop, invoice)
    assert attempt.status == "claimed"
    shop.refresh(invoice)
    assert invoice.status == "open"
    assert len(ledger(shop)) == 1

    counts = autopay.charge_due_invoices(at(due, 10))
    assert counts.resolved == 1 and counts.charged == 0
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert len(ledger(shop)) == 1  # settled from Stripe, not charged again
    assert attempts(shop, invoice)[0].status == "succeeded"
    shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.db.expire_all()
    assert len(shop.db.exec(select(Payment).where(Payment.kind == "payment")).all()) == 1


def test_stripe_down_leaves_the_attempt_unknown_then_it_is_settled(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    shop.sandbox.control("POST", "chaos", {"failure_rate": 1.0, "failure_mode": "500"})
    try:
        counts = autopay.charge_due_invoices(at(due))
    finally:
        shop.sandbox.control("DELETE", "chaos")
    assert counts.unknown == 1 and counts.charged == 0
    assert attempts(shop, invoice)[0].status == "unknown"
    counts = autopay.charge_due_invoices(at(due, 10))
    assert counts.resolved == 1
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert len(ledger(shop)) == 1


def test_two_workers_never_charge_twice(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    with Session(get_engine(), expire_on_commit=False) as db:
        for i in range(100):
            inv = create_invoice(
                db,
                shop.admin,
                client_id=shop.client.id,  # type: ignore[arg-type]
                lines=[LineInput(f"Item {i}", "1", f"{10 + i}.00")],
                issue_date=due,
                due_date=due,
            )
            send_invoice(db, shop.admin, inv.id)  # type: ignore[arg-type]
        db.commit()
    results: list[Any] = []

    def work() -> None:
        results.append(autopay.charge_due_invoices(at(due)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sum(r.charged for r in results) == 100
    assert sum(r.workspaces_failed for r in results) == 0
    # A concurrent run charges them in a burst; the sandbox then sends the webhooks one by one.
    shop.settle_webhooks(180)
    charges = ledger(shop)
    assert len(charges) == 100
    per_invoice = [c["metadata"]["nextoria_invoice_id"] for c in charges]
    assert len(set(per_invoice)) == 100
    shop.db.expire_all()
    assert all(inv.status == "paid" for inv in shop.db.exec(select(Invoice)).all())
    assert len(shop.db.exec(select(Payment).where(Payment.kind == "payment")).all()) == 100


def test_a_claimed_attempt_of_an_invoice_paid_meanwhile_is_not_replayed(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    [method] = autopay.list_payment_methods(shop.db, shop.portal)
    saved = shop.db.get(SavedPaymentMethod, method.id)
    assert saved is not None
    shop.db.add(
        AutopayAttempt(
            workspace_id=shop.tenant.id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            attempt_no=1,
            idempotency_key=f"autopay-{invoice.id}-1",
            mode="test",
            amount=10000,
            currency="usd",
            status="claimed",
            payment_method_id=saved.payment_method_id,
        )
    )
    shop.db.commit()
    mark_paid_manually(shop.db, shop.admin, invoice.id, "paid by bank transfer")  # type: ignore[arg-type]
    shop.db.commit()
    autopay.charge_due_invoices(at(due))
    assert ledger(shop) == []
    # not left "claimed" forever: visibly abandoned, with the reason
    [attempt] = attempts(shop, invoice)
    assert attempt.status == "abandoned" and "marked paid" in attempt.failure_message


def test_rate_limited_calls_are_retried_with_backoff(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today()
    invoice = autopay_invoice(shop, due)
    shop.sandbox.control("POST", "chaos", {"failure_rate": 0.5, "failure_mode": "429", "seed": 3})
    try:
        counts = autopay.charge_due_invoices(at(due))
    finally:
        shop.sandbox.control("DELETE", "chaos")
    assert counts.charged + counts.resolved == 1
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    assert len(ledger(shop)) == 1
