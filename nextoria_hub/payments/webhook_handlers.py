"""One handler per Stripe event type, registered by decorator (as dj-stripe does).

A handler runs inside the transaction that records the event, so its effect and the
record commit together. It never calls Stripe in that transaction: it asks through
``ask_stripe``, which raises ``NeedsStripe`` the first time; the worker rolls back, makes
the call with no transaction open, and runs the handler again with the answer
(``run_asking_stripe`` does the same for jobs). It returns ``applied``, ``unmatched``
(about an object the hub did not create) or ``ignored``, and must be monotonic: a late or repeated event changes
nothing that a later state already settled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import Session

from nextoria_hub.db import session_scope

T = TypeVar("T")
MAX_STRIPE_QUESTIONS = 8  # per run: more means a handler that keeps asking

HandlerResult = tuple[str, str]  # (result, detail)


@dataclass(frozen=True)
class EventContext:
    workspace_id: int
    mode: str
    event_id: str
    event_type: str
    obj: dict[str, Any]  # event.data.object
    created: int
    # The connected account of a Connect event (``account``); "" for an account's own events.
    account: str = ""
    # Stripe's answers (or errors) by question, gathered outside the transaction.
    answers: dict[str, Any] = field(default_factory=dict, compare=False)


class NeedsStripe(Exception):
    """Raised inside the handler's transaction: roll back, run ``call``, apply again."""

    def __init__(self, key: str, call: Callable[[], Any]) -> None:
        super().__init__(key)
        self.key, self.call = key, call


def ask_stripe(ctx: EventContext, key: str, call: Callable[[], Any]) -> Any:
    """Stripe's answer to ``key`` if gathered already (raising what it raised), else ask for it."""
    if key not in ctx.answers:
        raise NeedsStripe(key, call)
    answer = ctx.answers[key]
    if isinstance(answer, BaseException):
        raise answer
    return answer


def answering_stripe(ctx: EventContext, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` (which opens and closes its own transaction) until it stops asking
    Stripe: each question (``NeedsStripe``) is answered with no transaction open, and the
    attempt runs again with the answer in ``ctx``. The worker applies events this way."""
    for tries in range(MAX_STRIPE_QUESTIONS + 1):
        try:
            return attempt()
        except NeedsStripe as need:  # rolled back: ask with nothing open
            if tries == MAX_STRIPE_QUESTIONS:
                break
            try:
                ctx.answers[need.key] = need.call()
            except Exception as err:  # the handler decides what Stripe's error means
                ctx.answers[need.key] = err
    raise RuntimeError("the handler kept asking Stripe")


def run_asking_stripe(ctx: EventContext, fn: Callable[[Session, EventContext], T]) -> T:
    """Run ``fn`` in a transaction of its own, answering its Stripe questions (``ask_stripe``)
    with no transaction open: what the worker does for events, for jobs that follow up."""

    def attempt() -> T:
        with session_scope() as db:
            return fn(db, ctx)

    return answering_stripe(ctx, attempt)


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
