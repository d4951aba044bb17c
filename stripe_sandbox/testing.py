"""Run the sandbox inside a test process: ``with SandboxServer() as sandbox: ...``."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from .app import create_app
from .delivery import DeliveryConfig
from .sandbox import Sandbox

if TYPE_CHECKING:
    import stripe


class SandboxServer:
    """The sandbox served by uvicorn on a free loopback port, in a background thread.

    ``retry_initial_delay``/``retry_max_delay`` keep webhook retries short in tests;
    ``bank_settle_seconds`` is how long an ACH/SEPA debit stays ``processing``.
    """

    def __init__(
        self,
        db_path: str | None = None,
        *,
        retry_initial_delay: float = 0.2,
        retry_max_delay: float = 2.0,
        max_attempts: int = 6,
        port: int = 0,
        bank_settle_seconds: float = 5.0,
    ) -> None:
        config = DeliveryConfig(retry_initial_delay, retry_max_delay, max_attempts, timeout=5.0)
        self.app = create_app(db_path, config, bank_settle_seconds)
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    @property
    def sandbox(self) -> Sandbox:
        """Direct access to the state (for assertions; product code must use HTTP)."""
        sandbox: Sandbox = self.app.state.sandbox
        return sandbox

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def start(self) -> SandboxServer:
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on such sockets, and without
        # it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="stripe-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stripe sandbox did not start")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def control(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """Call a ``/_sandbox`` control and return its JSON (raising on HTTP errors)."""
        if json is None and method.upper() == "POST":
            json = {}  # the controls take POSTs as application/json only
        with httpx.Client(base_url=self.base_url, trust_env=False, timeout=30) as client:
            resp = client.request(method, f"/_sandbox/{path.lstrip('/')}", json=json)
            resp.raise_for_status()
            return resp.json()

    def create_account(
        self, name: str, url: str | None = None, platform: bool = False
    ) -> dict[str, Any]:
        """A new account: ``{"account_id", "test": {...keys}, "live": {...keys}}``.

        A platform's answer also has its Connect ``client_id``.
        """
        body: dict[str, Any] = {"name": name}
        if platform:
            body["platform"] = True
        if url:
            body["url"] = url
        keys: dict[str, Any] = self.control("POST", "accounts", body)
        return keys

    def client(self, key: str, **kwargs: Any) -> stripe.StripeClient:
        """An official ``stripe.StripeClient`` for ``key`` pointed at this sandbox."""
        import stripe

        kwargs.setdefault("max_network_retries", 0)
        bases = {"api": self.base_url, "connect": self.base_url}
        return stripe.StripeClient(key, base_addresses=bases, **kwargs)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no webhook delivery is queued or running."""
        return self.sandbox.deliverer.wait_idle(timeout)


class WebhookReceiver:
    """A tiny webhook receiver on a loopback port that records every POST.

    ``fail_first`` answers the first N requests with 500, to exercise retries; ``delay``
    (seconds) makes every answer slow.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self.delay = 0.0
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
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far, in arrival order."""
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
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

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def submit_checkout(
    url: str,
    card: str = "4242424242424242",
    *,
    email: str = "peter@initech.test",
    name: str = "Peter",
    timeout: float = 30,
) -> httpx.Response:
    """Submit a hosted Checkout page as a browser's form post would (no redirect followed)."""
    return httpx.post(
        url,
        data={"email": email, "cardnumber": card, "expiry": "12 / 34", "cvc": "123", "name": name},
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )


def submit_checkout_bank(
    url: str, method: str, fields: dict[str, str], *, timeout: float = 30
) -> httpx.Response:
    """Submit a hosted Checkout page's bank form (``us_bank_account``, ``sepa_debit``, ``ideal``).

    ``fields`` are the form's inputs: ``ach_name``, ``routing_number``, ``account_number``;
    ``sepa_name``, ``iban``; or ``ideal_bank``.
    """
    return httpx.post(
        url,
        data={"method": method, **fields},
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )
