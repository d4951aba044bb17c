"""Stripe Connect: the OAuth callback and the one Connect webhook endpoint (at the apex), and
the onboarding ``refresh_url`` (on the workspace's host, where the admin's cookie is)."""

from __future__ import annotations

import time
from functools import partial
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from nextoria_hub.api.session_cookie import request_token
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.payments import stripe_connect, stripe_onboarding
from nextoria_hub.payments.webhooks import (
    MAX_BODY_BYTES,
    delivery_headers,
    receive_connect_webhook,
)
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import resolve_actor, slug_from_host

INTEGRATIONS_PATH = "/settings/integrations"


def _at_apex(request: Request) -> bool:
    return slug_from_host(request.headers.get("host", "")) is None


async def callback(request: Request) -> Response:
    """``GET /api/stripe/connect/callback?code=…&state=…`` (or ``error=…``) from Stripe."""
    if not _at_apex(request):
        return JSONResponse({"error": "the Connect callback lives at the apex"}, 404)
    q = request.query_params

    def finish() -> stripe_connect.CallbackResult:
        with session_scope() as db:
            return stripe_connect.complete(
                db, state=q.get("state", ""), code=q.get("code", ""), error=q.get("error", "")
            )

    result = await run_in_threadpool(finish)
    if not result.workspace_slug:
        return JSONResponse({"error": result.message}, 400)
    outcome = {"stripe_connect": "connected" if result.ok else "failed"}
    if not result.ok:
        outcome["message"] = result.message
    url = get_settings().workspace_url(result.workspace_slug, INTEGRATIONS_PATH)
    return RedirectResponse(f"{url}?{urlencode(outcome)}", status_code=303)


async def connect_webhook(request: Request) -> JSONResponse:
    """``POST /api/webhooks/stripe/connect``: events of every connected workspace."""
    from nextoria_hub.api.routes import BodyTooLarge, _read_capped, looks_signed

    if not _at_apex(request):
        return JSONResponse({"error": "the Connect webhook lives at the apex"}, 404)
    try:
        payload = await _read_capped(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return JSONResponse({"error": "body over 1 MiB"}, 413)
    signature = request.headers.get("stripe-signature", "")
    if not looks_signed(signature, time.time()):
        return JSONResponse({"outcome": "bad_signature", "detail": "not signed by Stripe"}, 400)
    result = await run_in_threadpool(
        partial(
            receive_connect_webhook,
            headers=delivery_headers(dict(request.headers)),
            source=request.client.host if request.client else "",
        ),
        payload,
        signature,
    )
    return JSONResponse({"outcome": result.outcome, "detail": result.detail}, result.status)


async def onboarding_refresh(request: Request) -> Response:
    """``GET /api/stripe/onboarding/refresh``: Stripe's ``refresh_url`` (the account link was
    used or expired): a new link for the signed-in admin, or back to the page with why not."""
    if _at_apex(request):
        return JSONResponse({"error": "not found"}, 404)
    host = request.headers.get("host", "")
    token = request_token(request.headers.get("cookie", ""))

    def fresh_link() -> str:
        with session_scope() as db:
            workspace, actor = resolve_actor(db, host, token)
            if workspace is None:
                return ""
            if actor is None:
                return f"/login?next={INTEGRATIONS_PATH}"
            try:
                return stripe_onboarding.continue_onboarding(db, actor)
            except NextoriaError as err:
                query = urlencode({"stripe_onboarding": "failed", "message": err.message})
                return f"{INTEGRATIONS_PATH}?{query}"

    target = await run_in_threadpool(fresh_link)
    if not target:
        return JSONResponse({"error": "not found"}, 404)
    response = RedirectResponse(target, status_code=303)
    response.headers["cache-control"] = "no-store"
    return response
