"""Catch payments whose webhooks never arrived: ask Stripe about old open Checkout sessions."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import CheckoutSession
from nextoria_hub.payments.checkout import apply_session_state
from nextoria_hub.payments.stripe_connection import secret_key_for

log = logging.getLogger(__name__)


def reconcile_open_checkouts(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Settle paid sessions and expire dead ones; returns how many payments were settled.

    One transaction per session, so one bad session or workspace never blocks the rest.
    """
    cutoff = utcnow() - older_than
    with session_scope() as db:
        candidates = [
            (row.id, row.workspace_id, row.mode)
            for row in db.exec(
                select(CheckoutSession)
                .where(
                    CheckoutSession.status == "open",
                    CheckoutSession.purpose == "payment",
                    CheckoutSession.created_at <= cutoff,
                )
                .order_by(col(CheckoutSession.id))
            )
        ]
    settled = 0
    broken: set[tuple[int, str]] = set()
    for row_id, workspace_id, mode in candidates:
        if (workspace_id, mode) in broken:
            continue
        try:
            with session_scope() as db:
                row = db.get(CheckoutSession, row_id)
                if row is None or row.status != "open":
                    continue
                secret_key = secret_key_for(db, workspace_id, mode)
                session = gateway.retrieve_checkout_session(secret_key, row.session_id)
                if session is None:
                    row.status = "expired"
                    db.add(row)
                    continue
                if apply_session_state(db, row, session) == "settled":
                    settled += 1
        except (gateway.StripeKeyRejected, gateway.StripePermissionMissing, NextoriaError) as err:
            # The workspace's key is gone or refused: skip its sessions, keep going.
            log.warning(
                "reconciliation skipped workspace %s (%s mode): %s", workspace_id, mode, err.message
            )
            broken.add((workspace_id, mode))
    return settled
