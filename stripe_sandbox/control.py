"""Test controls under ``/_sandbox/`` (JSON in, JSON out), for test suites and the CLI.

They act on any account without an API key: the server listens on loopback only.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import Ctx
from .errors import StripeError
from .events import endpoint_wants
from .ids import new_id
from .resources import billing, checkout, disputes
from .resources.payment_intents import authenticate
from .resources.setup_intents import authenticate_si
from .sandbox import Sandbox
from .store import Scope, public


def _sb(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status)


def _ctx(request: Request, scope: Scope) -> Ctx:
    base = str(request.base_url).rstrip("/")
    return Ctx(_sb(request), scope, base, new_id("req", 14))


def _locate(
    request: Request, obj_id: str, prefix: str | tuple[str, ...]
) -> tuple[Scope, dict[str, Any]]:
    found = _sb(request).store.locate(obj_id)
    if found is None or not obj_id.startswith(prefix):
        raise LookupError(f"no such object: {obj_id}")
    return found


def _endpoint(fn: Any) -> Any:
    """Wrap a control so bad input becomes a JSON 400/404 instead of a crash."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)  # type: ignore[no-any-return]
        except LookupError as exc:
            return _error(404, str(exc).strip("'\""))
        except StripeError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, f"{type(exc).__name__}: {exc}")

    return wrapped


@_endpoint
async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


@_endpoint
async def create_account(request: Request) -> Response:
    body = await _body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("name is required")
    platform = bool(body.get("platform", False))
    return JSONResponse(_sb(request).create_account(name, body.get("url"), platform=platform))


@_endpoint
async def list_accounts(request: Request) -> Response:
    sb = _sb(request)
    return JSONResponse({"data": [sb.account_object(a) for a in sb.store.accounts]})


def _account_id(request: Request) -> str:
    acct = request.path_params["account"]
    if acct not in _sb(request).store.accounts:
        raise LookupError(f"no such account: {acct}")
    return str(acct)


@_endpoint
async def get_account(request: Request) -> Response:
    sb, acct = _sb(request), _account_id(request)
    keys = sb.account_keys(acct)
    client_id = sb.store.accounts[acct].get("client_id")
    if client_id:  # a Connect platform, as the create answer says
        keys["client_id"] = client_id
    return JSONResponse({"account": sb.account_object(acct), "keys": keys})


@_endpoint
async def readiness(request: Request) -> Response:
    sb, acct = _sb(request), _account_id(request)
    body = await _body(request)
    with sb.store.lock:
        record = sb.store.accounts[acct]
        for field in ("charges_enabled", "details_submitted", "payouts_enabled"):
            if field in body:
                record[field] = bool(body[field])
        if "currently_due" in body:
            record["currently_due"] = [str(x) for x in body["currently_due"]]
        sb.store.save_account(record)
        account = sb.account_object(acct)
    for live in (False, True):
        _ctx(request, Scope(acct, live)).emit("account.updated", account)
    return JSONResponse(account)


@_endpoint
async def restricted_key(request: Request) -> Response:
    sb, acct = _sb(request), _account_id(request)
    body = await _body(request)
    mode = body.get("mode", "test")
    if mode not in {"test", "live"}:
        raise ValueError("mode must be test or live")
    record = sb.create_restricted_key(acct, mode == "live", dict(body.get("permissions") or {}))
    return JSONResponse({k: record[k] for k in ("key", "account", "livemode", "permissions")})


@_endpoint
async def revoke_key(request: Request) -> Response:
    body = await _body(request)
    key = str(body.get("key", ""))
    if not _sb(request).revoke_key(key):
        raise LookupError("no such key")
    return JSONResponse({"key": key, "revoked": True})


@_endpoint
async def ledger(request: Request) -> Response:
    sb, acct = _sb(request), _account_id(request)
    mode = request.query_params.get("mode", "test")
    scope = Scope(acct, mode == "live")
    rows = [
        {
            "id": c["id"],
            "amount": c["amount"],
            "currency": c["currency"],
            "status": c["status"],
            "payment_intent": c.get("payment_intent"),
            "customer": c.get("customer"),
            "metadata": c.get("metadata") or {},
            "refunded": c.get("refunded", False),
            "amount_refunded": c.get("amount_refunded", 0),
            "created": c["created"],
        }
        for c in sb.store.of_type(scope, "charge")
    ]
    return JSONResponse(
        {"object": "list", "account": acct, "livemode": scope.livemode, "data": rows}
    )


