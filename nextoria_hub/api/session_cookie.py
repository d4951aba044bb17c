"""The session cookie: set and cleared by our own HTTP routes, read from the websocket's handshake.

``rx.Cookie`` is written by the page's script, so it can never be HttpOnly, and a state
var is pickled to disk or Redis. So the browser gets the session token only in a
``Set-Cookie`` of ``POST /api/session`` (HttpOnly, SameSite=Lax, host-only, Secure on
https), in exchange for a short-lived single-use grant the sign-in handler issued. The
websocket handshake then carries the cookie; :class:`HandshakeCookie` moves it out of the
headers Reflex copies into state (``router.headers``) into the ASGI scope, where
:func:`token_of` finds it for each event by the socket's id. A Reflex client token alone
(the ``token`` in the websocket URL) therefore resumes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from nextoria_hub.settings import get_settings

SESSION_COOKIE = "nx_session"
SCOPE_KEY = "nextoria.session"
# The socket.io endpoint Reflex serves its events on.
EVENT_PATH = "/_event"


def cookie_header(token: str, *, max_age: int) -> str:
    """The ``Set-Cookie`` value for ``token`` (empty with ``max_age=0`` to clear it).

    No ``Domain``: a host-only cookie never goes to another workspace's subdomain.
    """
    parts = [
        f"{SESSION_COOKIE}={token}",
        "Path=/",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if get_settings().public_scheme == "https":
        parts.append("Secure")
    return "; ".join(parts)


def split_cookie(raw: str) -> tuple[str, str]:
    """``(session token, the cookie header without it)`` from a ``Cookie`` header."""
    token, kept = "", []
    for piece in raw.split(";"):
        name, sep, value = piece.strip().partition("=")
        if not sep:
            if piece.strip():
                kept.append(piece.strip())
            continue
        if name == SESSION_COOKIE:
            token = token or value.strip().strip('"')
        else:
            kept.append(piece.strip())
    return token, "; ".join(kept)


def request_token(raw_cookie: str) -> str:
    """The session token of an HTTP request's ``Cookie`` header ("" if none)."""
    try:
        jar = SimpleCookie(raw_cookie)
    except CookieError:
        return split_cookie(raw_cookie)[0]
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else ""


class HandshakeCookie:
    """ASGI middleware: on Reflex's event socket, take the session cookie out of the headers.

    The token goes to ``scope[SCOPE_KEY]`` (memory of this worker, for the socket's life);
    the headers Reflex stores in state (and pickles) no longer hold it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("websocket", "http") and scope.get("path", "").startswith(EVENT_PATH):
            token, headers = "", []
            for name, value in scope.get("headers", []):
                if name == b"cookie":
                    found, rest = split_cookie(value.decode("latin-1"))
                    token = token or found
                    if rest:
                        headers.append((name, rest.encode("latin-1")))
                else:
                    headers.append((name, value))
            scope = dict(scope, headers=headers)
            scope[SCOPE_KEY] = token
        await self.app(scope, receive, send)


# How to find a socket's ASGI scope: bound by app.py once Reflex's socket server exists.
_environ_of: Callable[[str], dict[str, Any] | None] = lambda _sid: None  # noqa: E731


def bind(environ_of: Callable[[str], dict[str, Any] | None]) -> None:
    global _environ_of
    _environ_of = environ_of


def token_of(sid: str) -> str:
    """The session cookie the socket ``sid`` was opened with ("" when none or unknown)."""
    if not sid:
        return ""
    environ = _environ_of(sid)
    if not environ:
        return ""
    return str(environ.get("asgi.scope", {}).get(SCOPE_KEY, ""))
