"""Day-one items around payments: the Payments page's invoice number."""

from __future__ import annotations

from sqlmodel import select

from nextoria_hub.models import Payment, StripeEvent
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


def test_account_updated_refreshes_readiness_without_a_click(shop: Shop) -> None:
    from nextoria_hub.payments import stripe_connection as conn

    acct = shop.account["account_id"]
    shop.sandbox.control(
        "POST",
        f"accounts/{acct}/readiness",
        {"charges_enabled": False, "details_submitted": True, "currently_due": []},
    )
    shop.settle_webhooks()
    shop.db.expire_all()
    _active, modes = conn.connection_status(shop.db, shop.admin)
    assert modes[0].charges_enabled is False
    applied = shop.db.exec(select(StripeEvent).where(StripeEvent.type == "account.updated")).all()
    assert [e.result for e in applied] == ["applied"]


def test_stale_readiness_is_asked_of_stripe_again(db, stripe_sandbox, stripe_account) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from nextoria_hub.clock import utcnow
    from nextoria_hub.models import StripeKeys
    from nextoria_hub.payments import stripe_connection as conn

    tenant = build_tenant(db, "acme", "Acme")
    keys = stripe_account["test"]
    conn.connect(
        db, Actor.of(tenant.admin), conn.ConnectInput(keys["publishable_key"], keys["secret_key"])
    )
    db.commit()
    assert conn.refresh_stale_readiness(tenant.id) is False  # just checked: no call
    stripe_sandbox.control(
        "POST",
        f"accounts/{stripe_account['account_id']}/readiness",
        {"charges_enabled": False, "details_submitted": False, "currently_due": ["tos"]},
    )
    row = db.exec(select(StripeKeys)).one()
    row.checked_at = utcnow() - timedelta(minutes=10)
    db.commit()
    assert conn.refresh_stale_readiness(tenant.id) is True
    db.expire_all()
    row = db.exec(select(StripeKeys)).one()
    assert (row.charges_enabled, row.details_submitted, row.requirements_due) == (
        False,
        False,
        "tos",
    )


def test_finance_warns_next_to_methods_the_account_cannot_use_yet(
    db,
    stripe_sandbox,
    stripe_account,  # type: ignore[no-untyped-def]
) -> None:
    from nextoria_hub.payments import stripe_connection as conn

    tenant = build_tenant(db, "acme", "Acme")
    admin = Actor.of(tenant.admin)
    keys = stripe_account["test"]
    assert conn.method_warnings(db, tenant.id) == {}  # not connected: nothing to say yet
    conn.connect(db, admin, conn.ConnectInput(keys["publishable_key"], keys["secret_key"]))
    assert conn.method_warnings(db, tenant.id) == {}
    readiness = f"accounts/{stripe_account['account_id']}/readiness"
    stripe_sandbox.control(
        "POST",
        readiness,
        {"charges_enabled": True, "details_submitted": False, "currently_due": []},
    )
    conn.check_connection(db, admin)
    warnings = conn.method_warnings(db, tenant.id)
    assert set(warnings) == {"us_bank_account", "sepa_debit"}
    assert "verified business" in warnings["us_bank_account"]
    stripe_sandbox.control(
        "POST",
        readiness,
        {"charges_enabled": False, "details_submitted": False, "currently_due": []},
    )
    conn.check_connection(db, admin)
    warnings = conn.method_warnings(db, tenant.id)
    assert "card" in warnings and "sofort" not in warnings


def test_invoice_version_changes_with_a_payment_and_hides_from_others(shop: Shop) -> None:
    from nextoria_hub.billing.live import invoice_version, invoice_version_for

    invoice = shop.invoice()
    before = invoice_version(shop.db, shop.admin, invoice.id)  # type: ignore[arg-type]
    assert before and before == invoice_version(shop.db, shop.portal, invoice.id)  # type: ignore[arg-type]
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.db.expire_all()
    after = invoice_version_for(shop.tenant.id, shop.portal_user.id, invoice.id)  # type: ignore[arg-type]
    assert after and after != before
    other = build_tenant(shop.db, "globex", "Globex")
    assert invoice_version(shop.db, Actor.of(other.admin), invoice.id) == ""  # type: ignore[arg-type]
    assert invoice_version_for(other.id, other.admin.id, invoice.id) == ""  # type: ignore[arg-type]