def _queue(sb: Sandbox, scope: Scope, event: dict[str, Any], endpoint: str | None) -> list[str]:
    """Force-queue ``event`` to one endpoint, or to all that listen for its type."""
    if endpoint:
        ep = sb.store.get(scope, endpoint)
        if ep is None:
            raise LookupError(f"no such webhook endpoint in the event's account: {endpoint}")
        targets = [ep]
    else:
        targets = [
            e
            for e in sb.store.of_type(scope, "webhook_endpoint")
            if endpoint_wants(e, event["type"])
        ]
    for ep in targets:
        sb.deliverer.enqueue(scope, event["id"], ep["id"], forced=True)
    return [ep["id"] for ep in targets]


@_endpoint
async def redeliver(request: Request) -> Response:
    body = await _body(request)
    scope, event = _locate(request, request.path_params["event"], "evt_")
    queued = _queue(_sb(request), scope, event, body.get("endpoint"))
    return JSONResponse({"event": event["id"], "queued": queued})


@_endpoint
async def deliver(request: Request) -> Response:
    """Deliver chosen events in the given order (each twice with ``twice``), ignoring pause."""
    body = await _body(request)
    ids = [str(e) for e in body.get("events") or []]
    located = [_locate(request, e, "evt_") for e in ids]
    times = 2 if body.get("twice") else 1
    queued = []
    for scope, event in located:
        for _ in range(times):
            for ep in _queue(_sb(request), scope, event, body.get("endpoint")):
                queued.append({"event": event["id"], "endpoint": ep})
    return JSONResponse({"queued": queued})


@_endpoint
async def pause(request: Request) -> Response:
    _sb(request).deliverer.pause()
    return JSONResponse(_sb(request).deliverer.status())


@_endpoint
async def release(request: Request) -> Response:
    body = await _body(request)
    count = _sb(request).deliverer.release(bool(body.get("discard")))
    return JSONResponse({**_sb(request).deliverer.status(), "released": count})


@_endpoint
async def webhook_status(request: Request) -> Response:
    return JSONResponse(_sb(request).deliverer.status())


@_endpoint
async def attempts(request: Request) -> Response:
    rows = list(_sb(request).deliverer.attempts)
    for field in ("event", "endpoint", "type"):
        value = request.query_params.get(field)
        if value:
            rows = [r for r in rows if r[field] == value]
    return JSONResponse({"data": rows})


@_endpoint
async def webhook_config(request: Request) -> Response:
    config = _sb(request).deliverer.config
    body = await _body(request)
    for field in ("initial_delay", "max_delay", "timeout"):
        if field in body:
            setattr(config, field, float(body[field]))
    if "max_attempts" in body:
        config.max_attempts = int(body["max_attempts"])
    return JSONResponse(vars(config))


@_endpoint
async def chaos(request: Request) -> Response:
    state = _sb(request).chaos
    if request.method == "DELETE":
        state.latency_ms, state.failure_rate, state.rate_limit_per_second = 0, 0.0, 0.0
        _sb(request).limiter.reset_buckets()
    elif request.method == "POST":
        body = await _body(request)
        if "latency_ms" in body:
            state.latency_ms = max(0, int(body["latency_ms"]))
        if "failure_rate" in body:
            rate = float(body["failure_rate"])
            if not 0 <= rate <= 1:
                raise ValueError("failure_rate must be between 0 and 1")
            state.failure_rate = rate
        if "failure_mode" in body:
            mode = str(body["failure_mode"])
            if mode not in {"500", "429", "hang"}:
                raise ValueError("failure_mode must be 500, 429 or hang")
            state.failure_mode = mode
        if "hang_seconds" in body:
            state.hang_seconds = float(body["hang_seconds"])
        if "seed" in body:
            state.rng.seed(body["seed"])
        if "rate_limit_per_second" in body:
            limit = float(body["rate_limit_per_second"])
            if limit < 0:
                raise ValueError("rate_limit_per_second must be 0 (off) or more")
            state.rate_limit_per_second = limit
            _sb(request).limiter.reset_buckets()  # every account starts with a full bucket
    return JSONResponse(state.public())


@_endpoint
async def request_counts(request: Request) -> Response:
    """How many ``/v1`` requests each account and mode made, and how many got a 429."""
    return JSONResponse({"object": "list", "data": _sb(request).limiter.counts()})


