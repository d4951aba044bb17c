"""Per-address limits (sign-ups, failed sign-ins), counted in this process's memory.

Moving windows from the ``limits`` library. Counts are per web process: with several
workers an address gets each worker's allowance, which still slows a flood by orders of
magnitude. The address is the one Reflex reports for the websocket (behind a proxy, set
``REFLEX_TRUSTED_PROXY_HOPS`` so it is the client's, see docs/deploy.md).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_limiter = MovingWindowRateLimiter(MemoryStorage())


class AddressLimit:
    """Up to the given counts per address, e.g. ``"5/hour;20/day"``."""

    def __init__(self, namespace: str, spec: str) -> None:
        self.namespace = namespace
        self.spec = spec
        self.items: list[RateLimitItem] = parse_many(spec) if spec.strip() else []

    def wait_seconds(self, address: str) -> int:
        """Seconds until one more is allowed from ``address`` (0: allowed now)."""
        wait = 0.0
        for item in self.items:
            if not _limiter.test(item, self.namespace, address):
                reset_at, _ = _limiter.get_window_stats(item, self.namespace, address)
                wait = max(wait, reset_at - time.time())
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def hit(self, address: str) -> None:
        """Count one for ``address`` in every window."""
        for item in self.items:
            _limiter.hit(item, self.namespace, address)

    def clear(self, address: str) -> None:
        for item in self.items:
            _limiter.clear(item, self.namespace, address)


def describe_wait(seconds: int) -> str:
    """ "30 seconds", "4 minutes", "2 hours": how long to wait, rounded up."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"
