"""Outbox delivery as worker items: claim due emails under a token and a lease, send, record.

The same ``nextoria worker`` processes that apply the webhook inbox deliver the outbox
(``workers.py`` runs ``run_once`` in its loop). The clock stays with APScheduler: an email
is due at its ``next_attempt_at`` (set when it is queued, or by the backoff after a failed
try), and the scheduler's job puts emails whose worker died back to ``pending`` when their
lease runs out (``release_expired``).

A claim moves due ``pending`` rows to ``sending`` with a fresh token, counts an attempt and
sets the lease (``next_attempt_at`` is then the lease's expiry). PostgreSQL claims under
``SELECT … FOR UPDATE SKIP LOCKED``, SQLite with one conditional UPDATE, so two workers
never hold the same email. Every outcome is recorded only while the token still matches.

Never sent twice: an email whose worker was killed between Resend's answer and the record
of ``sent`` is sent again after its lease with the same idempotency key and the same body
(rendered from the same template + context, links filled the same way), and Resend answers
that retry with the first send instead of sending again. Rendering happens here, at
delivery, never in the transaction that queued the email.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications.outbox import render_row
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Wait after the 1st, 2nd, … failed attempt; the last value repeats.
BACKOFF = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
]
BATCH = 5  # claimed at once by a worker: small, so one lease covers the sends of all of them


@dataclass
class DeliveryCounts:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    logged: int = 0
    released: int = 0  # expired leases put back to pending
    lost: int = 0  # the lease ran out and another worker took the email over

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed attempts (1-based)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def lease() -> timedelta:
    """How long a worker holds the emails it claimed (the same knob as the inbox's claims)."""
    return timedelta(seconds=get_settings().worker_lease_seconds)


def new_token() -> str:
    return secrets.token_hex(16)


# --- claims ---------------------------------------------------------------------------------


def release_expired(engine: Engine, now: datetime) -> int:
    """Put emails whose worker's lease expired back to pending (failed, out of attempts).

    The claim counted an attempt, so an email that keeps killing its worker still ends.
    """
    expired = (col(OutboxEmail.status) == "sending", col(OutboxEmail.next_attempt_at) <= now)
    with Session(engine) as db:  # a read first: most sweeps find nothing, and write nothing
        if db.exec(select(OutboxEmail.id).where(*expired).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        gave_up = conn.execute(
            update(OutboxEmail)
            .where(*expired, col(OutboxEmail.attempts) >= MAX_ATTEMPTS)
            .values(
                status="failed", claim_token="", last_error="delivery interrupted; out of attempts"
            )
        )
        released = conn.execute(
            update(OutboxEmail).where(*expired).values(status="pending", claim_token="")
        )
    return (gave_up.rowcount or 0) + (released.rowcount or 0)


def release_expired_claims() -> int:
    """The scheduler's job: interrupted deliveries become due again once their lease ends."""
    released = release_expired(get_engine(), utcnow())
    if released:
        log.warning("email delivery: %d expired claim(s) put back to pending", released)
    return released


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return (col(OutboxEmail.status) == "pending", col(OutboxEmail.next_attempt_at) <= now)


def claim(engine: Engine, now: datetime, limit: int, token: str) -> list[int]:
    """Atomically move up to ``limit`` due emails to ``sending`` under ``token``; their ids."""
    values = {
        "status": "sending",
        "claim_token": token,
        "next_attempt_at": now + lease(),
        "attempts": col(OutboxEmail.attempts) + 1,
    }
    query = (
        select(OutboxEmail.id)
        .where(*_due(now))
        .order_by(col(OutboxEmail.next_attempt_at), col(OutboxEmail.id))
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        with Session(engine) as db, db.begin():
            ids = [i for i in db.exec(query.with_for_update(skip_locked=True)) if i]
            if ids:
                db.execute(update(OutboxEmail).where(col(OutboxEmail.id).in_(ids)).values(**values))
        return sorted(ids)
    # SQLite: one writer at a time; one conditional UPDATE claims the candidates still due.
    with Session(engine) as db:
        candidates = [i for i in db.exec(query) if i]
    if not candidates:
        return []
    with engine.begin() as conn:
        conn.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id).in_(candidates), *_due(now))
            .values(**values)
        )
        claimed = conn.execute(
            select(OutboxEmail.id).where(
                col(OutboxEmail.claim_token) == token, col(OutboxEmail.id).in_(candidates)
            )
        )
        return sorted(int(i) for (i,) in claimed)


