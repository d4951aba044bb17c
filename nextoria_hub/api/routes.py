"""Starlette routes mounted in front of the Reflex backend: health and Stripe webhooks."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from functools import partial

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nextoria_hub.api import connect_routes, session_routes
from nextoria_hub.api.branding import workspace_logo
from nextoria_hub.api.documents import export_csv, invoice_document
from nextoria_hub.db import get_engine, session_scope
from nextoria_hub.payments.stripe_connection import webhook_secrets
from nextoria_hub.payments.webhooks import MAX_BODY_BYTES, delivery_headers, receive_webhook
from nextoria_hub.stripe_gateway import WEBHOOK_TOLERANCE_SECONDS
from nextoria_hub.tenancy import workspace_for_host
from nextoria_hub.webhooks_health import inbox_health

log = logging.getLogger(__name__)


def _inbox_figures() -> dict[str, int | None]:
    """Inbox depth and the freshest worker heartbeat's age: counts only, no tenant data."""
    with session_scope() as db:
        figures = inbox_health(db)
    return {
        "inbox_depth": figures.inbox_depth,
        "inbox_oldest_seconds": figures.oldest_unapplied_seconds,
        "worker_heartbeat_seconds": figures.worker_heartbeat_seconds,
    }


async def health(_request: Request) -> JSONResponse:
    """Liveness plus a round trip to the database, and how the webhook inbox keeps up."""
    inbox: dict[str, int | None] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
        inbox = await run_in_threadpool(_inbox_figures)
    except Exception as err:  # report any database failure as unhealthy
        log.warning("health check: database unavailable: %s", type(err).__name__)
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse(
        {"status": "ok" if status == 200 else "degraded", "database": database, **inbox}, status
    )


class BodyTooLarge(Exception):
    pass


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


_V1 = re.compile(r"^[0-9a-f]{64}$")
# Posts that no Stripe delivery could be, per workspace id: counted here, never stored.
junk_posts: Counter[int] = Counter()
_junk_lock = threading.Lock()
_junk_logged_at: dict[int, float] = {}
_JUNK_LOG_EVERY = 60.0


def looks_signed(header: str, now: float) -> bool:
    """Whether ``Stripe-Signature`` has Stripe's shape: a fresh ``t`` and a v1 HMAC.

    Only such a post can be a real delivery that failed verification (a rotated secret not
    re-entered), which is what the "last signature failure" figure is there to show. A
    post without it is junk: stored, it would only let anyone reset that figure and grow
    the table.
    """
    timestamps, macs = [], []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            macs.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or len(timestamps[0]) > 12:
        return False
    if not any(_V1.match(mac) for mac in macs):
        return False
    return abs(now - int(timestamps[0])) <= WEBHOOK_TOLERANCE_SECONDS


def _count_junk(workspace_id: int) -> None:
    """Count an unsigned post in memory; log the running count at most once a minute."""
    now = time.monotonic()
    with _junk_lock:
        junk_posts[workspace_id] += 1
        count = junk_posts[workspace_id]
        if now - _junk_logged_at.get(workspace_id, -_JUNK_LOG_EVERY) < _JUNK_LOG_EVERY:
            return
        _junk_logged_at[workspace_id] = now
    log.info("webhook route: %d unsigned post(s) for workspace %s so far", count, workspace_id)


async def stripe_webhook(request: Request) -> JSONResponse:
    """``POST /api/webhooks/stripe`` on a workspace's host."""
    host = request.headers.get("host", "")

    def find_workspace() -> tuple[int | None, list[tuple[str, str]]]:
        """The workspace and its signing secrets, in one short read."""
        with session_scope() as db:
            ws = workspace_for_host(db, host, former=True)  # a former address: 30 days
            if ws is None:
                return None, []
            return ws.id, webhook_secrets(db, ws.id)  # type: ignore[arg-type]

    workspace_id, secrets = await run_in_threadpool(find_workspace)
    if workspace_id is None:
        return JSONResponse({"error": "no workspace at this address"}, 404)
    try:
        payload = await _read_capped(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return JSONResponse({"error": "body over 1 MiB"}, 413)
    signature = request.headers.get("stripe-signature", "")
    if not looks_signed(signature, time.time()):
        _count_junk(workspace_id)
        return JSONResponse({"outcome": "bad_signature", "detail": "not signed by Stripe"}, 400)
    result = await run_in_threadpool(
        partial(
            receive_webhook,
            headers=delivery_headers(dict(request.headers)),
            source=request.client.host if request.client else "",
            secrets=secrets,
        ),
        workspace_id,
        payload,
        signature,
    )
    return JSONResponse({"outcome": result.outcome, "detail": result.detail}, result.status)


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/webhooks/stripe", stripe_webhook, methods=["POST"]),
            Route("/api/webhooks/stripe/connect", connect_routes.connect_webhook, methods=["POST"]),
            Route("/api/stripe/connect/callback", connect_routes.callback, methods=["GET"]),
            Route(
                "/api/stripe/onboarding/refresh",
                connect_routes.onboarding_refresh,
                methods=["GET"],
            ),
            Route("/api/session", session_routes.start, methods=["POST"]),
            Route("/api/session/end", session_routes.end, methods=["POST"]),
            Route("/api/invoices/{invoice_id}/{kind}.pdf", invoice_document, methods=["GET"]),
            Route("/api/exports/{kind}.csv", export_csv, methods=["GET"]),
            Route("/api/branding/logo.png", workspace_logo, methods=["GET"]),
        ]
    )
