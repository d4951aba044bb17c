"""``GET /api/branding/logo.png``: the logo of the workspace the host names (its clients see
it on the portal and sign-in pages, so no session is needed), or 404."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nextoria_hub.accounts.branding import logo_png
from nextoria_hub.db import session_scope
from nextoria_hub.models.ids import require_id
from nextoria_hub.tenancy import workspace_for_host


def _logo_for(host: str) -> bytes | None:
    with session_scope() as db:
        workspace = workspace_for_host(db, host)
        return None if workspace is None else logo_png(db, require_id(workspace))


async def workspace_logo(request: Request) -> Response:
    data = await run_in_threadpool(_logo_for, request.headers.get("host", ""))
    if data is None:
        return JSONResponse({"error": "not found"}, 404)
    return Response(
        data,
        media_type="image/png",  # always re-encoded as a PNG by accounts/branding.py
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
