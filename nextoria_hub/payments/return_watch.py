"""One wait per Checkout return, shared by every tab that shows it.

The return page waits for the webhook that records the payment, asking Stripe itself when
it is late. Three open tabs used to poll Stripe three times a second each; now the first
tab starts one poll for its (workspace, user, invoice, Checkout Session) and the others
await the same one. The poll backs off (``DELAYS``) and stops after ``len(DELAYS) + 1``
tries; every try runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable

# Seconds between tries: about 1.5 minutes in all, at most 11 calls to Stripe per return.
DELAYS = (1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0, 15.0, 15.0)
# A try that ends the wait: anything but "processing".
PENDING = "processing"

_waits: dict[Hashable, asyncio.Task[str]] = {}
tries: dict[Hashable, int] = {}  # how many tries each wait made (kept small: tests read it)


async def _poll(key: Hashable, check: Callable[[], str], delays: tuple[float, ...]) -> str:
    outcome = PENDING
    try:
        for delay in (*delays, None):
            tries[key] = tries.get(key, 0) + 1
            outcome = await asyncio.to_thread(check)
            if outcome != PENDING or delay is None:
                return outcome
            await asyncio.sleep(delay)
        return outcome
    finally:
        _waits.pop(key, None)
        if len(tries) > 1000:
            tries.clear()


async def wait_for_outcome(
    key: Hashable, check: Callable[[], str], delays: tuple[float, ...] = DELAYS
) -> str:
    """The outcome of ``check`` once it is not ``processing`` (or after the last try).

    ``check`` runs in a thread and may raise; the error reaches every waiting tab.
    """
    task = _waits.get(key)
    if task is None:
        task = asyncio.ensure_future(_poll(key, check, delays))
        _waits[key] = task
    return await asyncio.shield(task)
