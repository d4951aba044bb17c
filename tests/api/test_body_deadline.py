"""The body time limit in-process: a body that stops arriving is answered 408, a whole one passes."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from nextoria_hub.api.body_deadline import BodyDeadline
from nextoria_hub.api.routes import build_api


def _post(chunks: list[bytes], stall: bool) -> list[Message]:
    """Drive the app with a POST whose body comes in ``chunks`` and then (maybe) never ends."""
    sent: list[Message] = []
    queue = [
        {"type": "http.request", "body": c, "more_body": stall or i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    never = asyncio.Event()

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await never.wait()  # the client stalls; only the deadline ends this
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/session",
        "headers": [
            (b"host", b"acme.localhost:3000"),
            (b"origin", b"http://acme.localhost:3000"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        "query_string": b"",
    }
    asyncio.run(BodyDeadline(build_api(), seconds=0.2)(scope, receive, send))
    return sent


def test_a_stalled_body_gets_408() -> None:
    sent = _post([b"grant=abc"], stall=True)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 408


def test_a_complete_body_is_not_limited_afterwards(db) -> None:  # type: ignore[no-untyped-def]
    sent = _post([b"grant=", b"abc"], stall=False)
    assert sent[0]["status"] != 408
