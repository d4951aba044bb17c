"""The charge engine: claim each due invoice's next attempt (committed before Stripe is
called), send or replay it with its idempotency key, and record the outcome."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing.locks import lock_invoice as _lock_invoice
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine, session_scope
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import (
    AutopayAttempt,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    SavedPaymentMethod,
    StripeCustomer,
)
from nextoria_hub.models.ids import require_id, stored_key
from nextoria_hub.ownership import get_owned
from nextoria_hub.payments.autopay.outcomes import apply_failure, apply_success, mark_processing
from nextoria_hub.payments.autopay.policy import _charge_date
from nextoria_hub.payments.autopay.ratelimit import RATE_PER_SECOND, _bucket
from nextoria_hub.payments.autopay.records import _attempts_of, active_method
from nextoria_hub.payments.payment_paths import checkout_blocks_autopay
from nextoria_hub.payments.stripe_connection import active_mode, secret_key_for
from nextoria_hub.payments.stripe_objects import BANK_DEBITS, NextoriaMetadata

log = logging.getLogger(__name__)


@dataclass
class ChargeCounts:
    charged: int = 0
    failed: int = 0
    unknown: int = 0
    resolved: int = 0
    skipped: int = 0
    workspaces_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _params(
    attempt: AutopayAttempt,
    customer_id: str,
    invoice: Invoice,
    workspace_id: int,
    method_type: str = "card",
) -> dict[str, Any]:
    return {
        "amount": attempt.amount,
        "currency": attempt.currency,
        "customer": customer_id,
        "payment_method": attempt.payment_method_id,
        "allowed_payment_method_types": [method_type],
        "description": f"Invoice {invoice.number} (Autopay)",
        "metadata": NextoriaMetadata(
            workspace_id=str(workspace_id),
            invoice_id=str(attempt.invoice_id),
            mode=attempt.mode,
            source="autopay",
            attempt=str(attempt.attempt_no),
        ).to_stripe(),
    }


def _method_type(db: Session, workspace_id: int, attempt: AutopayAttempt) -> str:
    """``card``, ``us_bank_account`` or ``sepa_debit``: the saved method this attempt charges."""
    brand = db.exec(
        select(SavedPaymentMethod.brand).where(
            SavedPaymentMethod.workspace_id == workspace_id,
            SavedPaymentMethod.payment_method_id == attempt.payment_method_id,
        )
    ).first()
    return next((key for key, label in BANK_DEBITS.items() if label == brand), "card")


def _due_invoices(db: Session, workspace_id: int, mode: str, now: datetime) -> list[int]:
    """Open invoices of autopay clients that are due for an attempt now."""
    rows = db.exec(
        select(Invoice)
        .join(ClientAutopay, col(ClientAutopay.client_id) == col(Invoice.client_id))
        .where(
            Invoice.workspace_id == workspace_id,
            ClientAutopay.workspace_id == workspace_id,
            col(ClientAutopay.enabled).is_(True),
            ClientAutopay.paused_reason == "",
            Invoice.status == InvoiceStatus.open,
            col(Invoice.payment_failed).is_(False),
            col(Invoice.stripe_invoice_id) == "",
            Invoice.due_date <= now.date(),
        )
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).all()
    out: list[int] = []
    methods: dict[int, SavedPaymentMethod | None] = {}
    for invoice in rows:
        if invoice.amount_due <= 0:
            continue
        if invoice.client_id not in methods:
            methods[invoice.client_id] = active_method(db, workspace_id, invoice.client_id, mode)
        method = methods[invoice.client_id]
        if method is None:
            continue
        when = _charge_date(invoice, _attempts_of(db, workspace_id, require_id(invoice)), method)
        if when is not None and when <= now:
            out.append(require_id(invoice))
    return out


_sqlite_writer = threading.Lock()


@contextmanager
def _write_turn() -> Iterator[None]:
    """On SQLite, this process's writing threads take turns here rather than in SQLite.

    SQLite lets one writer in at a time and a blocked one polls with growing sleeps (up to
    100 ms), so threads contending there waste most of their time asleep; a lock hands over
    at once. (Other processes still wait on SQLite's busy timeout.) PostgreSQL needs no turn.
    """
    if get_engine().dialect.name != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def _claim(workspace_id: int, invoice_id: int, mode: str, now: datetime) -> int | None:
    """Insert and commit the next attempt row; None if another worker has it or it's moot."""
    claimed = _claim_batch(workspace_id, [invoice_id], mode, now)
    return claimed[0] if claimed else None


def _claim_batch(workspace_id: int, invoice_ids: list[int], mode: str, now: datetime) -> list[int]:
    """Claim the next attempt of each invoice in one transaction: the attempt ids, committed.

    One commit for a batch instead of one per invoice (a commit is a disk flush). Nothing is
    sent to Stripe before the commit, so claim-before-charge holds for every attempt.
    """
    with _write_turn(), session_scope() as db:
        methods: dict[int, SavedPaymentMethod | None] = {}
        claimed = []
        for invoice_id in invoice_ids:
            attempt_id = _claim_in(db, workspace_id, invoice_id, mode, now, methods)
            if attempt_id is not None:
                claimed.append(attempt_id)
        return claimed


def _claim_in(
    db: Session,
    workspace_id: int,
    invoice_id: int,
    mode: str,
    now: datetime,
    methods: dict[int, SavedPaymentMethod | None],
) -> int | None:
    if db.get_bind().dialect.name == "postgresql":
        # Another worker holding this invoice is claiming it: skip rather than wait.
        invoice = db.exec(
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.workspace_id == workspace_id)
            .with_for_update(skip_locked=True)
        ).first()
        if invoice is not None:
            db.refresh(invoice)
    else:  # SQLite: a conditional no-op UPDATE takes the database's write lock
        invoice = _lock_invoice(db, workspace_id, invoice_id)
    if invoice is None or invoice.status != InvoiceStatus.open or invoice.amount_due <= 0:
        return None
    if invoice.payment_failed:
        return None
    if checkout_blocks_autopay(db, invoice, now):
        return None  # the client has a payment page open: a later run picks it up
    if invoice.client_id not in methods:
        methods[invoice.client_id] = active_method(db, workspace_id, invoice.client_id, mode)
    method = methods[invoice.client_id]
    if method is None:
        return None
    attempts = _attempts_of(db, workspace_id, invoice_id)
    when = _charge_date(invoice, attempts, method)
    if when is None or when > now:
        return None
    number = (attempts[-1].attempt_no if attempts else 0) + 1
    attempt = AutopayAttempt(
        workspace_id=workspace_id,
        invoice_id=invoice_id,
        attempt_no=number,
        idempotency_key=f"autopay-{invoice_id}-{number}",
        mode=mode,
        payment_method_id=method.payment_method_id,
        amount=invoice.amount_due,
        currency=invoice.currency,
        status="claimed",
        created_at=now,
    )
    try:
        with db.begin_nested():  # a lost race on one invoice must not undo the batch
            db.add(attempt)
    except IntegrityError:
        return None
    return attempt.id


