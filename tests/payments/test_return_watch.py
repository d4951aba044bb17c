"""The return page's wait: one poll per Checkout return shared by tabs, with backoff and a cap."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nextoria_hub.payments import return_watch

NO_WAIT = (0.0, 0.0, 0.0)


def test_tabs_share_one_poll_and_it_stops_when_decided() -> None:
    calls: list[str] = []
    answers = iter(["processing", "processing", "paid"])

    def check() -> str:
        calls.append(threading.current_thread().name)
        return next(answers)

    async def three_tabs() -> list[str]:
        key = ("ws", 1, 7, "cs_1")
        return list(
            await asyncio.gather(
                *(return_watch.wait_for_outcome(key, check, NO_WAIT) for _ in range(3))
            )
        )

    assert asyncio.run(three_tabs()) == ["paid", "paid", "paid"]
    assert len(calls) == 3  # not 3 per tab
    assert threading.main_thread().name not in calls  # every try ran off the event loop


def test_the_wait_is_capped() -> None:
    calls: list[int] = []

    def check() -> str:
        calls.append(1)
        return "processing"

    outcome = asyncio.run(return_watch.wait_for_outcome(("ws", 2), check, NO_WAIT))
    assert outcome == "processing"
    assert len(calls) == len(NO_WAIT) + 1


def test_default_schedule_backs_off_and_is_bounded() -> None:
    delays = return_watch.DELAYS
    assert list(delays) == sorted(delays)
    assert len(delays) + 1 <= 12 and sum(delays) <= 120


def test_an_error_reaches_every_tab_and_the_next_wait_starts_afresh() -> None:
    def broken() -> str:
        raise RuntimeError("stripe down")

    async def two_tabs() -> list[object]:
        key = ("ws", 3)
        waits = [return_watch.wait_for_outcome(key, broken, NO_WAIT) for _ in range(2)]
        return list(await asyncio.gather(*waits, return_exceptions=True))

    results = asyncio.run(two_tabs())
    assert all(isinstance(r, RuntimeError) for r in results)
    assert asyncio.run(return_watch.wait_for_outcome(("ws", 3), lambda: "paid", NO_WAIT)) == "paid"


@pytest.fixture(autouse=True)
def _clean() -> None:
    return_watch.tries.clear()
