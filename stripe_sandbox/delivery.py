"""Webhook delivery: a background thread that signs, posts, records and retries events.

A few worker threads deliver in due order, one delivery at a time per endpoint, so each
endpoint gets events in the order they were queued and a slow receiver holds up only itself.
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
    endpoint_scope: Scope | None = field(compare=False, default=None)  # a Connect endpoint's


class Deliverer:
    """Queue of pending webhook deliveries, processed by a few daemon threads."""

    workers = 4

    def __init__(self, sb: Sandbox, config: DeliveryConfig) -> None:
        self.sb = sb
        self.config = config
        self.paused = False
        self.attempts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._heap: list[_Job] = []
        self._held: list[_Job] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._busy: set[str] = set()
        self._stop = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        self._stop = False
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"sandbox-webhooks-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def enqueue(
        self,
        scope: Scope,
        event_id: str,
        endpoint_id: str,
        forced: bool = False,
        endpoint_scope: Scope | None = None,
    ) -> None:
        job = _Job(
            time.monotonic(),
            next(self._order),
            scope,
            event_id,
            endpoint_id,
            1,
            forced,
            endpoint_scope,
        )
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
                "queued": len(self._heap) + len(self._busy),
                "attempts": len(self.attempts),
            }

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued (retries included) or running (used by tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._heap and not self._busy:
                    return True
            time.sleep(0.02)
        return False

    def _next_job(self) -> _Job | None:
        """The earliest due job whose endpoint is free (call with the lock held)."""
        now = time.monotonic()
        blocked: list[_Job] = []
        found = None
        while self._heap and self._heap[0].due <= now:
            job = heapq.heappop(self._heap)
            if self.paused and not job.forced:
                self._held.append(job)
            elif job.endpoint_id in self._busy:
                blocked.append(job)
            else:
                found = job
                break
        for job in blocked:
            heapq.heappush(self._heap, job)
        return found

    def _run(self) -> None:
        with httpx.Client(trust_env=False) as client:
            while True:
                with self._cond:
                    job = None
                    while not self._stop:
                        job = self._next_job()
                        if job is not None:
                            break
                        wait = self._heap[0].due - time.monotonic() if self._heap else None
                        # A due job waiting for a busy endpoint: woken when that endpoint frees.
                        self._cond.wait(timeout=None if wait is None else max(wait, 0.05))
                    if job is None:
                        return
                    self._busy.add(job.endpoint_id)
                try:
                    self._attempt(client, job)
                finally:
                    with self._cond:
                        self._busy.discard(job.endpoint_id)
                        self._cond.notify_all()

    def _attempt(self, client: httpx.Client, job: _Job) -> None:
        store = self.sb.store
        event = store.get(job.scope, job.event_id)
        endpoint = store.get(job.endpoint_scope or job.scope, job.endpoint_id)
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
