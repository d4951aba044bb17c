"""The one place an invoice becomes paid, a failed attempt is recorded, or a refund lands.

Every function is idempotent (keyed by Stripe's ids) and monotonic: a paid or void invoice
never goes back to open, and a late or repeated event changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session, select

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.invoices import add_activity, portal_link
from nextoria_hub.billing.locks import require_locked_invoice as _lock_invoice
from nextoria_hub.billing.money import format_money
from nextoria_hub.billing.profile import receipt_is_emailed
from nextoria_hub.clock import utcnow
from nextoria_hub.models import (
    AutopayAttempt,
    CheckoutSession,
    Client,
    Invoice,
    InvoiceStatus,
    Overpayment,
    Payment,
    Workspace,
)
from nextoria_hub.notifications.outbox import email_admins, enqueue_email
from nextoria_hub.payments.stripe_connection import active_mode
from nextoria_hub.settings import get_settings

BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "jcb": "JCB",
    "diners": "Diners Club",
    "unionpay": "UnionPay",
}
# Bank debits: confirmed as ``processing``, settled (or failed) days later by the bank.
BANK_DEBITS = {"us_bank_account": "ACH Direct Debit", "sepa_debit": "SEPA Direct Debit"}
DELAYED_METHODS = frozenset(BANK_DEBITS)


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def method_of(payment_intent: dict[str, Any]) -> tuple[str, str]:
    """(type, "Visa •••• 4242") from the PI's expanded charge or payment method, if present."""
    charge = payment_intent.get("latest_charge")
    details: dict[str, Any] = {}
    if isinstance(charge, dict):
        details = charge.get("payment_method_details") or {}
    if not details and isinstance(payment_intent.get("payment_method"), dict):
        details = payment_intent["payment_method"]
    kind = str(details.get("type") or "")
    if not kind:
        types = payment_intent.get("payment_method_types") or []
        kind = str(types[0]) if types else ""
    card = details.get("card") if isinstance(details.get("card"), dict) else None
    if card and card.get("last4"):
        brand = BRANDS.get(str(card.get("brand") or ""), str(card.get("brand") or "Card").title())
        return kind or "card", f"{brand} •••• {card['last4']}"
    bank = details.get(kind) if kind in BANK_DEBITS else None
    if isinstance(bank, dict) and bank.get("last4"):
        return kind, f"{BANK_DEBITS[kind]} •••• {bank['last4']}"
    if kind == "manual":
        return "manual", "Recorded manually"
    return kind, kind.replace("_", " ").title() if kind else ""


def _stripe_ids(payment: Payment) -> str:
    ids = [payment.payment_intent_id, payment.charge_id, payment.checkout_session_id]
    return ", ".join(i for i in ids if i)


