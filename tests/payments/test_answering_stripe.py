"""The one loop that answers a handler's Stripe questions between transactions.

The worker (events) and ``run_asking_stripe`` (jobs) both run through ``answering_stripe``.
"""

from __future__ import annotations

import pytest

from nextoria_hub.payments.webhook_handlers import (
    MAX_STRIPE_QUESTIONS,
    EventContext,
    answering_stripe,
    ask_stripe,
)


def _ctx() -> EventContext:
    return EventContext(1, "test", "evt_1", "payment_intent.succeeded", {}, 0)


def test_each_question_is_asked_once_and_the_attempt_runs_again_with_the_answers() -> None:
    ctx, asked, tries = _ctx(), [], []

    def attempt() -> str:
        tries.append(1)
        first = ask_stripe(ctx, "pi", lambda: asked.append("pi") or {"status": "succeeded"})
        second = ask_stripe(ctx, "charge", lambda: asked.append("charge") or {"paid": True})
        return f"{first['status']}/{second['paid']}"

    assert answering_stripe(ctx, attempt) == "succeeded/True"
    assert asked == ["pi", "charge"]
    assert len(tries) == 3  # two questions, then the run that used both answers


def test_stripe_errors_are_raised_inside_the_attempt_that_asked() -> None:
    ctx = _ctx()

    def refused() -> dict:
        raise LookupError("No such payment_intent")

    def attempt() -> str:
        try:
            ask_stripe(ctx, "pi", refused)
        except LookupError as err:
            return f"unmatched: {err}"
        return "applied"

    assert answering_stripe(ctx, attempt) == "unmatched: No such payment_intent"


def test_a_handler_that_keeps_asking_stops_after_the_limit() -> None:
    ctx, asked = _ctx(), []

    def attempt() -> None:
        key = f"q{len(asked)}"
        ask_stripe(ctx, key, lambda: asked.append(key))

    with pytest.raises(RuntimeError, match="kept asking Stripe"):
        answering_stripe(ctx, attempt)
    assert len(asked) == MAX_STRIPE_QUESTIONS  # the question after the limit is never sent
