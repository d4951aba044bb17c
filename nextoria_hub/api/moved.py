"""A workspace's former address answers with a redirect to its new one (for 30 days).

Only ``/api/`` requests pass through untouched there: Stripe keeps delivering webhooks to
the old URL until the endpoint is moved, and its route still accepts them.
"""

from __future__ import annotations

import time

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import Workspace, WorkspaceAlias
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import moved_workspace, slug_from_host

# Former addresses are rare: every page and asset request checks a set cached for a short
# while, and only a request to one of them asks the database where the workspace went.
ALIAS_TTL = 30.0
_aliases: tuple[float, frozenset[str]] = (0.0, frozenset())


def forget_aliases() -> None:
    """Drop the cached set (after an address change in this process)."""
    global _aliases
    _aliases = (0.0, frozenset())


def _alias_slugs() -> frozenset[str]:
    global _aliases
    loaded_at, slugs = _aliases
    if time.monotonic() - loaded_at < ALIAS_TTL and loaded_at:
        return slugs
    with session_scope() as db:
        rows = db.exec(select(WorkspaceAlias.slug).where(WorkspaceAlias.expires_at > utcnow()))
        slugs = frozenset(rows)
    _aliases = (time.monotonic(), slugs)
    return slugs


def _new_slug(host: str) -> str | None:
    slug = slug_from_host(host)
    if slug is None or slug not in _alias_slugs():
        return None
    with session_scope() as db:
        if db.exec(select(Workspace.id).where(Workspace.slug == slug)).first() is not None:
            return None  # the address was taken again meanwhile
        moved = moved_workspace(db, slug)
        return moved.slug if moved else None


class MovedAddressMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        new_slug = await run_in_threadpool(_new_slug, host)
        if new_slug is None:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", "/"))
        query = scope.get("query_string", b"").decode("latin-1")
        url = get_settings().workspace_url(new_slug, path + (f"?{query}" if query else ""))
        await RedirectResponse(url, status_code=301)(scope, receive, send)
