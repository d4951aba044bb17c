"""One handler per Stripe event type, registered by decorator (as dj-stripe does).

A handler runs inside the transaction that records the event, so its effect and the
record commit together. It returns ``applied``, ``unmatched`` (about an object the hub
did not create) or ``ignored``, and must be monotonic: a late or repeated event changes
nothing that a later state already settled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

HandlerResult = tuple[str, str]  # (result, detail)


@dataclass(frozen=True)
class EventContext:
    workspace_id: int
    mode: str
    event_id: str
    event_type: str
    obj: dict[str, Any]  # event.data.object
    created: int
    # What Stripe itself said about the object, asked before the transaction opens:
    # {"looked_up": True, "pi": PaymentIntent or None (unknown to Stripe), "session_id": …}.
    stripe: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Session, EventContext], HandlerResult]
_HANDLERS: dict[str, Handler] = {}


def handler(event_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[event_type] = fn
        return fn

    return register


def dispatch(db: Session, ctx: EventContext) -> HandlerResult:
    fn = _HANDLERS.get(ctx.event_type)
    if fn is None:
        return "ignored", f"Nextoria Hub does not act on {ctx.event_type} events."
    return fn(db, ctx)


def handled_types() -> list[str]:
    return sorted(_HANDLERS)
