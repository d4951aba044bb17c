"""The invoice row lock every path that changes how an invoice is paid takes first."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from nextoria_hub.errors import NotFound
from nextoria_hub.models import Invoice
from nextoria_hub.ownership import get_owned


def lock_invoice(db: Session, workspace_id: int, invoice_id: int) -> Invoice | None:
    """Take the invoice's row lock and return it re-read under the lock (None if absent).

    A no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite. Settlement, voiding,
    marking paid, Pay Now and the autopay claim all take it, so their checks and writes on
    one invoice happen one after the other and each re-checks what the previous one left.
    """
    db.execute(
        text("UPDATE invoice SET status = status WHERE id = :id AND workspace_id = :ws"),
        {"id": invoice_id, "ws": workspace_id},
    )
    invoice = get_owned(db, Invoice, invoice_id, workspace_id)
    if invoice is None:
        return None
    db.refresh(invoice)
    return invoice


def require_locked_invoice(db: Session, workspace_id: int, invoice_id: int) -> Invoice:
    """``lock_invoice`` for callers that need the invoice to exist."""
    invoice = lock_invoice(db, workspace_id, invoice_id)
    if invoice is None:
        raise NotFound("This invoice does not exist.")
    return invoice
