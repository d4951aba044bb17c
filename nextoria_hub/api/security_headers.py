"""Security headers on every HTTP response: CSP, nosniff, referrer policy, no framing by others.

The production build's pages carry a few inline scripts of their own (React Router's
hydration, the theme switch). They are allowed by their SHA-256 hashes, and only when the
response body is, byte for byte, one of the build's own files (or its precompressed copy):
any other HTML gets no script hash at all, so an injected inline ``<script>`` never runs.
``'unsafe-eval'`` stays because Reflex runs its own ``_call_script`` events (toasts) with
``eval``; it does not let an inline ``<script>`` element run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_COMPRESSED = (".gz", ".br", ".zst")
_HOST_SAFE = re.compile(r"^[a-z0-9.-]+(?::\d{1,5})?$")
# Pages larger than this are not the build's own (they are a few kB); not buffered.
_HTML_BUFFER_MAX = 512 * 1024

STATIC_HEADERS = {
    "x-content-type-options": "nosniff",
    # Tokens travel in a few URLs (/invite, /welcome): never send a path to another origin.
    "referrer-policy": "same-origin",
    # For browsers without CSP frame-ancestors.
    "x-frame-options": "SAMEORIGIN",
}


def script_hashes(html: bytes) -> tuple[str, ...]:
    """CSP source expressions for the inline scripts of one HTML document."""
    found = []
    for body in _INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        source = f"'sha256-{digest}'"
        if source not in found:
            found.append(source)
    return tuple(found)


@lru_cache(maxsize=4)
def build_page_hashes(static_dir: Path) -> dict[bytes, tuple[str, ...]]:
    """SHA-256 of each HTML file of the build (and its precompressed copies) → its script hashes."""
    pages: dict[bytes, tuple[str, ...]] = {}
    if not static_dir.is_dir():
        return pages
    for html_file in static_dir.rglob("*.html"):
        raw = html_file.read_bytes()
        hashes = script_hashes(raw)
        pages[hashlib.sha256(raw).digest()] = hashes
        for suffix in _COMPRESSED:
            packed = html_file.with_name(html_file.name + suffix)
            if packed.is_file():
                pages[hashlib.sha256(packed.read_bytes()).digest()] = hashes
    return pages


def _file_hashes(static_dir: Path, path: Path) -> tuple[str, ...]:
    """Script hashes of a build file sent by path (only when it is one of the build's)."""
    try:
        stat = path.stat()
    except OSError:
        return ()
    return _cached_file_hashes(static_dir, path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _cached_file_hashes(static_dir: Path, path: Path, _mtime: int, size: int) -> tuple[str, ...]:
    try:
        if size > _HTML_BUFFER_MAX or not path.resolve().is_relative_to(static_dir):
            return ()
        raw = path.read_bytes()
    except OSError:
        return ()
    return build_page_hashes(static_dir).get(hashlib.sha256(raw).digest(), ())


def content_security_policy(host: str, hashes: tuple[str, ...] = ()) -> str:
    """The policy for one response; ``host`` names the page's own websocket origin."""
    connect = "'self'"
    host = host.lower()
    if _HOST_SAFE.match(host):  # 'self' covers ws: in CSP3; spelled out for older browsers
        connect += f" ws://{host} wss://{host}"
    scripts = " ".join(("'self'", "'unsafe-eval'", *hashes))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            # Radix and emotion insert <style> elements and style attributes at run time.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response; HTML responses are matched to the build."""

    def __init__(self, app: ASGIApp, static_dir: Callable[[], Path | None]) -> None:
        self.app = app
        self.static_dir = static_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        start: Message | None = None
        chunks: list[bytes] = []

        def finish(message: Message, hashes: tuple[str, ...]) -> Message:
            headers = MutableHeaders(scope=message)
            for name, value in STATIC_HEADERS.items():
                headers.setdefault(name, value)
            headers.setdefault("content-security-policy", content_security_policy(host, hashes))
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] == 304:
                    # A revalidated page keeps the policy stored with it (and its script
                    # hashes): a 304's headers would replace the stored ones.
                    await send(message)
                    return
                content_type = MutableHeaders(scope=message).get("content-type", "")
                if content_type.startswith("text/html"):
                    start = message  # held until the body is known
                    return
                await send(finish(message, ()))
                return
            if start is None:
                await send(message)
                return
            if message["type"] != "http.response.body":
                # Granian sends static files by path (the ASGI pathsend extension).
                hashes: tuple[str, ...] = ()
                directory = self.static_dir()
                if message["type"] == "http.response.pathsend" and directory is not None:
                    hashes = _file_hashes(directory, Path(message["path"]))
                held, start = start, None
                await send(finish(held, hashes))
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size = sum(len(c) for c in chunks)
            if message.get("more_body", False) and size <= _HTML_BUFFER_MAX:
                return
            body = b"".join(chunks)
            hashes = ()
            directory = self.static_dir()
            if not message.get("more_body", False) and directory is not None:
                hashes = build_page_hashes(directory).get(hashlib.sha256(body).digest(), ())
            held, start = start, None
            chunks.clear()
            await send(finish(held, hashes))
            await send({**message, "body": body})

        await self.app(scope, receive, send_with_headers)
