"""The portal home for a client with 500 invoices: open ones first, a page of history, small.

The invoices are written as rows (500 through the send flow would only slow the test); the
open ones are checked against the same ``display_status`` rules the invoice pages use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event
from sqlmodel import Session

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.portal import PAGE_SIZE, payment_history, portal_home
from nextoria_hub.db import get_engine
from nextoria_hub.models.invoice import Invoice
from nextoria_hub.models.payment import Payment
from nextoria_hub.tenancy import Actor
from nextoria_hub.ui.states.portal import home_vars
from tests.factories import Tenant, quick_portal_user

TODAY = date(2026, 12, 5)


@contextmanager
def counted() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _books(db: Session, acme: Tenant, admin: Actor, settled: int = 490) -> Actor:
    client = create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    other = create_client(db, admin, name="Hooli", billing_email="ap@hooli.test")
    user = quick_portal_user(db, client, "peter@initech.test")
    ws = acme.id
    for n in range(settled):
        issued = date(2024, 1, 1) + timedelta(days=n * 2)
        inv = Invoice(
            workspace_id=ws,
            client_id=client.id,  # type: ignore[arg-type]
            number=f"INV-{n + 1:04d}",
            status="paid" if n % 10 else "void",
            currency="usd",
            issue_date=issued,
            due_date=issued + timedelta(days=14),
            total=125_000,
            amount_paid=125_000 if n % 10 else 0,
        )
        db.add(inv)
        db.flush()
        if n % 10:
            db.add(
                Payment(
                    workspace_id=ws,
                    invoice_id=inv.id,  # type: ignore[arg-type]
                    client_id=client.id,  # type: ignore[arg-type]
                    status="succeeded",
                    amount=125_000,
                    currency="usd",
                    method_detail="Visa •••• 4242",
                    payment_intent_id=f"pi_{n}",
                )
            )
    for k in range(10):  # 2 overdue, 1 partially paid, 1 with a bank debit processing
        inv = Invoice(
            workspace_id=ws,
            client_id=client.id,  # type: ignore[arg-type]
            number=f"INV-9{k:03d}",
            status="open",
            currency="usd",
            issue_date=TODAY - timedelta(days=20),
            due_date=TODAY + timedelta(days=(-3 if k < 2 else 10 + k)),
            total=50_000,
            amount_paid=20_000 if k == 2 else 0,
        )
        db.add(inv)
        db.flush()
        if k == 3:
            db.add(
                Payment(
                    workspace_id=ws,
                    invoice_id=inv.id,  # type: ignore[arg-type]
                    client_id=client.id,  # type: ignore[arg-type]
                    status="processing",
                    amount=50_000,
                    currency="usd",
                    method_type="us_bank_account",
                    payment_intent_id="pi_ach",
                )
            )
    db.add(  # another client's open invoice in the same workspace
        Invoice(
            workspace_id=ws,
            client_id=other.id,  # type: ignore[arg-type]
            number="INV-HOOLI",
            status="open",
            currency="usd",
            issue_date=TODAY,
            due_date=TODAY,
            total=999,
        )
    )
    db.commit()
    return Actor.of(user)


def test_open_invoices_come_first_with_one_pay_now_each(
    db: Session, acme: Tenant, admin: Actor
) -> None:
    peter = _books(db, acme, admin)
    with counted() as statements:
        home = portal_home(db, peter, TODAY)
    # Who the client is (2), the open ones, a page of history, the years: not one per row.
    assert len(statements) <= 5, statements

    assert len(home.open_rows) == 10
    assert "INV-HOOLI" not in {r.number for r in home.open_rows}
    by_number = {r.number: r for r in home.open_rows}
    assert [r.number for r in home.open_rows][:2] == ["INV-9000", "INV-9001"]  # most urgent
    assert {by_number["INV-9000"].status, by_number["INV-9001"].status} == {"Overdue"}
    assert by_number["INV-9002"].amount == "$300.00"  # partially paid: what is left
    assert (by_number["INV-9003"].status, by_number["INV-9003"].payable) == ("Processing", False)
    assert sum(r.payable for r in home.open_rows) == 9
    assert home.open_totals == ["$4,800.00"]  # 10 × 500 − 200 paid; the debit is still owed

    # The history: settled invoices, newest first, 25 a page.
    assert (home.matches, home.pages, len(home.history)) == (490, 20, PAGE_SIZE)
    assert home.history[0].number == "INV-0490"
    assert not {r.number for r in home.history} & set(by_number)
    assert home.years == [2026, 2025, 2024]


def test_first_delta_reads_only_what_to_pay(db: Session, acme: Tenant, admin: Actor) -> None:
    """The page's first event shows the open invoices before the history is read."""
    peter = _books(db, acme, admin)
    full = portal_home(db, peter, TODAY)
    with counted() as statements:
        first = portal_home(db, peter, TODAY, with_history=False)
    assert len(statements) <= 3, statements  # who the client is (2), the open ones
    assert first.open_rows == full.open_rows and first.open_totals == full.open_totals
    assert (first.history, first.matches, first.years) == ([], 0, [])


