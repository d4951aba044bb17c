"""Autopay as work items: the scheduled run only queues, any worker process charges.

The ``autopay_charge`` job (APScheduler decides *when*) queues one ``autopay_item`` per due
invoice, and per invoice whose last attempt was left open (a crash or a timeout), in one
insert; two schedulers queue an invoice once (``open_invoice_id`` is unique while the item is
open). Every ``nextoria worker`` (and the app's in-process worker in the embedded default)
claims a batch of items under a lease — ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
conditional UPDATE on SQLite — and charges them through the engine's rules: the attempt row
is claimed and committed before Stripe is called, and an open attempt is only ever replayed
with its own idempotency key. So a worker killed mid-batch, a lease that ran out while a
slow call was still in flight, or two workers on one item never charge twice: the item goes
back to the queue and whoever takes it replays the same request, which Stripe answers with
the stored result (or "still in flight", tried again later).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine, session_scope
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import (
    AutopayAttempt,
    AutopayItem,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    SavedPaymentMethod,
)
from nextoria_hub.models.ids import stored_key
from nextoria_hub.payments import inbox
from nextoria_hub.payments.autopay import engine
from nextoria_hub.payments.autopay.engine import ChargeCounts
from nextoria_hub.payments.stripe_connection import active_mode, secret_key_for
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

BATCH = 50  # items claimed at once by one worker thread: one claim, one finish
OPEN_ATTEMPT = ("claimed", "unknown")
MAX_TRIES = 8
RETRY_AFTER = timedelta(seconds=10)  # a call still in flight elsewhere, or Stripe unreachable

# The worker loop's wake-up (shared with the inbox): set when items are queued, so the
# in-process worker starts at once; other processes find them on their next idle poll.
NEW_ITEMS = inbox.NEW_EVENT


@dataclass(frozen=True)
class Item:
    id: int
    workspace_id: int
    invoice_id: int
    run_at: datetime
    tries: int


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _lease() -> timedelta:
    return timedelta(seconds=get_settings().worker_lease_seconds)


# --- queueing (the scheduled job) ----------------------------------------------------------


def _workspaces(db: Session, workspace_ids: list[int] | None) -> list[int]:
    enabled = set(
        db.exec(select(ClientAutopay.workspace_id).where(col(ClientAutopay.enabled).is_(True)))
    )
    if workspace_ids is not None:
        enabled &= set(workspace_ids)
    return sorted(enabled)


def _open_attempt_invoices(db: Session, workspace_id: int) -> list[int]:
    """Open invoices whose last attempt was left claimed/unknown: replayed by a worker."""
    return list(
        db.exec(
            select(AutopayAttempt.invoice_id)
            .join(Invoice, col(Invoice.id) == col(AutopayAttempt.invoice_id))
            .where(
                AutopayAttempt.workspace_id == workspace_id,
                col(AutopayAttempt.status).in_(OPEN_ATTEMPT),
                Invoice.status == InvoiceStatus.open,
            )
        )
    )


def enqueue_due_items(
    now: datetime | None = None, workspace_ids: list[int] | None = None
) -> dict[str, int]:
    """The ``autopay_charge`` job: queue every due invoice of every Autopay workspace once."""
    clock = utcnow()  # leases and retries run on the clock; ``now`` decides what is due
    now = now or clock
    rows: list[dict[str, Any]] = []
    with Session(get_engine()) as db:
        for workspace_id in _workspaces(db, workspace_ids):
            mode = active_mode(db, workspace_id)
            try:
                secret_key_for(db, workspace_id, mode)
            except StripeNotConnected:
                log.info("autopay: workspace %s has no Stripe keys for its mode", workspace_id)
                continue
            invoices = set(_open_attempt_invoices(db, workspace_id))
            invoices.update(engine._due_invoices(db, workspace_id, mode, now))
            rows.extend(
                {
                    "workspace_id": workspace_id,
                    "invoice_id": invoice_id,
                    "open_invoice_id": invoice_id,
                    "status": "pending",
                    "claim_token": "",
                    "run_at": now,
                    "not_before": clock,
                    "tries": 0,
                    "outcome": "",
                }
                for invoice_id in sorted(invoices)
            )
    queued = _insert_new(rows)
    # Items waiting for a retry (a call in flight elsewhere, no answer) are due again now.
    _due_again([int(r["invoice_id"]) for r in rows], now, clock)
    if rows:
        NEW_ITEMS.set()
    return {"due": len(rows), "queued": queued}


def _due_again(invoice_ids: list[int], now: datetime, clock: datetime) -> None:
    if not invoice_ids:
        return
    with get_engine().begin() as conn:
        for start in range(0, len(invoice_ids), 500):
            conn.execute(
                update(AutopayItem)
                .where(
                    col(AutopayItem.open_invoice_id).in_(invoice_ids[start : start + 500]),
                    col(AutopayItem.status) == "pending",
                    col(AutopayItem.not_before) > clock,
                )
                .values(not_before=clock, run_at=now)
            )


def _insert_new(rows: list[dict[str, object]]) -> int:
    """Insert the items whose invoice has no open item yet; how many were new."""
    if not rows:
        return 0
    eng = get_engine()
    insert = pg_insert if eng.dialect.name == "postgresql" else sqlite_insert
    queued = 0
    with eng.begin() as conn:
        for start in range(0, len(rows), 500):  # the ids returned count the new ones
            statement = (
                insert(AutopayItem)
                .values(rows[start : start + 500])
                .on_conflict_do_nothing(index_elements=["open_invoice_id"])
                .returning(col(AutopayItem.id))
            )
            queued += len(conn.execute(statement).all())
    return queued


# --- claiming ------------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or claimed by a worker whose lease ran out (killed, or stuck)."""
    return and_(
        col(AutopayItem.status).in_(("pending", "claimed")),
        col(AutopayItem.not_before) <= now,
    )


