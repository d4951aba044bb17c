"""Webhook delivery: a background thread that signs, posts, records and retries events.

Deliveries run one at a time in due order, so events leave in the order they were queued.
A failed attempt (non-2xx or connection error) is retried after ``initial_delay * 2**n``
seconds, capped at ``max_delay``, up to ``max_attempts`` attempts.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .ids import new_id
from .store import Scope, public

if TYPE_CHECKING:
    from .sandbox import Sandbox


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value stripe.Webhook.construct_event accepts."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def local_target(url: str) -> tuple[str, dict[str, str]]:
    """Send ``localhost``/``*.localhost`` URLs to 127.0.0.1 with the original Host header."""
    parsed = httpx.URL(url)
    host = parsed.host or ""
    if host == "localhost" or host.endswith(".localhost"):
        netloc = parsed.netloc.decode()
        return str(parsed.copy_with(host="127.0.0.1")), {"Host": netloc}
    return url, {}


@dataclass
class DeliveryConfig:
    initial_delay: float = 0.5
    max_delay: float = 30.0
    max_attempts: int = 8
    timeout: float = 10.0


@dataclass(order=True)
class _Job:
    due: float
    order: int
    scope: Scope = field(compare=False)
    event_id: str = field(compare=False)
    endpoint_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    forced: bool = field(compare=False, default=False)


class Deliverer:
    """Queue of pending webhook deliveries, processed by one daemon thread."""

    def __init__(self, sb: Sandbox, config: DeliveryConfig) -> None:
        self.sb = sb
        self.config = config
        self.paused = False
        self.attempts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._heap: list[_Job] = []
        self._held: list[_Job] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def enqueue(self, scope: Scope, event_id: str, endpoint_id: str, forced: bool = False) -> None:
        job = _Job(time.monotonic(), next(self._order), scope, event_id, endpoint_id, 1, forced)
        with self._cond:
            if self.paused and not forced:
                self._held.append(job)
            else:
                heapq.heappush(self._heap, job)
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self.paused = True

    def release(self, discard: bool = False) -> int:
        """Unpause; queue (or drop) what was held. Returns how many were held."""
        with self._cond:
            held, self._held = self._held, []
            self.paused = False
            if not discard:
                for job in held:
                    job.due = time.monotonic()
                    heapq.heappush(self._heap, job)
            self._cond.notify_all()
            return len(held)

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {
                "paused": self.paused,
                "held": len(self._held),
                "queued": len(self._heap) + (1 if self._busy else 0),
                "attempts": len(self.attempts),
            }

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is due within the next moment (used by tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._heap and not self._busy:
                    return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        with httpx.Client(trust_env=False) as client:
            while True:
                with self._cond:
                    while not self._stop and (
                        not self._heap or self._heap[0].due > time.monotonic()
                    ):
                        wait = self._heap[0].due - time.monotonic() if self._heap else None
                        self._cond.wait(timeout=wait)
                    if self._stop:
                        return
                    job = heapq.heappop(self._heap)
                    if self.paused and not job.forced:
                        self._held.append(job)
                        continue
                    self._busy = True
                try:
                    self._attempt(client, job)
                finally:
                    with self._cond:
                        self._busy = False

    def _attempt(self, client: httpx.Client, job: _Job) -> None:
        store = self.sb.store
        event = store.get(job.scope, job.event_id)
        endpoint = store.get(job.scope, job.endpoint_id)
        if event is None or endpoint is None or endpoint.get("deleted"):
            return
        payload = json.dumps(public(event), indent=2)
        secret = endpoint["_sb"]["secret"]
        url, headers = local_target(endpoint["url"])
        headers.update(
            {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(payload, secret),
            }
        )
        record: dict[str, Any] = {
            "id": new_id("wha", 16),
            "event": job.event_id,
            "type": event["type"],
            "endpoint": job.endpoint_id,
            "url": endpoint["url"],
            "attempt": job.attempt,
            "at": time.time(),
            "status": None,
            "error": None,
            "ok": False,
        }
        try:
            resp = client.post(url, content=payload, headers=headers, timeout=self.config.timeout)
            record["status"] = resp.status_code
            record["ok"] = 200 <= resp.status_code < 300
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        with self._cond:
            self.attempts.append(record)
        if record["ok"]:
            with store.lock:
                current = store.get(job.scope, job.event_id)
                if current is not None and current.get("pending_webhooks", 0) > 0:
                    current["pending_webhooks"] -= 1
                    store.put(job.scope, current)
            return
        if job.attempt < self.config.max_attempts:
            delay = min(self.config.initial_delay * 2 ** (job.attempt - 1), self.config.max_delay)
            job.attempt += 1
            job.due = time.monotonic() + delay
            job.order = next(self._order)
            with self._cond:
                heapq.heappush(self._heap, job)
                self._cond.notify_all()
