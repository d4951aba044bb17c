"""Browser tests: one real ``reflex run`` per test session, driven by Debian's Chromium.

The app runs in production mode on one free port against the test database and the
in-process Stripe sandbox, so a developer's ``make run`` on 3000 is not disturbed (but
don't run both from one checkout at once: they share ``.web/``). Browsers resolve ``*.localhost`` to loopback, so workspaces are real subdomains.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from nextoria_hub.settings import get_settings
from stripe_sandbox.testing import SandboxServer

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningApp:
    port: int

    def url(self, slug: str | None = None, path: str = "/") -> str:
        host = f"{slug}.localhost" if slug else "localhost"
        return f"http://{host}:{self.port}{path}"


def _wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reflex run exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def app_server(
    data_dir: Path, database_url: str, stripe_sandbox: SandboxServer
) -> Iterator[RunningApp]:
    """``reflex run --env prod`` on one port, as in the demo, so webhooks reach the pages' host."""
    port = _free_port()
    env = {
        **os.environ,
        "NEXTORIA_DATA_DIR": str(data_dir),
        "NEXTORIA_DATABASE_URL": database_url,
        "NEXTORIA_PUBLIC_PORT": str(port),
        "NEXTORIA_STRIPE_API_BASE": stripe_sandbox.base_url,
        "NEXTORIA_ENV": "test",
        "PYTHONUNBUFFERED": "1",
        # Jobs would race the other tests for the same tables; browser tests don't need them.
        "NEXTORIA_SCHEDULER": "off",
    }
    log = data_dir / "reflex-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reflex",
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
                "--loglevel",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # This process builds URLs (webhook endpoints, invite links) as the app does.
    os.environ["NEXTORIA_PUBLIC_PORT"] = str(port)
    get_settings.cache_clear()
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", proc, log, timeout=300)
        _wait_for(f"http://127.0.0.1:{port}/", proc, log, timeout=60)
        yield RunningApp(port)
    finally:
        os.environ.pop("NEXTORIA_PUBLIC_PORT", None)
        get_settings.cache_clear()
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


SCREENSHOTS = ROOT / "docs" / "screenshots"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot for the docs (docs/screenshots/NAME.png), toasts gone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    toasts = page.locator("[data-sonner-toast]")
    deadline = time.monotonic() + 10
    while toasts.count() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    # A viewport as tall as the page keeps the sticky sidebar where a person sees it.
    size = page.viewport_size or {"width": 1280, "height": 800}
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size(size)