def claim(
    eng: Engine, now: datetime, limit: int, token: str, workspace_ids: list[int] | None = None
) -> list[Item]:
    """Atomically take up to ``limit`` due items under ``token`` for one lease."""
    where = [_due(now)]
    if workspace_ids is not None:
        where.append(col(AutopayItem.workspace_id).in_(workspace_ids))
    query = select(AutopayItem.id).where(*where).order_by(col(AutopayItem.id)).limit(limit)
    values = {
        "status": "claimed",
        "claim_token": token,
        "not_before": now + _lease(),
        "tries": col(AutopayItem.tries) + 1,
    }
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            ids = [i for (i,) in conn.execute(query.with_for_update(skip_locked=True))]
            if ids:
                conn.execute(update(AutopayItem).where(col(AutopayItem.id).in_(ids)).values(values))
        else:  # SQLite: one writer at a time; the conditional UPDATE takes the still-due ones
            ids = [i for (i,) in conn.execute(query)]
            if ids:
                conn.execute(
                    update(AutopayItem).where(col(AutopayItem.id).in_(ids), *where).values(values)
                )
        if not ids:
            return []
        rows = conn.execute(
            core_select(
                col(AutopayItem.id),
                col(AutopayItem.workspace_id),
                col(AutopayItem.invoice_id),
                col(AutopayItem.run_at),
                col(AutopayItem.tries),
            ).where(col(AutopayItem.claim_token) == token, col(AutopayItem.id).in_(ids))
        ).all()
    return [Item(stored_key(r[0]), r[1], r[2], _aware(r[3]), r[4]) for r in rows]


def finish(eng: Engine, token: str, done: dict[int, str], retry: dict[int, str]) -> int:
    """Close ``done`` items and put ``retry`` ones back, only those this claim still holds."""
    now = utcnow()
    changed = 0
    with eng.begin() as conn:
        by_outcome: dict[tuple[str, str], list[int]] = defaultdict(list)
        for item_id, outcome in done.items():
            by_outcome[("done", outcome)].append(item_id)
        for item_id, outcome in retry.items():
            by_outcome[("pending", outcome)].append(item_id)
        for (status, outcome), ids in by_outcome.items():
            values: dict[str, object] = {"status": status, "claim_token": "", "outcome": outcome}
            if status == "done":
                values.update(open_invoice_id=None, finished_at=now)
            else:
                values.update(not_before=now + RETRY_AFTER)
            result = conn.execute(
                update(AutopayItem)
                .where(col(AutopayItem.id).in_(ids), col(AutopayItem.claim_token) == token)
                .values(values)
            )
            changed += int(result.rowcount or 0)
    return changed


