"""Invoices: numbering (also concurrent), totals with tax in 2/0/3-decimal currencies,
sending, voiding, manual payment, statuses, lists, portal visibility and dashboard sums."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import Invoice, InvoiceLine, OutboxEmail, Payment
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, quick_user


@pytest.fixture
def client(db: Session, admin: Actor):
    c = create_client(db, admin, name="Initech", billing_email="ap@initech.test", currency="usd")
    db.commit()
    return c


def _one(desc: str = "Design", qty: str = "1", unit: str = "100.00", tax: str = "") -> LineInput:
    return LineInput(desc, qty, unit, tax)


def test_numbers_are_sequential_per_workspace(db, admin, client, globex: Tenant) -> None:
    numbers = [
        inv.create_invoice(db, admin, client_id=client.id, lines=[_one()]).number for _ in range(3)
    ]
    assert numbers == ["INV-0001", "INV-0002", "INV-0003"]
    other_admin = Actor.of(globex.admin)
    theirs = create_client(db, other_admin, name="Hooli", billing_email="ap@hooli.test")
    assert (
        inv.create_invoice(db, other_admin, client_id=theirs.id, lines=[_one()]).number
        == "INV-0001"
    )
    db.commit()


def test_concurrent_creation_never_repeats_a_number(db, admin, client) -> None:
    threads, per_thread, errors = 6, 4, []

    def work() -> None:
        try:
            for _ in range(per_thread):
                with Session(get_engine(), expire_on_commit=False) as s:
                    inv.create_invoice(s, admin, client_id=client.id, lines=[_one()])
                    s.commit()
        except Exception as err:  # surfaced below
            errors.append(err)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    numbers = sorted(i.number for i in db.exec(select(Invoice)).all())
    assert numbers == [f"INV-{n:04d}" for n in range(1, threads * per_thread + 1)]


def test_totals_round_half_up_with_tax_per_line(db, admin, client) -> None:
    invoice = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        lines=[
            LineInput("Design", "2", "1250.00", "20"),
            LineInput("Hosting", "1.5", "0.33", "7.5"),  # 49.5 → 50; tax 3.75 → 4
            LineInput("Travel", "1", "19.99"),
        ],
    )
    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(InvoiceLine.position)
    ).all()
    assert [(li.amount, li.tax_amount, li.tax_rate_bp) for li in lines] == [
        (250000, 50000, 2000),
        (50, 4, 750),
        (1999, 0, 0),
    ]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (252049, 50004, 302053)
    assert invoice.status == "draft" and invoice.amount_due == 302053
    assert invoice.due_date == invoice.issue_date + timedelta(days=14)


def test_zero_and_three_decimal_currencies(db, admin, client) -> None:
    jpy = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        currency="JPY",
        lines=[LineInput("Consulting", "3", "12500", "10")],
    )
    assert (jpy.currency, jpy.subtotal, jpy.tax_total, jpy.total) == ("jpy", 37500, 3750, 41250)
    kwd = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        currency="kwd",
        lines=[LineInput("Audit", "1", "12.345", "5")],
    )
    assert (kwd.subtotal, kwd.tax_total, kwd.total) == (12345, 617, 12962)
    with pytest.raises(ValidationError, match="at most 0 decimals"):
        inv.create_invoice(
            db, admin, client_id=client.id, currency="jpy", lines=[_one(unit="10.5")]
        )


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([_one()] * 101, "lines"),
        ([_one(desc=" ")], "lines.0.description"),
        ([_one(), _one(qty="0")], "lines.1.quantity"),
        ([_one(qty="abc")], "lines.0.quantity"),
        ([_one(unit="12.345")], "lines.0.unit_price"),
        ([_one(unit="-5")], "lines.0.unit_price"),
        ([_one(tax="120")], "lines.0.tax_rate"),
        ([_one(tax="x")], "lines.0.tax_rate"),
    ],
)
def test_bad_lines_are_refused(db, admin, client, lines, field) -> None:
    with pytest.raises(ValidationError) as err:
        inv.create_invoice(db, admin, client_id=client.id, lines=lines)
    assert err.value.field == field


def test_due_before_issue_and_foreign_client_are_refused(db, admin, client, globex) -> None:
    with pytest.raises(ValidationError) as err:
        inv.create_invoice(
            db,
            admin,
            client_id=client.id,
            lines=[_one()],
            issue_date=date(2026, 5, 2),
            due_date=date(2026, 5, 1),
        )
    assert err.value.field == "due_date"
    with pytest.raises(NotFound):
        inv.create_invoice(db, Actor.of(globex.admin), client_id=client.id, lines=[_one()])


def test_update_draft_then_send_emails_the_client(db, admin, client) -> None:
    invoice = inv.create_invoice(db, admin, client_id=client.id, lines=[_one()])
    inv.update_draft(
        db,
        admin,
        invoice.id,
        lines=[LineInput("Retainer", "1", "1250.00", "20")],
        currency="eur",
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 11, 30),
        notes="Thanks",
    )
    assert (invoice.currency, invoice.total) == ("eur", 150000)
    assert len(db.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()) == 1
    inv.send_invoice(db, admin, invoice.id)
    db.commit()
    assert invoice.status == "open" and invoice.sent_at is not None
    email = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_sent")).one()
    assert email.to_address == "ap@initech.test"
    assert "€1,500.00" in email.subject and "INV-0001" in email.subject and "Acme" in email.subject
    assert f"http://acme.localhost:3000/portal/invoices/{invoice.id}" in email.text_body
    assert "Acme" in email.html_body and "€1,500.00" in email.html_body
    with pytest.raises(ValidationError, match="Only drafts"):
        inv.update_draft(
            db,
            admin,
            invoice.id,
            lines=[_one()],
            currency="eur",
            issue_date=date(2026, 11, 1),
            due_date=date(2026, 11, 30),
            notes="",
        )
    with pytest.raises(ValidationError):
        inv.send_invoice(db, admin, invoice.id)
    kinds = [a.kind for a in inv.get_invoice_view(db, admin, invoice.id).activity]
    assert kinds == ["created", "edited", "sent"]


def test_zero_total_is_not_sent(db, admin, client) -> None:
    invoice = inv.create_invoice(db, admin, client_id=client.id, lines=[_one(unit="0")])
    with pytest.raises(ValidationError, match="totals zero"):
        inv.send_invoice(db, admin, invoice.id)
    assert invoice.status == "draft"


def test_void_open_and_draft_but_not_paid(db, admin, client) -> None:
    draft = inv.create_invoice(db, admin, client_id=client.id, lines=[_one()])
    inv.void_invoice(db, admin, draft.id, "duplicate")
    assert draft.status == "void" and draft.amount_due == 0
    assert inv.get_invoice_view(db, admin, draft.id).activity[-1].detail.endswith("duplicate")
    sent = inv.create_invoice(db, admin, client_id=client.id, lines=[_one()])
    inv.send_invoice(db, admin, sent.id)
    inv.mark_paid_manually(db, admin, sent.id, "Bank transfer")
    with pytest.raises(ValidationError, match="paid invoice can't be voided"):
        inv.void_invoice(db, admin, sent.id)
    with pytest.raises(ValidationError, match="already void"):
        inv.void_invoice(db, admin, draft.id)


def test_mark_paid_manually_goes_through_settlement(db, admin, client, acme) -> None:
    invoice = inv.create_invoice(db, admin, client_id=client.id, lines=[_one(unit="250.00")])
    with pytest.raises(ValidationError, match="Send this invoice"):
        inv.mark_paid_manually(db, admin, invoice.id, "cash")
    inv.send_invoice(db, admin, invoice.id)
    with pytest.raises(ValidationError) as err:
        inv.mark_paid_manually(db, admin, invoice.id, " ")
    assert err.value.field == "note"
    inv.mark_paid_manually(db, admin, invoice.id, "Bank transfer 12 Nov")
    db.commit()
    assert invoice.status == "paid" and invoice.amount_paid == 25000 and invoice.paid_at
    payment = db.exec(select(Payment)).one()
    assert (payment.source, payment.mode, payment.payment_intent_id, payment.status) == (
        "manual",
        "manual",
        f"manual_{invoice.id}",
        "succeeded",
    )
    assert "Bank transfer 12 Nov" in payment.note
    to = sorted(
        e.to_address
        for e in db.exec(
            select(OutboxEmail).where(
                OutboxEmail.kind.in_(["payment_received_admin", "payment_receipt"])
            )
        )
    )  # type: ignore[attr-defined]
    assert to == ["admin@acme.test", "ap@initech.test"]
    with pytest.raises(ValidationError, match="already paid"):
        inv.mark_paid_manually(db, admin, invoice.id, "again")
    assert len(db.exec(select(Payment)).all()) == 1


def test_display_status(db, admin, client) -> None:
    today = date(2026, 11, 26)
    invoice = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        lines=[_one()],
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 11, 25),
    )
    assert inv.display_status(invoice, today) == "Draft"
    inv.send_invoice(db, admin, invoice.id)
    assert inv.display_status(invoice, date(2026, 11, 25)) == "Open"
    assert inv.display_status(invoice, today) == "Overdue"
    invoice.payment_failed = True
    assert inv.display_status(invoice, today) == "Payment failed"
    invoice.payment_failed = False
    inv.mark_paid_manually(db, admin, invoice.id, "cash")
    assert inv.display_status(invoice, today) == "Paid"
    invoice.amount_refunded = 4000
    assert inv.display_status(invoice, today) == "Partially refunded"
    invoice.amount_refunded = invoice.amount_paid
    assert inv.display_status(invoice, today) == "Refunded"
    invoice.status = "void"
    assert inv.display_status(invoice, today) == "Void"


def test_lists_filters_and_client_portal_view(db, admin, client, acme) -> None:
    today = utcnow().date()
    other = create_client(db, admin, name="Umbrella", billing_email="ap@umbrella.test")
    draft = inv.create_invoice(db, admin, client_id=client.id, lines=[_one()])
    overdue = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        lines=[_one()],
        issue_date=today - timedelta(days=30),
        due_date=today - timedelta(days=1),
    )
    inv.send_invoice(db, admin, overdue.id)
    current = inv.create_invoice(db, admin, client_id=client.id, lines=[_one()])
    inv.send_invoice(db, admin, current.id)
    theirs = inv.create_invoice(db, admin, client_id=other.id, lines=[_one()])
    inv.send_invoice(db, admin, theirs.id)
    db.commit()
    ids = lambda found: [i.id for i in found]  # noqa: E731
    assert ids(inv.list_invoices(db, admin)) == [theirs.id, current.id, overdue.id, draft.id]
    assert ids(inv.list_invoices(db, admin, status="draft")) == [draft.id]
    assert ids(inv.list_invoices(db, admin, status="overdue")) == [overdue.id]
    assert ids(inv.list_invoices(db, admin, status="open")) == [theirs.id, current.id, overdue.id]
    assert ids(inv.list_invoices(db, admin, client_id=other.id)) == [theirs.id]
    assert ids(inv.list_invoices(db, admin, search="umbr")) == [theirs.id]
    assert ids(inv.list_invoices(db, admin, search="inv-0002")) == [overdue.id]
    with pytest.raises(ValidationError):
        inv.list_invoices(db, admin, status="bogus")

    portal_user = quick_user(db, acme.id, "peter@initech.test", "client")
    portal_user.client_id = client.id
    db.add(portal_user)
    db.commit()
    me = Actor.of(portal_user)
    assert ids(inv.list_invoices(db, me)) == [current.id, overdue.id]
    assert ids(inv.list_invoices(db, me, client_id=other.id)) == [current.id, overdue.id]
    view = inv.get_invoice_view(db, me, current.id)
    assert view.client.id == client.id and len(view.lines) == 1 and view.payments == []
    for hidden in (draft.id, theirs.id):
        with pytest.raises(NotFound):
            inv.get_invoice_view(db, me, hidden)
    with pytest.raises(AccessDenied):
        inv.send_invoice(db, me, draft.id)
    with pytest.raises(AccessDenied):
        inv.dashboard_totals(db, me, today)


def test_invoice_json_keys(db, admin, client) -> None:
    invoice = inv.create_invoice(db, admin, client_id=client.id, lines=[_one(unit="12.50")])
    data = inv.invoice_json(db, invoice, with_payments=True)
    assert {
        "id",
        "number",
        "status",
        "amount_due",
        "currency",
        "total",
        "due_date",
        "client",
        "payments",
    } <= set(data)
    assert (data["number"], data["status"], data["amount_due"], data["currency"]) == (
        "INV-0001",
        "draft",
        1250,
        "usd",
    )
    assert "payments" not in inv.invoice_json(db, invoice)


def test_dashboard_totals_and_payments_by_day(db, admin, client, globex) -> None:
    today = utcnow().date()
    a = inv.create_invoice(
        db,
        admin,
        client_id=client.id,
        lines=[_one(unit="100.00")],
        issue_date=today - timedelta(days=20),
        due_date=today - timedelta(days=5),
    )
    b = inv.create_invoice(db, admin, client_id=client.id, lines=[_one(unit="40.00")])
    c = inv.create_invoice(
        db, admin, client_id=client.id, lines=[_one(unit="5000")], currency="jpy"
    )
    d = inv.create_invoice(db, admin, client_id=client.id, lines=[_one(unit="7.00")])
    for i in (a, b, c, d):
        inv.send_invoice(db, admin, i.id)
    inv.mark_paid_manually(db, admin, d.id, "cash")
    db.commit()
    totals = {t["currency"]: t for t in inv.dashboard_totals(db, admin, today)}
    assert totals["usd"] == {
        "currency": "usd",
        "outstanding": 14000,
        "overdue": 10000,
        "paid_this_month": 700,
        "disputed": 0,
    }
    assert totals["jpy"] == {
        "currency": "jpy",
        "outstanding": 5000,
        "overdue": 0,
        "paid_this_month": 0,
        "disputed": 0,
    }
    assert inv.payments_by_day(db, admin) == [
        {"day": today.isoformat(), "currency": "usd", "amount": 700}
    ]
    assert inv.dashboard_totals(db, Actor.of(globex.admin), today) == []
    assert get_finance(db, admin.workspace_id).receipts_enabled