def _customer_of(db: Session, workspace_id: int, invoice: Invoice, mode: str) -> str:
    row = db.exec(
        select(StripeCustomer).where(
            StripeCustomer.workspace_id == workspace_id,
            StripeCustomer.client_id == invoice.client_id,
            StripeCustomer.mode == mode,
        )
    ).first()
    return row.customer_id if row is not None else ""


def _call(workspace_id: int, attempt_id: int) -> tuple[str, dict[str, Any] | None, Any]:
    """Send (or replay) the attempt's request: ("succeeded"|"failed"|"unknown"|"pending", PI, error)."""
    with session_scope() as db:
        attempt = get_owned(db, AutopayAttempt, attempt_id, workspace_id)
        assert attempt is not None
        if attempt.status not in ("claimed", "unknown"):
            return "skipped", None, None  # abandoned since the claim: never sent
        invoice = db.get(Invoice, attempt.invoice_id)
        assert invoice is not None
        secret_key = secret_key_for(db, workspace_id, attempt.mode)
        customer_id = _customer_of(db, workspace_id, invoice, attempt.mode)
        params = _params(
            attempt, customer_id, invoice, workspace_id, _method_type(db, workspace_id, attempt)
        )
        key = attempt.idempotency_key
    _bucket(workspace_id, attempt.mode).take()
    try:
        pi = gateway.charge_off_session(secret_key, params, idempotency_key=key)
    except gateway.StripeCardError as err:
        declined = None
        if err.payment_intent_id:
            _bucket(workspace_id, attempt.mode).take()
            declined = gateway.retrieve_payment_intent_raw(secret_key, err.payment_intent_id)
        return "failed", declined, err
    except gateway.StripeUnavailable as err:
        return "unknown", None, err
    except gateway.StripeRequestFailed as err:
        if err.http_status == 409:  # the same request is still in flight elsewhere
            return "pending", None, err
        return "failed", None, err
    status = str(pi.get("status") or "")
    if status == "succeeded":
        return "succeeded", pi, None
    if status in ("processing", "requires_capture"):
        return "pending", pi, None
    return "failed", pi, None


