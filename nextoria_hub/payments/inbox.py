"""The webhook inbox's claims: who applies which event, and for how long.

A worker claims due ``pending`` rows by moving them to ``applying`` with a fresh token and
a lease (``next_attempt_at`` is then the lease's expiry). PostgreSQL claims under
``SELECT … FOR UPDATE SKIP LOCKED``, SQLite with one conditional UPDATE per row, so two
workers never hold the same row. A worker killed mid-batch leaves leases that expire; the
rows go back to ``pending`` and the apply transaction (which re-checks the token) of a
worker whose lease was taken over commits nothing. Events about one Stripe object are
claimed one at a time, oldest ``created`` first.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from nextoria_hub.models import InboxEvent
from nextoria_hub.settings import get_settings

MAX_ATTEMPTS = 8
# Wait after the 1st, 2nd, … failed try; the last value repeats. Stripe itself would have
# retried for three days; the worker now does, from the copy it keeps.
BACKOFF = [
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
]
OPEN = ("pending", "applying")

# Set by the webhook route after it queues an event, so the in-process worker wakes at once.
NEW_EVENT = threading.Event()


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def lease() -> timedelta:
    return timedelta(seconds=get_settings().worker_lease_seconds)


def new_token() -> str:
    return secrets.token_hex(16)


def _earlier_open():
    """An event about the same object, created earlier (or queued earlier), not yet done."""
    e = aliased(InboxEvent)
    return exists().where(
        col(e.workspace_id) == InboxEvent.workspace_id,
        col(e.object_id) == InboxEvent.object_id,
        col(e.status).in_(OPEN),
        or_(
            col(e.stripe_created) < InboxEvent.stripe_created,
            and_(
                col(e.stripe_created) == InboxEvent.stripe_created,
                col(e.id) < col(InboxEvent.id),
            ),
        ),
    )


def _due(now: datetime):
    return (
        col(InboxEvent.status) == "pending",
        col(InboxEvent.next_attempt_at) <= now,
        or_(col(InboxEvent.object_id) == "", ~_earlier_open()),
    )


def release_expired(engine: Engine, now: datetime) -> int:
    """Put rows whose worker's lease ran out back to ``pending`` (``failed`` if out of tries)."""
    expired = (col(InboxEvent.status) == "applying", col(InboxEvent.next_attempt_at) <= now)
    with Session(engine) as db:  # a read first: most passes find nothing, and write nothing
        if db.exec(select(InboxEvent.id).where(*expired).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        gave_up = conn.execute(
            update(InboxEvent)
            .where(*expired, col(InboxEvent.attempts) >= MAX_ATTEMPTS)
            .values(status="failed", claim_token="", last_error="interrupted; out of tries")
        )
        released = conn.execute(
            update(InboxEvent).where(*expired).values(status="pending", claim_token="")
        )
    return (gave_up.rowcount or 0) + (released.rowcount or 0)


def claim(engine: Engine, now: datetime, limit: int, token: str) -> list[int]:
    """Atomically move up to ``limit`` due rows to ``applying`` under ``token``; their ids."""
    values = {
        "status": "applying",
        "claim_token": token,
        "next_attempt_at": now + lease(),
        "attempts": col(InboxEvent.attempts) + 1,
    }
    query = (
        select(InboxEvent.id)
        .where(*_due(now))
        .order_by(col(InboxEvent.stripe_created), col(InboxEvent.id))
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        with Session(engine) as db, db.begin():
            ids = [i for i in db.exec(query.with_for_update(skip_locked=True)) if i]
            if ids:
                db.execute(update(InboxEvent).where(col(InboxEvent.id).in_(ids)).values(**values))
        return ids
    # SQLite: one writer at a time; one conditional UPDATE claims the candidates still due.
    with Session(engine) as db:
        candidates = [i for i in db.exec(query) if i]
    if not candidates:
        return []
    with engine.begin() as conn:
        conn.execute(
            update(InboxEvent)
            .where(col(InboxEvent.id).in_(candidates), *_due(now))
            .values(**values)
        )
        claimed = conn.execute(
            select(InboxEvent.id).where(
                col(InboxEvent.claim_token) == token, col(InboxEvent.id).in_(candidates)
            )
        )
        return sorted(int(i) for (i,) in claimed)


def finish(engine: Engine, row_id: int, token: str, **values: object) -> bool:
    """Record a try's outcome, only if this worker still holds the claim."""
    with engine.begin() as conn:
        result = conn.execute(
            update(InboxEvent)
            .where(col(InboxEvent.id) == row_id, col(InboxEvent.claim_token) == token)
            .values(claim_token="", **values)
        )
    return result.rowcount == 1
