"""Stripe's per-account request rate, kept by every charging thread of this process."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


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


RATE_PER_SECOND = {"test": 25, "live": 100}
_buckets: dict[tuple[int, str], TokenBucket] = {}
_buckets_lock = threading.Lock()


def _bucket(workspace_id: int, mode: str) -> TokenBucket:
    with _buckets_lock:
        key = (workspace_id, mode)
        if key not in _buckets:
            _buckets[key] = TokenBucket(RATE_PER_SECOND.get(mode, 25))
        return _buckets[key]
