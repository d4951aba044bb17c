"""The one way tests wait for webhooks to take effect now that the route only records them."""

from __future__ import annotations

from nextoria_hub.notifications import delivery_items
from nextoria_hub.workers import WorkerCounts, run_until_empty


def drain_inbox() -> WorkerCounts:
    """Run the worker in this process until no inbox event is due (retries stay pending),
    then its other item, the outbox: the emails the events queued are rendered and delivered."""
    counts = run_until_empty()
    while delivery_items.run_once(50).claimed:
        pass
    return counts


def inbox_result(event_id: str) -> tuple[str, str]:
    """(status, handler result) of a queued event, read fresh."""
    from sqlmodel import Session, select

    from nextoria_hub.db import get_engine
    from nextoria_hub.models import InboxEvent

    with Session(get_engine()) as db:
        row = db.exec(select(InboxEvent).where(InboxEvent.event_id == event_id)).one()
        return row.status, row.result
