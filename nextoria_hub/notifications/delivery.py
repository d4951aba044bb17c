"""Delivering the outbox: claim due emails atomically, send them through Resend, record the outcome.

Statuses: ``pending`` (waiting for its ``next_attempt_at``), ``sending`` (claimed by one
deliverer; ``next_attempt_at`` is then the lease expiry), ``sent``, ``failed`` (gave up after
``MAX_ATTEMPTS``) and ``logged`` (no Resend key configured: kept in the outbox, shown in the
app, never sent).

Safe to run twice: a row is claimed by a conditional UPDATE (SQLite) or under
``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL), so two deliverers never claim the same
email. A deliverer that dies after claiming leaves a lease that expires; the email then goes
back to ``pending``. Resend also gets an idempotency key derived from the email's id, so
even a crash between sending and recording ``sent`` does not send it twice.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications.links import LinkKeyRetired, fill_links
from nextoria_hub.notifications.outbox import render_stored
from nextoria_hub.settings import Settings, get_settings

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
LEASE = timedelta(minutes=5)
ERROR_MAX = 500
DEFAULT_RESEND_URL = "https://api.resend.com"


@dataclass
class DeliveryCounts:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    logged: int = 0
    released: int = 0  # expired leases put back to pending

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class SendError(Exception):
    """Resend refused or could not be reached; the message carries no secrets."""


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed attempts (1-based)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


# --- sending ------------------------------------------------------------------------------

_resend_lock = threading.Lock()


def idempotency_key(email: OutboxEmail) -> str:
    return f"nextoria-email-{email.id}"


def _attachment(email: OutboxEmail) -> tuple[str, bytes] | None:
    """The invoice or receipt PDF this email carries (billing.pdf), read at delivery."""
    from nextoria_hub.billing.pdf import email_attachment

    try:
        return email_attachment(email.workspace_id, email.kind, email.context)
    except Exception as err:  # a PDF that cannot be made must not hold the email back
        log.warning("email %s: no PDF attached (%s)", email.id, type(err).__name__)
        return None


def send_via_resend(email: OutboxEmail, settings: Settings) -> str:
    """Send one email; returns Resend's id. Raises SendError."""
    import resend

    try:  # secret links are filled in only now, never stored (notifications.links)
        text, html = fill_links(email.text_body), fill_links(email.html_body)
    except LinkKeyRetired as err:
        raise SendError(str(err)) from None
    params: dict = {
        "from": settings.email_from,
        "to": [email.to_address],
        "subject": email.subject,
        "text": text,
    }
    if html:
        params["html"] = html
    attachment = _attachment(email)
    if attachment is not None:
        params["attachments"] = [
            {"filename": attachment[0], "content": base64.b64encode(attachment[1]).decode()}
        ]
    key = settings.resend_api_key.strip()
    try:
        # The resend package reads its key and base URL from module globals at request time.
        with _resend_lock:
            resend.api_key = key
            resend.api_url = (settings.resend_api_url or DEFAULT_RESEND_URL).rstrip("/")
        response = resend.Emails.send(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key(email)},
        )
    except Exception as err:  # every failure is a retry, recorded by the caller
        raise SendError(_describe(err, key)) from None
    return str(response.get("id", "")) if isinstance(response, dict) else ""


def _describe(err: Exception, key: str) -> str:
    code = getattr(err, "code", None)
    message = getattr(err, "message", None) or str(err)
    text = f"{type(err).__name__}{f' {code}' if code else ''}: {message}"
    if key:
        text = text.replace(key, "***")
    text = re.sub(r"\bre_[A-Za-z0-9_]{6,}", "re_***", text)  # anything shaped like a Resend key
    return text[:ERROR_MAX]


# --- claiming -------------------------------------------------------------------------------


def release_expired(engine: Engine, now: datetime) -> int:
    """Put emails whose deliverer's lease expired back to pending (or failed, out of attempts).

    The claim counted an attempt, so an email that keeps killing its deliverer still ends.
    """
    expired = (
        col(OutboxEmail.status) == "sending",
        col(OutboxEmail.next_attempt_at) <= now,
    )
    with engine.begin() as conn:
        gave_up = conn.execute(
            update(OutboxEmail)
            .where(*expired, col(OutboxEmail.attempts) >= MAX_ATTEMPTS)
            .values(status="failed", last_error="delivery interrupted; out of attempts")
        )
        released = conn.execute(update(OutboxEmail).where(*expired).values(status="pending"))
    return (gave_up.rowcount or 0) + (released.rowcount or 0)


