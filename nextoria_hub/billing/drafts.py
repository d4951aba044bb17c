"""Revising invoices: the draft editor's form, and "Void and duplicate as draft".

A draft is edited in place (``invoices.update_draft``). A sent invoice is never edited: the
client may have it, a Checkout page may be open on it. It is revised by voiding it, through
the one void rule that closes every other way to pay it, and copying it into a new draft,
with the link between the two on both timelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.invoices import (
    LineInput,
    add_activity,
    create_invoice,
    get_invoice,
    void_invoice,
)
from nextoria_hub.billing.money import typed_amount
from nextoria_hub.billing.payment_terms import copy_payment_terms
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Invoice, InvoiceLine, InvoiceStatus, LateFee
from nextoria_hub.tenancy import Actor


@dataclass(frozen=True)
class DraftForm:
    """A draft as its editor shows it: amounts in major units, as they would be typed."""

    invoice_id: int
    client_id: int
    currency: str
    issue_date: date
    due_date: date
    notes: str
    lines: list[LineInput]


def _line_inputs(db: Session, invoice: Invoice, *, skip_late_fees: bool) -> list[LineInput]:
    fee_lines: set[int] = set()
    if skip_late_fees:
        fee_lines = {
            line_id
            for line_id in db.exec(
                select(LateFee.line_id).where(
                    LateFee.invoice_id == invoice.id,
                    LateFee.workspace_id == invoice.workspace_id,
                )
            ).all()
            if line_id is not None
        }
    rows = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position), col(InvoiceLine.id))
    ).all()
    return [
        LineInput(
            description=row.description,
            quantity=row.quantity,
            unit_price=typed_amount(row.unit_amount, invoice.currency),
            tax_rate=f"{row.tax_rate_bp / 100:g}" if row.tax_rate_bp else "",
        )
        for row in rows
        if row.id not in fee_lines
    ]


def draft_form(db: Session, actor: Actor, invoice_id: int) -> DraftForm:
    """The editor's starting values; staff only, drafts only."""
    actor.require_staff()
    invoice = get_invoice(db, actor, invoice_id)
    if invoice.status != InvoiceStatus.draft:
        raise ValidationError(
            "Only drafts can be edited. Use “Void and duplicate as draft” to revise a sent "
            "invoice.",
            "status",
        )
    return DraftForm(
        invoice_id=invoice.id,  # type: ignore[arg-type]
        client_id=invoice.client_id,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        notes=invoice.notes,
        lines=_line_inputs(db, invoice, skip_late_fees=False),
    )


def void_and_duplicate(db: Session, actor: Actor, invoice_id: int, reason: str = "") -> Invoice:
    """Void a sent, unpaid invoice and copy it into a new draft; returns the draft.

    The void is ``void_invoice`` (row lock, paid/processing checks, every other way to pay
    closed; Checkout pages expire at Stripe after commit). The copy keeps the client,
    currency, lines, notes and payment terms, dated today; late fees are not copied (the new
    due date decides those again). Both happen in the caller's transaction, or neither.
    """
    actor.require_staff()
    original = get_invoice(db, actor, invoice_id)
    if original.status == InvoiceStatus.draft:
        raise ValidationError("This is a draft: edit it instead.", "status")
    if original.stripe_invoice_id:
        raise ValidationError(
            "This retainer invoice is billed by Stripe: revise it in the Stripe Dashboard.",
            "status",
        )
    lines = _line_inputs(db, original, skip_late_fees=True)
    if not lines:
        raise ValidationError("This invoice has no lines to copy.", "lines")
    reason = (reason or "").strip() or "replaced by a revised draft"
    void_invoice(db, actor, invoice_id, reason)
    issue = utcnow().date()
    terms = max((original.due_date - original.issue_date).days, 0)
    draft = create_invoice(
        db,
        actor,
        client_id=original.client_id,
        lines=lines,
        currency=original.currency,
        issue_date=issue,
        due_date=issue + timedelta(days=terms),
        notes=original.notes,
    )
    draft.duplicated_from_id = original.id
    copy_payment_terms(original, draft)
    db.add(draft)
    add_activity(db, original, "replaced", f"Replaced by {draft.number}")
    add_activity(db, draft, "duplicated", f"Duplicated from {original.number}")
    record_audit(db, actor, "invoice.void_and_duplicate", f"{original.number} → {draft.number}")
    db.flush()
    return draft


@dataclass(frozen=True)
class RelatedInvoice:
    invoice_id: int
    number: str


def related_invoices(
    db: Session, actor: Actor, invoice_id: int
) -> tuple[RelatedInvoice | None, list[RelatedInvoice]]:
    """(the invoice this one was duplicated from, the drafts that replaced it), staff only."""
    actor.require_staff()
    invoice = get_invoice(db, actor, invoice_id)
    source = None
    if invoice.duplicated_from_id is not None:
        parent = db.get(Invoice, invoice.duplicated_from_id)
        if parent is not None and parent.workspace_id == actor.workspace_id:
            source = RelatedInvoice(parent.id, parent.number)  # type: ignore[arg-type]
    copies = db.exec(
        select(Invoice.id, Invoice.number)
        .where(Invoice.workspace_id == actor.workspace_id, Invoice.duplicated_from_id == invoice.id)
        .order_by(col(Invoice.id))
    ).all()
    return source, [RelatedInvoice(i, n) for i, n in copies]  # type: ignore[arg-type]
