"""Stripe's per-account request rate (25/s in test mode, 100/s live), kept by every charging
thread of this process, or by every process when they share a Redis."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from nextoria_hub.settings import get_settings


class TokenBucket:
    """At most ``rate`` Stripe calls in any one second for one workspace.

    A sliding log of the last ``rate`` grants: a call waits until the oldest of them is a
    second old. (A refilling bucket with a burst of ``rate`` let through up to twice ``rate``
    within one second: a full burst, then the refill.)
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.granted: deque[float] = deque()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                while self.granted and now - self.granted[0] >= 1:
                    self.granted.popleft()
                if len(self.granted) < self.rate:
                    self.granted.append(now)
                    return
                wait = 1 - (now - self.granted[0])
            self.sleep(wait)


class SharedLimiter:
    """At most ``rate`` Stripe calls in any one second for one key, across every process that
    uses the same Redis: ``limits``' moving window (a sorted log per key, checked and appended
    atomically by a Lua script), so the log is the same one TokenBucket keeps, only shared."""

    def __init__(
        self,
        storage_uri: str,
        key: str,
        rate: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = rate
        self.key = key
        self.item = RateLimitItemPerSecond(rate)
        self.limiter = MovingWindowRateLimiter(_storage(storage_uri))
        self.sleep = sleep

    def take(self) -> None:
        while not self.limiter.hit(self.item, "stripe", self.key):
            reset = self.limiter.get_window_stats(self.item, "stripe", self.key).reset_time
            self.sleep(min(1.0, max(0.002, reset - time.time())))


_storages: dict[str, Storage] = {}
_storages_lock = threading.Lock()


def _storage(uri: str) -> Storage:
    """One connection pool per Redis per process."""
    with _storages_lock:
        if uri not in _storages:
            storage = storage_from_string(uri)
            if not isinstance(storage, Storage):  # an async URI: this limiter is threaded
                raise TypeError(f"not a synchronous limits storage: {type(storage).__name__}")
            _storages[uri] = storage
        return _storages[uri]


RATE_PER_SECOND = {"test": 25, "live": 100}
_buckets: dict[tuple[int, str, str], TokenBucket | SharedLimiter] = {}
_buckets_lock = threading.Lock()


def _bucket(workspace_id: int, mode: str) -> TokenBucket | SharedLimiter:
    """The limiter of one Stripe account (a workspace) and mode: shared through Redis when
    ``NEXTORIA_REDIS_URL`` is set, else this process's own."""
    redis_url = get_settings().redis_url
    rate = RATE_PER_SECOND.get(mode, 25)
    key = (workspace_id, mode, redis_url)
    with _buckets_lock:
        if key not in _buckets:
            _buckets[key] = (
                SharedLimiter(redis_url, f"{workspace_id}:{mode}", rate)
                if redis_url
                else TokenBucket(rate)
            )
        return _buckets[key]
