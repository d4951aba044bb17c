"""Receiving a Stripe webhook: verify, then record the delivery and queue the event.

Webhooks are at-least-once and unordered. The route answers as soon as the event is in
the inbox (``webhook_inbox``, unique per workspace and event id, so a duplicate queues
nothing); workers (``nextoria_hub.workers``) apply it through the handler registry.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import InboxEvent, WebhookDelivery
from nextoria_hub.payments import stripe_connect
from nextoria_hub.payments.inbox import NEW_EVENT
from nextoria_hub.payments.stripe_connection import webhook_secrets
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# What a handler raises on an object of the wrong shape (a missing id, text for an amount,
# a currency too long for its column): the same body would fail again, so no 5xx for it.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, RecursionError, DataError)
# the widths of the webhook_delivery columns
WIDTHS = {"event_id": 255, "event_type": 120, "mode": 4, "source_address": 64}


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    outcome: str
    detail: str = ""


def receive_webhook(
    workspace_id: int,
    payload: bytes,
    signature_header: str,
    *,
    headers: dict[str, str] | None = None,
    source: str = "",
    secrets: list[tuple[str, str]] | None = None,
) -> WebhookOutcome:
    """Verify one delivery to a known workspace and record it for the workers; the HTTP answer.

    Nothing is applied here (no Stripe call, no settlement, no email): ``workers.py`` does it.
    ``secrets`` replaces the workspace's own signing secrets (the Connect endpoint's).
    """
    headers = headers or {}
    if secrets is None:
        with session_scope() as db:
            secrets = webhook_secrets(db, workspace_id)
    future = _future_timestamp(signature_header)
    mode = (
        gateway.verify_webhook(payload, signature_header, secrets)
        if secrets and not future
        else None
    )
    if mode is None:
        detail = "no webhook secret is set" if not secrets else "signature did not match"
        if secrets and future:
            detail = "signature timestamp is more than 300 s in the future"
        _log_delivery(workspace_id, "bad_signature", detail=detail)
        return WebhookOutcome(400, "bad_signature", detail)
    try:
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        obj = dict(event["data"]["object"])
        livemode, created = bool(event.get("livemode")), int(event.get("created") or 0)
        if len(event_id) > 255 or len(event_type) > 120:  # wider than any Stripe's, our columns
            raise ValueError("id or type too long")
        if not 0 <= created < 2**31:  # our integer column; Stripe's are Unix seconds
            raise ValueError("created out of range")
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep nesting
        _log_delivery(workspace_id, "ignored", detail="signed but not a Stripe event")
        return WebhookOutcome(400, "ignored", "not a Stripe event")

    base = {"event_id": event_id, "event_type": event_type, "mode": mode}
    if livemode != (mode == "live"):
        detail = f"{'live' if livemode else 'test'} event signed with the {mode} secret"
        log.warning("webhook %s for workspace %s ignored: %s", event_id, workspace_id, detail)
        _log_delivery(workspace_id, "wrong_mode", detail=detail, **base)
        return WebhookOutcome(200, "wrong_mode", detail)
    metadata = obj.get("metadata")
    named = metadata.get("nextoria_workspace_id") if isinstance(metadata, dict) else None
    if named and str(named) != str(workspace_id):
        detail = f"metadata names workspace {named}"
        log.warning("webhook %s for workspace %s ignored: %s", event_id, workspace_id, detail)
        _log_delivery(workspace_id, "foreign", detail=detail, **base)
        return WebhookOutcome(200, "foreign", detail)

    object_id = str(obj.get("id") or "")[:255]
    outcome, detail = _record(
        workspace_id,
        InboxEvent(
            workspace_id=workspace_id,
            event_id=event_id.replace("\x00", ""),
            event_type=event_type.replace("\x00", ""),
            mode=mode,
            object_id=object_id.replace("\x00", ""),
            stripe_created=created,
            body=payload.decode("utf-8", "replace").replace("\x00", ""),
        ),
        headers=headers,
        source=source,
    )
    if outcome == "received":
        NEW_EVENT.set()  # wake this process's worker, if it runs one
    return WebhookOutcome(200, outcome, detail)


def _record(
    workspace_id: int, row: InboxEvent, *, headers: dict[str, str], source: str
) -> tuple[str, str]:
    """One short commit: the delivery, and the inbox row unless the event is already in it.

    A Stripe retry of an event still waiting for its next try makes it due at once.
    """
    extra = {"headers": json.dumps(headers)[:4000], "source_address": source[:64]}
    try:
        with session_scope() as db:  # no look first: the unique (workspace, event id) decides
            db.add(row)
            db.add(_row_delivery(workspace_id, "received", "queued for the workers", row, extra))
    except IntegrityError:  # queued before (a Stripe retry) or by a concurrent delivery
        with session_scope() as db:
            _duplicate(db, workspace_id, row, extra)
        return "duplicate", "already received"
    return "received", "queued for the workers"


def _future_timestamp(signature_header: str) -> bool:
    """True if the header's timestamp is beyond the tolerance in the future.

    stripe-python refuses only timestamps too far in the past; a signature dated ahead
    would otherwise stay replayable for as long as it is in the future.
    """
    now = time.time()
    for part in (signature_header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                return int(value) > now + gateway.WEBHOOK_TOLERANCE_SECONDS
            except ValueError:
                return False
    return False


def _duplicate(db: Session, workspace_id: int, row: InboxEvent, extra: dict[str, str]) -> None:
    db.execute(
        update(InboxEvent)
        .where(
            col(InboxEvent.workspace_id) == workspace_id,
            col(InboxEvent.event_id) == row.event_id,
            col(InboxEvent.status) == "pending",
        )
        .values(next_attempt_at=utcnow())
    )
    db.add(_row_delivery(workspace_id, "duplicate", "already received", row, extra))


def _row_delivery(
    workspace_id: int, outcome: str, detail: str, row: InboxEvent, extra: dict[str, str]
) -> WebhookDelivery:
    return _delivery(
        workspace_id,
        outcome,
        detail=detail,
        body=row.body,
        event_id=row.event_id,
        event_type=row.event_type,
        mode=row.mode,
        **extra,
    )


def delivery_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request headers worth keeping with a delivery: no cookies, no credentials."""
    drop = {"cookie", "authorization", "proxy-authorization"}
    return {k: v[:500] for k, v in headers.items() if k.lower() not in drop}


