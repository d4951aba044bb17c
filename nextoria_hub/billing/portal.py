"""The Client Portal home: what the client must act on, then a page of their history.

A client may have hundreds of invoices, so the home never loads them all: the open ones
(few) come whole, the history one page at a time, and every row is typed and already
formatted. A fixed handful of queries per screen, whatever the number of invoices (the
processing flag is a correlated EXISTS, not a query per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, extract, func, or_
from sqlmodel import Session, col, select

from nextoria_hub.billing.clients import portal_client_id
from nextoria_hub.billing.invoices import display_status
from nextoria_hub.billing.locales import format_day
from nextoria_hub.billing.money import format_money
from nextoria_hub.errors import ValidationError
from nextoria_hub.models.invoice import Invoice, InvoiceStatus
from nextoria_hub.models.payment import Payment
from nextoria_hub.tenancy import Actor

PAGE_SIZE = 25
# The history's status filter: what the client can pick (Overdue is open and past due).
HISTORY_STATUSES = ("open", "overdue", "paid", "void")
RECEIPT_STATUSES = ("succeeded", "refunded", "partially_refunded")


@dataclass(frozen=True)
class PortalRow:
    """One invoice as the portal shows it: formatted on the server, nothing more."""

    id: int
    number: str
    status: str
    amount: str  # what is still owed while open; the total once settled
    due: str
    payable: bool  # open, something owed, no bank debit in flight: one Pay Now


@dataclass(frozen=True)
class PaymentRow:
    id: int
    invoice_id: int
    number: str
    amount: str
    paid_on: str
    method: str
    status: str


@dataclass(frozen=True)
class PortalHome:
    open_rows: list[PortalRow]  # open, partially paid, processing and overdue
    open_totals: list[str]  # what is owed, one amount per currency
    history: list[PortalRow]  # settled ones unless the status filter asks for open ones
    page: int
    pages: int
    matches: int
    years: list[int]


@dataclass(frozen=True)
class PaymentHistory:
    rows: list[PaymentRow]
    page: int
    pages: int


def _processing():  # type: ignore[no-untyped-def]
    return (
        exists()
        .where(
            Payment.invoice_id == Invoice.id,
            Payment.workspace_id == Invoice.workspace_id,
            Payment.kind == "payment",
            Payment.status == "processing",
        )
        .correlate(Invoice)
    )


def _row(invoice: Invoice, processing: bool, today: date) -> PortalRow:
    is_open = invoice.status == InvoiceStatus.open
    return PortalRow(
        id=invoice.id or 0,
        number=invoice.number,
        status=display_status(invoice, today, processing=processing),
        amount=format_money(invoice.amount_due if is_open else invoice.total, invoice.currency),
        due=format_day(invoice.due_date),
        payable=is_open and invoice.amount_due > 0 and not processing,
    )


def _pages(matches: int) -> int:
    return max((matches + PAGE_SIZE - 1) // PAGE_SIZE, 1)


def portal_home(
    db: Session,
    actor: Actor,
    today: date,
    *,
    page: int = 1,
    search: str = "",
    status: str = "",
    year: int | None = None,
    with_history: bool = True,
) -> PortalHome:
    """The portal's first screen for a client user (staff see nothing here: not their portal).

    ``with_history=False``: only what the client must act on (one query), so the page can
    show it before the history page is read."""
    if status and status not in HISTORY_STATUSES:
        raise ValidationError(f"Unknown status “{status}”.", "status")
    own_id = None if actor.is_staff else portal_client_id(db, actor)
    if own_id is None:
        return PortalHome([], [], [], 1, 1, 0, [])
    mine = (
        Invoice.workspace_id == actor.workspace_id,
        Invoice.client_id == own_id,
        Invoice.status != InvoiceStatus.draft,
    )
    flag = _processing().label("processing")
    open_found = db.exec(
        select(Invoice, flag)
        .where(*mine, Invoice.status == InvoiceStatus.open)
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).all()
    open_rows = [_row(inv, bool(p), today) for inv, p in open_found]
    owed: dict[str, int] = {}
    for inv, _p in open_found:
        owed[inv.currency] = owed.get(inv.currency, 0) + inv.amount_due
    totals = [format_money(amount, cur) for cur, amount in sorted(owed.items()) if amount > 0]
    if not with_history:
        return PortalHome(open_rows, totals, [], 1, 1, 0, [])

    filters = list(mine)
    if status == "overdue":
        filters += [Invoice.status == InvoiceStatus.open, Invoice.due_date < today]
    elif status:
        filters.append(Invoice.status == status)
    else:  # the open ones are already above it
        filters.append(Invoice.status != InvoiceStatus.open)
    needle = search.strip().lower()[:64]
    if needle:
        filters.append(func.lower(Invoice.number).like(f"%{needle}%"))
    if year is not None:
        filters.append(extract("year", Invoice.issue_date) == year)
    page = max(page, 1)
    found = db.exec(
        select(Invoice, flag, func.count().over().label("matches"))
        .where(*filters)
        .order_by(col(Invoice.issue_date).desc(), col(Invoice.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    matches = found[0][2] if found else 0
    if not found and page > 1:  # past the end (the filter narrowed): the last page instead
        return portal_home(db, actor, today, search=search, status=status, year=year)
    years = db.exec(
        select(extract("year", Invoice.issue_date).label("y"))
        .where(*mine)
        .distinct()
        .order_by(extract("year", Invoice.issue_date).desc())
    ).all()
    return PortalHome(
        open_rows=open_rows,
        open_totals=totals,
        history=[_row(inv, bool(p), today) for inv, p, _n in found],
        page=page,
        pages=_pages(matches),
        matches=matches,
        years=[int(y) for y in years],
    )


def payment_history(db: Session, actor: Actor, *, page: int = 1) -> PaymentHistory:
    """The client's payments, newest first, each with the invoice its receipt is printed for."""
    own_id = None if actor.is_staff else portal_client_id(db, actor)
    if own_id is None:
        return PaymentHistory([], 1, 1)
    page = max(page, 1)
    found = db.exec(
        select(Payment, Invoice.number, func.count().over())
        .join(
            Invoice,
            (Invoice.id == Payment.invoice_id) & (Invoice.workspace_id == Payment.workspace_id),
        )
        .where(
            Payment.workspace_id == actor.workspace_id,
            Payment.client_id == own_id,
            Invoice.client_id == own_id,
            Payment.kind == "payment",
            or_(*(Payment.status == s for s in RECEIPT_STATUSES)),
        )
        .order_by(col(Payment.created_at).desc(), col(Payment.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    rows = [
        PaymentRow(
            id=p.id or 0,
            invoice_id=p.invoice_id,
            number=number,
            amount=format_money(p.amount, p.currency),
            paid_on=format_day(p.created_at),
            method=p.method_detail or p.method_type.replace("_", " ") or "Payment",
            status={"succeeded": "Paid"}.get(p.status, p.status.replace("_", " ").capitalize()),
        )
        for p, number, _n in found
    ]
    return PaymentHistory(rows, page, _pages(found[0][2] if found else 0))
