"""Security headers over HTTP: every response, and script hashes only for the build's own pages."""

from __future__ import annotations

import gzip
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from nextoria_hub.api.routes import build_api
from nextoria_hub.api.security_headers import SecurityHeadersMiddleware, script_hashes

PAGE = b"<html><head><script>window.ok = 1;</script><script src='/a.js'></script></head></html>"


def _client(tmp_path: Path) -> TestClient:
    static = tmp_path / "client"
    static.mkdir()
    (static / "login.html").write_bytes(PAGE)
    (static / "login.html.gz").write_bytes(gzip.compress(PAGE))

    async def injected(_request):  # HTML that is not the build's: its scripts get no hash
        return HTMLResponse(PAGE.replace(b"window.ok = 1;", b"window.pwned = 1;"))

    async def packed(_request):
        return Response(
            (static / "login.html.gz").read_bytes(),
            media_type="text/html",
            headers={"content-encoding": "gzip"},
        )

    api = build_api()
    api.routes.extend(
        [
            Route("/injected", injected),
            Route("/packed", packed),
            Route("/json", lambda _r: JSONResponse({})),
            Mount("/", app=StaticFiles(directory=static, html=True)),
        ]
    )
    return TestClient(
        SecurityHeadersMiddleware(Starlette(routes=[Mount("/", app=api)]), lambda: static)
    )


def test_every_response_carries_the_headers(tmp_path: Path) -> None:
    client = _client(tmp_path)
    for path in ("/api/health", "/login.html", "/json", "/missing"):
        response = client.get(path, headers={"host": "acme.localhost:3000"})
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp
        assert "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
        assert "ws://acme.localhost:3000" in csp
    posted = client.post(
        "/api/webhooks/stripe", content=b"{}", headers={"host": "nobody.localhost"}
    )
    assert "frame-ancestors 'self'" in posted.headers["content-security-policy"]


def test_build_pages_get_their_inline_script_hashes(tmp_path: Path) -> None:
    client = _client(tmp_path)
    (expected,) = script_hashes(PAGE)
    plain = client.get("/login.html")
    assert plain.content == PAGE
    assert expected in plain.headers["content-security-policy"]
    packed = client.get("/packed")
    assert expected in packed.headers["content-security-policy"]


def test_other_html_gets_no_script_hash(tmp_path: Path) -> None:
    response = _client(tmp_path).get("/injected")
    assert b"window.pwned" in response.content
    assert "sha256-" not in response.headers["content-security-policy"]


def test_a_hostile_host_header_is_not_echoed(tmp_path: Path) -> None:
    response = _client(tmp_path).get("/api/health", headers={"host": "x; script-src *"})
    csp = response.headers["content-security-policy"]
    assert "script-src *" not in csp
    assert "connect-src 'self';" in csp


def test_pages_sent_by_path_get_their_hashes(tmp_path: Path) -> None:
    """Granian serves static files through the ASGI pathsend extension."""
    import asyncio

    static = tmp_path / "client"
    static.mkdir()
    page = static / "login.html"
    page.write_bytes(PAGE)
    sent: list[dict] = []

    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.pathsend", "path": str(page)})

    async def record(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "headers": [(b"host", b"acme.localhost")]}
    asyncio.run(SecurityHeadersMiddleware(app, lambda: static)(scope, receive, record))
    headers = dict(sent[0]["headers"])
    assert script_hashes(PAGE)[0].encode() in headers[b"content-security-policy"]
    assert sent[1]["type"] == "http.response.pathsend"


def test_a_revalidation_keeps_the_stored_policy(tmp_path: Path) -> None:
    """A 304 without a policy leaves the cached page's policy (with its hashes) in force."""
    client = _client(tmp_path)
    first = client.get("/login.html")
    again = client.get("/login.html", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers
