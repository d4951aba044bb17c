"""The charge engine: claim each due invoice's next attempt (committed before Stripe is
called), send or replay it with its idempotency key, and record the outcome."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing.locks import lock_invoice as _lock_invoice
from nextoria_hub.db import get_engine, session_scope
from nextoria_hub.models import (
    AutopayAttempt,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    SavedPaymentMethod,
    StripeCustomer,
)
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications.outbox import rendering_deferred
from nextoria_hub.payments.autopay.outcomes import apply_failure, apply_success, mark_processing
from nextoria_hub.payments.autopay.policy import _charge_date
from nextoria_hub.payments.autopay.ratelimit import _bucket
from nextoria_hub.payments.autopay.records import _attempts_of, active_method
from nextoria_hub.payments.payment_paths import checkout_blocks_autopay
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.stripe_objects import BANK_DEBITS

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
        "metadata": {
            "nextoria_workspace_id": str(workspace_id),
            "nextoria_invoice_id": str(attempt.invoice_id),
            "nextoria_mode": attempt.mode,
            "nextoria_source": "autopay",
            "nextoria_attempt": str(attempt.attempt_no),
        },
    }


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


@dataclass(frozen=True)
class Prepared:
    """One attempt's request, read from the database before any call: nothing is read per
    call, and the secret key is decrypted once per workspace and mode."""

    workspace_id: int
    attempt_id: int
    mode: str
    secret_key: str
    params: dict[str, Any]
    idempotency_key: str


Answer = tuple[str, dict[str, Any] | None, Any]  # ("succeeded"|"failed"|…, PI, error)


def prepare_calls(workspace_id: int, attempt_ids: list[int]) -> dict[int, Prepared | None]:
    """The requests of a workspace's claimed (or unknown) attempts, in a few queries; None for
    an attempt abandoned since its claim (it is never sent)."""
    out: dict[int, Prepared | None] = {}
    with Session(get_engine()) as db:
        attempts = db.exec(
            select(AutopayAttempt).where(
                col(AutopayAttempt.id).in_(attempt_ids),
                AutopayAttempt.workspace_id == workspace_id,
            )
        ).all()
        invoices = {
            i.id: i
            for i in db.exec(
                select(Invoice).where(
                    col(Invoice.id).in_({a.invoice_id for a in attempts}),
                    Invoice.workspace_id == workspace_id,
                )
            )
        }
        customers = {
            (c.client_id, c.mode): c.customer_id
            for c in db.exec(
                select(StripeCustomer).where(
                    StripeCustomer.workspace_id == workspace_id,
                    col(StripeCustomer.client_id).in_({i.client_id for i in invoices.values()}),
                )
            )
        }
        brands = dict(
            db.exec(
                select(SavedPaymentMethod.payment_method_id, SavedPaymentMethod.brand).where(
                    SavedPaymentMethod.workspace_id == workspace_id,
                    col(SavedPaymentMethod.payment_method_id).in_(
                        {a.payment_method_id for a in attempts}
                    ),
                )
            ).all()
        )
        keys: dict[str, str] = {}
        for attempt in attempts:
            attempt_id = require_id(attempt)
            if attempt.status not in ("claimed", "unknown"):
                out[attempt_id] = None
                continue
            if attempt.mode not in keys:
                keys[attempt.mode] = secret_key_for(db, workspace_id, attempt.mode)
            invoice = invoices[attempt.invoice_id]
            brand = brands.get(attempt.payment_method_id, "")
            method_type = next((k for k, label in BANK_DEBITS.items() if label == brand), "card")
            out[attempt_id] = Prepared(
                workspace_id,
                attempt_id,
                attempt.mode,
                keys[attempt.mode],
                _params(
                    attempt,
                    customers.get((invoice.client_id, attempt.mode), ""),
                    invoice,
                    workspace_id,
                    method_type,
                ),
                attempt.idempotency_key,
            )
    return out


def send(call: Prepared) -> Answer:
    """Send (or replay) one prepared request, under the account's rate limit."""
    _bucket(call.workspace_id, call.mode).take()
    try:
        pi = gateway.charge_off_session(
            call.secret_key, call.params, idempotency_key=call.idempotency_key
        )
    except gateway.StripeCardError as err:
        declined = None
        if err.payment_intent_id:
            _bucket(call.workspace_id, call.mode).take()
            declined = gateway.retrieve_payment_intent_raw(call.secret_key, err.payment_intent_id)
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


def send_prepared(call: Prepared | None) -> Answer:
    """``send``, then the crash tests' hook (``autopay.after_stripe_call``)."""
    if call is None:
        return "skipped", None, None  # abandoned since the claim: never sent
    answer = send(call)
    hook = _package().after_stripe_call
    if hook is not None:
        hook(call.attempt_id, answer[0])
    return answer


def record_outcomes(workspace_id: int, answers: dict[int, Answer]) -> dict[int, str]:
    """Write a batch of answers in one transaction: {attempt: its status afterwards}.

    Each answer is written under its own savepoint, so one that fails (then "error", its
    attempt left open to be replayed) does not undo the others. The emails queued are stored
    as template + context and rendered at delivery, not here.
    """
    statuses: dict[int, str] = {}
    with rendering_deferred(), _write_turn(), session_scope() as db:
        # Write first: the batch's attempt rows locked (on SQLite the write lock, taken
        # before any read, so no other writer can make this transaction's reads stale).
        db.execute(
            update(AutopayAttempt)
            .where(col(AutopayAttempt.id).in_(list(answers)))
            .values(status=AutopayAttempt.status)
        )
        for attempt_id, (outcome, pi, err) in answers.items():
            try:
                with db.begin_nested():
                    statuses[attempt_id] = _record_in(
                        db, workspace_id, attempt_id, outcome, pi, err
                    )
            except Exception:
                log.exception("autopay: attempt %s not recorded; it is replayed", attempt_id)
                statuses[attempt_id] = "error"
    return statuses


def _record_in(
    db: Session,
    workspace_id: int,
    attempt_id: int,
    outcome: str,
    pi: dict[str, Any] | None,
    err: Any,
) -> str:
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


def _package() -> Any:
    """The package module, where tests set ``autopay.after_stripe_call``."""
    return sys.modules[__package__]


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


# --- Webhooks -------------------------------------------------------------------------------
