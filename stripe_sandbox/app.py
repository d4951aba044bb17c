"""The Starlette application: ``/v1`` (Stripe's API), ``/_sandbox`` (controls), ``/c`` (pages)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import connect, control, hosted, onboarding, resources, validation  # noqa: F401  (registers API routes)
from .api import Ctx, Params, expand, match, path_exists
from .api import Route as ApiRoute
from .delivery import DeliveryConfig
from .errors import StripeError
from .events import API_VERSION
from .forms import parse_params
from .ids import new_id
from .sandbox import Sandbox

log = logging.getLogger("stripe_sandbox")


def _json(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _fingerprint(method: str, path: str, raw: str) -> str:
    return json.dumps([method, path, sorted(parse_qsl(raw, keep_blank_values=True))])


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def rate_limit_error() -> StripeError:
    """Stripe's answer to too many requests (also used by the 429 failure mode)."""
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


async def api(request: Request) -> Response:
    """Every ``/v1`` call: auth, chaos, idempotency, dispatch, expansion."""
    sb: Sandbox = request.app.state.sandbox
    request_id = new_id("req", 14)
    headers = {
        "Request-Id": request_id,
        "Stripe-Version": request.headers.get("stripe-version") or API_VERSION,
        "Access-Control-Allow-Origin": "*",
    }
    method, path = request.method, request.url.path
    body_raw = (await request.body()).decode() if method == "POST" else ""
    query_raw = request.url.query
    idem_key = request.headers.get("idempotency-key") if method == "POST" else None
    scope = None
    try:
        record = sb.authenticate(request.headers.get("authorization"))
        scope = sb.check_account_header(record, request.headers.get("stripe-account"))
        if not sb.limiter.admit(scope, sb.chaos.rate_limit_per_second):
            raise rate_limit_error()
        found = match(method, path)
        if found is None:
            message = (
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/."
            )
            if path_exists(path):
                message = (
                    f"Unrecognized request URL ({method}: {path}). This method is not allowed."
                )
            raise StripeError(404, "invalid_request_error", message)
        route, path_args = found
        sb.authorize(record, route.permission, write=method != "GET")
        params = parse_params(query_raw)
        params.update(parse_params(body_raw))
        # Before the idempotency claim: a refused request leaves no record, as in Stripe.
        validation.check(method, route.path, params)
        if idem_key:
            fingerprint = _fingerprint(method, path, body_raw)
            replay = sb.idem_claim(scope, idem_key, fingerprint, request_id)
            if replay is not None:
                headers["Idempotent-Replayed"] = "true"
                headers["Original-Request"] = replay.request_id
                return _json(replay.status, replay.body, headers)
        ctx = Ctx(sb, scope, base_url(request), request_id, idem_key, record)
        try:
            status, payload = await _run(ctx, route, path_args, params)
        except BaseException:
            if idem_key:
                sb.idem_finish(scope, idem_key, 0, b"", keep=False)
            raise
        if idem_key:
            headers["Idempotency-Key"] = idem_key
            sb.idem_finish(scope, idem_key, status, payload, keep=status in {200, 402})
        return _json(status, payload, headers)
    except StripeError as exc:
        headers.update(exc.headers)
        return _json(exc.status, sb.dump(exc.body()), headers)


async def _run(
    ctx: Ctx, route: ApiRoute, path_args: dict[str, str], params: dict[str, Any]
) -> tuple[int, bytes]:
    """Apply chaos settings, then run the handler in a worker thread under the store lock."""
    sb = ctx.sb
    chaos = sb.chaos
    if chaos.latency_ms:
        await asyncio.sleep(chaos.latency_ms / 1000)
    if chaos.failure_rate and chaos.rng.random() < chaos.failure_rate:
        if chaos.failure_mode == "hang":
            await asyncio.sleep(chaos.hang_seconds)
        if chaos.failure_mode == "429":
            error = rate_limit_error()
        else:
            error = StripeError(500, "api_error", "An unknown error occurred (sandbox chaos).")
        return error.status, sb.dump(error.body())
    expand_paths = [str(x) for x in Params(params).list("expand")]
    handler_params = Params({k: v for k, v in params.items() if k != "expand"})

    def call() -> tuple[int, bytes]:
        with sb.store.lock:
            try:
                result = route.handler(ctx, handler_params, **path_args)
                result = expand(ctx, result, expand_paths)
                return 200, sb.dump(result)
            except StripeError as exc:
                return exc.status, sb.dump(exc.body())
            except Exception:
                log.exception("sandbox handler failed: %s", route.handler.__name__)
                error = StripeError(500, "api_error", "An unknown error occurred in the sandbox.")
                return 500, sb.dump(error.body())

    return await run_in_threadpool(call)


_LOOPBACK_HOST = re.compile(r"^(?:127\.0\.0\.1|localhost)(?::\d{1,5})?$", re.IGNORECASE)


def local_json_only(app: ASGIApp) -> ASGIApp:
    """Guard a control route: loopback ``Host`` only, and a POST must be ``application/json``.

    A web page can make the browser send a simple cross-site POST (``text/plain``, a form)
    to 127.0.0.1, or rebind its own name to it (DNS rebinding, where the Host is its name):
    neither reaches a control. Applied to every route ``control.routes()`` returns.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            refusal = None
            if not _LOOPBACK_HOST.match(headers.get("host", "")):
                refusal = (403, "the sandbox controls answer only Host 127.0.0.1 or localhost")
            elif scope["method"] == "POST":
                media_type = headers.get("content-type", "").split(";")[0].strip().lower()
                if media_type != "application/json":
                    refusal = (415, "send the sandbox controls application/json")
            if refusal is not None:
                body = {"error": {"message": refusal[1]}}
                await JSONResponse(body, status_code=refusal[0])(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def _guarded_controls() -> list[Route]:
    routes = control.routes() + connect.control_routes()
    for route in routes:
        route.app = local_json_only(route.app)
    return routes


def create_app(
    db_path: str | None = None,
    delivery: DeliveryConfig | None = None,
    bank_settle_seconds: float = 5.0,
) -> Starlette:
    """A new sandbox app with its own state (in memory, or in the SQLite file ``db_path``)."""
    sandbox = Sandbox(db_path, delivery, bank_settle_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sandbox.start()
        try:
            yield
        finally:
            sandbox.stop()

    methods = ["GET", "POST", "DELETE"]
    routes = [
        Route("/v1/{path:path}", api, methods=methods),
        *_guarded_controls(),
        *hosted.routes(),
        *connect.routes(),
        *onboarding.routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return app
