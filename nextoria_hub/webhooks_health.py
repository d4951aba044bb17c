"""Webhook health for the integration page and ``nextoria stripe status``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from nextoria_hub.models import StripeEvent, WebhookDelivery


@dataclass
class WebhookHealth:
    last_received: str = ""
    last_type: str = ""
    last_signature_failure: str = ""
    signature_failures: int = 0
    not_applied: int = 0  # verified events we could not apply (errors, unmatched objects)
    # signed events about a payment Stripe says does not exist (forged, or another account's)
    unknown_to_stripe: int = 0


def _when(value) -> str:  # type: ignore[no-untyped-def]
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
    errors = db.exec(
        select(func.count(func.distinct(WebhookDelivery.event_id)))
        .where(WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.outcome == "error")
        .where(
            col(WebhookDelivery.event_id).not_in(
                select(StripeEvent.event_id).where(StripeEvent.workspace_id == workspace_id)
            )
        )
    ).one()
    unknown = db.exec(
        select(func.count())
        .select_from(StripeEvent)
        .where(
            StripeEvent.workspace_id == workspace_id,
            StripeEvent.result == "unmatched",
            col(StripeEvent.detail).startswith("Stripe does not know"),
        )
    ).one()
    return WebhookHealth(
        last_received=_when(last.received_at) if last else "",
        last_type=last.event_type if last else "",
        last_signature_failure=_when(last_bad),
        signature_failures=bad_count,
        not_applied=unmatched + errors,
        unknown_to_stripe=unknown,
    )
