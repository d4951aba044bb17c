"""An invoice has at most one live way to be paid.

Two payment paths on one invoice (a Checkout page the client still has open, an autopay
charge, a manual "paid") are what took money twice: no lock spans Stripe and us. So every
time an invoice stops needing money (settled by any path, voided, marked paid) or the
workspace changes mode, ``close_other_payment_paths`` closes the others in the same
transaction: open Checkout Sessions become ``expiring`` and autopay attempts not yet sent
become ``abandoned``. The Stripe calls that expire the sessions run only after that
transaction commits (never inside one), and ``expire_closed_sessions`` is safe to run again:
the reconciliation job picks up any session still ``expiring``.

Money that arrives anyway (Stripe-side races) is recorded as an overpayment by settlement.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import event
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing.invoices import add_activity
from nextoria_hub.billing.money import format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import AutopayAttempt, CheckoutSession, Invoice
from nextoria_hub.payments.settlement import processing_payment
from nextoria_hub.payments.stripe_connection import secret_key_for

log = logging.getLogger(__name__)

LIVE_SESSION = ("creating", "open")  # a page that can still take money
# claimed (maybe being sent), sent with no answer, or a bank debit the bank has not answered
IN_FLIGHT_ATTEMPT = ("claimed", "unknown", "processing")
BANK_DEBIT_IN_FLIGHT = (
    "A bank payment for this invoice is already processing — this usually takes up to 4 "
    "business days. You can pay again only if the bank declines it; you'll be emailed then."
)
_PENDING = "nextoria_expire_sessions"  # Session.info key: workspaces to expire after commit


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def close_other_payment_paths(
    db: Session,
    invoice: Invoice,
    reason: str,
    *,
    keep_session_id: str = "",
    keep_attempt_id: int | None = None,
    mode: str | None = None,
) -> int:
    """Close every way to pay ``invoice`` except the one kept; how many were closed.

    Call it in the transaction that settles, voids or marks the invoice paid (after taking
    its row lock). ``mode`` limits it to one Stripe mode's sessions (a mode switch).
    Sessions are expired at Stripe after the transaction commits.
    """
    sessions = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.invoice_id == invoice.id,
            CheckoutSession.purpose == "payment",
            col(CheckoutSession.status).in_(LIVE_SESSION),
        )
    ).all()
    closed = 0
    for row in sessions:
        if (keep_session_id and row.session_id == keep_session_id) or (
            mode is not None and row.mode != mode
        ):
            continue
        row.status = "expiring"
        row.close_reason = reason
        db.add(row)
        closed += 1
    if mode is None:
        closed += _abandon_attempts(db, invoice, reason, keep_attempt_id)
    if closed:
        add_activity(
            db,
            invoice,
            "payment_paths_closed",
            f"Closed {closed} other way{'s' if closed != 1 else ''} to pay: {reason}",
        )
        expire_after_commit(db, invoice.workspace_id)
    return closed


def close_replaced_pages(db: Session, invoice: Invoice, mode: str, amount: int) -> int:
    """A new page for ``amount`` replaces the client's open pages for other amounts (the
    full balance, the deposit, another part): one live page per invoice. Call it under the
    invoice lock, before reserving the new page's row."""
    rows = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.invoice_id == invoice.id,
            CheckoutSession.purpose == "payment",
            CheckoutSession.status == "open",
            CheckoutSession.mode == mode,
            CheckoutSession.amount != amount,
        )
    ).all()
    for row in rows:
        row.status = "expiring"
        row.close_reason = f"replaced by a page for {format_money(amount, invoice.currency)}"
        db.add(row)
    if rows:
        add_activity(
            db,
            invoice,
            "payment_paths_closed",
            f"Closed {len(rows)} older payment page{'s' if len(rows) != 1 else ''}: the client "
            f"chose to pay {format_money(amount, invoice.currency)}",
        )
        expire_after_commit(db, invoice.workspace_id)
    return len(rows)


def _abandon_attempts(db: Session, invoice: Invoice, reason: str, keep: int | None) -> int:
    attempts = db.exec(
        select(AutopayAttempt).where(
            AutopayAttempt.workspace_id == invoice.workspace_id,
            AutopayAttempt.invoice_id == invoice.id,
            col(AutopayAttempt.status).in_(IN_FLIGHT_ATTEMPT),
        )
    ).all()
    count = 0
    for attempt in attempts:
        if keep is not None and attempt.id == keep:
            continue
        # Never sent again once abandoned; if an earlier send did charge, its webhook still
        # records the payment (as an overpayment) and marks the attempt succeeded.
        attempt.status = "abandoned"
        attempt.failure_message = f"Abandoned: {reason}"
        attempt.next_retry_at = None
        attempt.settled_at = utcnow()
        db.add(attempt)
        count += 1
    return count


