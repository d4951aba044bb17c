"""Pay Now through Stripe Checkout (the sandbox over HTTP) and the return page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput, get_invoice_view, void_invoice
from nextoria_hub.errors import NotFound, StripeNotConnected, ValidationError
from nextoria_hub.models import CheckoutSession, OutboxEmail, Payment, StripeCustomer
from nextoria_hub.payments.checkout import checkout_return, line_items, start_checkout
from nextoria_hub.payments.stripe_connection import disconnect
from nextoria_hub.tenancy import Actor
from tests.factories import build_tenant
from tests.payments.conftest import Shop, make_shop


def _session_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_checkout_session_matches_the_invoice(shop: Shop) -> None:
    get_finance(shop.db, shop.tenant.id).payment_methods = "card,us_bank_account,sepa_debit"
    invoice = shop.invoice(
        LineInput("Website design", "2", "1250.00", "20"), LineInput("Hosting", "1", "30.00")
    )
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    assert url.startswith(f"{shop.sandbox.base_url}/c/pay/cs_test_")
    session = shop.stripe.v1.checkout.sessions.retrieve(_session_id(url))
    assert session.mode == "payment" and session.currency == "usd"
    assert session.amount_total == invoice.amount_due == 303000
    assert list(session.payment_method_types) == ["card", "us_bank_account"]
    assert session.client_reference_id == f"invoice-{invoice.id}"
    meta = {
        "nextoria_workspace_id": str(shop.tenant.id),
        "nextoria_invoice_id": str(invoice.id),
        "nextoria_mode": "test",
    }
    assert session.metadata.to_dict() == meta
    assert session.success_url == (
        f"{shop.base_url}/portal/invoices/{invoice.id}/return?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert session.cancel_url == f"{shop.base_url}/portal/invoices/{invoice.id}"
    items = shop.stripe.v1.checkout.sessions.line_items.list(session.id).data
    # a whole quantity reaches Checkout as Stripe's quantity and unit amount
    assert [(i.description, i.quantity, i.price.unit_amount, i.amount_total) for i in items] == [
        ("Website design (incl. 20% tax)", 2, 150000, 300000),
        ("Hosting", 1, 3000, 3000),
    ]
    customer = shop.db.exec(select(StripeCustomer)).one()
    assert session.customer == customer.customer_id and customer.mode == "test"
    assert shop.stripe.v1.customers.retrieve(customer.customer_id).email == "ap@initech.test"
    row = shop.db.exec(select(CheckoutSession)).one()
    assert (row.session_id, row.amount, row.status, row.invoice_id) == (
        session.id,
        303000,
        "open",
        invoice.id,
    )
    assert get_invoice_view(shop.db, shop.admin, invoice.id).activity[-1].kind == "checkout_started"

    # a second click while that session is open returns it instead of creating another
    assert start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url) == url
    assert len(shop.stripe.v1.checkout.sessions.list().data) == 1

    # the PaymentIntent Checkout creates carries our metadata too
    shop.pay(url)
    shop.settle_webhooks()
    pi = shop.stripe.v1.payment_intents.retrieve(
        shop.stripe.v1.checkout.sessions.retrieve(session.id).payment_intent
    )
    assert {k: pi.metadata[k] for k in meta} == meta

    # a EUR invoice for the same client reuses the Stripe customer and offers SEPA, not ACH
    eur = shop.invoice(LineInput("Audit", "1", "99.00"), currency="eur")
    url2 = start_checkout(shop.db, shop.portal, eur.id, base_url=shop.base_url)
    s2 = shop.stripe.v1.checkout.sessions.retrieve(_session_id(url2))
    assert list(s2.payment_method_types) == ["card", "sepa_debit"]
    assert s2.customer == customer.customer_id
    assert len(shop.db.exec(select(StripeCustomer)).all()) == 1


def test_zero_and_three_decimal_amounts_reach_stripe_unchanged(shop: Shop) -> None:
    for currency, unit, expected in (("jpy", "12500", 12500), ("kwd", "12.345", 12345)):
        invoice = shop.invoice(LineInput("Work", "1", unit), currency=currency)
        url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
        session = shop.stripe.v1.checkout.sessions.retrieve(_session_id(url))
        assert (session.currency, session.amount_total) == (currency, expected)


def test_full_payment_by_card_marks_the_invoice_paid(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    resp = shop.pay(url)
    session_id = _session_id(url)
    assert resp.headers["location"] == (
        f"{shop.base_url}/portal/invoices/{invoice.id}/return?session_id={session_id}"
    )
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000 and invoice.amount_due == 0
    payment = shop.db.exec(select(Payment)).one()
    assert (payment.status, payment.source, payment.mode, payment.amount, payment.currency) == (
        "succeeded",
        "checkout",
        "test",
        300000,
        "usd",
    )
    assert payment.method_type == "card" and payment.method_detail == "Visa •••• 4242"
    assert payment.payment_intent_id.startswith("pi_") and payment.charge_id.startswith("ch_")
    assert payment.checkout_session_id == session_id
    row = shop.db.exec(select(CheckoutSession)).one()
    assert row.status == "complete" and row.payment_intent_id == payment.payment_intent_id
    assert checkout_return(shop.db, shop.portal, invoice.id, session_id) == "paid"
    paid = [
        a for a in get_invoice_view(shop.db, shop.admin, invoice.id).activity if a.kind == "paid"
    ]
    assert (
        len(paid) == 1
        and "$3,000.00" in paid[0].detail
        and payment.payment_intent_id in paid[0].detail
    )
    with pytest.raises(ValidationError, match=r"This invoice is already paid\."):
        start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)


def test_return_before_the_webhook_settles_it_once(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        assert checkout_return(shop.db, shop.portal, invoice.id, _session_id(url)) == "processing"
        shop.pay(url)
        assert checkout_return(shop.db, shop.portal, invoice.id, _session_id(url)) == "paid"
        shop.db.commit()
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000
    payments = shop.db.exec(select(Payment)).all()
    assert len(payments) == 1 and payments[0].method_detail == "Visa •••• 4242"
    receipts = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt")).all()
    assert len(receipts) == 1


def test_return_with_a_foreign_or_expired_session_is_canceled(shop: Shop) -> None:
    first, second = shop.invoice(), shop.invoice()
    url = start_checkout(shop.db, shop.portal, first.id, base_url=shop.base_url)
    shop.db.commit()
    assert checkout_return(shop.db, shop.portal, second.id, _session_id(url)) == "canceled"
    assert checkout_return(shop.db, shop.portal, first.id, "cs_test_unknown") == "canceled"
    shop.stripe.v1.checkout.sessions.expire(_session_id(url))
    assert checkout_return(shop.db, shop.portal, first.id, _session_id(url)) == "canceled"
    assert shop.db.exec(select(CheckoutSession)).one().status == "expired"
    # an expired session is not handed out again
    assert start_checkout(shop.db, shop.portal, first.id, base_url=shop.base_url) != url


def test_unpayable_invoices_and_other_clients_are_refused(shop: Shop) -> None:
    draft = shop.invoice(send=False)
    with pytest.raises(ValidationError, match="hasn't been sent"):
        start_checkout(shop.db, shop.admin, draft.id, base_url=shop.base_url)
    with pytest.raises(NotFound):  # clients never see drafts
        start_checkout(shop.db, shop.portal, draft.id, base_url=shop.base_url)
    void = shop.invoice()
    void_invoice(shop.db, shop.admin, void.id)
    with pytest.raises(ValidationError, match="voided"):
        start_checkout(shop.db, shop.portal, void.id, base_url=shop.base_url)
    other = build_tenant(shop.db, "globex", "Globex")
    with pytest.raises(NotFound):
        start_checkout(shop.db, Actor.of(other.admin), void.id, base_url=shop.base_url)
    assert shop.db.exec(select(CheckoutSession)).all() == []


def test_disconnected_stripe_is_explained(db, stripe_sandbox, stripe_account, public_port) -> None:
    shop = make_shop(db, stripe_sandbox, stripe_account, public_port, register=False)
    invoice = shop.invoice()
    disconnect(db, shop.admin, "test")
    db.commit()
    with pytest.raises(StripeNotConnected, match="hasn't connected Stripe"):
        start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)
    assert db.exec(select(CheckoutSession)).all() == []


def test_line_quantities_reach_checkout_only_when_they_divide_the_amount(shop: Shop) -> None:
    invoice = shop.invoice(
        LineInput("Consulting hours", "1.5", "100.00"),
        LineInput("Banners", "3", "33.33", "20"),
        LineInput("Pages", "4", "25.00"),
    )
    items = [
        (i["price_data"]["product_data"]["name"], i["quantity"], i["price_data"]["unit_amount"])
        for i in line_items(shop.db, invoice)
    ]
    # 1.5 is not a Stripe quantity; 3 × 33.33 + 20% tax = 119.99 does not split in three
    assert items == [
        ("Consulting hours × 1.5", 1, 15000),
        ("Banners × 3 (incl. 20% tax)", 1, 11999),
        ("Pages", 4, 2500),
    ]
    assert sum(q * unit for _, q, unit in items) == invoice.amount_due
