"""The product speaks the pinned API (2026-10-28.endive) to a sandbox as strict as Stripe.

The sandbox checks every request against stripe-python 16.1's typed params and refuses
``payment_method_types``, so these flows passing over HTTP is the proof that Pay Now and
Autopay send nothing Stripe would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import select

from nextoria_hub.audit import list_audit
from nextoria_hub.billing.finance import FinanceUpdate, get_finance, update_finance
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Payment
from nextoria_hub.payments import autopay
from nextoria_hub.payments.checkout import start_checkout
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, autopay_invoice, enable, save_card


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


def _session(shop: Shop, url: str):  # type: ignore[no-untyped-def]
    return shop.stripe.v1.checkout.sessions.retrieve(url.rsplit("/", 1)[1])


def test_pay_now_and_autopay_succeed_on_the_strict_sandbox(shop: Shop) -> None:
    update_finance(
        shop.db,
        shop.admin,
        FinanceUpdate("usd", ["card", "us_bank_account", "sepa_debit"], True, [1, 3], 3),
    )
    shop.db.commit()
    invoice = shop.invoice(LineInput("Brand sprint", "1", "450.00"))
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    assert list(_session(shop, url).payment_method_types) == ["card", "us_bank_account"]
    assert shop.pay(url).status_code == 303
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 45000

    enable(shop)
    setup_id = save_card(shop)
    setup = shop.stripe.v1.checkout.sessions.retrieve(setup_id)
    assert setup.status == "complete" and list(setup.payment_method_types) == ["card"]
    due = date.today() + timedelta(days=3)
    owed = autopay_invoice(shop, due, "120.00")
    assert autopay.charge_due_invoices(at(due)).charged == 1
    shop.settle_webhooks()
    shop.refresh(owed)
    assert owed.status == "paid" and owed.amount_paid == 12000
    payment = shop.db.exec(select(Payment).where(Payment.invoice_id == owed.id)).one()
    pi = shop.stripe.v1.payment_intents.retrieve(payment.payment_intent_id)
    assert pi.status == "succeeded" and list(pi.payment_method_types) == ["card"]


def test_dashboard_choice_sends_no_method_list(shop: Shop) -> None:
    settings, warnings = update_finance(
        shop.db,
        shop.admin,
        FinanceUpdate("usd", ["card", "sepa_debit"], True, [1], 3, dashboard_methods=True),
    )
    shop.db.commit()
    assert settings.dashboard_methods and warnings == []
    assert "methods=Stripe Dashboard" in list_audit(shop.db, shop.admin)[0].detail
    usd = shop.invoice(LineInput("Work", "1", "80.00"))
    url = start_checkout(shop.db, shop.portal, usd.id, base_url=shop.base_url)
    # Stripe chose: the sandbox account's Dashboard turns on ACH for USD, Finance did not.
    assert list(_session(shop, url).payment_method_types) == ["card", "us_bank_account"]
    eur = shop.invoice(LineInput("Work", "1", "80.00"), currency="eur")
    url = start_checkout(shop.db, shop.portal, eur.id, base_url=shop.base_url)
    assert list(_session(shop, url).payment_method_types) == ["card", "sepa_debit", "ideal"]
    shop.db.commit()
    assert shop.pay(url).status_code == 303
    shop.settle_webhooks()
    shop.refresh(eur)
    assert eur.status == "paid"


def test_sofort_is_shown_discontinued_and_never_sent(shop: Shop) -> None:
    with pytest.raises(ValidationError) as exc:
        update_finance(shop.db, shop.admin, FinanceUpdate("eur", ["card", "sofort"], True, [1], 3))
    assert "discontinued Sofort on 31 March 2025" in exc.value.message
    # a row saved before Sofort was discontinued still lists it: it is dropped on the way out
    get_finance(shop.db, shop.tenant.id).payment_methods = "card,sofort,sepa_debit"
    shop.db.commit()
    eur = shop.invoice(LineInput("Audit", "1", "99.00"), currency="eur")
    url = start_checkout(shop.db, shop.portal, eur.id, base_url=shop.base_url)
    shop.db.commit()
    assert list(_session(shop, url).payment_method_types) == ["card", "sepa_debit"]