def _finish(engine: Engine, email_id: int, token: str, **values: object) -> bool:
    """Record an outcome, only if this worker still holds the claim."""
    with engine.begin() as conn:
        result = conn.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == email_id, col(OutboxEmail.claim_token) == token)
            .values(claim_token="", **values)
        )
    return result.rowcount == 1


# --- delivering -----------------------------------------------------------------------------


def _rendered(db: Session, email: OutboxEmail) -> dict[str, str]:
    """The email as sent: its stored text, or rendered now from template + context (and the
    workspace's brand); what to store with the outcome."""
    if email.text_body or not email.context:
        return {}
    subject, text, html = render_row(db, email)
    email.subject, email.text_body, email.html_body = subject, text, html
    return {"subject": subject, "text_body": text, "html_body": html}


def _keep(
    engine: Engine,
    rows: list[OutboxEmail],
    texts: dict[int, dict[str, str]],
    token: str,
    counts: DeliveryCounts,
) -> None:
    """No Resend key: every claimed email is kept as ``logged`` (rendered), in one write."""
    with engine.begin() as conn:
        for email in rows:
            text = texts[email.id]  # type: ignore[index]
            done = conn.execute(
                update(OutboxEmail)
                .where(col(OutboxEmail.id) == email.id, col(OutboxEmail.claim_token) == token)
                .values(status="logged", claim_token="", next_attempt_at=utcnow(), **text)
            )
            if done.rowcount != 1:
                counts.lost += 1
                continue
            counts.logged += 1
            log.info(
                "email not sent (no RESEND_API_KEY), kept in the outbox: %r to %s",
                email.subject,
                email.to_address,
            )


def _send(
    engine: Engine, email: OutboxEmail, text: dict[str, str], token: str, counts: DeliveryCounts
) -> None:
    from nextoria_hub.notifications.delivery import SendError, send_via_resend

    email_id, attempts = int(email.id), email.attempts  # type: ignore[arg-type]
    try:
        resend_id = send_via_resend(email, get_settings())
    except SendError as err:
        done = utcnow()
        final = attempts >= MAX_ATTEMPTS
        retry_at = done if final else done + backoff(attempts)
        held = _finish(
            engine,
            email_id,
            token,
            status="failed" if final else "pending",
            last_error=str(err),
            next_attempt_at=retry_at,
            **text,
        )
        if not held:
            counts.lost += 1
        elif final:
            counts.failed += 1
            log.error(
                "email %s to %s failed for good after %d attempts: %s",
                email_id,
                email.to_address,
                attempts,
                err,
            )
        else:
            counts.retrying += 1
            log.warning(
                "email %s to %s not sent (attempt %d), retrying at %s: %s",
                email_id,
                email.to_address,
                attempts,
                retry_at.isoformat(timespec="seconds"),
                err,
            )
        return
    if _finish(engine, email_id, token, status="sent", sent_at=utcnow(), last_error="", **text):
        counts.sent += 1
        log.info("email %s sent to %s (resend id %s)", email_id, email.to_address, resend_id)
    else:  # sent, but another worker took the email over: its retry reuses the key
        counts.lost += 1
        log.warning("email %s: lease lost while sending", email_id)


def deliver_claimed(ids: list[int], token: str, counts: DeliveryCounts) -> None:
    """Deliver emails this worker claimed under ``token`` (oldest first)."""
    if not ids:
        return
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as db:
        rows = list(
            db.exec(
                select(OutboxEmail)
                .where(col(OutboxEmail.id).in_(ids), col(OutboxEmail.claim_token) == token)
                .order_by(col(OutboxEmail.id))
            )
        )
        for row in rows:
            db.expunge(row)
        texts = {row.id: _rendered(db, row) for row in rows}  # a read; nothing held
    counts.lost += len(ids) - len(rows)
    if get_settings().email_mode == "outbox":
        _keep(engine, rows, texts, token, counts)  # type: ignore[arg-type]
        return
    for email in rows:
        _send(engine, email, texts[email.id], token, counts)  # type: ignore[index]


def run_once(limit: int = BATCH) -> DeliveryCounts:
    """One worker pass: claim due emails and deliver them one by one."""
    counts = DeliveryCounts()
    token = new_token()
    ids = claim(get_engine(), utcnow(), limit, token)
    counts.claimed = len(ids)
    deliver_claimed(ids, token, counts)
    return counts
