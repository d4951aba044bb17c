"""The settlement rule on its own: idempotent, monotonic, honest about mismatches."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    get_invoice_view,
    send_invoice,
    void_invoice,
)
from nextoria_hub.errors import NotFound
from nextoria_hub.models import AuditEntry, Invoice, OutboxEmail, Overpayment, Payment
from nextoria_hub.payments.settlement import record_failed_attempt, record_refund, settle_payment
from nextoria_hub.tenancy import Actor


@pytest.fixture
def invoice(db: Session, admin: Actor) -> Invoice:
    client = create_client(
        db, admin, name="Initech", billing_email="ap@initech.test", currency="eur"
    )
    inv = create_invoice(
        db, admin, client_id=client.id, lines=[LineInput("Retainer", "1", "1000.00", "20")]
    )
    send_invoice(db, admin, inv.id)
    db.commit()
    return inv


def _pi(pi_id: str, amount: int, currency: str = "eur", **extra) -> dict:
    charge = {
        "id": f"ch_{pi_id}",
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "mastercard", "last4": "4444"},
        },
    }
    return {
        "id": pi_id,
        "amount": amount,
        "amount_received": amount,
        "currency": currency,
        "latest_charge": charge,
        **extra,
    }


def _settle(db: Session, invoice: Invoice, pi: dict) -> bool:
    return settle_payment(
        db,
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,
        mode="test",
        payment_intent=pi,
        source="checkout",
    )


def test_settles_once_per_payment_intent(db: Session, invoice: Invoice) -> None:
    assert _settle(db, invoice, _pi("pi_1", 120000)) is True
    assert _settle(db, invoice, _pi("pi_1", 120000)) is False
    db.commit()
    assert invoice.status == "paid" and invoice.amount_paid == 120000 and invoice.paid_at
    payment = db.exec(select(Payment)).one()
    assert (payment.method_type, payment.method_detail, payment.charge_id) == (
        "card",
        "Mastercard •••• 4444",
        "ch_pi_1",
    )
    assert len(db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt")).all()) == 1
    assert (
        db.exec(select(AuditEntry).where(AuditEntry.action == "invoice.payment")).one().actor_label
        == "system"
    )


def test_currency_mismatch_is_recorded_but_not_counted(db: Session, invoice: Invoice) -> None:
    assert _settle(db, invoice, _pi("pi_usd", 120000, "usd"))
    assert invoice.status == "open" and invoice.amount_paid == 0
    detail = (
        get_invoice_view(db, Actor(invoice.workspace_id, None, "admin", "cli", "cli"), invoice.id)
        .activity[-1]
        .detail
    )  # type: ignore[arg-type]
    assert "Not marked paid" in detail and "USD" in detail
    assert db.exec(select(Payment)).one().currency == "usd"


def test_partial_payments_add_up(db: Session, invoice: Invoice) -> None:
    assert _settle(db, invoice, _pi("pi_a", 20000))
    assert invoice.status == "open" and invoice.amount_due == 100000
    assert _settle(db, invoice, _pi("pi_b", 100000))
    assert invoice.status == "paid" and invoice.amount_due == 0


def test_paid_and_void_invoices_never_reopen(db: Session, admin: Actor, invoice: Invoice) -> None:
    _settle(db, invoice, _pi("pi_1", 120000))
    failed = _pi(
        "pi_1", 120000, last_payment_error={"code": "card_declined", "message": "Declined"}
    )
    assert (
        record_failed_attempt(
            db,
            workspace_id=invoice.workspace_id,
            invoice_id=invoice.id,
            mode="test",
            payment_intent=failed,
            source="checkout",
        )
        is False
    )
    assert _settle(db, invoice, _pi("pi_2", 120000))  # a second payment: kept as overpayment
    assert invoice.status == "paid" and invoice.amount_paid == 120000
    assert "Attention" in get_invoice_view(db, admin, invoice.id).activity[-1].detail
    over = db.exec(select(Overpayment)).one()
    assert (over.amount, over.reason, over.status) == (120000, "paid", "open")
    assert db.exec(select(OutboxEmail).where(OutboxEmail.kind == "overpayment_admin")).all()

    other = create_invoice(
        db, admin, client_id=invoice.client_id, lines=[LineInput("X", "1", "10")]
    )
    send_invoice(db, admin, other.id)
    void_invoice(db, admin, other.id)
    assert _settle(db, other, _pi("pi_3", 1200))
    assert other.status == "void" and other.amount_paid == 0
    assert db.exec(select(Overpayment).where(Overpayment.invoice_id == other.id)).one().reason == (
        "void"
    )


def test_money_above_the_total_is_an_overpayment(db: Session, invoice: Invoice) -> None:
    assert _settle(db, invoice, _pi("pi_big", 150000))
    assert invoice.status == "paid" and invoice.amount_paid == 120000
    over = db.exec(select(Overpayment)).one()
    assert (over.amount, over.reason) == (30000, "over_total")
    # a refund of the excess returns the overpayment; the invoice's own money is untouched
    charge = {"id": "ch_pi_big", "payment_intent": "pi_big", "amount_refunded": 30000}
    assert record_refund(db, workspace_id=invoice.workspace_id, mode="test", charge=charge)
    db.refresh(over)
    assert over.status == "refunded" and invoice.amount_refunded == 0
    charge["amount_refunded"] = 50000
    assert record_refund(db, workspace_id=invoice.workspace_id, mode="test", charge=charge)
    assert invoice.amount_refunded == 20000


def test_failed_attempts_are_recorded_once_each(db: Session, invoice: Invoice) -> None:
    def fail(charge: str) -> bool:
        pi = {
            "id": "pi_x",
            "amount": 120000,
            "currency": "eur",
            "last_payment_error": {
                "charge": charge,
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        }
        return record_failed_attempt(
            db,
            workspace_id=invoice.workspace_id,
            invoice_id=invoice.id,
            mode="test",
            payment_intent=pi,
            source="checkout",
        )

    assert fail("ch_1") and not fail("ch_1") and fail("ch_2")
    rows = db.exec(select(Payment)).all()
    assert [(p.status, p.failure_code) for p in rows] == [("failed", "insufficient_funds")] * 2
    assert invoice.status == "open"
    assert len(db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_failed")).all()) == 2


def test_refunds_only_grow(db: Session, invoice: Invoice) -> None:
    _settle(db, invoice, _pi("pi_1", 120000))
    charge = {"id": "ch_pi_1", "payment_intent": "pi_1", "amount_refunded": 20000}
    assert record_refund(db, workspace_id=invoice.workspace_id, mode="test", charge=charge)
    assert not record_refund(db, workspace_id=invoice.workspace_id, mode="test", charge=charge)
    assert not record_refund(
        db,
        workspace_id=invoice.workspace_id,
        mode="test",
        charge={**charge, "amount_refunded": 100},
    )
    assert record_refund(
        db,
        workspace_id=invoice.workspace_id,
        mode="test",
        charge={**charge, "amount_refunded": 120000},
    )
    payment = db.exec(select(Payment)).one()
    assert (payment.status, payment.amount_refunded, invoice.amount_refunded) == (
        "refunded",
        120000,
        120000,
    )
    assert not record_refund(
        db,
        workspace_id=invoice.workspace_id,
        mode="test",
        charge={"id": "ch_nope", "payment_intent": "pi_nope", "amount_refunded": 5},
    )


def test_another_workspace_invoice_is_not_found(db: Session, invoice: Invoice, globex) -> None:
    with pytest.raises(NotFound):
        settle_payment(
            db,
            workspace_id=globex.id,
            invoice_id=invoice.id,
            mode="test",
            payment_intent=_pi("pi_z", 1),
            source="checkout",
        )
    assert db.exec(select(Payment)).all() == []
