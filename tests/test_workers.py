"""The in-process inbox worker: on by default in the app process, off with NEXTORIA_WORKERS=0."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from nextoria_hub.settings import get_settings
from nextoria_hub.workers import worker_lifespan


@pytest.fixture
def workers_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _inbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("inbox-worker")]


def _threads_inside_lifespan() -> list[threading.Thread]:
    async def run() -> list[threading.Thread]:
        async with worker_lifespan():
            return _inbox_threads()

    return asyncio.run(run())


def test_app_process_runs_inbox_workers_unless_turned_off(
    db, workers_env: pytest.MonkeyPatch
) -> None:
    workers_env.setenv("NEXTORIA_WORKERS", "0")
    get_settings.cache_clear()
    assert _threads_inside_lifespan() == []
    workers_env.setenv("NEXTORIA_WORKERS", "2")
    get_settings.cache_clear()
    assert len(_threads_inside_lifespan()) == 2
    assert _inbox_threads() == []  # stopped with the app