def settle_payment(
    db: Session,
    *,
    workspace_id: int,
    invoice_id: int,
    mode: str,
    payment_intent: dict[str, Any],
    source: str,
    checkout_session_id: str = "",
    note: str = "",
) -> bool:
    """Record a successful payment once per PaymentIntent; True if this call recorded it."""
    pi_id = _id(payment_intent)
    if not pi_id:
        raise ValueError("a payment needs its PaymentIntent id")
    invoice = _lock_invoice(db, workspace_id, invoice_id)
    _end_processing(db, workspace_id, pi_id)  # a bank debit that settled: its row is replaced
    if _payment_for(db, workspace_id, pi_id) is not None:
        return False
    amount = int(payment_intent.get("amount_received") or payment_intent.get("amount") or 0)
    currency = str(payment_intent.get("currency") or invoice.currency).lower()
    method_type, method_detail = method_of(payment_intent)
    session_row = _checkout_row(db, workspace_id, checkout_session_id, pi_id)
    payment = Payment(
        workspace_id=workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        client_id=invoice.client_id,
        status="succeeded",
        kind="payment",
        source=source,
        mode=mode,
        amount=amount,
        currency=currency,
        method_type=method_type,
        method_detail=method_detail,
        payment_intent_id=pi_id,
        charge_id=_id(payment_intent.get("latest_charge")),
        checkout_session_id=checkout_session_id or (session_row.session_id if session_row else ""),
        note=note,
    )
    db.add(payment)
    db.flush()  # the overpayment row names it

    due_before = invoice.amount_due
    money = format_money(amount, currency)
    reason, problem = _not_counted(db, invoice, mode, currency)
    counted = 0
    if not reason:
        counted = min(amount, due_before)
        if amount > due_before:
            reason = "over_total"
            problem = (
                f"the amount due was {format_money(due_before, invoice.currency)}: "
                f"{format_money(amount - counted, currency)} overpaid, kept for a refund"
            )
    invoice.amount_paid += counted
    payment.balance_after = invoice.amount_due
    excess = amount - counted
    became_paid = False
    if (
        invoice.status == InvoiceStatus.open
        and invoice.total
        and invoice.amount_paid >= invoice.total
    ):
        invoice.status = InvoiceStatus.paid
        invoice.paid_at = utcnow()
        invoice.payment_failed = False
        became_paid = True
    db.add(invoice)
    overpayment = None
    if excess > 0:
        overpayment = Overpayment(
            workspace_id=workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            payment_id=payment.id,  # type: ignore[arg-type]
            mode=mode,
            amount=excess,
            currency=currency,
            reason=reason,
            detail=problem,
        )
        db.add(overpayment)
    if session_row is not None:
        session_row.status = "complete"
        session_row.payment_intent_id = pi_id
        session_row.settled_at = utcnow()
        db.add(session_row)

    detail = f"{money} received"
    if method_detail:
        detail += f" by {method_detail}"
    detail += f" ({source}, {mode} mode"
    ids = _stripe_ids(payment) if mode != "manual" else ""
    detail += f"; {ids})" if ids else ")"
    if note:
        detail += f". Note: {note}"
    if problem:
        prefix = "Attention" if invoice.status == InvoiceStatus.paid else "Not marked paid"
        detail += f". {prefix}: {problem}."
    part = counted > 0 and not became_paid
    if part:
        detail += (
            f". Part payment: the balance is now {format_money(invoice.amount_due, currency)}."
        )
    add_activity(db, invoice, "paid", detail)
    record_audit(
        db,
        None,
        "invoice.payment",
        f"{invoice.number}: {money} via {source} ({mode}) {pi_id}",
        workspace_id=workspace_id,
    )
    if became_paid or part:
        # A part changes the balance: a page (or autopay charge) for the old amount is
        # another way to pay that would now take too much, so it closes too.
        from nextoria_hub.payments.payment_paths import close_other_payment_paths

        why = f"paid by {method_detail or source} ({pi_id})" if mode != "manual" else "marked paid"
        close_other_payment_paths(
            db,
            invoice,
            f"a part of {money} was {why}" if part else why,
            keep_session_id=payment.checkout_session_id,
            keep_attempt_id=_attempt_id_of(db, workspace_id, invoice.id, payment_intent),  # type: ignore[arg-type]
        )
    _payment_emails(db, invoice, payment, problem)
    if overpayment is not None:
        _overpayment_email(db, invoice, overpayment)
    db.flush()
    return True


def _not_counted(db: Session, invoice: Invoice, mode: str, currency: str) -> tuple[str, str]:
    """(reason, why) when none of a payment may count towards this invoice, else ("", "")."""
    if currency != invoice.currency:
        return "currency", (
            f"paid in {currency.upper()} but the invoice is in {invoice.currency.upper()}: "
            "not counted towards the invoice; kept for a refund"
        )
    if mode == "test" and active_mode(db, invoice.workspace_id) == "live":
        return "test_mode", (
            "a test-mode payment on a workspace that is live: kept as a test payment, "
            "not counted towards the invoice"
        )
    if invoice.status in (InvoiceStatus.paid, InvoiceStatus.void, InvoiceStatus.draft):
        return str(invoice.status), (
            f"received while the invoice was {invoice.status}: kept for a refund"
        )
    return "", ""


def _attempt_id_of(
    db: Session, workspace_id: int, invoice_id: int, payment_intent: dict[str, Any]
) -> int | None:
    raw = str((payment_intent.get("metadata") or {}).get("nextoria_attempt") or "")
    if not raw.isdigit():
        return None
    return db.exec(
        select(AutopayAttempt.id).where(
            AutopayAttempt.workspace_id == workspace_id,
            AutopayAttempt.invoice_id == invoice_id,
            AutopayAttempt.attempt_no == int(raw),
        )
    ).first()