def _due(now: datetime, limit: int):
    return (
        select(OutboxEmail.id)
        .where(col(OutboxEmail.status) == "pending", col(OutboxEmail.next_attempt_at) <= now)
        .order_by(col(OutboxEmail.next_attempt_at), col(OutboxEmail.id))
        .limit(limit)
    )


def claim_due(engine: Engine, now: datetime, limit: int, status: str = "sending") -> list[int]:
    """Atomically move up to ``limit`` due pending emails to ``status``; returns their ids.

    Claiming for ``sending`` counts an attempt and sets the lease (``next_attempt_at``).
    """
    lease = now + LEASE if status == "sending" else now
    values: dict = {"status": status, "next_attempt_at": lease}
    if status == "sending":
        values["attempts"] = col(OutboxEmail.attempts) + 1
    if engine.dialect.name == "postgresql":
        with Session(engine) as db, db.begin():
            ids = [i for i in db.exec(_due(now, limit).with_for_update(skip_locked=True)) if i]
            if ids:
                db.execute(update(OutboxEmail).where(col(OutboxEmail.id).in_(ids)).values(**values))
        return ids
    # SQLite: one writer at a time; the conditional UPDATE wins for exactly one deliverer.
    with Session(engine) as db:
        candidates = [i for i in db.exec(_due(now, limit)) if i]
    claimed: list[int] = []
    for email_id in candidates:
        with engine.begin() as conn:
            result = conn.execute(
                update(OutboxEmail)
                .where(
                    col(OutboxEmail.id) == email_id,
                    col(OutboxEmail.status) == "pending",
                    col(OutboxEmail.next_attempt_at) <= now,
                )
                .values(**values)
            )
        if result.rowcount == 1:
            claimed.append(email_id)
    return claimed


def _finish(engine: Engine, email_id: int, claimed_status: str, **values: object) -> None:
    """Record an outcome, only if this deliverer still holds the claim."""
    with engine.begin() as conn:
        conn.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == email_id, col(OutboxEmail.status) == claimed_status)
            .values(**values)
        )


# --- the pass ---------------------------------------------------------------------------------


def deliver_pending(limit: int = 50) -> DeliveryCounts:
    """One delivery pass over due emails (the ``deliver_emails`` job and ``nextoria email deliver``)."""
    settings = get_settings()
    engine = get_engine()
    counts = DeliveryCounts()
    now = utcnow()
    counts.released = release_expired(engine, now)
    if counts.released:
        log.warning("email delivery: %d expired claim(s) put back to pending", counts.released)

    if settings.email_mode == "outbox":
        ids = claim_due(engine, now, limit, status="logged")
        counts.claimed = counts.logged = len(ids)
        render_stored(ids)  # emails queued as template + context are rendered at delivery
        if ids:
            with Session(engine) as db:
                for kept in db.exec(select(OutboxEmail).where(col(OutboxEmail.id).in_(ids))):
                    log.info(
                        "email not sent (no RESEND_API_KEY), kept in the outbox: %r to %s",
                        kept.subject,
                        kept.to_address,
                    )
        return counts

    ids = claim_due(engine, now, limit)
    counts.claimed = len(ids)
    render_stored(ids)
    for email_id in ids:
        with Session(engine, expire_on_commit=False) as db:
            email = db.get(OutboxEmail, email_id)
        if email is None:  # pragma: no cover - deleted under our feet
            continue
        attempts = email.attempts  # counted by the claim
        try:
            resend_id = send_via_resend(email, settings)
        except SendError as err:
            done = utcnow()
            if attempts >= MAX_ATTEMPTS:
                counts.failed += 1
                _finish(
                    engine,
                    email_id,
                    "sending",
                    status="failed",
                    attempts=attempts,
                    last_error=str(err),
                    next_attempt_at=done,
                )
                log.error(
                    "email %s to %s failed for good after %d attempts: %s",
                    email_id,
                    email.to_address,
                    attempts,
                    err,
                )
            else:
                counts.retrying += 1
                retry_at = done + backoff(attempts)
                _finish(
                    engine,
                    email_id,
                    "sending",
                    status="pending",
                    attempts=attempts,
                    last_error=str(err),
                    next_attempt_at=retry_at,
                )
                log.warning(
                    "email %s to %s not sent (attempt %d), retrying at %s: %s",
                    email_id,
                    email.to_address,
                    attempts,
                    retry_at.isoformat(timespec="seconds"),
                    err,
                )
            continue
        counts.sent += 1
        _finish(
            engine,
            email_id,
            "sending",
            status="sent",
            attempts=attempts,
            sent_at=utcnow(),
            last_error="",
        )
        log.info("email %s sent to %s (resend id %s)", email_id, email.to_address, resend_id)
    return counts
