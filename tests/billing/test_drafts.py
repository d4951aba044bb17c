"""Revising invoices: editing drafts (lines, tax, dates, notes, client, currency) with clear
errors, "Void and duplicate as draft" with the link on both timelines, and the CLI's twin."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from nextoria_hub.billing import drafts
from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.clients import archive_client, create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.cli.main import app as cli_app
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import AuditEntry, Client, Invoice, InvoiceLine, Payment
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, quick_portal_user

ISSUE, DUE = date(2026, 11, 2), date(2026, 11, 16)


@pytest.fixture
def client(db: Session, admin: Actor) -> Client:
    c = create_client(db, admin, name="Initech", billing_email="ap@initech.test", currency="usd")
    db.commit()
    return c


@pytest.fixture
def other(db: Session, admin: Actor) -> Client:
    c = create_client(db, admin, name="Umbrella", billing_email="ap@umbrella.test", currency="jpy")
    db.commit()
    return c


def _draft(db: Session, admin: Actor, client: Client) -> Invoice:
    invoice = inv.create_invoice(
        db,
        admin,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Design", "2", "450.00", "20"), LineInput("Hosting", "1", "25.50")],
        issue_date=ISSUE,
        due_date=DUE,
        notes="Net 14",
    )
    db.commit()
    return invoice


def _edit(db: Session, actor: Actor, invoice: Invoice, **changes):  # type: ignore[no-untyped-def]
    values = {
        "lines": [LineInput("Design", "3", "450.00", "20")],
        "currency": "usd",
        "issue_date": ISSUE,
        "due_date": DUE,
        "notes": "Net 14",
        **changes,
    }
    return inv.update_draft(db, actor, invoice.id, **values)  # type: ignore[arg-type]


def test_the_editor_starts_from_the_draft_as_typed(db, admin, client) -> None:
    invoice = _draft(db, admin, client)
    form = drafts.draft_form(db, admin, invoice.id)  # type: ignore[arg-type]
    assert (form.client_id, form.currency, form.issue_date, form.due_date, form.notes) == (
        client.id,
        "usd",
        ISSUE,
        DUE,
        "Net 14",
    )
    assert form.lines == [
        LineInput("Design", "2", "450.00", "20"),
        LineInput("Hosting", "1", "25.50", ""),
    ]


def test_edit_lines_tax_dates_notes_client_and_currency(db, admin, client, other) -> None:
    invoice = _draft(db, admin, client)
    _edit(
        db,
        admin,
        invoice,
        lines=[LineInput("Workshop", "1.5", "80000", "10"), LineInput("Travel", "1", "12000")],
        currency="jpy",
        issue_date=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        notes="  Thanks!  ",
        client_id=other.id,
    )
    db.commit()
    db.refresh(invoice)
    assert (invoice.client_id, invoice.currency, invoice.notes) == (other.id, "jpy", "Thanks!")
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 11, 3), date(2026, 12, 3))
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (132000, 12000, 144000)
    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    assert [(ln.description, ln.quantity, ln.unit_amount) for ln in lines] == [
        ("Workshop", "1.5", 80000),
        ("Travel", "1", 12000),
    ]
    form = drafts.draft_form(db, admin, invoice.id)  # type: ignore[arg-type]
    assert form.lines[0] == LineInput("Workshop", "1.5", "80000", "10")  # yen: no decimals


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"lines": []}, "lines", "at least one line"),
        ({"lines": [LineInput("", "1", "5")]}, "lines.0.description", "description"),
        ({"lines": [LineInput("X", "0", "5")]}, "lines.0.quantity", "more than 0"),
        ({"lines": [LineInput("X", "1", "5.5"), LineInput("Y", "1", "abc")]}, "lines.1.unit_price", "Line 2"),
        ({"lines": [LineInput("X", "1", "5", "101")]}, "lines.0.tax_rate", "between 0 and 100"),
        ({"currency": "jpy", "lines": [LineInput("X", "1", "5.50")]}, "lines.0.unit_price", "0 decimals"),
        ({"currency": "xyz"}, "currency", "not a currency"),
        ({"due_date": ISSUE - timedelta(days=1)}, "due_date", "before the issue date"),
    ],
)  # fmt: skip
def test_invalid_edits_say_what_and_where(db, admin, client, changes, field, words) -> None:
    invoice = _draft(db, admin, client)
    with pytest.raises(ValidationError) as err:
        _edit(db, admin, invoice, **changes)
    assert err.value.field == field and words in err.value.message
    db.rollback()
    db.refresh(invoice)
    assert invoice.total == 2 * 45000 + 18000 + 2550  # nothing saved (20% tax on design)


def test_client_changes_are_checked(db, admin, client, globex: Tenant) -> None:
    invoice = _draft(db, admin, client)
    theirs = create_client(db, Actor.of(globex.admin), name="Hooli", billing_email="a@h.test")
    gone = create_client(db, admin, name="Gone", billing_email="g@gone.test")
    archive_client(db, admin, gone.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(NotFound):
        _edit(db, admin, invoice, client_id=theirs.id)
    with pytest.raises(ValidationError, match="archived"):
        _edit(db, admin, invoice, client_id=gone.id)


def test_only_drafts_are_edited_and_only_by_staff(db, admin, client, acme: Tenant) -> None:
    invoice = _draft(db, admin, client)
    portal = Actor.of(quick_portal_user(db, client, "p@initech.test"))
    with pytest.raises(AccessDenied):
        _edit(db, portal, invoice)
    with pytest.raises(AccessDenied):
        drafts.draft_form(db, portal, invoice.id)  # type: ignore[arg-type]
    inv.send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(ValidationError, match="Void and duplicate"):
        _edit(db, admin, invoice)
    with pytest.raises(ValidationError, match="Void and duplicate"):
        drafts.draft_form(db, admin, invoice.id)  # type: ignore[arg-type]


def _sent(db: Session, admin: Actor, client: Client) -> Invoice:
    invoice = _draft(db, admin, client)
    inv.send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    return invoice


def _timeline(db: Session, admin: Actor, invoice: Invoice) -> list[tuple[str, str]]:
    view = inv.get_invoice_view(db, admin, invoice.id)  # type: ignore[arg-type]
    return [(a.kind, a.detail) for a in view.activity]


def test_void_and_duplicate_links_both_timelines(db, admin, member, client) -> None:
    original = _sent(db, admin, client)
    copy = drafts.void_and_duplicate(db, member, original.id)  # type: ignore[arg-type]
    db.commit()
    db.refresh(original)
    assert original.status == "void" and original.voided_at is not None
    assert (copy.status, copy.number, copy.duplicated_from_id) == ("draft", "INV-0002", original.id)
    assert (copy.client_id, copy.currency, copy.notes, copy.total) == (
        client.id,
        "usd",
        "Net 14",
        original.total,
    )
    today = utcnow().date()
    assert (copy.issue_date, copy.due_date) == (today, today + (DUE - ISSUE))
    assert ("replaced", "Replaced by INV-0002") in _timeline(db, admin, original)
    assert ("voided", "Voided by Acme Member: replaced by a revised draft") in _timeline(
        db, admin, original
    )
    assert ("duplicated", "Duplicated from INV-0001") in _timeline(db, admin, copy)
    source, copies = drafts.related_invoices(db, admin, copy.id)  # type: ignore[arg-type]
    assert source == drafts.RelatedInvoice(original.id, "INV-0001") and copies == []  # type: ignore[arg-type]
    source, copies = drafts.related_invoices(db, admin, original.id)  # type: ignore[arg-type]
    assert source is None and copies == [drafts.RelatedInvoice(copy.id, "INV-0002")]  # type: ignore[arg-type]
    assert drafts.draft_form(db, admin, copy.id).lines == [  # type: ignore[arg-type]
        LineInput("Design", "2", "450.00", "20"),
        LineInput("Hosting", "1", "25.50", ""),
    ]
    audit = db.exec(
        select(AuditEntry.detail).where(AuditEntry.action == "invoice.void_and_duplicate")
    )
    assert list(audit) == ["INV-0001 → INV-0002"]


def test_void_and_duplicate_leaves_late_fees_behind(db, admin, client) -> None:
    rem.update_reminder_settings(
        db,
        admin,
        rem.ReminderUpdate(
            False, 0, False, 0, 0, 0, late_fee_kind="fixed", late_fee_fixed={"usd": "30"}
        ),
    )
    original = _sent(db, admin, client)
    rem.send_due_reminders(db, DUE + timedelta(days=40))
    db.commit()
    db.refresh(original)
    assert original.total == 113550  # 1,105.50 + 30.00 late fee
    copy = drafts.void_and_duplicate(db, admin, original.id)  # type: ignore[arg-type]
    assert copy.total == 110550
    descriptions = db.exec(select(InvoiceLine.description).where(InvoiceLine.invoice_id == copy.id))
    assert list(descriptions) == ["Design", "Hosting"]


def test_what_cannot_be_voided_is_not_duplicated(db, admin, client, globex: Tenant) -> None:
    draft = _draft(db, admin, client)
    with pytest.raises(ValidationError, match="edit it instead"):
        drafts.void_and_duplicate(db, admin, draft.id)  # type: ignore[arg-type]
    billed_by_stripe = _sent(db, admin, client)
    billed_by_stripe.stripe_invoice_id = "in_test_retainer"
    db.add(billed_by_stripe)
    db.commit()
    with pytest.raises(ValidationError, match="Stripe Dashboard"):
        drafts.void_and_duplicate(db, admin, billed_by_stripe.id)  # type: ignore[arg-type]
    paid = _sent(db, admin, client)
    inv.mark_paid_manually(db, admin, paid.id, "Bank transfer")  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(ValidationError, match="paid invoice"):
        drafts.void_and_duplicate(db, admin, paid.id)  # type: ignore[arg-type]
    debiting = _sent(db, admin, client)
    db.add(
        Payment(
            workspace_id=debiting.workspace_id,
            invoice_id=debiting.id,  # type: ignore[arg-type]
            client_id=client.id,  # type: ignore[arg-type]
            kind="payment",
            status="processing",
            amount=debiting.total,
            currency="usd",
            payment_intent_id="pi_processing",
            source="checkout",
            mode="test",
        )
    )
    db.commit()
    with pytest.raises(ValidationError, match="processing"):
        drafts.void_and_duplicate(db, admin, debiting.id)  # type: ignore[arg-type]
    db.rollback()
    with pytest.raises(NotFound):
        drafts.void_and_duplicate(db, Actor.of(globex.admin), debiting.id)  # type: ignore[arg-type]
    count = db.exec(select(Invoice).where(Invoice.workspace_id == draft.workspace_id)).all()
    assert len(count) == 4  # no copy was made of any of them


def test_cli_void_and_duplicate(db, admin, client) -> None:
    original = _sent(db, admin, client)
    result = CliRunner().invoke(
        cli_app,
        ["invoice", "void-and-duplicate", "--workspace", "acme", "--number", "inv-0001", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert (
        '"number": "INV-0002"' in result.output and '"duplicated_from": "INV-0001"' in result.output
    )
    db.refresh(original)
    assert original.status == "void"
    again = CliRunner().invoke(
        cli_app, ["invoice", "void-and-duplicate", "--workspace", "acme", "--number", "INV-0001"]
    )
    assert again.exit_code != 0 and "already void" in again.output