def _delivery(
    workspace_id: int, outcome: str, *, detail: str = "", body: str = "", **fields: str
) -> WebhookDelivery:
    """The delivery record; signed junk can carry NUL (PostgreSQL text refuses it) or ids
    wider than the columns, so both are cleaned here for every row."""
    clean = {k: v.replace("\x00", "")[: WIDTHS.get(k)] for k, v in fields.items()}
    return WebhookDelivery(
        workspace_id=workspace_id,
        outcome=outcome,
        detail=detail.replace("\x00", ""),
        body=body.replace("\x00", ""),
        **clean,
    )


def _log_delivery(
    workspace_id: int, outcome: str, *, detail: str = "", body: str = "", **fields: str
) -> None:
    """A delivery that changed nothing, recorded in its own transaction."""
    with session_scope() as db:
        db.add(_delivery(workspace_id, outcome, detail=detail, body=body, **fields))


def receive_connect_webhook(
    payload: bytes, signature_header: str, *, headers: dict[str, str], source: str = ""
) -> WebhookOutcome:
    """A delivery to the platform's Connect endpoint: the workspace is the one connected to
    the event's ``account`` (never the host), then the same checks and inbox as above."""
    settings = get_settings()
    secret = settings.stripe_connect_webhook_secret.strip()
    if not secret or not settings.stripe_platform_secret_key:
        return WebhookOutcome(404, "ignored", "Stripe Connect is not configured")
    mode = stripe_connect.platform_mode()
    secrets = [(mode, secret)]
    if _future_timestamp(signature_header) or not gateway.verify_webhook(
        payload, signature_header, secrets
    ):
        return WebhookOutcome(400, "bad_signature", "signature did not match")
    try:
        event = json.loads(payload)
        account = str(event.get("account") or "")
        livemode = bool(event.get("livemode"))
    except (ValueError, AttributeError, RecursionError):
        return WebhookOutcome(400, "ignored", "not a Stripe event")
    with session_scope() as db:
        workspace_id = stripe_connect.workspace_for_account(
            db, account, "live" if livemode else "test"
        )
    if workspace_id is None:
        # A disconnected or unknown account: nothing here to apply it to. 200, so Stripe stops.
        return WebhookOutcome(200, "unmatched", "no workspace is connected to this account")
    return receive_webhook(
        workspace_id, payload, signature_header, headers=headers, source=source, secrets=secrets
    )