def _overpayment_email(db: Session, invoice: Invoice, overpayment: Overpayment) -> None:
    workspace = db.get(Workspace, invoice.workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    email_admins(
        db,
        invoice.workspace_id,
        kind="overpayment_admin",
        context={
            "workspace_name": workspace.name,
            "client_name": client.name,
            "amount": format_money(overpayment.amount, overpayment.currency),
            "number": invoice.number,
            "reason": overpayment.detail,
            "mode": overpayment.mode,
            "link": get_settings().workspace_url(
                workspace.slug, f"/invoices/{invoice.id}?refund={overpayment.id}"
            ),
        },
    )


def _payment_emails(db: Session, invoice: Invoice, payment: Payment, problem: str) -> None:
    workspace = db.get(Workspace, invoice.workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    amount = format_money(payment.amount, payment.currency)
    admin_link = get_settings().workspace_url(workspace.slug, f"/invoices/{invoice.id}")
    email_admins(
        db,
        invoice.workspace_id,
        kind="payment_received_admin",
        context={
            "workspace_name": workspace.name,
            "client_name": client.name,
            "amount": amount,
            "number": invoice.number,
            "method": payment.method_detail,
            "mismatch": problem,
            "status": invoice.status,
            "link": admin_link,
        },
    )
    if receipt_is_emailed(db, invoice.workspace_id, invoice.client_id):
        enqueue_email(
            db,
            workspace_id=invoice.workspace_id,
            to=client.billing_email,
            kind="payment_receipt",
            context={
                "workspace_name": workspace.name,
                "client_name": client.contact_name or client.name,
                "amount": amount,
                "number": invoice.number,
                "method": payment.method_detail,
                "paid_on": utcnow().strftime("%d %b %Y"),
                "payment_id": payment.id,
                "balance": format_money(invoice.amount_due, invoice.currency)
                if invoice.status == InvoiceStatus.open and invoice.amount_due
                else "",
                "link": portal_link(workspace.slug, invoice.id),  # type: ignore[arg-type]
            },
        )


def _payment_for(db: Session, workspace_id: int, pi_id: str) -> Payment | None:
    return db.exec(
        select(Payment).where(
            Payment.workspace_id == workspace_id,
            Payment.payment_intent_id == pi_id,
            Payment.kind == "payment",
        )
    ).first()


def _checkout_row(
    db: Session, workspace_id: int, session_id: str, pi_id: str
) -> CheckoutSession | None:
    query = select(CheckoutSession).where(CheckoutSession.workspace_id == workspace_id)
    if session_id:
        return db.exec(query.where(CheckoutSession.session_id == session_id)).first()
    return db.exec(query.where(CheckoutSession.payment_intent_id == pi_id)).first()


def _attempt_kind(payment_intent: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    error = payment_intent.get("last_payment_error") or {}
    charge = _id(error.get("charge")) or ""
    key = charge or "|".join(
        [
            str(error.get("code") or ""),
            str(error.get("decline_code") or ""),
            _id(error.get("payment_method")),
            str(error.get("message") or ""),
        ]
    )
    return "attempt-" + hashlib.sha256(key.encode()).hexdigest()[:12], error


def record_failed_attempt(
    db: Session,
    *,
    workspace_id: int,
    invoice_id: int,
    mode: str,
    payment_intent: dict[str, Any],
    source: str,
) -> bool:
    """Record a declined or failed attempt once; the invoice stays open. True if recorded."""
    pi_id = _id(payment_intent)
    invoice = _lock_invoice(db, workspace_id, invoice_id)
    _end_processing(db, workspace_id, pi_id)  # a bank debit that failed is no longer in flight
    if invoice.status != InvoiceStatus.open or _payment_for(db, workspace_id, pi_id) is not None:
        return False  # a failure after success (or on a void invoice) changes nothing
    kind, error = _attempt_kind(payment_intent)
    exists = db.exec(
        select(Payment.id).where(
            Payment.workspace_id == workspace_id,
            Payment.payment_intent_id == pi_id,
            Payment.kind == kind,
        )
    ).first()
    if exists is not None:
        return False
    code = str(error.get("decline_code") or error.get("code") or "failed")
    message = str(error.get("message") or "The payment was declined.")
    code, message = bank_reason(payment_intent) or (code, message)
    amount = int(payment_intent.get("amount") or invoice.amount_due)
    currency = str(payment_intent.get("currency") or invoice.currency).lower()
    pm = error.get("payment_method")
    method_type, method_detail = method_of({"payment_method": pm} if isinstance(pm, dict) else {})
    db.add(
        Payment(
            workspace_id=workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            client_id=invoice.client_id,
            status="failed",
            kind=kind,
            source=source,
            mode=mode,
            amount=amount,
            currency=currency,
            method_type=method_type,
            method_detail=method_detail,
            payment_intent_id=pi_id,
            charge_id=_id(error.get("charge")),
            failure_code=code[:80],
            failure_message=message,
        )
    )
    money = format_money(amount, currency)
    add_activity(
        db,
        invoice,
        "payment_failed",
        f"{money} payment failed"
        + (f" ({method_detail})" if method_detail else "")
        + f": {message} [{code}] ({source}, {mode} mode; {pi_id})",
    )
    workspace = db.get(Workspace, workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    enqueue_email(
        db,
        workspace_id=workspace_id,
        to=client.billing_email,
        kind="payment_failed",
        context={
            "workspace_name": workspace.name,
            "client_name": client.contact_name or client.name,
            "amount": money,
            "number": invoice.number,
            "reason": message,
            "link": portal_link(workspace.slug, invoice.id),  # type: ignore[arg-type]
        },
    )
    # The agency hears of a decline too, not only the client.
    email_admins(
        db,
        workspace_id,
        kind="payment_failed_admin",
        context={
            "workspace_name": workspace.name,
            "client_name": client.name,
            "amount": money,
            "number": invoice.number,
            "method": method_detail,
            "reason": message,
            "link": get_settings().workspace_url(workspace.slug, f"/invoices/{invoice.id}"),
        },
    )
    db.flush()
    return True


def payment_for_charge(db: Session, workspace_id: int, charge: dict[str, Any]) -> Payment | None:
    pi_id = _id(charge.get("payment_intent"))
    if pi_id:
        found = _payment_for(db, workspace_id, pi_id)
        if found is not None:
            return found
    charge_id = _id(charge)
    if not charge_id:
        return None
    return db.exec(
        select(Payment).where(
            Payment.workspace_id == workspace_id,
            Payment.charge_id == charge_id,
            Payment.kind == "payment",
        )
    ).first()


def record_refund(db: Session, *, workspace_id: int, mode: str, charge: dict[str, Any]) -> bool:
    """Bring a payment's refunded amount up to the charge's; never down. True if it changed."""
    found = payment_for_charge(db, workspace_id, charge)
    if found is None:
        return False
    invoice = _lock_invoice(db, workspace_id, found.invoice_id)
    payment = db.get(Payment, found.id)
    assert payment is not None
    db.refresh(payment)
    refunded = min(int(charge.get("amount_refunded") or 0), payment.amount)
    if refunded <= payment.amount_refunded:
        return False
    delta = refunded - payment.amount_refunded
    payment.amount_refunded = refunded
    payment.status = "refunded" if refunded >= payment.amount else "partially_refunded"
    db.add(payment)
    # A refund first returns the payment's overpayment (money the invoice never counted).
    over = db.exec(select(Overpayment).where(Overpayment.payment_id == payment.id)).first()
    counted_refund = delta
    if over is not None:
        # Only what goes beyond the overpayment was counted towards the invoice. (A whole
        # payment kept as an overpayment has over.amount == payment.amount: nothing was.)
        counted_refund = max(0, refunded - over.amount) - max(0, refunded - delta - over.amount)
        if refunded >= over.amount and over.status != "refunded":
            over.status = "refunded"
            over.resolved_at = utcnow()
            db.add(over)
    if payment.currency == invoice.currency and counted_refund > 0:
        invoice.amount_refunded += counted_refund
        db.add(invoice)
    add_activity(
        db,
        invoice,
        "refunded",
        f"{format_money(delta, payment.currency)} refunded"
        f" (in total {format_money(refunded, payment.currency)} of "
        f"{format_money(payment.amount, payment.currency)}; {mode} mode; {_id(charge)})",
    )
    record_audit(
        db,
        None,
        "invoice.refund",
        f"{invoice.number}: {format_money(delta, payment.currency)} refunded",
        workspace_id=workspace_id,
    )
    db.flush()
    return True


# --- Bank debits in flight ------------------------------------------------------------------

PROCESSING = "processing"


def record_processing(
    db: Session,
    *,
    workspace_id: int,
    invoice_id: int,
    mode: str,
    payment_intent: dict[str, Any],
    source: str,
    checkout_session_id: str = "",
) -> bool:
    """A bank debit is on its way: one ``processing`` Payment row per PaymentIntent (kind
    ``payment``), which ``settle_payment`` replaces on success and ``record_failed_attempt``
    removes on failure. Nothing is counted as paid yet. True if this call recorded it."""
    pi_id = _id(payment_intent)
    if not pi_id:
        raise ValueError("a payment needs its PaymentIntent id")
    invoice = _lock_invoice(db, workspace_id, invoice_id)
    session_row = _checkout_row(db, workspace_id, checkout_session_id, pi_id)
    existing = _payment_for(db, workspace_id, pi_id)
    if invoice.status != InvoiceStatus.open or (
        existing is not None and existing.status != PROCESSING
    ):
        return False  # settled already (events arrive in any order), or nothing to pay
    if existing is not None:  # recorded from the other event of the pair
        existing.checkout_session_id = existing.checkout_session_id or checkout_session_id
        _session_processing(db, session_row, existing, pi_id)
        return False
    charge_id = _id(payment_intent.get("latest_charge"))
    if charge_id and _has_failed_attempt(db, workspace_id, pi_id, charge_id):
        return False  # this debit's failure was recorded first: it is no longer in flight
    amount = int(payment_intent.get("amount") or invoice.amount_due)
    currency = str(payment_intent.get("currency") or invoice.currency).lower()
    method_type, method_detail = method_of(payment_intent)
    payment = Payment(
        workspace_id=workspace_id,
        invoice_id=invoice.id,  # type: ignore[arg-type]
        client_id=invoice.client_id,
        status=PROCESSING,
        kind="payment",
        source=source,
        mode=mode,
        amount=amount,
        currency=currency,
        method_type=method_type,
        method_detail=method_detail,
        payment_intent_id=pi_id,
        charge_id=charge_id,
        checkout_session_id=checkout_session_id,
    )
    db.add(payment)
    _session_processing(db, session_row, payment, pi_id)
    add_activity(
        db,
        invoice,
        "payment_processing",
        f"{format_money(amount, currency)} bank payment processing"
        + (f" ({method_detail})" if method_detail else "")
        + f": the bank usually confirms within 4 business days ({source}, {mode} mode; {pi_id})",
    )
    db.flush()
    return True


def processing_payment(db: Session, workspace_id: int, invoice_id: int) -> Payment | None:
    """The bank debit in flight on this invoice, if any."""
    return db.exec(
        select(Payment).where(
            Payment.workspace_id == workspace_id,
            Payment.invoice_id == invoice_id,
            Payment.kind == "payment",
            Payment.status == PROCESSING,
        )
    ).first()


def _session_processing(
    db: Session, session_row: CheckoutSession | None, payment: Payment, pi_id: str
) -> None:
    """The Checkout Session the debit was made on: paid on the page, not reusable, not yet
    complete; and the payment row names it."""
    if session_row is None:
        return
    payment.checkout_session_id = payment.checkout_session_id or session_row.session_id
    db.add(payment)
    if session_row.status == "open":
        session_row.status = PROCESSING
        session_row.payment_intent_id = pi_id
        db.add(session_row)


def _has_failed_attempt(db: Session, workspace_id: int, pi_id: str, charge_id: str) -> bool:
    kind, _error = _attempt_kind({"last_payment_error": {"charge": charge_id}})
    return (
        db.exec(
            select(Payment.id).where(
                Payment.workspace_id == workspace_id,
                Payment.payment_intent_id == pi_id,
                Payment.kind == kind,
            )
        ).first()
        is not None
    )


def _end_processing(db: Session, workspace_id: int, pi_id: str) -> None:
    """The bank answered: the debit's row and its Checkout Session are no longer in flight
    (the session is complete either way: a failed debit is paid again on a new one)."""
    found = _payment_for(db, workspace_id, pi_id)
    if found is not None and found.status == PROCESSING:
        db.delete(found)
    session_row = _checkout_row(db, workspace_id, "", pi_id)
    if session_row is not None and session_row.status == PROCESSING:
        session_row.status = "complete"
        session_row.settled_at = utcnow()
        db.add(session_row)
    db.flush()


def bank_reason(payment_intent: dict[str, Any]) -> tuple[str, str] | None:
    """(code, message) the bank gave for a failed debit, from the expanded charge; None when
    the PaymentIntent carries no such charge (cards: the decline in last_payment_error)."""
    charge = payment_intent.get("latest_charge")
    if not isinstance(charge, dict) or charge.get("status") != "failed":
        return None
    kind = str((charge.get("payment_method_details") or {}).get("type") or "")
    message = str(charge.get("failure_message") or "")
    if kind not in DELAYED_METHODS or not message:
        return None
    return str(charge.get("failure_code") or "bank_failure"), message


REFUND_FAILURES = {
    "expired_or_canceled_card": "the card was expired or canceled",
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "declined": "the client's bank declined it",
    "merchant_request": "it was canceled",
    "insufficient_funds": "the Stripe balance could not cover it",
}


def record_refund_failure(
    db: Session, *, workspace_id: int, mode: str, refund: dict[str, Any], charge: dict[str, Any]
) -> bool:
    """A refund that failed after it was sent: shown on the invoice once, and the refunded
    amount brought down to what Stripe now says (``charge``, as retrieved after the failure),
    so the order of ``charge.refunded`` and this failure does not matter. True if recorded."""
    found = payment_for_charge(db, workspace_id, charge)
    refund_id = _id(refund)
    if found is None or not refund_id:
        return False
    invoice = _lock_invoice(db, workspace_id, found.invoice_id)
    payment = db.get(Payment, found.id)
    assert payment is not None
    db.refresh(payment)
    kind = "refund-failed-" + hashlib.sha256(refund_id.encode()).hexdigest()[:6]
    exists = db.exec(
        select(Payment.id).where(
            Payment.workspace_id == workspace_id,
            Payment.payment_intent_id == payment.payment_intent_id,
            Payment.kind == kind,
        )
    ).first()
    if exists is not None:
        return False
    now_refunded = min(int(charge.get("amount_refunded") or 0), payment.amount)
    restored = max(payment.amount_refunded - now_refunded, 0)
    if restored:
        payment.amount_refunded -= restored
        payment.status = "partially_refunded" if payment.amount_refunded else "succeeded"
        db.add(payment)
        if payment.currency == invoice.currency:
            invoice.amount_refunded = max(invoice.amount_refunded - restored, 0)
            db.add(invoice)
    amount = int(refund.get("amount") or 0)
    code = str(refund.get("failure_reason") or "unknown")
    why = REFUND_FAILURES.get(code, code.replace("_", " "))
    money = format_money(amount, payment.currency)
    message = f"The refund of {money} failed: {why}. The money is back in your Stripe balance."
    db.add(
        Payment(
            workspace_id=workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            client_id=invoice.client_id,
            status="refund_failed",
            kind=kind,
            source=payment.source,
            mode=mode,
            amount=amount,
            currency=payment.currency,
            method_type=payment.method_type,
            method_detail=payment.method_detail,
            payment_intent_id=payment.payment_intent_id,
            charge_id=payment.charge_id,
            failure_code=code[:80],
            failure_message=message + " Refund the client another way, or try again.",
        )
    )
    add_activity(db, invoice, "refund_failed", f"{message} ({mode} mode; {refund_id})")
    record_audit(
        db, None, "invoice.refund_failed", f"{invoice.number}: {money}", workspace_id=workspace_id
    )
    db.flush()
    return True
