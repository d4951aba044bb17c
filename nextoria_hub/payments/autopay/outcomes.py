"""Recording an attempt's outcome (from the job or a webhook): settle, or decline and dun."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from nextoria_hub.billing.finance import get_finance, retry_schedule
from nextoria_hub.billing.invoices import add_activity, portal_link
from nextoria_hub.billing.money import format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.models import (
    AutopayAttempt,
    Client,
    Invoice,
    InvoiceStatus,
    Workspace,
)
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications.outbox import email_admins, enqueue_email
from nextoria_hub.payments.autopay.declines import classify_failure
from nextoria_hub.payments.autopay.policy import Past, next_step
from nextoria_hub.payments.autopay.records import _attempts_of
from nextoria_hub.payments.settlement import (
    bank_reason,
    record_failed_attempt,
    record_processing,
    settle_payment,
)
from nextoria_hub.payments.stripe_objects import NextoriaMetadata
from nextoria_hub.settings import get_settings


def apply_success(
    db: Session, workspace_id: int, attempt: AutopayAttempt, pi: dict[str, Any]
) -> None:
    """The attempt's PaymentIntent succeeded: settle the invoice (once) and close the attempt."""
    settle_payment(
        db,
        workspace_id=workspace_id,
        invoice_id=attempt.invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status != "succeeded":
        attempt.status = "succeeded"
        attempt.payment_intent_id = str(pi.get("id") or "")
        attempt.failure_code = attempt.decline_code = attempt.failure_class = ""
        attempt.failure_message = ""
        attempt.next_retry_at = None
        attempt.settled_at = utcnow()
        db.add(attempt)
    db.flush()


def apply_failure(
    db: Session, workspace_id: int, attempt: AutopayAttempt, pi: dict[str, Any]
) -> None:
    """A declined attempt: timeline, classification, next retry (or give up) and emails.

    Idempotent: an attempt already settled (by the job or a webhook) is left as it is.
    """
    record_failed_attempt(
        db,
        workspace_id=workspace_id,
        invoice_id=attempt.invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status in ("succeeded", "failed"):
        return
    invoice = db.get(Invoice, attempt.invoice_id)
    assert invoice is not None
    db.refresh(invoice)
    error = pi.get("last_payment_error") or {}
    code = str(error.get("code") or "")
    decline = str(error.get("decline_code") or "")
    bank = bank_reason(pi)  # a bank debit's reason is on its charge
    if bank is not None:
        code, decline, error = bank[0], "", {**error, "message": bank[1]}
    klass = classify_failure(code, decline)
    attempt.status = "failed"
    attempt.payment_intent_id = attempt.payment_intent_id or str(pi.get("id") or "")
    attempt.failure_code = code[:80]
    attempt.decline_code = decline[:80]
    attempt.failure_class = klass
    attempt.failure_message = str(error.get("message") or "The payment was declined.")
    attempt.settled_at = utcnow()
    attempt.next_retry_at = None
    if invoice.status != InvoiceStatus.open:
        db.add(attempt)
        db.flush()
        return
    workspace = db.get(Workspace, workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    money = format_money(attempt.amount, attempt.currency)
    link = portal_link(workspace.slug, require_id(invoice))
    admin_link = get_settings().workspace_url(workspace.slug, f"/invoices/{invoice.id}")
    reason = attempt.failure_message
    outcome = ""
    step = next_step(
        [
            Past(a.status, a.failure_class, a.created_at, current=a.id == attempt.id)
            for a in _attempts_of(db, workspace_id, require_id(invoice))
        ],
        klass,
        retry_schedule(get_finance(db, workspace_id)),
    )
    if step.action == "retry":
        attempt.next_retry_at = step.retry_at
        add_activity(
            db,
            invoice,
            "autopay_retry",
            f"Autopay attempt {attempt.attempt_no} declined ({decline or code}); next try "
            f"{attempt.next_retry_at:%d %b %Y}",
        )
    elif step.action == "give_up":
        outcome = f"All {step.tries} attempts failed; the invoice is marked Payment failed."
    elif step.action == "ask_authentication":
        enqueue_email(
            db,
            workspace_id=workspace_id,
            to=client.billing_email,
            kind="autopay_action_required",
            context={
                "workspace_name": workspace.name,
                "client_name": client.contact_name or client.name,
                "amount": money,
                "number": invoice.number,
                "link": link,
            },
        )
        add_activity(
            db,
            invoice,
            "autopay_action_required",
            "Autopay needs the client to authenticate; they were emailed a link to pay",
        )
    else:
        enqueue_email(
            db,
            workspace_id=workspace_id,
            to=client.billing_email,
            kind="autopay_update_method",
            context={
                "workspace_name": workspace.name,
                "client_name": client.contact_name or client.name,
                "amount": money,
                "number": invoice.number,
                "reason": reason,
                "link": link,
                "methods_link": get_settings().workspace_url(
                    workspace.slug, "/portal/payment-methods"
                ),
            },
        )
        outcome = (
            "The bank account can't be debited again; the client was asked for another."
            if bank is not None
            else "The card can't be charged again; the client was asked to update it."
        )
    if outcome:
        if klass == "soft":
            invoice.payment_failed = True
            db.add(invoice)
            add_activity(db, invoice, "autopay_failed", f"Autopay gave up: {outcome}")
        email_admins(
            db,
            workspace_id,
            kind="autopay_failed",
            context={
                "workspace_name": workspace.name,
                "client_name": client.name,
                "amount": money,
                "number": invoice.number,
                "reason": reason,
                "outcome": outcome,
                "link": admin_link,
            },
        )
    db.add(attempt)
    db.flush()


def attempt_for_pi(
    db: Session, workspace_id: int, invoice_id: int, pi: dict[str, Any]
) -> AutopayAttempt | None:
    """The autopay attempt a PaymentIntent belongs to (by its metadata), if any."""
    attempt_no = NextoriaMetadata.of(pi).attempt_no
    if attempt_no is None:
        return None
    return db.exec(
        select(AutopayAttempt).where(
            AutopayAttempt.workspace_id == workspace_id,
            AutopayAttempt.invoice_id == invoice_id,
            AutopayAttempt.attempt_no == attempt_no,
        )
    ).first()


def mark_processing(db: Session, workspace_id: int, invoice_id: int, pi: dict[str, Any]) -> None:
    """An autopay bank debit is on its way: the invoice shows it, and the attempt stays in
    flight (never replayed or retried) until the bank's answer settles it. Idempotent."""
    attempt = attempt_for_pi(db, workspace_id, invoice_id, pi)
    if attempt is None:
        return
    record_processing(
        db,
        workspace_id=workspace_id,
        invoice_id=invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status in ("claimed", "unknown"):
        attempt.status = "processing"
        attempt.payment_intent_id = str(pi.get("id") or "")
        db.add(attempt)
        db.flush()


# --- Notices --------------------------------------------------------------------------------
