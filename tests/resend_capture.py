"""A local stand-in for Resend's API that records what it is sent (``RESEND_API_URL`` points here)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    answered: int
    replayed: bool = False  # a repeat of an idempotency key Resend already sent: not sent again


class ResendCapture:
    """Answers ``POST /emails`` like Resend; ``fail(n)`` makes the next n requests fail with 500.

    As Resend does, a request repeating the idempotency key of an email it sent answers with
    that email's id and sends nothing (``replayed``); a failed request keeps no key.
    """

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self._lock = threading.Lock()
        self._fail_next = 0
        self._sent_ids: dict[str, str] = {}  # idempotency key → the id of the email sent
        self.delay = 0.0
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if capture.delay:
                    time.sleep(capture.delay)
                with capture._lock:
                    failing = capture._fail_next > 0
                    if failing:
                        capture._fail_next -= 1
                    status = 500 if failing else 200
                    key = headers.get("idempotency-key", "")
                    replayed = not failing and key in capture._sent_ids
                    if not failing and not replayed:
                        email_id = str(uuid.uuid4())
                        if key:
                            capture._sent_ids[key] = email_id
                    elif replayed:
                        email_id = capture._sent_ids[key]
                    body = json.loads(raw or b"null")
                    capture.requests.append(
                        Captured("POST", self.path, headers, body, status, replayed)
                    )
                if failing:
                    # Echo the credentials back, as a careless proxy might: they must not be stored.
                    payload = {
                        "statusCode": 500,
                        "name": "internal_server_error",
                        "message": f"capture told to fail ({headers.get('authorization')})",
                    }
                else:
                    payload = {"id": email_id}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, n: int) -> None:
        with self._lock:
            self._fail_next = n

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._sent_ids.clear()
            self._fail_next = 0
            self.delay = 0.0

    @property
    def delivered(self) -> list[Captured]:
        """The requests that were answered 200 and not replays (what Resend would have sent)."""
        with self._lock:
            return [r for r in self.requests if r.answered == 200 and not r.replayed]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.delivered) >= count:
                return self.delivered
            time.sleep(0.05)
        return self.delivered

    def __enter__(self) -> ResendCapture:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
