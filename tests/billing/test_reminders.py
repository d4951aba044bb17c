"""Reminders and late fees: the schedule, the job run twice, who never gets one, the unique
keys, late fees that never compound (monthly, capped), waiving, and the settings' checks."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.billing.reminders import ReminderUpdate
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import (
    Client,
    ClientAutopay,
    Invoice,
    InvoiceActivity,
    InvoiceLine,
    InvoiceReminder,
    OutboxEmail,
    Payment,
)
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant

DUE = date(2026, 7, 15)
RULES = ReminderUpdate(
    enabled=True, days_before=3, on_due_date=True, days_after=2, repeat_every=7, max_after=3
)


@pytest.fixture
def client(db: Session, admin: Actor) -> Client:
    c = create_client(db, admin, name="Initech", billing_email="ap@initech.test", currency="usd")
    db.commit()
    return c


def _invoice(
    db: Session, actor: Actor, client: Client, unit: str = "1000.00", currency: str | None = None
) -> Invoice:
    invoice = inv.create_invoice(
        db,
        actor,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Retainer", "1", unit)],
        currency=currency,
        issue_date=DUE - timedelta(days=14),
        due_date=DUE,
    )
    inv.send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
    db.commit()
    return invoice


def _rules(db: Session, admin: Actor, **changes) -> None:
    rem.update_reminder_settings(db, admin, ReminderUpdate(**{**RULES.__dict__, **changes}))
    db.commit()


def _reminders(db: Session, invoice: Invoice) -> list[str]:
    return list(
        db.exec(
            select(OutboxEmail.subject)
            .where(OutboxEmail.kind == "invoice_reminder")
            .order_by(col(OutboxEmail.id))
        )
    )


def _run(db: Session, day: date) -> rem.ReminderRun:
    run = rem.send_due_reminders(db, day)
    db.commit()
    return run


def test_the_schedule_from_the_settings() -> None:
    s = rem.ReminderSettings(
        workspace_id=1,
        **{
            k: v
            for k, v in RULES.__dict__.items()
            if k
            in {"enabled", "days_before", "on_due_date", "days_after", "repeat_every", "max_after"}
        },
    )
    assert rem.reminder_steps(s) == [
        ("before", -3),
        ("due", 0),
        ("after-1", 2),
        ("after-2", 9),
        ("after-3", 16),
    ]
    assert rem.step_due(s, DUE, DUE - timedelta(days=4), set()) is None
    assert rem.step_due(s, DUE, DUE - timedelta(days=2), set()) == "before"
    assert rem.step_due(s, DUE, DUE - timedelta(days=2), {"before"}) is None
    # Turned on 12 days late: only the current step goes out, not the missed ones.
    assert rem.step_due(s, DUE, DUE + timedelta(days=12), set()) == "after-2"
    s.repeat_every = 0
    assert [step for step, _ in rem.reminder_steps(s)] == ["before", "due", "after-1"]


def test_the_job_sends_each_step_once_even_when_run_twice(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    _rules(db, admin)
    invoice = _invoice(db, admin, client)
    days = [-5, -3, -3, -1, 0, 0, 1, 2, 2, 5, 9, 9, 16, 23, 40]
    counts = [_run(db, DUE + timedelta(days=d)).reminders for d in days]
    assert counts == [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    steps = db.exec(
        select(InvoiceReminder.step).where(InvoiceReminder.invoice_id == invoice.id)
    ).all()
    assert sorted(steps) == ["after-1", "after-2", "after-3", "before", "due"]
    subjects = _reminders(db, invoice)
    assert len(subjects) == 5
    assert subjects[0].startswith("Reminder: invoice INV-0001")
    assert subjects[-1].startswith("Overdue: invoice INV-0001")
    timeline = db.exec(
        select(InvoiceActivity.detail).where(
            InvoiceActivity.invoice_id == invoice.id, InvoiceActivity.kind == "reminder"
        )
    ).all()
    assert len(timeline) == 5 and "before the due date" in timeline[0]
    emails = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_reminder")).all()
    assert {e.to_address for e in emails} == {"ap@initech.test"}
    assert all(e.workspace_id == acme.id for e in emails)  # on this workspace's Emails page


def test_one_reminder_per_step_is_a_database_rule(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    invoice = _invoice(db, admin, client)
    db.add(InvoiceReminder(workspace_id=acme.id, invoice_id=invoice.id, step="due", sent_on=DUE))  # type: ignore[arg-type]
    db.commit()
    db.add(InvoiceReminder(workspace_id=acme.id, invoice_id=invoice.id, step="due", sent_on=DUE))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_no_reminder_when_off_paid_void_processing_disputed_on_autopay_or_opted_out(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    _rules(db, admin)
    paid, void, processing, disputed, autopay_client_invoice, opted_out = (
        _invoice(db, admin, client) for _ in range(6)
    )
    inv.mark_paid_manually(db, admin, paid.id, "cash")  # type: ignore[arg-type]
    inv.void_invoice(db, admin, void.id)  # type: ignore[arg-type]
    db.add(
        Payment(
            workspace_id=acme.id,
            invoice_id=processing.id,  # type: ignore[arg-type]
            client_id=client.id,  # type: ignore[arg-type]
            status="processing",
            mode="test",
            amount=processing.total,
            currency="usd",
            method_type="sepa_debit",
            payment_intent_id="pi_processing",
        )
    )
    disputed.amount_disputed = 100
    db.add(disputed)
    other = create_client(db, admin, name="Hooli", billing_email="ap@hooli.test")
    on_autopay = _invoice(db, admin, other)
    db.add(ClientAutopay(workspace_id=acme.id, client_id=other.id, enabled=True))  # type: ignore[arg-type]
    third = create_client(db, admin, name="Umbrella", billing_email="ap@umbrella.test")
    quiet = _invoice(db, admin, third)
    rem.set_client_reminders(db, admin, third.id, False)  # type: ignore[arg-type]
    db.commit()
    assert rem.reminders_on_for_client(db, admin, third.id) is False  # type: ignore[arg-type]
    assert rem.reminders_on_for_client(db, admin, client.id) is True  # type: ignore[arg-type]
    _run(db, DUE)
    reminded = set(db.exec(select(InvoiceReminder.invoice_id)).all())
    # Only the two plain open invoices of Initech were reminded.
    assert reminded == {autopay_client_invoice.id, opted_out.id}
    assert not reminded & {p.id for p in (paid, void, processing, disputed, on_autopay, quiet)}
    _rules(db, admin, enabled=False)
    assert _run(db, DUE + timedelta(days=2)).reminders == 0


def test_late_fee_percent_is_never_compounded_monthly_and_capped(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    _rules(
        db,
        admin,
        late_fee_kind="percent",
        late_fee_percent="1.5",
        late_fee_after_days=10,
        late_fee_monthly=True,
        late_fee_max=2,
    )
    invoice = _invoice(db, admin, client)  # 1,000.00
    fees = [_run(db, DUE + timedelta(days=d)).late_fees for d in (9, 10, 10, 39, 40, 70, 100)]
    assert fees == [0, 1, 0, 0, 1, 0, 0]
    db.refresh(invoice)
    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    assert [(line.description, line.amount) for line in lines] == [
        ("Retainer", 100000),
        ("Late fee", 1500),
        ("Late fee", 1500),  # 1.5% of 1,000.00 again, not of 1,015.00
    ]
    assert (invoice.total, invoice.amount_due) == (103000, 103000)
    timeline = db.exec(
        select(InvoiceActivity.detail).where(
            InvoiceActivity.invoice_id == invoice.id, InvoiceActivity.kind == "late_fee"
        )
    ).all()
    assert timeline == ["Late fee of $15.00 added"] * 2
    # The reminder sent after the first fee (day 39, "after-3") says so.
    body = db.exec(
        select(OutboxEmail.text_body)
        .where(OutboxEmail.kind == "invoice_reminder")
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert body is not None and "late fee of $15.00 has been added" in body


def test_late_fee_and_reminder_look_at_the_balance_after_a_part(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    from nextoria_hub.payments.settlement import settle_payment

    _rules(db, admin, late_fee_kind="percent", late_fee_percent="10", late_fee_after_days=2)
    invoice = _invoice(db, admin, client)  # 1,000.00
    settle_payment(
        db,
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        mode="manual",
        payment_intent={"id": "manual_part", "amount": 60000, "currency": "usd"},
        source="manual",
        note="Bank transfer, first part",
    )
    db.commit()
    assert _run(db, DUE + timedelta(days=2)).late_fees == 1
    db.refresh(invoice)
    # 10% of the 400.00 still owed, not of the 1,000.00 total
    assert (invoice.total, invoice.amount_paid, invoice.amount_due) == (104000, 60000, 44000)
    body = db.exec(
        select(OutboxEmail.text_body)
        .where(OutboxEmail.kind == "invoice_reminder")
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert body is not None and "$440.00" in body


def test_waiving_a_fee_removes_its_line_and_it_does_not_come_back(
    db: Session, admin: Actor, member: Actor, acme: Tenant, globex: Tenant, client: Client
) -> None:
    _rules(db, admin, late_fee_kind="fixed", late_fee_fixed={"usd": "25"}, late_fee_after_days=5)
    invoice = _invoice(db, admin, client, "100.00")
    _run(db, DUE + timedelta(days=5))
    [fee] = rem.active_late_fees(db, admin, invoice.id)  # type: ignore[arg-type]
    assert fee.amount == 2500
    with pytest.raises(AccessDenied):
        rem.waive_late_fee(db, member, invoice.id, fee.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        rem.waive_late_fee(db, Actor.of(globex.admin), invoice.id, fee.id)  # type: ignore[arg-type]
    rem.waive_late_fee(db, admin, invoice.id, fee.id)  # type: ignore[arg-type]
    db.commit()
    db.refresh(invoice)
    assert (invoice.total, invoice.amount_due) == (10000, 10000)
    assert rem.active_late_fees(db, admin, invoice.id) == []  # type: ignore[arg-type]
    descriptions = db.exec(
        select(InvoiceLine.description).where(InvoiceLine.invoice_id == invoice.id)
    ).all()
    assert descriptions == ["Retainer"]
    kinds = db.exec(
        select(InvoiceActivity.detail).where(InvoiceActivity.kind == "late_fee_waived")
    ).all()
    assert kinds == ["Late fee of $25.00 waived by Acme Admin"]
    with pytest.raises(ValidationError):
        rem.waive_late_fee(db, admin, invoice.id, fee.id)  # type: ignore[arg-type]
    assert _run(db, DUE + timedelta(days=50)).late_fees == 0


FEES_TYPED = {"usd": "7", "jpy": "3000", "kwd": "2.125", "eur": ""}


@pytest.mark.parametrize(
    ("currency", "minor"),
    [("jpy", 3000), ("kwd", 2125), ("usd", 700), ("USD", 700), ("eur", 0), ("gbp", 0)],
)
def test_fixed_fee_is_the_amount_set_for_the_invoices_currency(currency, minor) -> None:
    s = rem.ReminderSettings(
        workspace_id=1,
        late_fee_kind="fixed",
        late_fee_fixed_amounts=json.dumps(rem.parse_fixed_fees(FEES_TYPED)),
        late_fee_after_days=1,
    )
    assert rem.late_fee_amount(s, currency, 10**6, 1, 0) == minor
    assert rem.late_fee_amount(s, currency, 10**6, 0, 0) == 0
    assert rem.late_fee_amount(s, currency, 10**6, 99, 1) == 0  # once unless monthly


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"jpy": "25.5"}, "late_fee_fixed.jpy"),  # yen have no decimals
        ({"usd": "1.005"}, "late_fee_fixed.usd"),
        ({"kwd": "1.0005"}, "late_fee_fixed.kwd"),
        ({"usd": "0"}, "late_fee_fixed.usd"),
        ({"usd": "-5"}, "late_fee_fixed.usd"),
        ({"usd": "abc"}, "late_fee_fixed.usd"),
        ({"xyz": "5"}, "late_fee_fixed"),
    ],
)
def test_fixed_fees_are_checked_with_each_currencys_decimals(typed, field) -> None:
    with pytest.raises(ValidationError) as err:
        rem.parse_fixed_fees(typed)
    assert err.value.field == field


def test_fixed_fee_per_currency_only_where_set(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    _rules(
        db,
        admin,
        late_fee_kind="fixed",
        late_fee_fixed={"jpy": "3000", "kwd": "2.125"},
        late_fee_after_days=5,
    )
    usd = _invoice(db, admin, client, "100.00")
    jpy = _invoice(db, admin, client, "50000", currency="jpy")
    kwd = _invoice(db, admin, client, "10.000", currency="kwd")
    assert _run(db, DUE + timedelta(days=5)).late_fees == 2
    for invoice in (usd, jpy, kwd):
        db.refresh(invoice)
    assert (usd.total, jpy.total, kwd.total) == (10000, 53000, 12125)
    details = db.exec(
        select(InvoiceActivity.detail)
        .where(InvoiceActivity.kind == "late_fee")
        .order_by(col(InvoiceActivity.id))
    ).all()
    assert details == ["Late fee of ¥3,000 added", "Late fee of KWD2.125 added"]


def test_settings_are_checked_and_for_admins(
    db: Session, admin: Actor, member: Actor, acme: Tenant
) -> None:
    with pytest.raises(AccessDenied):
        rem.update_reminder_settings(db, member, RULES)
    with pytest.raises(AccessDenied):
        rem.read_reminder_settings(db, member)
    bad = [
        {"days_before": -1},
        {"max_after": 13},
        {"late_fee_kind": "huge"},
        {"late_fee_kind": "percent", "late_fee_percent": "abc"},
        {"late_fee_kind": "percent", "late_fee_percent": "0"},
        {"late_fee_kind": "percent", "late_fee_percent": "1.555"},
        {"late_fee_kind": "fixed", "late_fee_fixed": {}},
        {"late_fee_kind": "fixed", "late_fee_fixed": {"usd": " "}},
        {"late_fee_kind": "fixed", "late_fee_fixed": {"jpy": "1.5"}},
        {"late_fee_after_days": 0},
    ]
    for change in bad:
        with pytest.raises(ValidationError):
            rem.update_reminder_settings(db, admin, ReminderUpdate(**{**RULES.__dict__, **change}))
    saved = rem.update_reminder_settings(
        db,
        admin,
        ReminderUpdate(
            **{**RULES.__dict__, "late_fee_kind": "percent", "late_fee_percent": "1.25"}
        ),
    )
    assert saved.late_fee_percent_bp == 125
    db.commit()
    assert rem.read_reminder_settings(db, admin).days_before == 3