def _record_outcome(
    workspace_id: int, attempt_id: int, outcome: str, pi: dict[str, Any] | None, err: Any
) -> str:
    with _write_turn(), session_scope() as db:
        attempt = db.get(AutopayAttempt, attempt_id)
        assert attempt is not None
        if outcome == "succeeded":
            assert pi is not None
            apply_success(db, workspace_id, attempt, pi)
        elif outcome == "failed":
            if pi is None:
                pi = {
                    "id": f"autopay_{attempt.idempotency_key}",
                    "amount": attempt.amount,
                    "currency": attempt.currency,
                    "last_payment_error": {
                        "code": getattr(err, "code", "") or "request_failed",
                        "decline_code": getattr(err, "decline_code", "") or "",
                        "message": getattr(err, "message", "") or "Stripe refused the charge.",
                    },
                }
            elif err is not None and not pi.get("last_payment_error"):
                pi = {
                    **pi,
                    "last_payment_error": {
                        "code": err.code,
                        "decline_code": err.decline_code,
                        "message": err.message,
                    },
                }
            apply_failure(db, workspace_id, attempt, pi)
        elif outcome == "unknown":
            db.refresh(attempt)
            if attempt.status == "claimed":
                attempt.status = "unknown"
                attempt.failure_message = "Stripe did not answer; the outcome is checked next run."
                db.add(attempt)
        elif outcome == "pending" and pi is not None:
            db.refresh(attempt)
            attempt.payment_intent_id = str(pi.get("id") or "")
            db.add(attempt)
            if pi.get("status") == "processing":
                mark_processing(db, workspace_id, attempt.invoice_id, pi)
        db.flush()
        db.refresh(attempt)
        return attempt.status


def _resolve_open_attempts(workspace_id: int, counts: ChargeCounts) -> None:
    """Settle attempts left claimed/unknown (crash, timeout) by replaying their request."""
    with session_scope() as db:
        ids = db.exec(
            select(AutopayAttempt.id).where(
                AutopayAttempt.workspace_id == workspace_id,
                col(AutopayAttempt.status).in_(["claimed", "unknown"]),
            )
        ).all()
    for attempt_id in map(stored_key, ids):
        with session_scope() as db:
            attempt = db.get(AutopayAttempt, attempt_id)
            invoice = db.get(Invoice, attempt.invoice_id) if attempt is not None else None
            if invoice is None or invoice.status != InvoiceStatus.open:
                # Paid (or voided) meanwhile: never replay, since if the first request never
                # reached Stripe the replay would charge. A charge that did happen arrives by
                # webhook (metadata names the attempt) and settles the attempt there.
                continue
        outcome, pi, err = _call(workspace_id, attempt_id)
        status = _record_outcome(workspace_id, attempt_id, outcome, pi, err)
        if status in ("succeeded", "failed"):
            counts.resolved += 1


def _package() -> Any:
    """The package module, where tests set ``autopay.after_stripe_call``."""
    return sys.modules[__package__]


