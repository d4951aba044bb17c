"""A workspace's locale: the default keeps what was always printed; a chosen one shows in
the invoice and reminder emails, the PDF (a new revision) and pages (``use_locale``), with
zero- and three-decimal currencies right in every locale."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing import locales
from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.billing.money import format_money
from nextoria_hub.billing.pdf import invoice_document
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.models import AuditEntry, Client, Invoice, OutboxEmail, Workspace
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant

NBSP = "\xa0"
DUE = date(2026, 11, 30)


@pytest.fixture
def client(db: Session, admin: Actor) -> Client:
    c = create_client(db, admin, name="Initech", billing_email="ap@initech.test", currency="eur")
    db.commit()
    return c


def _sent(
    db: Session, admin: Actor, client: Client, unit: str = "1250.00", currency=None
) -> Invoice:  # type: ignore[no-untyped-def]
    invoice = inv.create_invoice(
        db,
        admin,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Retainer", "1", unit, "20" if currency is None else "")],
        currency=currency,
        issue_date=date(2026, 11, 1),
        due_date=DUE,
    )
    inv.send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    return invoice


def test_the_default_prints_what_was_always_printed() -> None:
    assert locales.DEFAULT_LOCALE == "en_US"
    assert format_money(125000, "usd") == "$1,250.00"
    assert format_money(125000, "jpy") == "¥125,000"
    assert format_money(12500, "kwd") == "KWD12.500"
    assert locales.format_day(DUE) == DUE.strftime("%d %b %Y") == "30 Nov 2026"


@pytest.mark.parametrize(
    ("locale", "eur", "jpy", "kwd", "day"),
    [
        ("de_DE", f"1.500,00{NBSP}€", f"125.000{NBSP}¥", f"12,500{NBSP}KWD", "30.11.2026"),
        ("fr_FR", f"1\u202f500,00{NBSP}€", f"125\u202f000{NBSP}JPY", f"12,500{NBSP}KWD", "30 nov. 2026"),
        ("ja_JP", "€1,500.00", "￥125,000", "KWD12.500", "2026/11/30"),
        ("en_GB", "€1,500.00", "JP¥125,000", "KWD12.500", "30 Nov 2026"),
    ],
)  # fmt: skip
def test_each_locale_with_each_currencys_decimals(locale, eur, jpy, kwd, day) -> None:
    fmt = locales.Formatter(locale)
    assert (fmt.money(150000, "eur"), fmt.money(125000, "jpy"), fmt.money(12500, "kwd")) == (
        eur,
        jpy,
        kwd,
    )
    assert fmt.day(DUE) == day
    with locales.use_locale(locale):  # what a page's unit of work does
        assert format_money(150000, "eur") == eur and locales.format_day(DUE) == day
    assert format_money(150000, "eur") == "€1,500.00"  # and it ends with the block


def test_admins_choose_from_the_list(
    db: Session, admin: Actor, member: Actor, acme: Tenant
) -> None:
    assert locales.workspace_locale(db, acme.id) == "en_US"
    with pytest.raises(AccessDenied):
        locales.set_workspace_locale(db, member, "de_DE")
    for bad in ("xx_YY", "", "de_DE; drop table", "en"):
        with pytest.raises(ValidationError) as err:
            locales.set_workspace_locale(db, admin, bad)
        assert err.value.field == "locale"
    assert locales.set_workspace_locale(db, admin, "de-DE") == "de_DE"
    db.commit()
    assert db.get(Workspace, acme.id).locale == "de_DE"  # type: ignore[union-attr]
    audit = db.exec(select(AuditEntry.detail).where(AuditEntry.action == "workspace.locale"))
    assert list(audit) == ["en_US → de_DE"]
    assert all(locales.locale_label(code) for code in locales.LOCALES)


def test_emails_and_pdf_in_the_workspace_locale(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    before = _sent(db, admin, client)
    old_revision = invoice_document(db, before).revision()
    locales.set_workspace_locale(db, admin, "de_DE")
    db.commit()
    invoice = _sent(db, admin, client)
    email = db.exec(
        select(OutboxEmail)
        .where(OutboxEmail.kind == "invoice_sent")
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert email is not None
    assert f"1.500,00{NBSP}€" in email.subject and "30.11.2026" in email.text_body
    doc = invoice_document(db, invoice)
    assert ("Total", f"1.500,00{NBSP}€") in doc.totals
    assert ("Due", "30.11.2026") in doc.dates
    assert invoice_document(db, before).revision() != old_revision  # a new PDF, not the cached one

    rem.update_reminder_settings(db, admin, rem.ReminderUpdate(True, 0, False, 2, 0, 1))
    db.commit()
    assert rem.send_due_reminders(db, DUE + timedelta(days=2)).reminders == 2
    db.commit()
    reminder = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_reminder")).first()
    assert reminder is not None and f"1.500,00{NBSP}€" in reminder.text_body


def test_the_portal_in_the_workspace_locale(
    db: Session, admin: Actor, acme: Tenant, client: Client
) -> None:
    from nextoria_hub.billing.portal import portal_home
    from tests.factories import quick_portal_user

    _sent(db, admin, client)
    portal = Actor.of(quick_portal_user(db, client, "p@initech.test"))
    locales.set_workspace_locale(db, admin, "de_DE")
    db.commit()
    with locales.use_locale(locales.workspace_locale(db, acme.id)):  # as the portal page does
        home = portal_home(db, portal, date(2026, 11, 2))
    assert home.open_totals == [f"1.500,00{NBSP}€"]
    [row] = home.open_rows
    assert (row.amount, row.due) == (f"1.500,00{NBSP}€", "30.11.2026")