def close_mode_sessions(db: Session, workspace_id: int, other_mode: str, reason: str) -> int:
    """A mode switch: close every open Checkout Session made in ``other_mode``."""
    invoice_ids = set(
        db.exec(
            select(CheckoutSession.invoice_id).where(
                CheckoutSession.workspace_id == workspace_id,
                CheckoutSession.purpose == "payment",
                CheckoutSession.mode == other_mode,
                col(CheckoutSession.status).in_(LIVE_SESSION),
            )
        ).all()
    )
    closed = 0
    for invoice_id in sorted(i for i in invoice_ids if i is not None):
        invoice = db.get(Invoice, invoice_id)
        if invoice is not None:
            closed += close_other_payment_paths(db, invoice, reason, mode=other_mode)
    return closed


def expire_after_commit(db: Session, workspace_id: int) -> None:
    """Expire the workspace's ``expiring`` sessions at Stripe once ``db`` commits."""
    db.info.setdefault(_PENDING, set()).add(workspace_id)
    if not event.contains(db, "after_commit", _after_commit):
        event.listen(db, "after_commit", _after_commit)
        event.listen(db, "after_soft_rollback", _after_rollback)


def _after_commit(db: Session) -> None:
    workspaces = db.info.pop(_PENDING, set())
    for workspace_id in sorted(workspaces):
        try:
            expire_closed_sessions(workspace_id)
        except Exception:  # the commit stands; the reconciliation job tries again
            log.exception("could not expire closed Checkout Sessions of workspace %s", workspace_id)


def _after_rollback(db: Session, _previous: object) -> None:
    db.info.pop(_PENDING, None)


def expire_closed_sessions(workspace_id: int | None = None) -> int:
    """Expire at Stripe every session closed here (``expiring``); how many were closed.

    Reads in one short transaction, calls Stripe with none open, records each answer in its
    own. Safe to run again: a session Stripe already expired answers ``expired``.
    """
    with session_scope() as db:
        query = select(CheckoutSession).where(CheckoutSession.status == "expiring")
        if workspace_id is not None:
            query = query.where(CheckoutSession.workspace_id == workspace_id)
        todo = []
        keys: dict[tuple[int, str], str | None] = {}
        for row in db.exec(query.order_by(col(CheckoutSession.id))):
            key = (row.workspace_id, row.mode)
            if key not in keys:
                try:
                    keys[key] = secret_key_for(db, row.workspace_id, row.mode)
                except StripeNotConnected:
                    keys[key] = None
            if row.session_id.startswith("creating-"):
                # Not created at Stripe yet: start_checkout expires it once it is.
                todo.append((row.id, key, ""))
            elif keys[key]:
                todo.append((row.id, key, row.session_id))
            # else: no key for that mode now; tried again once it is connected
    done = 0
    for row_id, key, session_id in todo:
        status = "expired"
        if session_id:
            try:
                status = gateway.expire_checkout_session(keys[key] or "", session_id)
            except gateway.StripeGatewayError as err:
                log.warning("could not expire a Checkout Session now: %s", err.message)
                continue
        with session_scope() as db:
            row = db.get(CheckoutSession, row_id)
            if row is None or row.status != "expiring":
                continue
            row.status = "complete" if status == "complete" else "expired"
            if status == "complete":
                row.close_reason += " (it was paid before it could be closed)"
            db.add(row)
            done += 1
    return done


def pay_now_problem(db: Session, invoice: Invoice) -> str:
    """Why Pay Now must wait because another payment of this invoice is under way, or ''."""
    attempt = db.exec(
        select(AutopayAttempt.id).where(
            AutopayAttempt.workspace_id == invoice.workspace_id,
            AutopayAttempt.invoice_id == invoice.id,
            col(AutopayAttempt.status).in_(IN_FLIGHT_ATTEMPT),
        )
    ).first()
    if attempt is not None:
        return (
            "An automatic payment of this invoice is being processed right now. "
            "Please check back in a few minutes before paying again."
        )
    if processing_payment(db, invoice.workspace_id, invoice.id) is not None:  # type: ignore[arg-type]
        return BANK_DEBIT_IN_FLIGHT
    return ""


def checkout_blocks_autopay(db: Session, invoice: Invoice, now: datetime) -> bool:
    """True while the client has a Checkout page for this invoice that can still take money
    (or a bank debit from one is processing): the autopay job leaves it for a later run."""
    rows = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.invoice_id == invoice.id,
            CheckoutSession.purpose == "payment",
            col(CheckoutSession.status).in_((*LIVE_SESSION, "processing")),
        )
    ).all()
    now = _aware(now)
    return any(r.status == "processing" or _aware(r.expires_at) > now for r in rows)
