"""Workers: apply the webhook inbox through the handler registry, off the request path,
deliver the email outbox (``notifications.delivery_items``) and charge the Autopay items the
scheduled job queued (``payments/autopay/work_items.py``) in the same loop.

Where they run:

- Embedded default (``make run``): ``NEXTORIA_WORKERS`` threads (default 1) inside the app
  process, started by a lifespan task like the scheduler.
- Scaled out: ``NEXTORIA_WORKERS=0`` on the web processes and any number of
  ``nextoria worker [--concurrency N]`` processes on any number of machines.

One event is applied in one transaction that re-checks the claim, runs the handler and
records the outcome (``stripe_event`` and the inbox row) together, so a worker killed at
any point leaves either nothing or everything. Stripe is asked with no transaction open
(``ask_stripe``). A failure is tried again with backoff and, after the last try, kept as
``failed`` with its traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from nextoria_hub.billing.locales import use_locale, workspace_locale
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine, rows_changed, session_scope
from nextoria_hub.models import InboxEvent, StripeEvent, WorkerHeartbeat
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications import delivery_items
from nextoria_hub.notifications.outbox import rendering_deferred
from nextoria_hub.payments import (  # noqa: F401  (importing the handler modules registers them)
    account_events,
    bank_debits,
    disputes,
    inbox,
    refund_failures,
    stripe_events,
)
from nextoria_hub.payments.autopay import work_items as autopay_items
from nextoria_hub.payments.webhook_handlers import EventContext, answering_stripe, dispatch
from nextoria_hub.payments.webhooks import MALFORMED
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

BATCH = 5  # claimed at once: small, so one lease covers the Stripe calls of all of them
IDLE_WAIT_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0
ERROR_MAX = 4000


@dataclass
class WorkerCounts:
    claimed: int = 0
    applied: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # the lease ran out and another worker took the event over
    released: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class LeaseLost(Exception):
    """Another worker holds this event now: commit nothing."""


def _context(row: InboxEvent) -> EventContext:
    event = json.loads(row.body)
    return EventContext(
        row.workspace_id,
        row.mode,
        row.event_id,
        row.event_type,
        dict(event["data"]["object"]),
        row.stripe_created,
        account=str(event.get("account") or ""),
    )


def _apply(ctx: EventContext, row_id: int, token: str) -> tuple[str, str]:
    """One transaction: hold the claim, run the handler, record the outcome with the effect.

    Emails the handler queues are stored as template + context; delivery renders them.
    """
    with rendering_deferred():
        return _apply_in_transaction(ctx, row_id, token)


def _apply_in_transaction(ctx: EventContext, row_id: int, token: str) -> tuple[str, str]:
    with session_scope() as db:
        # The handler first: a try that ends in a Stripe question (NeedsStripe) has then
        # mostly only read, and rolls back without having taken the inbox row's lock.
        with use_locale(workspace_locale(db, ctx.workspace_id)):  # its emails' amounts
            outcome, detail = dispatch(db, ctx)
        held = rows_changed(
            db,
            update(InboxEvent)
            .where(col(InboxEvent.id) == row_id, col(InboxEvent.claim_token) == token)
            .values(
                status="applied",
                claim_token="",
                applied_at=utcnow(),
                last_error="",
                result=outcome[:20],
                detail=detail[:1000],
            ),
        )
        if held != 1:
            raise LeaseLost  # rolls the handler's effects back with it
        recorded = db.exec(
            select(StripeEvent).where(
                StripeEvent.workspace_id == ctx.workspace_id, StripeEvent.event_id == ctx.event_id
            )
        ).first()
        if recorded is None:
            recorded = StripeEvent(
                workspace_id=ctx.workspace_id,
                event_id=ctx.event_id,
                type=ctx.event_type,
                mode=ctx.mode,
                stripe_created=ctx.created,
                result=outcome,
            )
        recorded.result, recorded.detail = outcome[:20], detail[:1000]
        db.add(recorded)
    return outcome, detail


def _claimed_rows(ids: list[int], token: str) -> dict[int, InboxEvent]:
    """The rows of one claim, read in one query (still held under ``token``)."""
    with Session(get_engine(), expire_on_commit=False) as db:
        rows = db.exec(
            select(InboxEvent).where(
                col(InboxEvent.id).in_(ids), col(InboxEvent.claim_token) == token
            )
        ).all()
    return {require_id(row): row for row in rows}


def apply_claimed(
    row_id: int, token: str, counts: WorkerCounts, row: InboxEvent | None = None
) -> None:
    """Apply one claimed event, asking Stripe between transactions as the handler needs."""
    engine = get_engine()
    if row is None:
        row = _claimed_rows([row_id], token).get(row_id)
    if row is None or row.claim_token != token:
        counts.lost += 1
        return
    try:
        ctx = _context(row)
        outcome, _detail = answering_stripe(ctx, lambda: _apply(ctx, row_id, token))
    except LeaseLost:
        counts.lost += 1
        log.warning("inbox event %s: lease lost to another worker", row.event_id)
        return
    except MALFORMED as err:  # signed, but not shaped as Stripe sends it: no retry can help
        counts.failed += 1
        reason = (str(getattr(err, "orig", None) or err).splitlines() or [""])[0]
        inbox.finish(
            engine,
            row_id,
            token,
            status="failed",
            result="error",
            detail=f"malformed event: {type(err).__name__}: {reason}"[:500],
            last_error=traceback.format_exc()[-ERROR_MAX:],
            next_attempt_at=utcnow(),
        )
        log.warning("inbox event %s (%s) is malformed", row.event_id, row.event_type)
        return
    except Exception as err:
        _failed_try(engine, row, token, err, counts)
        return
    counts.applied += 1
    log.info("inbox event %s (%s): %s", row.event_id, row.event_type, outcome)


def _failed_try(
    engine: Engine, row: InboxEvent, token: str, err: Exception, counts: WorkerCounts
) -> None:
    now = utcnow()
    trace = traceback.format_exc()[-ERROR_MAX:]
    detail = f"{type(err).__name__}: {err}"[:500]
    if row.attempts >= inbox.MAX_ATTEMPTS:
        counts.failed += 1
        inbox.finish(
            engine,
            require_id(row),
            token,
            status="failed",
            result="error",
            detail=detail,
            last_error=trace,
            next_attempt_at=now,
        )
        log.error("inbox event %s failed for good after %d tries", row.event_id, row.attempts)
        return
    counts.retrying += 1
    retry_at = now + inbox.backoff(row.attempts)
    inbox.finish(
        engine,
        require_id(row),
        token,
        status="pending",
        result="error",
        detail=detail,
        last_error=trace,
        next_attempt_at=retry_at,
    )
    log.warning(
        "inbox event %s (%s) try %d failed, again at %s: %s",
        row.event_id,
        row.event_type,
        row.attempts,
        retry_at.isoformat(timespec="seconds"),
        detail,
    )


def run_once(limit: int = BATCH) -> WorkerCounts:
    """One pass: release expired leases, claim due events, apply them one by one."""
    engine = get_engine()
    counts = WorkerCounts()
    now = utcnow()
    counts.released = inbox.release_expired(engine, now)
    if counts.released:
        log.warning("inbox: %d expired claim(s) put back to pending", counts.released)
    token = inbox.new_token()
    ids = inbox.claim(engine, now, limit, token)
    counts.claimed = len(ids)
    rows = _claimed_rows(ids, token) if ids else {}
    for row_id in ids:
        apply_claimed(row_id, token, counts, rows.get(row_id))
    return counts


def run_until_empty(max_passes: int = 1000) -> WorkerCounts:
    """Passes until nothing is due (events waiting for a retry stay); the totals."""
    total = WorkerCounts()
    for _ in range(max_passes):
        counts = run_once()
        for name, value in counts.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        if not counts.claimed and not counts.released:
            break
    return total


def heartbeat(worker_id: str) -> None:
    with session_scope() as db:
        row = db.get(WorkerHeartbeat, worker_id)
        row = row or WorkerHeartbeat(id=worker_id)
        row.seen_at = utcnow()
        db.add(row)


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{index}"[:64]


def _loop(index: int, stop: threading.Event) -> None:
    name, last_beat = worker_name(index), 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                heartbeat(name)
                last_beat = time.monotonic()
            counts = run_once()
            emails = delivery_items.run_once().claimed  # the outbox: the same workers send
            counts.claimed += autopay_items.work_once()  # Autopay charges queued by the job
        except Exception:  # a database outage: log it, wait, go on
            log.exception("worker %s: pass failed", name)
            counts, emails = WorkerCounts(), 0
        if not counts.claimed and not emails:
            inbox.NEW_EVENT.wait(IDLE_WAIT_SECONDS)
            inbox.NEW_EVENT.clear()


def start_workers(concurrency: int, stop: threading.Event) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=_loop, args=(i, stop), name=f"inbox-worker-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    log.info("%d inbox worker(s) started", concurrency)
    return threads


def stop_workers(threads: list[threading.Thread], stop: threading.Event) -> None:
    stop.set()
    inbox.NEW_EVENT.set()
    for thread in threads:
        thread.join(60)


@asynccontextmanager
async def worker_lifespan() -> AsyncIterator[None]:
    """Reflex lifespan task: ``NEXTORIA_WORKERS`` inbox workers run with the app process."""
    count = get_settings().workers
    stop = threading.Event()
    threads = start_workers(count, stop) if count else []
    if not count:
        log.info("inbox workers not started: NEXTORIA_WORKERS=0")
    try:
        yield
    finally:
        await asyncio.to_thread(stop_workers, threads, stop)


def _wake_to_stop(stop: threading.Event) -> None:
    stop.set()
    inbox.NEW_EVENT.set()


def run_forever(concurrency: int = 1, stop: threading.Event | None = None) -> None:
    """``nextoria worker``: apply the inbox in the foreground until SIGINT/SIGTERM."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: _wake_to_stop(stop))
    threads = start_workers(concurrency, stop)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        stop_workers(threads, stop)
