"""``POST /api/session`` and ``POST /api/session/end``: the only places the session cookie is set.

The page submits a small form (a top-level navigation, so the next page load opens a new
websocket whose handshake carries the new cookie) and gets a 303 to where it was going.
Both routes answer only when the browser's ``Origin`` is this very host (any port, for the
dev server's two ports) and one of ours: another site can neither sign a visitor in with
its own grant nor sign them out.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from nextoria_hub.accounts.sessions import end_session, redeem_grant
from nextoria_hub.api.session_cookie import cookie_header, request_token
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound
from nextoria_hub.models.ids import require_id
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import origin_allowed, workspace_for_host

_MAX_BODY = 2048


def _page_origin(request: Request) -> str | None:
    """The page's origin when it is this host's (ports may differ in dev), else None."""
    origin = request.headers.get("origin", "")
    host = request.headers.get("host", "").rsplit(":", 1)[0].lower()
    if not origin_allowed(origin):
        return None
    origin_host = urlsplit(origin).hostname or ""
    return origin.rstrip("/") if origin_host == host and host else None


def safe_path(path: str) -> str:
    """A path on this host only: no scheme, no ``//`` or ``/\\`` (another host), no controls."""
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return ""
    if any(ch in path for ch in "\\\r\n\t") or len(path) > 512:
        return ""
    return path


def _max_age() -> int:
    return get_settings().session_max_hours * 3600


async def _form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _redirect(origin: str, path: str, cookie: str) -> Response:
    response = RedirectResponse(f"{origin}{path}", status_code=303)
    response.headers.append("set-cookie", cookie)
    response.headers["cache-control"] = "no-store"
    return response


async def start(request: Request) -> Response:
    """Exchange the grant of a sign-in for the session cookie; the session the browser had
    before on this host ends (a new id at each sign-in: no fixation)."""
    origin = _page_origin(request)
    if origin is None:
        return JSONResponse({"error": "not from this site"}, 403)
    form = await _form(request)
    if form is None:
        return JSONResponse({"error": "body too large"}, 413)
    grant, next_path = form.get("grant", ""), safe_path(form.get("next", ""))
    host = request.headers.get("host", "")
    previous = request_token(request.headers.get("cookie", ""))

    def exchange() -> str | None:
        with session_scope() as db:
            workspace = workspace_for_host(db, host)
            if workspace is None:
                return None
            token = redeem_grant(db, require_id(workspace), grant)
            if previous:
                end_session(db, previous)
            return token

    try:
        token = await run_in_threadpool(exchange)
    except NotFound:
        return RedirectResponse(f"{origin}/login", status_code=303)
    if token is None:
        return JSONResponse({"error": "no workspace at this address"}, 404)
    # Through the home page, which sends the user on (to ``next`` or their role's home) by
    # the page's own router: a page loaded directly would end on a trailing-slash URL.
    landing = f"/?next={quote(next_path, safe='/')}" if next_path else "/"
    return _redirect(origin, landing, cookie_header(token, max_age=_max_age()))


async def end(request: Request) -> Response:
    """Sign out: the session of the cookie ends everywhere, and the cookie is cleared."""
    origin = _page_origin(request)
    if origin is None:
        return JSONResponse({"error": "not from this site"}, 403)
    token = request_token(request.headers.get("cookie", ""))

    def finish() -> None:
        with session_scope() as db:
            end_session(db, token)

    if token:
        await run_in_threadpool(finish)
    return _redirect(origin, "/", cookie_header("", max_age=0))  # home sends on to /login
