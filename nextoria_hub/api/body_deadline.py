"""A time limit on reading a request's body, for every HTTP route (ours and Reflex's).

Granian, as ``reflex run --env prod`` starts it, limits only how long headers may take; a
client that sends its body a byte at a time could hold a connection (and a task) forever.
Here the whole body must arrive within ``body_timeout_seconds`` of the app's first read:
otherwise the request is answered 408 (if nothing was sent yet) and the connection ends.
Waiting for a disconnect after the body is complete is not limited.
"""

from __future__ import annotations

import asyncio
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nextoria_hub.settings import get_settings


class BodyTooSlow(HTTPException):
    """An HTTPException, so Starlette's own handling answers 408 where the route runs."""

    def __init__(self) -> None:
        super().__init__(408, "request body too slow")


class BodyDeadline:
    def __init__(self, app: ASGIApp, seconds: float | None = None) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.seconds or get_settings().body_timeout_seconds
        deadline: float | None = None
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal deadline, body_done
            if body_done:
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + limit
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except BodyTooSlow:
            if not started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 408,
                        "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")],
                    }
                )
                await send({"type": "http.response.body", "body": b"request body too slow\n"})
