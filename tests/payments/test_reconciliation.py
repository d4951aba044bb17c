"""Reconciliation settles sessions whose webhooks never came, expires dead ones, and skips a
workspace whose key stopped working without stopping the others."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from nextoria_hub.models import CheckoutSession, Invoice, Payment
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.reconciliation import reconcile_open_checkouts
from tests.payments.conftest import Shop, make_shop


def _start(shop: Shop, invoice: Invoice) -> str:
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    return url


def _age(db: Session, minutes: int, *session_urls: str) -> None:
    for url in session_urls:
        row = db.exec(select(CheckoutSession).where(CheckoutSession.url == url)).one()
        row.created_at = row.created_at - timedelta(minutes=minutes)
        db.add(row)
    db.commit()


def test_reconciliation_settles_held_back_payments(shop: Shop, stripe_sandbox) -> None:
    broken = make_shop(
        shop.db,
        stripe_sandbox,
        stripe_sandbox.create_account("Broken"),
        shop.port,
        "broken",
        register=False,
    )
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        paid, expired, fresh = shop.invoice(), shop.invoice(), shop.invoice()
        paid_url, expired_url, fresh_url = (
            _start(shop, paid),
            _start(shop, expired),
            _start(shop, fresh),
        )
        shop.pay(paid_url)
        shop.pay(fresh_url)
        shop.stripe.v1.checkout.sessions.expire(expired_url.rsplit("/", 1)[1])
        broken_url = _start(broken, broken.invoice())
        shop.sandbox.control("POST", "keys/revoke", {"key": broken.account["test"]["secret_key"]})
        _age(shop.db, 20, paid_url, expired_url, broken_url)
        _age(shop.db, 2, fresh_url)

        assert reconcile_open_checkouts(timedelta(minutes=10)) == 1
        shop.db.expire_all()
        status = {r.url: r.status for r in shop.db.exec(select(CheckoutSession))}
        assert status == {
            paid_url: "complete",
            expired_url: "expired",
            fresh_url: "open",  # too young to chase yet
            broken_url: "open",  # its key is revoked: skipped, retried next run
        }
        shop.refresh(paid, fresh)
        assert paid.status == "paid" and fresh.status == "open"
        payment = shop.db.exec(select(Payment)).one()
        assert payment.method_detail == "Visa •••• 4242" and payment.invoice_id == paid.id
        assert reconcile_open_checkouts(timedelta(minutes=10)) == 0  # nothing left to do
    finally:
        shop.sandbox.control("POST", "webhooks/release")
    # the held webhooks arrive late: the paid one changes nothing, the fresh one settles
    shop.settle_webhooks()
    shop.refresh(paid, fresh)
    assert paid.status == "paid" and paid.amount_paid == 300000
    assert fresh.status == "paid"
    assert len(shop.db.exec(select(Payment).where(Payment.invoice_id == paid.id)).all()) == 1


# ---- the ledger at Stripe against ours: doubles, charges with no payment, ghosts ----


def test_ledger_reconciliation_flags_doubles_and_strays(shop: Shop) -> None:
    import json

    from typer.testing import CliRunner

    from nextoria_hub.cli.main import app
    from nextoria_hub.payments.reconciliation import open_flags, reconcile_ledger

    invoice = shop.invoice()
    url = _start(shop, invoice)
    shop.pay(url)
    shop.settle_webhooks()
    assert reconcile_ledger(shop.tenant.id) == 0  # one charge, one payment: nothing to flag

    # a second charge for the same invoice whose webhook never arrived (made at Stripe)
    shop.sandbox.control("POST", "webhooks/pause")
    try:
        extra = shop.stripe.v1.payment_intents.create(
            {
                "amount": invoice.total,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                "metadata": {
                    "nextoria_workspace_id": str(shop.tenant.id),
                    "nextoria_invoice_id": str(invoice.id),
                },
            }
        )
    finally:
        shop.sandbox.control("POST", "webhooks/release", {"discard": True})
    assert extra.status == "succeeded"
    # and a payment recorded here that Stripe has no charge for
    shop.db.add(
        Payment(
            workspace_id=shop.tenant.id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            client_id=invoice.client_id,
            status="succeeded",
            source="checkout",
            mode="test",
            amount=100,
            currency="usd",
            payment_intent_id="pi_ghost",
        )
    )
    shop.db.commit()

    assert reconcile_ledger(shop.tenant.id) == 3
    kinds = {f.kind: f for f in open_flags(shop.db, shop.tenant.id)}
    assert set(kinds) == {"double_charge", "charge_without_payment", "payment_without_charge"}
    assert kinds["double_charge"].invoice == invoice.number
    assert str(extra.latest_charge) in kinds["charge_without_payment"].detail

    result = CliRunner().invoke(app, ["reconcile", "--report", "--workspace", "acme", "--json"])
    assert result.exit_code == 0, result.output
    flags = json.loads(result.output)["flags"]
    assert sorted(f["kind"] for f in flags) == sorted(kinds)
    text = CliRunner().invoke(app, ["reconcile", "--report", "--workspace", "acme"])
    assert "double_charge" in text.output and invoice.number in text.output

    # refunding the extra charge resolves the double and the stray; the ghost stays flagged
    shop.stripe.v1.refunds.create({"payment_intent": extra.id})
    shop.settle_webhooks()  # its charge.refunded records the payment, as an overpayment
    assert reconcile_ledger(shop.tenant.id) == 1
    shop.db.expire_all()
    assert [f.kind for f in open_flags(shop.db, shop.tenant.id)] == ["payment_without_charge"]
