"""Webhook endpoints; the signing secret is shown only in the create response."""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, paginate, route
from ..errors import invalid
from ..events import API_VERSION
from ..fixtures import build
from ..ids import new_id, token
from ..store import private, public


def _events(p: Params) -> list[str]:
    events = [str(e) for e in p.list("enabled_events")]
    if not events:
        raise invalid("Missing required param: enabled_events.", param="enabled_events")
    return events


@route("POST", "/v1/webhook_endpoints", "webhook_endpoints")
def create_endpoint(ctx: Ctx, p: Params) -> dict[str, Any]:
    url = p.str("url", required=True) or ""
    if not url.startswith(("http://", "https://")):
        raise invalid("Invalid URL: must be an http(s) URL.", param="url", code="url_invalid")
    secret = f"whsec_{token(32)}"
    ep = build("webhook_endpoint", id=new_id("we"), object="webhook_endpoint")
    ep.update(
        url=url,
        enabled_events=_events(p),
        description=p.str("description"),
        metadata=p.metadata(),
        api_version=p.str("api_version") or API_VERSION,
        created=ctx.now,
        livemode=ctx.livemode,
        status="enabled",
        application=None,
    )
    # A Connect endpoint hears the connected accounts' events, never the platform's own.
    private(ep)["connect"] = bool(p.bool("connect")) if p.has("connect") else False
    private(ep)["secret"] = secret
    ctx.save(ep)
    return {**public(ep), "secret": secret}


@route("GET", "/v1/webhook_endpoints/{id}", "webhook_endpoints")
def get_endpoint(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return public(ctx.get(id, "webhook_endpoint", "we_"))


@route("POST", "/v1/webhook_endpoints/{id}", "webhook_endpoints")
def update_endpoint(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    ep = ctx.get(id, "webhook_endpoint", "we_")
    if p.str("url"):
        ep["url"] = p.str("url")
    if p.has("enabled_events"):
        ep["enabled_events"] = _events(p)
    if p.has("description"):
        ep["description"] = p.str("description")
    if p.has("disabled"):
        ep["status"] = "disabled" if p.bool("disabled") else "enabled"
    ep["metadata"] = p.metadata(current=ep.get("metadata"))
    ctx.save(ep)
    return public(ep)


@route("DELETE", "/v1/webhook_endpoints/{id}", "webhook_endpoints")
def delete_endpoint(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    ctx.get(id, "webhook_endpoint", "we_")
    ctx.sb.store.delete(ctx.scope, id)
    return {"id": id, "object": "webhook_endpoint", "deleted": True}


@route("GET", "/v1/webhook_endpoints", "webhook_endpoints")
def list_endpoints(ctx: Ctx, p: Params) -> dict[str, Any]:
    return paginate(ctx.sb.store.of_type(ctx.scope, "webhook_endpoint"), p, "/v1/webhook_endpoints")
