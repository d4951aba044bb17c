"""Partial payments and deposits (issue 18), over HTTP against the sandbox.

Each part goes through its own Checkout Session and is settled from signed webhooks applied
by the inbox worker (``drain_inbox``); the balance is what the next page and Autopay
charge; one live page per invoice; the ledger agrees with several payments per invoice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    display_status,
    send_invoice,
)
from nextoria_hub.billing.payment_terms import (
    TermsInput,
    check_part,
    pay_options,
    set_payment_terms,
    terms_view,
)
from nextoria_hub.billing.pdf import invoice_document
from nextoria_hub.db import session_scope
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import (
    CheckoutSession,
    Invoice,
    OutboxEmail,
    Overpayment,
    Payment,
    ReconciliationFlag,
)
from nextoria_hub.payments import autopay
from nextoria_hub.payments.checkout import start_checkout, start_chosen_checkout
from nextoria_hub.payments.reconciliation import reconcile_ledger
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, enable, save_card


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.control("DELETE", "chaos")
    stripe_sandbox.wait_for_deliveries(20)


def termed_invoice(
    shop: Shop,
    terms: TermsInput,
    *,
    amount: str = "3000.00",
    due: date | None = None,
) -> Invoice:
    """A sent invoice of ``amount`` with payment terms set on its draft."""
    due = due or date.today() + timedelta(days=14)
    invoice = create_invoice(
        shop.db,
        shop.admin,
        client_id=shop.client.id,  # type: ignore[arg-type]
        lines=[LineInput("Website redesign", "1", amount)],
        issue_date=min(date.today(), due),
        due_date=due,
    )
    set_payment_terms(shop.db, shop.admin, invoice.id, terms)  # type: ignore[arg-type]
    send_invoice(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    shop.db.commit()
    return invoice


def page_for(shop: Shop, invoice: Invoice, amount: int | None = None) -> str:
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url, amount=amount)  # type: ignore[arg-type]
    shop.db.commit()
    return url


def session_of(shop: Shop, url: str) -> CheckoutSession:
    shop.db.expire_all()
    return shop.db.exec(select(CheckoutSession).where(CheckoutSession.url == url)).one()


def stripe_status(shop: Shop, url: str) -> str:
    return str(shop.stripe.v1.checkout.sessions.retrieve(url.rsplit("/", 1)[1]).status)


def charges_of(shop: Shop, invoice: Invoice) -> list[dict]:
    listed = shop.stripe.v1.charges.list({"limit": 100}).auto_paging_iter()
    charges = [c.to_dict() for c in listed]
    return [
        c
        for c in charges
        if c["status"] == "succeeded"
        and (c.get("metadata") or {}).get("nextoria_invoice_id") == str(invoice.id)
    ]


def payments_of(shop: Shop, invoice: Invoice) -> list[Payment]:
    shop.db.expire_all()
    return list(
        shop.db.exec(
            select(Payment)
            .where(Payment.invoice_id == invoice.id, Payment.kind == "payment")
            .order_by(Payment.id)  # type: ignore[arg-type]
        )
    )


def receipts(shop: Shop) -> list[dict]:
    shop.db.expire_all()
    rows = shop.db.exec(
        select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt").order_by(OutboxEmail.id)  # type: ignore[arg-type]
    ).all()
    return [json.loads(r.context) for r in rows]


def test_a_part_then_the_balance_each_on_its_own_checkout(shop: Shop) -> None:
    invoice = termed_invoice(shop, TermsInput(True, minimum="500"))
    assert (invoice.allow_partial, invoice.partial_minimum) == (True, 50000)
    first = page_for(shop, invoice, 100000)
    item = shop.stripe.v1.checkout.sessions.line_items.list(first.rsplit("/", 1)[1]).data[0]
    assert (item.amount_total, item.description) == (
        100000,
        f"Invoice {invoice.number} (part payment)",
    )
    shop.pay(first)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 100000, 200000)
    assert display_status(invoice, date.today()) == "Partially paid"
    [part] = payments_of(shop, invoice)
    assert (part.amount, part.balance_after, part.status) == (100000, 200000, "succeeded")
    [receipt] = receipts(shop)
    assert (receipt["amount"], receipt["balance"], receipt["payment_id"]) == (
        "$1,000.00",
        "$2,000.00",
        part.id,
    )

    # The next Pay Now offers the balance, on a new page.
    second = page_for(shop, invoice)
    assert second != first and session_of(shop, second).amount == 200000
    shop.pay(second)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", 300000, 0)
    first_row, rest = payments_of(shop, invoice)
    assert rest.balance_after == 0
    assert [r["balance"] for r in receipts(shop)] == ["$2,000.00", ""]

    # Each payment has its own receipt, printing the balance it left.
    shop.refresh(invoice)
    doc = invoice_document(shop.db, invoice, receipt=True, payment_id=first_row.id)
    assert ("Balance", "$2,000.00") in doc.totals and doc.filename.endswith("-1.pdf")
    last = invoice_document(shop.db, invoice, receipt=True)
    assert ("Balance", "$0.00") in last.totals and last.filename.endswith("-2.pdf")

    # Two charges on one invoice that add up to its total are its parts, not a double charge.
    charges = charges_of(shop, invoice)
    assert sorted(c["amount"] for c in charges) == [100000, 200000]
    assert {p.payment_intent_id for p in payments_of(shop, invoice)} == {
        c["payment_intent"] for c in charges
    }
    assert reconcile_ledger(shop.tenant.id) == 0
    shop.db.expire_all()
    assert shop.db.exec(select(ReconciliationFlag)).all() == []


def test_the_terms_refuse_amounts_outside_minimum_and_balance(shop: Shop) -> None:
    invoice = termed_invoice(shop, TermsInput(True, minimum="500"))
    for amount, message in [
        (49999, "at least $500.00"),
        (300001, "at most $3,000.00"),
    ]:
        with pytest.raises(ValidationError, match=message.replace("$", r"\$")):
            page_for(shop, invoice, amount)
        shop.db.rollback()
    assert shop.db.exec(select(CheckoutSession)).all() == []
    whole = termed_invoice(shop, TermsInput(False))
    with pytest.raises(ValidationError, match="only in full"):
        page_for(shop, whole, 100000)
    shop.db.rollback()
    # A typed amount goes through the same rule.
    with pytest.raises(ValidationError, match="at least"):
        start_chosen_checkout(
            shop.db,
            shop.portal,
            invoice.id,
            base_url=shop.base_url,
            choice="other",
            typed="12",  # type: ignore[arg-type]
        )
    shop.db.rollback()
    url = start_chosen_checkout(
        shop.db,
        shop.portal,
        invoice.id,
        base_url=shop.base_url,
        choice="other",
        typed="750.50",  # type: ignore[arg-type]
    )
    shop.db.commit()
    assert session_of(shop, url).amount == 75050


def test_a_new_page_for_another_amount_closes_the_older_one(shop: Shop) -> None:
    invoice = termed_invoice(shop, TermsInput(True, minimum="100"))
    full = page_for(shop, invoice)
    assert page_for(shop, invoice) == full  # the same amount: the same page
    part = page_for(shop, invoice, 50000)
    assert stripe_status(shop, full) == "expired"
    assert session_of(shop, full).status == "expired"
    assert "replaced by a page for $500.00" in session_of(shop, full).close_reason
    assert session_of(shop, part).status == "open"


def two_open_pages(shop: Shop, invoice: Invoice, part: int) -> tuple[str, str]:
    """Two tabs click Pay Now for different amounts at once: both pages get created (the
    second reservation happens while the first is still with Stripe). (full, part) URLs."""
    shop.sandbox.control(
        "POST", "chaos", {"seed": 18, "failure_mode": "500", "failure_rate": 0.0, "latency_ms": 800}
    )
    urls: dict[int | None, str] = {}

    def click(amount: int | None) -> None:
        with session_scope() as db:
            urls[amount] = start_checkout(
                db,
                shop.portal,
                invoice.id,
                base_url=shop.base_url,
                amount=amount,  # type: ignore[arg-type]
            )

    tabs = [threading.Thread(target=click, args=(a,)) for a in (None, part)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(60)
    shop.sandbox.control("DELETE", "chaos")
    assert set(urls) == {None, part}
    assert session_of(shop, urls[None]).status == "open"
    assert session_of(shop, urls[part]).status == "open"
    return urls[None], urls[part]


def test_paying_a_part_expires_the_other_page_opened_at_the_same_time(shop: Shop) -> None:
    """Paying one part closes the other page, which would now take more than the balance."""
    invoice = termed_invoice(shop, TermsInput(True, minimum="100"))
    full, part = two_open_pages(shop, invoice, 120000)
    shop.pay(part)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.status, invoice.amount_due) == ("open", 180000)
    closed = session_of(shop, full)
    assert closed.status == "expired" and "a part of $1,200.00 was paid" in closed.close_reason
    assert stripe_status(shop, full) == "expired"


def test_money_beyond_the_balance_is_an_overpayment(shop: Shop) -> None:
    """Both pages paid at Stripe before we heard of either: only the balance counts, the
    rest is kept for a refund, whichever event is applied first."""
    invoice = termed_invoice(shop, TermsInput(True, minimum="100"))
    full, part = two_open_pages(shop, invoice, 120000)
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        shop.pay(part)
        shop.pay(full)
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 300000)
    assert sum(o.amount for o in shop.db.exec(select(Overpayment)).all()) == 120000
    assert sorted(c["amount"] for c in charges_of(shop, invoice)) == [120000, 300000]
    assert reconcile_ledger(shop.tenant.id) == 1  # more money than the invoice asked for


def test_a_deposit_is_offered_first_then_the_rest(shop: Shop) -> None:
    invoice = termed_invoice(shop, TermsInput(False, deposit_kind="percent", deposit="30"))
    assert invoice.deposit_amount == 90000
    options = pay_options(invoice)
    assert (options.deposit_due, options.suggested, options.balance) == (90000, 90000, 300000)
    view = terms_view(invoice)
    assert (view["deposit_due"], view["rest"], view["parts"]) == ("$900.00", "$2,100.00", "")
    sent = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_sent")).one()
    assert "A deposit of $900.00 is due now" in sent.text_body
    # Without parts, only the deposit or the whole balance.
    assert check_part(invoice, 300000) == 300000
    with pytest.raises(ValidationError, match=r"deposit of \$900.00 or the full balance"):
        check_part(invoice, 100000)

    deposit_page = page_for(shop, invoice)
    assert session_of(shop, deposit_page).amount == 90000
    item = shop.stripe.v1.checkout.sessions.line_items.list(deposit_page.rsplit("/", 1)[1])
    assert item.data[0].description == f"Invoice {invoice.number} (deposit)"
    shop.pay(deposit_page)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", 90000, 210000)
    assert display_status(invoice, date.today()) == "Partially paid"
    assert pay_options(invoice).suggested == 210000 and terms_view(invoice)["deposit_paid"]
    rest = page_for(shop, invoice)
    assert session_of(shop, rest).amount == 210000
    shop.pay(rest)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000


def test_a_deposit_must_leave_something_to_pay(shop: Shop) -> None:
    invoice = create_invoice(
        shop.db,
        shop.admin,
        client_id=shop.client.id,  # type: ignore[arg-type]
        lines=[LineInput("Logo", "1", "100.00")],
    )
    set_payment_terms(
        shop.db,
        shop.admin,
        invoice.id,
        TermsInput(False, deposit_kind="fixed", deposit="100"),  # type: ignore[arg-type]
    )
    shop.db.commit()
    with pytest.raises(ValidationError, match="must be less than the total"):
        send_invoice(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    shop.db.rollback()
    set_payment_terms(
        shop.db,
        shop.admin,
        invoice.id,  # type: ignore[arg-type]
        TermsInput(False, deposit_kind="percent", deposit="0.25"),
    )
    with pytest.raises(ValidationError, match=r"below Stripe's minimum charge of \$0.50"):
        send_invoice(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    shop.db.rollback()
    for bad in ("0", "100", "abc", "12.345"):
        with pytest.raises(ValidationError):
            set_payment_terms(
                shop.db,
                shop.admin,
                invoice.id,
                TermsInput(False, deposit_kind="percent", deposit=bad),  # type: ignore[arg-type]
            )
    sent = termed_invoice(shop, TermsInput(True, minimum="10"))
    with pytest.raises(ValidationError, match="only on drafts"):
        set_payment_terms(shop.db, shop.admin, sent.id, TermsInput(False))  # type: ignore[arg-type]


def test_autopay_charges_the_balance_after_a_part(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    due = date.today() + timedelta(days=10)
    invoice = termed_invoice(shop, TermsInput(True, minimum="10"), amount="100.00", due=due)
    shop.pay(page_for(shop, invoice, 4000))
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert (invoice.amount_paid, invoice.amount_due) == (4000, 6000)
    status = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
    assert status.next_charge is not None and status.next_charge.amount == 6000
    assert autopay.charge_due_invoices(at(due)).charged == 1
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 10000
    amounts = sorted((p.source, p.amount) for p in payments_of(shop, invoice))
    assert amounts == [("autopay", 6000), ("checkout", 4000)]
    assert sorted(c["amount"] for c in charges_of(shop, invoice)) == [4000, 6000]
    assert reconcile_ledger(shop.tenant.id) == 0
