"""Advance notices: each autopay invoice's client is emailed before its charge date, once."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import add_activity, portal_link
from nextoria_hub.billing.money import format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import (
    AutopayNotice,
    Client,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    Workspace,
)
from nextoria_hub.models.ids import require_id, stored_key
from nextoria_hub.notifications.outbox import enqueue_email
from nextoria_hub.ownership import get_owned
from nextoria_hub.payments.autopay.records import active_method
from nextoria_hub.payments.stripe_connection import active_mode
from nextoria_hub.payments.stripe_objects import card_label
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)


def send_autopay_notices(now: datetime | None = None) -> int:
    """Email each autopay invoice's notice ``autopay_notice_days`` before its due date, once."""
    now = now or utcnow()
    today = now.date()
    sent = 0
    with session_scope() as db:
        candidates = db.exec(
            select(Invoice.id, Invoice.workspace_id)
            .join(ClientAutopay, col(ClientAutopay.client_id) == col(Invoice.client_id))
            .where(
                col(ClientAutopay.enabled).is_(True),
                ClientAutopay.paused_reason == "",
                ClientAutopay.workspace_id == Invoice.workspace_id,
                Invoice.status == InvoiceStatus.open,
                col(Invoice.stripe_invoice_id) == "",
                Invoice.due_date >= today,
            )
        ).all()
    for invoice_id, workspace_id in candidates:
        try:
            with session_scope() as db:
                if _notice(db, workspace_id, stored_key(invoice_id), today):
                    sent += 1
        except IntegrityError:
            continue  # another run sent it
        except Exception:
            log.exception("autopay notice for invoice %s failed", invoice_id)
    return sent


def _notice(db: Session, workspace_id: int, invoice_id: int, today: date) -> bool:
    days = get_finance(db, workspace_id).autopay_notice_days
    if days <= 0:
        return False
    invoice = get_owned(db, Invoice, invoice_id, workspace_id)
    if invoice is None or invoice.amount_due <= 0:
        return False
    if not (invoice.due_date - timedelta(days=days) <= today <= invoice.due_date):
        return False
    exists = db.exec(
        select(AutopayNotice.id).where(
            AutopayNotice.workspace_id == workspace_id, AutopayNotice.invoice_id == invoice_id
        )
    ).first()
    if exists is not None:
        return False
    mode = active_mode(db, workspace_id)
    method = active_method(db, workspace_id, invoice.client_id, mode)
    if method is None:
        return False
    db.add(AutopayNotice(workspace_id=workspace_id, invoice_id=invoice_id))
    db.flush()  # the unique invoice_id makes a concurrent second notice fail here
    workspace = db.get(Workspace, workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    enqueue_email(
        db,
        workspace_id=workspace_id,
        to=client.billing_email,
        kind="autopay_notice",
        context={
            "workspace_name": workspace.name,
            "client_name": client.contact_name or client.name,
            "number": invoice.number,
            "amount": format_money(invoice.amount_due, invoice.currency),
            "method": card_label(method.brand, method.last4),
            "charge_date": invoice.due_date.strftime("%d %b %Y"),
            "link": portal_link(workspace.slug, require_id(invoice)),
            "methods_link": get_settings().workspace_url(workspace.slug, "/portal/payment-methods"),
        },
    )
    add_activity(db, invoice, "autopay_notice", f"Autopay notice sent to {client.billing_email}")
    return True
