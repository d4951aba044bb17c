"""The retry and dunning policy as a table: attempt history + decline class -> next step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nextoria_hub.payments.autopay.declines import classify_failure
from nextoria_hub.payments.autopay.policy import NextStep, Past, next_step

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SCHEDULE = (3, 5, 7)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def soft(n: int) -> Past:
    return Past("failed", "soft", day(n))


def now(n: int) -> Past:
    return Past("failed", "", day(n), current=True)


CASES = [
    # (why, history, class, schedule, expected)
    ("first soft decline", [now(0)], "soft", SCHEDULE, NextStep("retry", day(3))),
    ("second soft decline", [soft(0), now(3)], "soft", SCHEDULE, NextStep("retry", day(5))),
    (
        "third soft decline: counted from the first",
        [soft(0), soft(3), now(5)],
        "soft",
        SCHEDULE,
        NextStep("retry", day(7)),
    ),
    (
        "fourth soft decline: the schedule is used up",
        [soft(0), soft(3), soft(5), now(7)],
        "soft",
        SCHEDULE,
        NextStep("give_up", tries=4),
    ),
    ("no retries configured", [now(0)], "soft", (), NextStep("give_up", tries=1)),
    (
        "a hard decline ends the soft run: a new card restarts the count",
        [soft(0), Past("failed", "hard", day(3)), now(10)],
        "soft",
        SCHEDULE,
        NextStep("retry", day(13)),
    ),
    (
        "a success ends the run too",
        [soft(0), Past("succeeded", "", day(3)), now(30)],
        "soft",
        SCHEDULE,
        NextStep("retry", day(33)),
    ),
    ("hard decline", [now(0)], "hard", SCHEDULE, NextStep("ask_new_method")),
    ("hard after soft ones", [soft(0), now(3)], "hard", SCHEDULE, NextStep("ask_new_method")),
    ("authentication", [now(0)], "authentication", SCHEDULE, NextStep("ask_authentication")),
    (
        "naive timestamps are UTC",
        [Past("failed", "", datetime(2026, 12, 1, 9, 0), current=True)],
        "soft",
        SCHEDULE,
        NextStep("retry", day(3)),
    ),
]


@pytest.mark.parametrize(
    ("history", "klass", "schedule", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_next_step(
    history: list[Past], klass: str, schedule: tuple[int, ...], expected: NextStep
) -> None:
    assert next_step(history, klass, schedule) == expected


@pytest.mark.parametrize(
    ("code", "decline", "klass"),
    [
        ("card_declined", "insufficient_funds", "soft"),
        ("card_declined", "generic_decline", "soft"),
        ("card_declined", "stolen_card", "hard"),
        ("expired_card", "", "hard"),
        ("authentication_required", "", "authentication"),
        ("card_declined", "authentication_required", "authentication"),
        ("account_closed", "", "hard"),
        ("insufficient_funds", "", "soft"),
        ("", "", "soft"),
    ],
)
def test_classify_failure(code: str, decline: str, klass: str) -> None:
    assert classify_failure(code, decline) == klass
