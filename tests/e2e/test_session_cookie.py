"""The session cookie in Chromium: set by the server, HttpOnly and host-only, never in the page's
storage, a URL, a websocket frame or a state file; a Reflex client token alone resumes nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import REDIS_URL, ROOT, RunningApp
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug

STORAGE = """() => JSON.stringify({
  cookie: document.cookie,
  local: Object.entries(localStorage),
  session: Object.entries(sessionStorage),
})"""


def _redis_values(app: RunningApp) -> list[bytes]:
    """Every value Reflex's Redis state manager holds (scaled topology), else nothing."""
    if app.topology != "scaled":
        return []
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    values: list[bytes] = []
    for key in store.scan_iter():
        kind = store.type(key)
        if kind == b"string":
            values.append(store.get(key) or b"")
        elif kind == b"hash":
            values.extend(store.hvals(key))
    return values


def _state_files_since(start: float) -> list[Path]:
    states = ROOT / ".states"
    if not states.is_dir():
        return []
    return [p for p in states.iterdir() if p.is_file() and p.stat().st_mtime >= start - 1]


def test_session_cookie_is_httponly_and_never_reaches_the_page(
    app_server: RunningApp, page: Page, browser: Browser
) -> None:
    started = time.time()
    slug = unique_slug("cookie")
    admin = seed_workspace(slug)
    urls: list[str] = []
    frames: list[str] = []
    page.on("framenavigated", lambda frame: urls.append(frame.url))
    page.on("request", lambda request: urls.append(request.url))

    def watch(ws) -> None:  # type: ignore[no-untyped-def]
        urls.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(str(payload)))
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    expect(page.locator("#signed-in-user")).to_have_text("Ada Admin")

    cookie = next(c for c in page.context.cookies() if c["name"] == "nx_session")
    token = cookie["value"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["domain"] == f"{slug}.localhost"  # host-only: no leading dot
    assert cookie["secure"] is False  # http here; Secure on https is tested over HTTP

    storage = page.evaluate(STORAGE)
    assert "nx_session" not in storage and token not in storage
    client_token = dict(page.evaluate("() => Object.entries(sessionStorage)")).get("token", "")
    assert client_token
    page.goto(app_server.url(slug, "/invoices"))
    expect(page.locator("#signed-in-user")).to_have_text("Ada Admin")
    assert not [u for u in urls if token in u]
    assert not [f for f in frames if token in f]
    for path in _state_files_since(started):
        assert token.encode() not in path.read_bytes(), path
    assert not [v for v in _redis_values(app_server) if token.encode() in v]

    # The client token of the signed-in tab, without the cookie, resumes nothing.
    thief = browser.new_context()
    try:
        stolen = thief.new_page()
        stolen.add_init_script(f"sessionStorage.setItem('token', {client_token!r})")
        stolen.goto(app_server.url(slug, "/dashboard"))
        stolen.wait_for_url(re.compile(r".*/login.*"))
        expect(stolen.locator("#signed-in-user")).to_have_count(0)
    finally:
        thief.close()

    # Sign-out clears the cookie and ends the session: the old token, put back, is dead.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login.*"))
    assert not [c for c in page.context.cookies() if c["name"] == "nx_session"]
    page.context.add_cookies([{"name": "nx_session", "value": token, "url": app_server.url(slug)}])
    page.goto(app_server.url(slug, "/dashboard"))
    page.wait_for_url(re.compile(r".*/login.*"))