# --- charging ------------------------------------------------------------------------------

_calls: ThreadPoolExecutor | None = None
_calls_lock = threading.Lock()


def _call_pool() -> ThreadPoolExecutor:
    """Stripe calls in flight at once in this process, across its worker threads."""
    global _calls
    with _calls_lock:
        if _calls is None:
            _calls = ThreadPoolExecutor(
                get_settings().autopay_calls, thread_name_prefix="autopay-call"
            )
        return _calls


def _attempts_to_send(
    workspace_id: int, items: list[Item]
) -> tuple[dict[int, int], set[int], dict[int, str]]:
    """Claim (or find the open attempt of) each item's invoice.

    ({item: attempt to send}, {items whose attempt is a replay}, {item: why nothing is sent}).
    New attempts are inserted and committed together before any of them is sent.
    """
    with Session(get_engine()) as db:
        mode = active_mode(db, workspace_id)
        secret_key_for(db, workspace_id, mode)  # StripeNotConnected: nothing to send
        open_rows = db.exec(
            select(AutopayAttempt.invoice_id, col(AutopayAttempt.id), Invoice.status)
            .join(Invoice, col(Invoice.id) == col(AutopayAttempt.invoice_id))
            .where(
                AutopayAttempt.workspace_id == workspace_id,
                col(AutopayAttempt.invoice_id).in_([i.invoice_id for i in items]),
                col(AutopayAttempt.status).in_(OPEN_ATTEMPT),
            )
        ).all()
    open_attempts = {
        invoice_id: (stored_key(attempt_id), status) for invoice_id, attempt_id, status in open_rows
    }
    send: dict[int, int] = {}
    replays: set[int] = set()
    skipped: dict[int, str] = {}
    fresh: list[Item] = []
    for item in items:
        if item.invoice_id in open_attempts:
            attempt_id, status = open_attempts[item.invoice_id]
            if status != InvoiceStatus.open:
                # Paid or voided meanwhile: never replay (if the first request never reached
                # Stripe, a replay would charge). A charge that happened arrives by webhook.
                skipped[item.id] = "closed"
            else:
                send[item.id] = attempt_id
                replays.add(item.id)
        else:
            fresh.append(item)
    if fresh:
        with engine._write_turn(), session_scope() as db:
            methods: dict[int, SavedPaymentMethod | None] = {}
            for item in fresh:  # due as of the run that queued it (the scheduler's "now")
                claimed = engine._claim_in(
                    db, workspace_id, item.invoice_id, mode, item.run_at, methods
                )
                if claimed is None:
                    skipped[item.id] = "not_due"
                else:
                    send[item.id] = claimed
    return send, replays, skipped


