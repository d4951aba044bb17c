"""Autopay with bank methods against the sandbox over HTTP: a US bank account or a SEPA
mandate saved on the setup page, a debit that is in flight for days (never charged twice),
and bank failures classed: closed, missing or unauthorised accounts stop; insufficient
funds is retried on the Finance schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.finance import get_finance, retry_schedule
from nextoria_hub.billing.invoices import display_status, processing_ids
from nextoria_hub.models import Invoice, Payment, SavedPaymentMethod, User
from nextoria_hub.payments import autopay
from stripe_sandbox.testing import SandboxServer, submit_checkout_bank
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, attempts, autopay_invoice, emails, enable, ledger


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


@pytest.fixture
def bank_shop(shop: Shop) -> Shop:
    finance = get_finance(shop.db, shop.tenant.id)
    finance.payment_methods = "card,us_bank_account,sepa_debit,ideal"
    shop.db.add(finance)
    shop.db.commit()
    return shop


def save_bank(shop: Shop, method: str, fields: dict[str, str]) -> str:
    url = autopay.start_setup_checkout(shop.db, shop.portal, base_url=shop.base_url)
    shop.db.commit()
    resp = submit_checkout_bank(url, method, fields)
    assert resp.status_code == 303, resp.text[:500]
    shop.settle_webhooks()
    shop.db.expire_all()
    return url.rsplit("/", 1)[1]


def ach(account: str) -> dict[str, str]:
    return {"ach_name": "Peter Gibbons", "routing_number": "110000000", "account_number": account}


def processing_pi(shop: Shop, invoice: Invoice) -> str:
    shop.db.expire_all()
    row = shop.db.exec(
        select(Payment).where(Payment.invoice_id == invoice.id, Payment.status == "processing")
    ).one()
    assert row.source == "autopay"
    return row.payment_intent_id


def test_setup_page_offers_the_currencys_bank_method_and_saves_it(bank_shop: Shop) -> None:
    shop = bank_shop
    enable(shop)
    assert autopay.offers_bank_accounts(shop.db, shop.portal)
    session_id = save_bank(shop, "us_bank_account", ach("000123456789"))
    session = shop.stripe.v1.checkout.sessions.retrieve(session_id)
    assert sorted(session.payment_method_types) == ["card", "us_bank_account"]  # USD client
    (saved,) = autopay.list_payment_methods(shop.db, shop.portal)
    assert (saved.brand, saved.last4, saved.exp_month) == ("ACH Direct Debit", "6789", 0)
    pm = shop.stripe.v1.payment_methods.retrieve(
        shop.db.exec(select(SavedPaymentMethod)).one().payment_method_id
    )
    assert pm.type == "us_bank_account"


def test_sepa_mandate_for_a_euro_client(bank_shop: Shop) -> None:
    shop = bank_shop
    client = create_client(
        shop.db, shop.admin, name="Umbrella", billing_email="ap@umbrella.test", currency="eur"
    )
    user = shop.db.get(User, shop.portal_user.id)
    assert user is not None
    user.client_id = client.id
    shop.db.add(user)
    shop.db.commit()
    session_id = save_bank(
        shop, "sepa_debit", {"sepa_name": "Peter Gibbons", "iban": "DE89370400440532013000"}
    )
    session = shop.stripe.v1.checkout.sessions.retrieve(session_id)
    assert sorted(session.payment_method_types) == ["card", "sepa_debit"]  # no iDEAL to save
    (saved,) = autopay.list_payment_methods(shop.db, shop.portal)
    assert (saved.brand, saved.last4) == ("SEPA Direct Debit", "3000")
    si = shop.stripe.v1.setup_intents.retrieve(session.setup_intent)
    assert si.mandate and shop.stripe.v1.mandates.retrieve(si.mandate).type == "multi_use"


def test_a_processing_debit_is_in_flight_until_the_bank_answers(bank_shop: Shop) -> None:
    shop = bank_shop
    enable(shop)
    save_bank(shop, "us_bank_account", ach("000123456789"))
    due = date.today()
    invoice = autopay_invoice(shop, due)
    counts = autopay.charge_due_invoices(at(due))
    shop.settle_webhooks()
    (attempt,) = attempts(shop, invoice)
    assert attempt.status == "processing" and attempt.payment_intent_id
    assert invoice.id in processing_ids(shop.db, shop.tenant.id)
    shop.refresh(invoice)
    assert display_status(invoice, due, processing=True) == "Processing"
    assert counts.charged == 0
    # the job again, the next day and after the retry window: nothing sent a second time
    for later in (at(due, 15), at(due + timedelta(days=1)), at(due + timedelta(days=10))):
        autopay.charge_due_invoices(later)
    assert len(attempts(shop, invoice)) == 1
    assert len(ledger(shop)) == 1
    assert autopay.autopay_status(shop.db, shop.admin, shop.client.id).next_charge is None  # type: ignore[arg-type]

    shop.sandbox.control("POST", f"intents/{processing_pi(shop, invoice)}/settle")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 10000
    (attempt,) = attempts(shop, invoice)
    assert attempt.status == "succeeded"
    assert len(emails(shop, "payment_receipt")) == 1


@pytest.mark.parametrize(
    ("account", "code"),
    [
        ("000111111113", "account_closed"),
        ("000111111116", "no_account"),
        ("000333333335", "debit_not_authorized"),
    ],
)
def test_closed_missing_or_unauthorised_account_stops_and_asks_for_another(
    bank_shop: Shop, account: str, code: str
) -> None:
    shop = bank_shop
    enable(shop)
    save_bank(shop, "us_bank_account", ach(account))
    due = date.today()
    invoice = autopay_invoice(shop, due)
    autopay.charge_due_invoices(at(due))
    shop.settle_webhooks()
    shop.sandbox.control("POST", f"intents/{processing_pi(shop, invoice)}/settle")
    shop.settle_webhooks()
    (attempt,) = attempts(shop, invoice)
    assert (attempt.status, attempt.failure_class, attempt.failure_code) == ("failed", "hard", code)
    assert attempt.next_retry_at is None
    mails = emails(shop, "autopay_update_method")
    assert [m.to_address for m in mails] == ["ap@initech.test"]
    assert attempt.failure_message in mails[0].text_body
    admin = emails(shop, "autopay_failed")
    assert admin and "bank account can't be debited again" in admin[0].text_body
    autopay.charge_due_invoices(at(due + timedelta(days=5)))
    assert len(attempts(shop, invoice)) == 1  # stopped until a new method is saved
    shop.refresh(invoice)
    assert invoice.status == "open" and invoice.id not in processing_ids(shop.db, shop.tenant.id)


def test_insufficient_funds_is_retried_on_the_finance_schedule(bank_shop: Shop) -> None:
    shop = bank_shop
    enable(shop)
    save_bank(shop, "us_bank_account", ach("000222222227"))
    due = date.today()
    invoice = autopay_invoice(shop, due)
    autopay.charge_due_invoices(at(due))
    shop.settle_webhooks()
    shop.sandbox.control("POST", f"intents/{processing_pi(shop, invoice)}/settle")
    shop.settle_webhooks()
    (attempt,) = attempts(shop, invoice)
    assert (attempt.failure_class, attempt.failure_code) == ("soft", "insufficient_funds")
    first_retry = retry_schedule(get_finance(shop.db, shop.tenant.id))[0]
    assert attempt.next_retry_at is not None
    assert attempt.next_retry_at.date() == due + timedelta(days=first_retry)
    assert emails(shop, "autopay_update_method") == []
    autopay.charge_due_invoices(at(due + timedelta(days=first_retry)))
    shop.settle_webhooks()
    assert [a.status for a in attempts(shop, invoice)] == ["failed", "processing"]


def test_card_only_finance_offers_no_bank_account(shop: Shop) -> None:
    assert not autopay.offers_bank_accounts(shop.db, shop.portal)