def _charge_attempt(workspace_id: int, attempt_id: int) -> str:
    """Send one claimed attempt and record its outcome; the attempt's status afterwards."""
    outcome, pi, err = _call(workspace_id, attempt_id)
    hook = _package().after_stripe_call
    if hook is not None:
        hook(attempt_id, outcome)
    return _record_outcome(workspace_id, attempt_id, outcome, pi, err)


def _charge_workspace(
    workspace_id: int,
    now: datetime,
    counts: ChargeCounts,
    calls: ThreadPoolExecutor | None = None,
) -> None:
    """Charge one workspace's due invoices, a batch of claims at a time.

    A batch's calls run on ``calls`` (concurrently, the workspace's limiter keeping them to its
    rate) or here, one by one, without it. The first error stops the workspace after the
    batch: its claimed attempts are replayed on the next run.
    """
    with session_scope() as db:
        mode = active_mode(db, workspace_id)
        secret_key_for(db, workspace_id, mode)  # StripeNotConnected: skip the workspace
    _resolve_open_attempts(workspace_id, counts)
    with session_scope() as db:
        due = _due_invoices(db, workspace_id, mode, now)
    batch_size = max(1, RATE_PER_SECOND.get(mode, 25))
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        claimed = _claim_batch(workspace_id, batch, mode, now)
        counts.skipped += len(batch) - len(claimed)
        if calls is None:
            statuses = [_charge_attempt(workspace_id, attempt_id) for attempt_id in claimed]
        else:
            futures = [calls.submit(_charge_attempt, workspace_id, a) for a in claimed]
            wait(futures)
            errors = [e for f in futures if (e := f.exception()) is not None]
            if errors:
                _tally(counts, [f.result() for f in futures if f.exception() is None])
                raise errors[0]
            statuses = [f.result() for f in futures]
        _tally(counts, statuses)


def _tally(counts: ChargeCounts, statuses: list[str]) -> None:
    for status in statuses:
        if status == "succeeded":
            counts.charged += 1
        elif status == "failed":
            counts.failed += 1
        elif status == "abandoned":
            counts.skipped += 1
        else:
            counts.unknown += 1


# Workspaces charged at once, and Stripe calls in flight at once across them. Each workspace
# still keeps to its own per-second limit (``_bucket``); these only bound threads and
# database connections.
WORKSPACE_WORKERS = 8
CALL_WORKERS = 32


def charge_due_invoices(
    now: datetime | None = None, workspace_ids: list[int] | None = None
) -> ChargeCounts:
    """The Autopay job: charge every due invoice of every workspace (or of ``workspace_ids``)
    once. Safe to run twice.

    Workspaces run concurrently, so one slow or failing workspace does not hold up the others.
    """
    now = now or utcnow()
    with session_scope() as db:
        enabled = set(
            db.exec(
                select(ClientAutopay.workspace_id).where(col(ClientAutopay.enabled).is_(True))
            ).all()
        )
    if workspace_ids is not None:
        enabled &= set(workspace_ids)
    workspace_ids = sorted(enabled)
    total = ChargeCounts()
    if not workspace_ids:
        return total
    per_workspace = {workspace_id: ChargeCounts() for workspace_id in workspace_ids}
    with (
        ThreadPoolExecutor(CALL_WORKERS, thread_name_prefix="autopay-call") as calls,
        ThreadPoolExecutor(
            min(WORKSPACE_WORKERS, len(workspace_ids)), thread_name_prefix="autopay"
        ) as pool,
    ):
        futures = {
            workspace_id: pool.submit(
                _charge_workspace, workspace_id, now, per_workspace[workspace_id], calls
            )
            for workspace_id in workspace_ids
        }
        for workspace_id, future in futures.items():
            try:
                future.result()
            except StripeNotConnected:
                log.info(
                    "autopay: workspace %s has no Stripe keys for its mode; skipped", workspace_id
                )
            except Exception:
                total.workspaces_failed += 1
                log.exception("autopay: workspace %s failed; the others go on", workspace_id)
    for counts in per_workspace.values():
        for name, value in counts.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    return total


# --- Webhooks -------------------------------------------------------------------------------
