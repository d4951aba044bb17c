"""Event creation (a snapshot of the object at emit time) and the events API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .api import Ctx, Params, created_filter, paginate, route
from .fixtures import build
from .ids import new_id
from .store import Scope, public

if TYPE_CHECKING:
    from .sandbox import Sandbox

# The version stripe-python 16.1.0 pins (stripe._api_version._ApiVersion.CURRENT).
API_VERSION = "2026-10-28.endive"


def endpoint_wants(endpoint: dict[str, Any], type_: str) -> bool:
    events = endpoint.get("enabled_events") or []
    return endpoint.get("status") == "enabled" and ("*" in events or type_ in events)


def is_connect(endpoint: dict[str, Any]) -> bool:
    return bool((endpoint.get("_sb") or {}).get("connect"))


def connect_targets(
    sb: Sandbox, scope: Scope, type_: str, platforms: list[str] | None = None
) -> list[tuple[Scope, dict[str, Any]]]:
    """The platforms' Connect endpoints (``connect: true``) that hear ``scope``'s event."""
    if platforms is None:
        acct = sb.store.accounts.get(scope.account) or {}
        platforms = sorted(acct.get("applications") or {})
    out = []
    for platform in platforms:
        pscope = Scope(platform, scope.livemode)
        for ep in sb.store.of_type(pscope, "webhook_endpoint"):
            if is_connect(ep) and endpoint_wants(ep, type_):
                out.append((pscope, ep))
    return out


def emit(
    sb: Sandbox,
    scope: Scope,
    type_: str,
    obj: dict[str, Any],
    request_id: str | None = None,
    idempotency_key: str | None = None,
    previous: dict[str, Any] | None = None,
    platforms: list[str] | None = None,
) -> dict[str, Any]:
    """Record an event and queue it for every enabled endpoint that listens for its type.

    A connected account's event also goes to its platforms' Connect endpoints, carrying
    ``account`` (``platforms`` overrides the account's current platforms, for the
    deauthorization event sent after the link is gone).
    """
    with sb.store.lock:
        endpoints = [
            e
            for e in sb.store.of_type(scope, "webhook_endpoint")
            if endpoint_wants(e, type_) and not is_connect(e)
        ]
        connect = connect_targets(sb, scope, type_, platforms)
        data: dict[str, Any] = {"object": public(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = build(
            "event",
            id=new_id("evt"),
            object="event",
            api_version=API_VERSION,
            created=int(time.time()),
            data=data,
            livemode=scope.livemode,
            pending_webhooks=len(endpoints) + len(connect),
            request={"id": request_id, "idempotency_key": idempotency_key},
            type=type_,
        )
        if connect or platforms is not None:
            event["account"] = scope.account
        sb.store.put(scope, event)
    for endpoint in endpoints:
        sb.deliverer.enqueue(scope, event["id"], endpoint["id"])
    for pscope, endpoint in connect:
        sb.deliverer.enqueue(scope, event["id"], endpoint["id"], endpoint_scope=pscope)
    return event


@route("GET", "/v1/events", "events")
def list_events(ctx: Ctx, p: Params) -> dict[str, Any]:
    events = ctx.sb.store.of_type(ctx.scope, "event")
    type_ = p.str("type")
    if type_:
        if type_.endswith("*"):
            events = [e for e in events if e["type"].startswith(type_[:-1])]
        else:
            events = [e for e in events if e["type"] == type_]
    types = p.list("types")
    if types:
        events = [e for e in events if e["type"] in types]
    events = created_filter(events, p)
    return paginate(events, p, "/v1/events")


@route("GET", "/v1/events/{id}", "events")
def get_event(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "event", "evt_"))
