"""Receiving a Stripe webhook: verify, record once, apply, all or nothing.

Webhooks are at-least-once and unordered. The event row is unique per workspace and
event id and is written in the same transaction as the handler's effect, so a duplicate
changes nothing and a failure rolls everything back for Stripe to retry.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.db import session_scope
from nextoria_hub.models import StripeEvent, WebhookDelivery
from nextoria_hub.payments import (  # noqa: F401  (importing them registers the handlers)
    account_events,
    bank_debits,
    disputes,
    refund_failures,
    stripe_events,
)
from nextoria_hub.payments.stripe_connection import webhook_secrets
from nextoria_hub.payments.webhook_handlers import EventContext, dispatch

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# What a handler raises on an object of the wrong shape (a missing id, text for an amount,
# a currency too long for its column): the same body would fail again, so no 5xx for it.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, RecursionError, DataError)
WIDTHS = {"event_id": 255, "event_type": 120, "mode": 4}  # of the webhook_delivery columns


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    outcome: str
    detail: str = ""


def receive_webhook(workspace_id: int, payload: bytes, signature_header: str) -> WebhookOutcome:
    """The whole pipeline for one delivery to a known workspace; returns the HTTP answer."""
    with session_scope() as db:
        secrets = webhook_secrets(db, workspace_id)
    mode = gateway.verify_webhook(payload, signature_header, secrets) if secrets else None
    if mode is None:
        detail = "no webhook secret is set" if not secrets else "signature did not match"
        _log_delivery(workspace_id, "bad_signature", detail=detail)
        return WebhookOutcome(400, "bad_signature", detail)
    try:
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        obj = dict(event["data"]["object"])
        livemode, created = bool(event.get("livemode")), int(event.get("created") or 0)
        if len(event_id) > 255 or len(event_type) > 120:  # wider than any Stripe's, our columns
            raise ValueError("id or type too long")
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

    ctx = EventContext(workspace_id, mode, event_id, event_type, obj, created)
    try:
        outcome, detail = _apply_once(ctx, payload.decode("utf-8", "replace"))
    except MALFORMED as err:  # signed, but not shaped as Stripe sends it: a retry cannot help
        log.warning(
            "webhook %s (%s) for workspace %s is malformed", event_id, event_type, workspace_id
        )
        reason = (str(getattr(err, "orig", None) or err).splitlines() or [""])[0]
        detail = f"malformed event: {type(err).__name__}: {reason}"[:500]
        _log_delivery(workspace_id, "error", detail=detail, **base)
        return WebhookOutcome(400, "malformed", "the event is not shaped as Stripe sends it")
    except Exception as err:  # roll back, tell Stripe to retry, keep a trace for admins
        log.exception("webhook %s (%s) failed for workspace %s", event_id, event_type, workspace_id)
        _log_delivery(workspace_id, "error", detail=f"{type(err).__name__}: {err}"[:500], **base)
        return WebhookOutcome(500, "error", "could not apply the event; Stripe will retry")
    return WebhookOutcome(200, outcome, detail)


def _apply_once(ctx: EventContext, body: str) -> tuple[str, str]:
    """Apply the event unless already recorded; the delivery log commits with the effect."""
    with session_scope() as db:
        if _already_recorded(db, ctx):
            outcome, detail = "duplicate", "already received"
        else:
            outcome, detail = dispatch(db, ctx)
            db.add(
                StripeEvent(
                    workspace_id=ctx.workspace_id,
                    event_id=ctx.event_id,
                    type=ctx.event_type,
                    mode=ctx.mode,
                    stripe_created=ctx.created,
                    result=outcome,
                    detail=detail[:1000],
                )
            )
            try:
                db.flush()
            except IntegrityError:
                # A concurrent delivery of the same event won the race: undo ours entirely.
                db.rollback()
                outcome, detail = "duplicate", "already received"
        db.add(
            _delivery(
                ctx.workspace_id,
                outcome,
                detail=detail,
                body=body,
                event_id=ctx.event_id,
                event_type=ctx.event_type,
                mode=ctx.mode,
            )
        )
        return outcome, detail


def _already_recorded(db: Session, ctx: EventContext) -> bool:
    return (
        db.exec(
            select(StripeEvent.id).where(
                StripeEvent.workspace_id == ctx.workspace_id, StripeEvent.event_id == ctx.event_id
            )
        ).first()
        is not None
    )


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
