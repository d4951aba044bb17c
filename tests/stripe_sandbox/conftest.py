"""Fixtures: one sandbox server per test session, a fresh account per test, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def make_client(server: SandboxServer, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.base_url}, max_network_retries=0)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(retry_initial_delay=0.05, retry_max_delay=0.4, max_attempts=5) as server:
        yield server


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    """A server of its own, for tests that change server-wide settings (chaos, pause)."""
    with SandboxServer(retry_initial_delay=0.05, retry_max_delay=0.4, max_attempts=5) as server:
        yield server


@pytest.fixture
def account(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.create_account("Acme Studio", "https://acme.example")


@pytest.fixture
def client(sandbox: SandboxServer, account: dict[str, Any]) -> stripe.StripeClient:
    return make_client(sandbox, account["test"]["secret_key"])


@pytest.fixture
def live_client(sandbox: SandboxServer, account: dict[str, Any]) -> stripe.StripeClient:
    return make_client(sandbox, account["live"]["secret_key"])


class Receiver:
    """A tiny webhook receiver recording every request; can fail the first N with 500."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events()):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def client_for(sandbox: SandboxServer) -> Callable[[str], stripe.StripeClient]:
    """Build an official client for any key against the shared sandbox."""
    return lambda key: make_client(sandbox, key)