def work_once(
    limit: int = BATCH, workspace_ids: list[int] | None = None, counts: ChargeCounts | None = None
) -> int:
    """One pass: claim up to ``limit`` items, charge them, close them; how many were claimed."""
    counts = counts if counts is not None else ChargeCounts()
    eng = get_engine()
    token = secrets.token_hex(16)
    items = claim(eng, utcnow(), limit, token, workspace_ids)
    if not items:
        return 0
    by_workspace: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        by_workspace[item.workspace_id].append(item)
    done: dict[int, str] = {}
    retry: dict[int, str] = {}
    futures: dict[int, tuple[int, int, Future[engine.Answer]]] = {}
    replays: set[int] = set()
    failed_workspaces: set[int] = set()
    pool = _call_pool()
    for workspace_id, group in by_workspace.items():
        try:
            send, replayed, skipped = _attempts_to_send(workspace_id, group)
            calls = engine.prepare_calls(workspace_id, list(send.values()))
        except StripeNotConnected:
            done.update({i.id: "not_connected" for i in group})
            counts.skipped += len(group)
            continue
        except Exception:
            log.exception("autopay: workspace %s failed claiming; the others go on", workspace_id)
            retry.update({i.id: "error" for i in group})
            failed_workspaces.add(workspace_id)
            continue
        done.update(skipped)
        replays |= replayed
        counts.skipped += len(skipped)
        for item_id, attempt_id in send.items():
            future = pool.submit(engine.send_prepared, calls.get(attempt_id))
            futures[item_id] = (workspace_id, attempt_id, future)
    # Every answer of a workspace is written in one transaction, once all are in.
    answers: dict[int, dict[int, engine.Answer]] = defaultdict(dict)
    item_of: dict[int, int] = {}
    for item_id, (workspace_id, attempt_id, future) in futures.items():
        try:
            answers[workspace_id][attempt_id] = future.result()
            item_of[attempt_id] = item_id
        except Exception:
            log.exception(
                "autopay: workspace %s failed on item %s; the others go on, it is tried again",
                workspace_id,
                item_id,
            )
            retry[item_id] = "error"
            failed_workspaces.add(workspace_id)
    tries = {i.id: i.tries for i in items}
    for workspace_id, batch in answers.items():
        try:
            statuses = engine.record_outcomes(workspace_id, batch)
        except Exception:
            log.exception("autopay: workspace %s: outcomes not recorded", workspace_id)
            statuses = dict.fromkeys(batch, "error")
        for attempt_id, status in statuses.items():
            item_id = item_of[attempt_id]
            if status == "error":
                retry[item_id] = "error"
                failed_workspaces.add(workspace_id)
                continue
            if item_id in replays and status in ("succeeded", "failed"):
                counts.resolved += 1
            else:
                engine._tally(counts, [status])
            if status in OPEN_ATTEMPT and tries[item_id] < MAX_TRIES:
                retry[item_id] = status  # still in flight elsewhere, or no answer: replay later
            else:
                done[item_id] = status
    counts.workspaces_failed += len(failed_workspaces)
    finish(eng, token, done, retry)
    return len(items)


def work_until_empty(
    workspace_ids: list[int] | None = None, counts: ChargeCounts | None = None
) -> ChargeCounts:
    """Passes until no item is due (items waiting for a retry stay queued)."""
    counts = counts if counts is not None else ChargeCounts()
    while work_once(BATCH, workspace_ids, counts):
        pass
    return counts


def charge_due_invoices(
    now: datetime | None = None, workspace_ids: list[int] | None = None
) -> ChargeCounts:
    """Queue the due invoices and charge them in this process (``nextoria autopay run-now``,
    tests): the same items and claims the workers use, so it may share them with workers."""
    now = now or utcnow()
    with Session(get_engine()) as db:
        workspace_ids = _workspaces(db, workspace_ids)
    if not workspace_ids:
        return ChargeCounts()
    enqueue_due_items(now, workspace_ids)
    per_thread = [ChargeCounts() for _ in range(min(engine.WORKSPACE_WORKERS, len(workspace_ids)))]
    threads = [
        threading.Thread(target=work_until_empty, args=(workspace_ids, c), daemon=True)
        for c in per_thread
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = ChargeCounts()
    for counts in per_thread:
        for name, value in counts.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    _wait_for_other_workers(workspace_ids)
    return total


def _wait_for_other_workers(workspace_ids: list[int]) -> None:
    """Return once no item of these workspaces is claimed by another worker (the app's own,
    or a ``nextoria worker``), so a run-now ends with the run charged; at most one lease."""
    eng = get_engine()
    deadline = time.monotonic() + _lease().total_seconds()
    while time.monotonic() < deadline:
        with Session(eng) as db:
            held = db.exec(
                select(AutopayItem.id)
                .where(
                    col(AutopayItem.workspace_id).in_(workspace_ids),
                    AutopayItem.status == "claimed",
                )
                .limit(1)
            ).first()
        if held is None:
            return
        time.sleep(0.05)


def queued(eng: Engine | None = None) -> dict[str, int]:
    """Items open in the queue (for status and tests): {"pending": n, "claimed": n}."""
    eng = eng or get_engine()
    with Session(eng) as db:
        rows = db.exec(
            select(AutopayItem.status).where(col(AutopayItem.status).in_(("pending", "claimed")))
        ).all()
    return {"pending": rows.count("pending"), "claimed": rows.count("claimed")}