def test_history_pages_search_and_filters(db: Session, acme: Tenant, admin: Actor) -> None:
    peter = _books(db, acme, admin)
    last = portal_home(db, peter, TODAY, page=20)
    assert (last.page, len(last.history)) == (20, 490 - 19 * PAGE_SIZE)
    past_the_end = portal_home(db, peter, TODAY, page=99)
    assert past_the_end.page == 1

    found = portal_home(db, peter, TODAY, search=" inv-0007 ")
    assert [r.number for r in found.history] == ["INV-0007"]
    assert portal_home(db, peter, TODAY, search="9001", status="open").matches == 1

    voids = portal_home(db, peter, TODAY, status="void")
    assert voids.matches == 49 and {r.status for r in voids.history} == {"Void"}
    overdue = portal_home(db, peter, TODAY, status="overdue")
    assert {r.number for r in overdue.history} == {"INV-9000", "INV-9001"}
    in_2024 = portal_home(db, peter, TODAY, year=2024)
    assert in_2024.matches == 183  # every other day from 1 Jan 2024 (a leap year)
    assert all(r.due for r in in_2024.history)


def test_staff_and_other_workspaces_see_no_portal(
    db: Session, acme: Tenant, globex: Tenant, admin: Actor
) -> None:
    _books(db, acme, admin, settled=20)
    assert portal_home(db, admin, TODAY).matches == 0  # staff have their own pages
    stranger = Actor.of(globex.admin)
    assert portal_home(db, stranger, TODAY).open_rows == []
    assert payment_history(db, stranger).rows == []


def test_payment_history_links_each_receipt_to_its_invoice(
    db: Session, acme: Tenant, admin: Actor
) -> None:
    peter = _books(db, acme, admin, settled=60)
    first = payment_history(db, peter)
    assert (first.pages, len(first.rows)) == (3, PAGE_SIZE)  # 54 payments (every 10th void)
    assert first.rows[0].number == "INV-0060" and first.rows[0].status == "Paid"
    assert all(r.method == "Visa •••• 4242" for r in first.rows)
    assert "pi_ach" not in json.dumps([r.__dict__ for r in first.rows])  # processing: no receipt


def test_first_screen_payload_for_500_invoices_is_under_30_kb(
    db: Session, acme: Tenant, admin: Actor
) -> None:
    """What PortalState.load sets is the first delta after hydrate: measure it as sent."""
    peter = _books(db, acme, admin)
    delta = home_vars(portal_home(db, peter, TODAY), payment_history(db, peter))
    size = len(json.dumps({"state.app_state.portal_state": delta}).encode())
    print(f"portal first-screen delta: {size} bytes")
    assert size <= 30 * 1024
