"""Day-one items around payments: the Payments page's invoice number."""

from __future__ import annotations

from sqlmodel import select

from nextoria_hub.models import Payment
from nextoria_hub.payments import queries
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.tenancy import Actor
from tests.factories import build_tenant
from tests.payments.conftest import Shop


def test_payments_list_names_each_payments_invoice_number(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    rows = queries.list_payments(shop.db, shop.admin)
    assert [p.invoice_id for p in rows] == [invoice.id]
    assert queries.invoice_numbers(shop.db, shop.admin, rows) == {invoice.id: invoice.number}
    # Another workspace's staff never learn this workspace's numbers, even given its rows.
    other = build_tenant(shop.db, "globex", "Globex")
    payments = shop.db.exec(select(Payment)).all()
    assert queries.invoice_numbers(shop.db, Actor.of(other.admin), list(payments)) == {}
