"""Fault and abuse tests: real signed deliveries captured from the sandbox, replayed at will.

``captured_shops`` connects workspaces whose webhook endpoints point at a recording
receiver, so Stripe's deliveries (the exact bytes and ``Stripe-Signature`` the sandbox
signed with each workspace's secret) are kept instead of applied; the tests then replay
them against our route however they like. ``backend_pair`` is two real server processes
serving ``build_api()`` on the test database, as two backend workers would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from sqlmodel import Session, select

from nextoria_hub.models import OutboxEmail
from nextoria_hub.settings import PROJECT_ROOT, get_settings
from stripe_sandbox.testing import SandboxServer, WebhookReceiver
from tests.payments.conftest import Shop, make_shop


@dataclass(frozen=True)
class Delivery:
    """One webhook POST exactly as the sandbox sent it."""

    host: str
    signature: str
    body: bytes
    event: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {
            "host": self.host,
            "content-type": "application/json; charset=utf-8",
            "stripe-signature": self.signature,
        }


def deliveries_of(receiver: WebhookReceiver) -> list[Delivery]:
    """What the receiver recorded, in arrival order (header names are case-insensitive)."""
    import json

    out = []
    for req in receiver.requests:
        headers = {k.lower(): v for k, v in req["headers"].items()}
        body = req["body"].encode()
        out.append(Delivery(headers["host"], headers["stripe-signature"], body, json.loads(body)))
    return out


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A recording receiver; workspace URLs (so the registered endpoints) point at it."""
    with WebhookReceiver() as rec:
        monkeypatch.setenv("NEXTORIA_PUBLIC_PORT", str(rec.port))
        get_settings.cache_clear()
        yield rec
        monkeypatch.undo()
        get_settings.cache_clear()


def connected_shops(
    db: Session, sandbox: SandboxServer, receiver: WebhookReceiver, slugs: list[str]
) -> list[Shop]:
    """One workspace per slug, each on its own sandbox account, endpoints at ``receiver``."""
    shops = []
    for slug in slugs:
        account = sandbox.create_account(f"Agency {slug}")
        shops.append(make_shop(db, sandbox, account, receiver.port, slug))
    return shops


@contextmanager
def asgi_client(app: Any) -> Iterator[Callable[..., httpx.Response]]:
    """``request(method, url, **kw)`` against an ASGI app in this process (no server, fast)."""
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

        def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
            async def call() -> httpx.Response:
                return await client.request(method, url, **kwargs)

            return portal.call(call)

        try:
            yield request
        finally:
            portal.call(client.aclose)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def backend_pair(
    stripe_sandbox: SandboxServer, database_url: str, data_dir: Path, tmp_path_factory
) -> Iterator[list[int]]:
    """Two uvicorn processes serving ``build_api()`` on the test database; yields their ports."""
    log_dir = tmp_path_factory.mktemp("backend-logs")
    env = {
        **os.environ,
        "NEXTORIA_DATABASE_URL": database_url,
        "NEXTORIA_DATA_DIR": str(data_dir),
        "NEXTORIA_ENV": "test",
        "NEXTORIA_STRIPE_API_BASE": stripe_sandbox.base_url,
        "NEXTORIA_SCHEDULER": "off",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    procs: list[subprocess.Popen[bytes]] = []
    ports = [_free_port(), _free_port()]
    logs = []
    try:
        for n, port in enumerate(ports):
            log = open(log_dir / f"worker{n}.log", "wb")  # noqa: SIM115 (closed below)
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        "nextoria_hub.api.routes:build_api",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for proc, port in zip(procs, ports, strict=True):
            _wait_healthy(proc, port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in logs:
            log.close()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"backend worker on port {port} exited with {proc.returncode}")
        try:
            resp = httpx.get(f"http://127.0.0.1:{port}/api/health", trust_env=False, timeout=2)
            if resp.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"backend worker on port {port} did not become healthy")


INVOICE_LINK = re.compile(r"/invoices/(\d+)")


PAYMENT_KINDS = ("payment_receipt", "payment_received_admin", "payment_failed")


def emails_by_invoice(db: Session) -> dict[tuple[int, str, str], int]:
    """(invoice id, kind, recipient) → how many payment emails; the invoice is read from the link."""
    db.expire_all()
    counts: dict[tuple[int, str, str], int] = {}
    for mail in db.exec(select(OutboxEmail).where(OutboxEmail.kind.in_(PAYMENT_KINDS))):  # type: ignore[attr-defined]
        found = INVOICE_LINK.search(mail.text_body)
        assert found, f"{mail.kind} email names no invoice"
        key = (int(found.group(1)), mail.kind, mail.to_address)
        counts[key] = counts.get(key, 0) + 1
    return counts