@_endpoint
async def advance_subscription(request: Request) -> Response:
    scope, sub = _locate(request, request.path_params["sub"], "sub_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        invoice = billing.advance(ctx, sub)
        return JSONResponse(
            {"subscription": public(sub), "invoice": public(invoice) if invoice else None}
        )


@_endpoint
async def cancel_subscription(request: Request) -> Response:
    scope, sub = _locate(request, request.path_params["sub"], "sub_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        if sub["status"] != "canceled":
            billing.cancel(ctx, sub)
        return JSONResponse(public(sub))


@_endpoint
async def authenticate_intent(request: Request) -> Response:
    body = await _body(request)
    outcome = body.get("outcome", "complete")
    if outcome not in {"complete", "fail"}:
        raise ValueError("outcome must be complete or fail")
    obj_id = request.path_params["id"]
    scope, obj = _locate(request, obj_id, ("pi_", "seti_"))
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        if obj_id.startswith("pi_"):
            authenticate(ctx, obj, outcome == "complete")
        else:
            authenticate_si(ctx, obj, outcome == "complete")
        return JSONResponse(public(obj))


@_endpoint
async def settle_intent(request: Request) -> Response:
    """Settle a processing bank debit now (as its bank would after a few days)."""
    scope, obj = _locate(request, request.path_params["id"], "pi_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        if not ctx.sb.settler.pending(obj):
            raise ValueError(f"{obj['id']} has no settlement pending (status {obj['status']})")
        return JSONResponse(public(ctx.sb.settler.settle(ctx, obj)))


@_endpoint
async def settle_refund(request: Request) -> Response:
    """Fail a refund of the refund-fail test card now (instead of after the settle delay)."""
    scope, obj = _locate(request, request.path_params["id"], "re_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        if not ctx.sb.settler.pending(obj):
            raise ValueError(f"{obj['id']} has no failure pending (status {obj['status']})")
        return JSONResponse(public(ctx.sb.settler.settle(ctx, obj)))


@_endpoint
async def close_dispute(request: Request) -> Response:
    body = await _body(request)
    scope, obj = _locate(request, request.path_params["id"], "dp_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        return JSONResponse(public(disputes.close(ctx, obj, str(body.get("outcome", "")))))


@_endpoint
async def expire_session_now(request: Request) -> Response:
    scope, obj = _locate(request, request.path_params["id"], "cs_")
    ctx = _ctx(request, scope)
    with ctx.sb.store.lock:
        return JSONResponse(public(checkout.expire_now(ctx, obj)))


def routes() -> list[Route]:
    p = "/_sandbox"
    return [
        Route(f"{p}/health", health),
        Route(f"{p}/accounts", create_account, methods=["POST"]),
        Route(f"{p}/accounts", list_accounts, methods=["GET"]),
        Route(f"{p}/accounts/{{account}}", get_account),
        Route(f"{p}/accounts/{{account}}/readiness", readiness, methods=["POST"]),
        Route(f"{p}/accounts/{{account}}/restricted_keys", restricted_key, methods=["POST"]),
        Route(f"{p}/accounts/{{account}}/ledger", ledger),
        Route(f"{p}/keys/revoke", revoke_key, methods=["POST"]),
        Route(f"{p}/events/deliver", deliver, methods=["POST"]),
        Route(f"{p}/events/{{event}}/redeliver", redeliver, methods=["POST"]),
        Route(f"{p}/webhooks", webhook_status),
        Route(f"{p}/webhooks/pause", pause, methods=["POST"]),
        Route(f"{p}/webhooks/release", release, methods=["POST"]),
        Route(f"{p}/webhooks/attempts", attempts),
        Route(f"{p}/webhooks/config", webhook_config, methods=["GET", "POST"]),
        Route(f"{p}/chaos", chaos, methods=["GET", "POST", "DELETE"]),
        Route(f"{p}/requests", request_counts),
        Route(f"{p}/subscriptions/{{sub}}/advance", advance_subscription, methods=["POST"]),
        Route(f"{p}/subscriptions/{{sub}}/cancel", cancel_subscription, methods=["POST"]),
        Route(f"{p}/intents/{{id}}/authenticate", authenticate_intent, methods=["POST"]),
        Route(f"{p}/intents/{{id}}/settle", settle_intent, methods=["POST"]),
        Route(f"{p}/refunds/{{id}}/settle", settle_refund, methods=["POST"]),
        Route(f"{p}/disputes/{{id}}/close", close_dispute, methods=["POST"]),
        Route(f"{p}/checkout/sessions/{{id}}/expire_now", expire_session_now, methods=["POST"]),
    ]
