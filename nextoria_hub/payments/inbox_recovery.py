"""Replay and recovery of the webhook inbox.

``replay`` puts recorded events back in the queue (handlers are idempotent, so applying an
event again changes nothing a later state settled). ``fetch_missed_events`` asks Stripe's
Events API for the last 30 days' events that never reached the inbox (a delivery Stripe gave
up on, an endpoint that was missing) and queues them as if they had arrived.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.clock import utcnow
from nextoria_hub.db import rows_changed, session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import InboxEvent, StripeKeys
from nextoria_hub.payments.inbox import NEW_EVENT
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.payments.stripe_objects import NextoriaMetadata
from nextoria_hub.payments.webhook_handlers import handled_types

log = logging.getLogger(__name__)

EVENTS_KEPT = timedelta(days=30)  # how far back Stripe's Events API lists


def replay(
    *,
    workspace_id: int | None = None,
    failed_only: bool = False,
    since: datetime | None = None,
    event_id: str | None = None,
) -> int:
    """Queue recorded events again (not those being applied right now); how many."""
    where = [col(InboxEvent.status) != "applying"]
    if workspace_id is not None:
        where.append(col(InboxEvent.workspace_id) == workspace_id)
    if failed_only:
        where.append(col(InboxEvent.status) == "failed")
    if since is not None:
        where.append(col(InboxEvent.received_at) >= since)
    if event_id:
        where.append(col(InboxEvent.event_id) == event_id)
    with session_scope() as db:
        count = rows_changed(
            db,
            update(InboxEvent)
            .where(*where)
            .values(status="pending", attempts=0, claim_token="", next_attempt_at=utcnow()),
        )
    if count:
        NEW_EVENT.set()
    return count


@dataclass
class FetchCounts:
    listed: int = 0
    queued: int = 0
    skipped_workspaces: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def fetch_missed_events(workspace_id: int | None = None) -> FetchCounts:
    """Queue the last 30 days' events of every connected workspace that the inbox lacks.

    Stripe is asked with no transaction open; each event is queued in its own short commit.
    """
    counts = FetchCounts()
    with session_scope() as db:
        query = select(StripeKeys.workspace_id, StripeKeys.mode)
        if workspace_id is not None:
            query = query.where(StripeKeys.workspace_id == workspace_id)
        connections = [(ws, mode) for ws, mode in db.exec(query)]
    since = int((utcnow() - EVENTS_KEPT).timestamp())
    for ws, mode in connections:
        try:
            with session_scope() as db:
                key = secret_key_for(db, ws, mode)
                known = set(
                    db.exec(select(InboxEvent.event_id).where(InboxEvent.workspace_id == ws))
                )
            for event in gateway.list_events(key, since=since, types=handled_types()):
                counts.listed += 1
                if event["id"] in known or bool(event.get("livemode")) != (mode == "live"):
                    continue
                obj = dict(event["data"]["object"])
                if NextoriaMetadata.of(obj).names_other_workspace(ws):
                    continue
                if _queue(ws, mode, event, obj):
                    counts.queued += 1
        except (gateway.StripeGatewayError, NextoriaError) as err:
            log.warning("missed events of workspace %s (%s) not fetched: %s", ws, mode, err.message)
            counts.skipped_workspaces += 1
    if counts.queued:
        log.warning("queued %d event(s) that never arrived as webhooks", counts.queued)
        NEW_EVENT.set()
    return counts


def _queue(workspace_id: int, mode: str, event: dict, obj: dict) -> bool:
    try:
        with session_scope() as db:
            db.add(
                InboxEvent(
                    workspace_id=workspace_id,
                    event_id=str(event["id"]),
                    event_type=str(event["type"]),
                    mode=mode,
                    object_id=str(obj.get("id") or "")[:255],
                    stripe_created=int(event.get("created") or 0),
                    body=json.dumps(event),
                )
            )
    except IntegrityError:  # its webhook arrived meanwhile
        return False
    return True
