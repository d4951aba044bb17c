"""Webhook health for the integration page and ``nextoria stripe status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from nextoria_hub.clock import utcnow
from nextoria_hub.models import (
    AuditEntry,
    InboxEvent,
    StripeEvent,
    WebhookDelivery,
    WorkerHeartbeat,
)


@dataclass
class WebhookHealth:
    last_received: str = ""
    last_type: str = ""
    last_signature_failure: str = ""
    signature_failures: int = 0
    not_applied: int = 0  # verified events we could not apply (failed, unmatched objects)
    inbox_depth: int = 0  # events received and not applied yet (waiting or being applied)
    oldest_unapplied_seconds: int = 0  # age of the oldest of those
    failed: int = 0  # events the workers gave up on (kept with their traceback)
    last_failure: str = ""  # the last failed event's error, first line
    last_applied: str = ""
    # signed events about a payment Stripe says does not exist (forged, or another account's)
    unknown_to_stripe: int = 0
    last_success: str = ""
    # The newest delivery failed its signature check: Stripe's deliveries are being refused.
    refused: bool = False


def _when(value) -> str:
    return value.strftime("%d %b %Y %H:%M:%S UTC") if value else ""


def webhook_health(db: Session, workspace_id: int) -> WebhookHealth:
    last = db.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.event_type != "")
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    ).first()
    last_bad = db.exec(
        select(WebhookDelivery.received_at)
        .where(
            WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.outcome == "bad_signature"
        )
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    ).first()
    bad_count = db.exec(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.outcome == "bad_signature"
        )
    ).one()
    unmatched = db.exec(
        select(func.count())
        .select_from(StripeEvent)
        .where(StripeEvent.workspace_id == workspace_id, StripeEvent.result == "unmatched")
    ).one()
    mine = InboxEvent.workspace_id == workspace_id
    depth, oldest = db.exec(
        select(func.count(), func.min(InboxEvent.received_at)).where(
            mine, col(InboxEvent.status).in_(("pending", "applying"))
        )
    ).one()
    failed = db.exec(
        select(func.count()).select_from(InboxEvent).where(mine, InboxEvent.status == "failed")
    ).one()
    last_failed = db.exec(
        select(InboxEvent.detail)
        .where(mine, InboxEvent.status == "failed")
        .order_by(col(InboxEvent.id).desc())
        .limit(1)
    ).first()
    last_applied = db.exec(select(func.max(InboxEvent.applied_at)).where(mine)).one()
    unknown = db.exec(
        select(func.count())
        .select_from(StripeEvent)
        .where(
            StripeEvent.workspace_id == workspace_id,
            StripeEvent.result == "unmatched",
            col(StripeEvent.detail).startswith("Stripe does not know"),
        )
    ).one()
    refused = deliveries_refused(db, workspace_id)
    last_ok = _last_verified(db, workspace_id)
    return WebhookHealth(
        last_success=_when(last_ok.received_at) if last_ok else "",
        refused=refused,
        last_received=_when(last.received_at) if last else "",
        last_type=last.event_type if last else "",
        last_signature_failure=_when(last_bad),
        signature_failures=bad_count,
        not_applied=unmatched + failed,
        inbox_depth=depth,
        oldest_unapplied_seconds=_age(oldest),
        failed=failed,
        last_failure=(last_failed or "").splitlines()[0][:200] if last_failed else "",
        last_applied=_when(last_applied),
        unknown_to_stripe=unknown,
    )


def _age(value) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return max(0, int((utcnow() - value).total_seconds()))


@dataclass
class InboxHealth:
    """What ``GET /api/health`` may tell anyone: counts and ages, no tenant data."""

    inbox_depth: int
    oldest_unapplied_seconds: int
    failed: int
    worker_heartbeat_seconds: int | None  # None: no worker has ever reported


def inbox_health(db: Session) -> InboxHealth:
    depth, oldest = db.exec(
        select(func.count(), func.min(InboxEvent.received_at)).where(
            col(InboxEvent.status).in_(("pending", "applying"))
        )
    ).one()
    failed = db.exec(
        select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "failed")
    ).one()
    beat = db.exec(select(func.max(WorkerHeartbeat.seen_at))).one()
    return InboxHealth(
        inbox_depth=depth,
        oldest_unapplied_seconds=_age(oldest),
        failed=failed,
        worker_heartbeat_seconds=_age(beat) if beat is not None else None,
    )


# Deliveries whose signature verified, whatever became of the event afterwards.
# Outcomes of a delivery whose signature checked out ("received": queued for the workers).
VERIFIED_OUTCOMES = (
    "received",
    "applied",
    "duplicate",
    "unmatched",
    "ignored",
    "wrong_mode",
    "foreign",
    "error",
)


def _last_verified(db: Session, workspace_id: int) -> WebhookDelivery | None:
    return db.exec(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id,
            col(WebhookDelivery.outcome).in_(VERIFIED_OUTCOMES),
        )
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    ).first()


# Audit actions after which the stored secret is a new one: older refusals say nothing of it.
SECRET_CHANGES = ("stripe.connect", "stripe.webhook_secret", "stripe.webhook_register")


def deliveries_refused(db: Session, workspace_id: int) -> bool:
    """True when the last signature failure is newer than the last verified delivery and
    than the last change of the stored secret (which may have fixed it)."""
    last_bad = db.exec(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.outcome == "bad_signature",
        )
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    ).first()
    if last_bad is None:
        return False
    last_ok = _last_verified(db, workspace_id)
    if last_ok is not None and (last_ok.id or 0) > (last_bad.id or 0):
        return False
    changed = db.exec(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.workspace_id == workspace_id, col(AuditEntry.action).in_(SECRET_CHANGES)
        )
    ).one()
    return changed is None or _utc(changed) < _utc(last_bad.received_at)


def _utc(value: datetime) -> datetime:
    """Aware UTC, whether the database gave back an aware or a naive (UTC) datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class NotAppliedEvent:
    event_id: str
    type: str
    outcome: str  # unmatched | error
    detail: str
    received: str


def not_applied_events(db: Session, workspace_id: int, limit: int = 100) -> list[NotAppliedEvent]:
    """The events behind the "received but not applied" count, newest first, with why."""
    unmatched = db.exec(
        select(StripeEvent)
        .where(StripeEvent.workspace_id == workspace_id, StripeEvent.result == "unmatched")
        .order_by(col(StripeEvent.id).desc())
        .limit(limit)
    ).all()
    dated = [
        (
            e.received_at,
            NotAppliedEvent(e.event_id, e.type, "unmatched", e.detail, _when(e.received_at)),
        )
        for e in unmatched
    ]
    errors = db.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.outcome == "error")
        .where(
            col(WebhookDelivery.event_id).not_in(
                select(StripeEvent.event_id).where(StripeEvent.workspace_id == workspace_id)
            )
        )
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    ).all()
    seen: set[str] = set()
    for d in errors:
        if d.event_id in seen:
            continue
        seen.add(d.event_id)
        row = NotAppliedEvent(d.event_id, d.event_type, "error", d.detail, _when(d.received_at))
        dated.append((d.received_at, row))
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [row for _when_at, row in dated[:limit]]
