"""Open invoice pages follow their invoice: a background task per page polls a cheap version
query (off the event loop) and reloads the page's data when it changes.

Polling the database works with any number of web workers (state lives in Redis, the task
in whichever worker the page's events reach); it backs off while nothing changes and stops
when the page is left, reloaded, or after half an hour.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from nextoria_hub.billing.live import invoice_version_for

POLL_FIRST = 1.5  # seconds; grows ×1.5 while nothing changes
POLL_MAX = 15.0
FOLLOW_FOR = 30 * 60.0


class FollowsInvoice(Protocol):
    _follow_seq: int
    _follow: list[int]  # [workspace_id, user_id, invoice_id]
    _follow_version: str

    def _invoice_id(self) -> int: ...
    def _reload_invoice(self) -> None: ...
    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *args: object) -> None: ...


async def follow_invoice(state: FollowsInvoice) -> None:
    async with state:
        state._follow_seq += 1
        seq, ident, version = state._follow_seq, list(state._follow), state._follow_version
    if len(ident) != 3 or not version:
        return
    workspace_id, user_id, invoice_id = ident
    delay, deadline = POLL_FIRST, time.monotonic() + FOLLOW_FOR
    while time.monotonic() < deadline:
        await asyncio.sleep(delay)
        async with state:
            if state._follow_seq != seq or state._invoice_id() != invoice_id:
                return  # the page was left or loaded again (which follows it anew)
        current = await asyncio.to_thread(invoice_version_for, workspace_id, user_id, invoice_id)
        if not current:
            return  # no longer visible to this person
        if current == version:
            delay = min(delay * 1.5, POLL_MAX)
            continue
        async with state:
            if state._follow_seq != seq:
                return
            state._reload_invoice()
            state._follow_version = current
        version, delay = current, POLL_FIRST
