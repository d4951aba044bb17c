"""Browser tests: one real ``reflex run`` per test session, driven by Debian's Chromium.

The app runs in production mode on one free port against the test database and the
in-process Stripe sandbox, so a developer's ``make run`` on 3000 is not disturbed (but
don't run both from one checkout at once: they share ``.web/``). Browsers resolve ``*.localhost`` to loopback, so workspaces are real subdomains.

``NEXTORIA_E2E_TOPOLOGY=scaled`` runs the deployment of docs/deploy.md instead: PostgreSQL,
Redis as Reflex's state manager, two backend workers behind the one port (no inbox worker
inside them), two ``nextoria worker`` processes and one ``nextoria scheduler`` process
beside them (CI runs the payment test once this way).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from nextoria_hub.settings import get_settings
from stripe_sandbox.testing import SandboxServer
from tests.conftest import RESEND_TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TOPOLOGY = os.environ.get("NEXTORIA_E2E_TOPOLOGY", "single")
REDIS_URL = os.environ.get("NEXTORIA_E2E_REDIS_URL", "redis://127.0.0.1:6379/7")


@dataclass(frozen=True)
class RunningApp:
    port: int
    topology: str = "single"
    pid: int = 0
    platform_name: str = ""  # the sandbox Connect platform the app is configured with

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
    request: pytest.FixtureRequest,
    data_dir: Path,
    database_url: str,
    stripe_sandbox: SandboxServer,
) -> Iterator[RunningApp]:
    """``reflex run --env prod`` on one port, as in the demo, so webhooks reach the pages' host."""
    if TOPOLOGY not in ("single", "scaled"):
        pytest.fail(f"NEXTORIA_E2E_TOPOLOGY must be single or scaled, not {TOPOLOGY!r}")
    if TOPOLOGY == "scaled" and not database_url.startswith("postgresql"):
        pytest.fail("the scaled topology needs NEXTORIA_TEST_DATABASE_URL on PostgreSQL")
    port = _free_port()
    platform = _connect_platform(stripe_sandbox, port)
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
        # A Stripe Connect platform, as docs/deploy.md registers one: "Connect with Stripe"
        # and "Create a new Stripe account" are offered.
        "NEXTORIA_STRIPE_CONNECT_CLIENT_ID": platform["client_id"],
        "NEXTORIA_STRIPE_PLATFORM_SECRET_KEY": platform["test"]["secret_key"],
        "NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET": platform["webhook_secret"],
    }
    if TOPOLOGY == "scaled":
        _flush_redis(REDIS_URL)
        # Two workers share client state through Redis; the jobs run in their own process and
        # the webhook inbox is applied by two `nextoria worker` processes, not the web workers.
        env |= {"REFLEX_REDIS_URL": REDIS_URL, "GRANIAN_WORKERS": "2", "NEXTORIA_WORKERS": "0"}
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
    scheduler: subprocess.Popen | None = None
    inbox_workers: list[subprocess.Popen] = []
    # This process builds URLs (webhook endpoints, invite links) as the app does.
    os.environ["NEXTORIA_PUBLIC_PORT"] = str(port)
    get_settings.cache_clear()
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", proc, log, timeout=300)
        _wait_for(f"http://127.0.0.1:{port}/", proc, log, timeout=60)
        if TOPOLOGY == "scaled":
            workers = _backend_workers(proc.pid)
            if len(workers) < 2:
                pytest.fail(f"expected two backend workers, found {workers}:\n{_tail(log)}")
            # The worker processes deliver the outbox (to the local Resend capture); the
            # scheduler decides when jobs run and releases a dead worker's claims.
            resend = request.getfixturevalue("_resend_server")
            job_env = {
                **env,
                "RESEND_API_KEY": RESEND_TEST_KEY,
                "RESEND_API_URL": resend.base_url,
            }
            scheduler = _start_scheduler(job_env, data_dir / "scheduler.log")
            for n in range(2):
                inbox_workers.append(_start_worker(job_env, data_dir / f"worker-{n}.log"))
        yield RunningApp(port, TOPOLOGY, proc.pid, PLATFORM_NAME)
    finally:
        os.environ.pop("NEXTORIA_PUBLIC_PORT", None)
        get_settings.cache_clear()
        for child in (*inbox_workers, scheduler, proc):
            if child is not None:
                _stop(child)


PLATFORM_NAME = "Nextoria Hub Platform"


def _connect_platform(sandbox: SandboxServer, port: int) -> dict:
    """A sandbox platform with its Connect webhook endpoint at the app's apex."""
    from nextoria_hub.payments.stripe_connection import CONNECT_WEBHOOK_EVENTS

    platform = sandbox.create_account(PLATFORM_NAME, platform=True)
    endpoint = sandbox.client(platform["test"]["secret_key"]).v1.webhook_endpoints.create(
        {
            "url": f"http://localhost:{port}/api/webhooks/stripe/connect",
            "enabled_events": list(CONNECT_WEBHOOK_EVENTS),  # type: ignore[typeddict-item]
            "connect": True,
        }
    )
    platform["webhook_secret"] = endpoint.secret
    return platform


def _stop(proc: subprocess.Popen) -> None:
    """End the process group; one that already exited (a failed start) has nothing to stop."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def _tail(log: Path) -> str:
    return log.read_text()[-4000:]


def _flush_redis(url: str) -> None:
    """Start from an empty Redis database, so no state of an earlier run is picked up."""
    import redis

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"the scaled topology needs Redis at {url}: {exc}")


def _backend_workers(root_pid: int) -> list[int]:
    """PIDs of the granian workers: children of ``reflex run`` forked with its command line."""
    root_cmd = (Path("/proc") / str(root_pid) / "cmdline").read_bytes()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            same = (entry / "cmdline").read_bytes() == root_cmd
        except (OSError, IndexError, ValueError):
            continue
        if ppid == root_pid and same:
            pids.append(int(entry.name))
    return sorted(pids)


def _start_scheduler(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``nextoria scheduler``: the one process that runs the jobs in this topology."""
    nextoria = Path(sys.executable).parent / "nextoria"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(nextoria), "scheduler"],
            cwd=ROOT,
            env={**env, "NEXTORIA_SCHEDULER": "on"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while "scheduler running" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nextoria scheduler did not start:\n{_tail(log)}")
        time.sleep(0.2)
    return proc


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``nextoria worker``: applies the webhook inbox, delivers the outbox, charges Autopay
    items; this topology runs two."""
    nextoria = Path(sys.executable).parent / "nextoria"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(nextoria), "worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while "worker running" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nextoria worker did not start:\n{_tail(log)}")
        time.sleep(0.2)
    return proc


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


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, for ``tests.e2e.axe.check_axe``."""
    from tests.e2e.axe import load_axe

    return load_axe()


def screenshot_widths(page: Page, name: str, widths: tuple[int, ...] = (1280, 375)) -> None:
    """``NAME-1280.png`` and ``NAME-375.png``, after checking the page never scrolls sideways."""
    size = page.viewport_size or {"width": 1280, "height": 800}
    for width in widths:
        page.set_viewport_size({"width": width, "height": 800})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} scrolls sideways at {width}px ({scroll}px wide)"
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size(size)
