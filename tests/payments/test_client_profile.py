"""Portal → Profile: billing details saved, then copied to the Stripe customer (the real
client over HTTP against the sandbox) with no database transaction open meanwhile."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing import profile as svc
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.models import OutboxEmail
from nextoria_hub.models.client_profile import ClientProfile
from nextoria_hub.models.reminders import ClientReminderSetting
from nextoria_hub.payments.checkout import start_checkout
from tests.payments.conftest import Shop

DETAILS = svc.ProfileInput(
    billing_name="Initech GmbH",
    line1="Hauptstraße 5",
    line2="",
    city="Berlin",
    state="",
    postal_code="10115",
    country="de",
    tax_id_type="eu_vat",
    tax_id="DE 123 456 789",
    email_receipts=True,
    email_reminders=True,
)


def _customer_id(shop: Shop) -> str:
    invoice = shop.invoice()
    start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    customer = shop.stripe.v1.customers.list({"email": "ap@initech.test"}).data
    assert len(customer) == 1
    return customer[0].id


def test_details_reach_the_stripe_customer_outside_any_transaction(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = _customer_id(shop)
    open_during_stripe: list[bool] = []
    real_update = gateway.update_customer_billing

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        open_during_stripe.append(shop.db.in_transaction())  # the call itself is real
        return real_update(*args, **kwargs)

    monkeypatch.setattr(gateway, "update_customer_billing", watched)
    saved = svc.save_profile(shop.db, shop.portal, DETAILS)
    assert open_during_stripe == [False]
    assert saved.values.country == "DE" and saved.values.tax_id == "DE123456789"
    assert saved.stripe_synced and not saved.stripe_error

    customer = shop.stripe.v1.customers.retrieve(customer_id)
    assert customer.name == "Initech GmbH"
    assert customer.address is not None
    assert (customer.address.line1, customer.address.city, customer.address.country) == (
        "Hauptstraße 5",
        "Berlin",
        "DE",
    )
    tax_ids = shop.stripe.v1.customers.tax_ids.list(customer_id).data
    assert [(t.type, t.value) for t in tax_ids] == [("eu_vat", "DE123456789")]

    # A new tax ID replaces the old one (Stripe's can't be edited); none removes it.
    svc.save_profile(shop.db, shop.portal, replace(DETAILS, tax_id="DE987654321"))
    tax_ids = shop.stripe.v1.customers.tax_ids.list(customer_id).data
    assert [t.value for t in tax_ids] == ["DE987654321"]
    svc.save_profile(shop.db, shop.portal, replace(DETAILS, tax_id="", tax_id_type=""))
    assert shop.stripe.v1.customers.tax_ids.list(customer_id).data == []
    assert svc.get_profile(shop.db, shop.portal).values.billing_name == "Initech GmbH"


def test_bad_details_are_refused_before_anything_changes(shop: Shop) -> None:
    for bad, field in (
        (replace(DETAILS, tax_id="12"), "tax_id"),
        (replace(DETAILS, tax_id_type="xx_vat"), "tax_id_type"),
        (replace(DETAILS, country="Germany"), "country"),
        (replace(DETAILS, billing_name="  "), "billing_name"),
        (replace(DETAILS, line1="", city="Berlin"), "line1"),
        (replace(DETAILS, city="x" * 101), "city"),
    ):
        with pytest.raises(ValidationError) as err:
            svc.save_profile(shop.db, shop.portal, bad)
        assert err.value.field == field
    assert shop.db.exec(select(ClientProfile)).all() == []
    with pytest.raises(AccessDenied):
        svc.save_profile(shop.db, shop.admin, DETAILS)  # staff edit clients on their pages


def test_email_preferences_are_kept(shop: Shop) -> None:
    """Reminders off is the client's reminder opt-out; receipts off stops the receipt email."""
    invoice = shop.invoice()
    svc.save_profile(
        shop.db, shop.portal, replace(DETAILS, email_receipts=False, email_reminders=False)
    )
    off = shop.db.exec(select(ClientReminderSetting)).all()
    assert [(r.client_id, r.reminders_off) for r in off] == [(shop.client.id, True)]
    shown = svc.get_profile(shop.db, shop.portal).values
    assert (shown.email_receipts, shown.email_reminders) == (False, False)

    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.db.expire_all()
    kinds = [e.kind for e in shop.db.exec(select(OutboxEmail)).all()]
    assert "payment_received_admin" in kinds and "payment_receipt" not in kinds

    svc.save_profile(shop.db, shop.portal, DETAILS)
    assert shop.db.exec(select(ClientReminderSetting)).all() == []


def test_a_receipt_is_promised_only_when_one_is_emailed(shop: Shop) -> None:
    """Issue 17: the thank-you page and the receipt email follow one rule, Finance's switch
    and the client's own preference."""
    from nextoria_hub.billing.finance import get_finance

    ws, client = shop.tenant.id, shop.client.id
    assert svc.receipt_is_emailed(shop.db, ws, client)  # type: ignore[arg-type]
    get_finance(shop.db, ws).receipts_enabled = False
    shop.db.flush()
    assert not svc.receipt_is_emailed(shop.db, ws, client)  # type: ignore[arg-type]
    get_finance(shop.db, ws).receipts_enabled = True
    svc.save_profile(shop.db, shop.portal, replace(DETAILS, email_receipts=False))
    assert not svc.receipt_is_emailed(shop.db, ws, client)  # type: ignore[arg-type]
