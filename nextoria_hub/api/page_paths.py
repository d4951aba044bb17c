"""Serve a page whose route has child routes (``/portal``) at its own address, at once.

The production build writes such a page as ``portal/index.html`` (and ``portal.html``);
Starlette's static files answer ``/portal`` with a redirect to ``/portal/`` because
``portal`` is a directory. That is one more round trip before every direct load of the
Client Portal. The request is instead handed to the static files as ``/portal/``: same
file, no redirect, and the browser keeps the address it asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send


@lru_cache(maxsize=4)
def directory_pages(static_dir: Path) -> frozenset[str]:
    """``/a/b`` for every ``a/b/index.html`` of the build (read once: a build is fixed)."""
    if not static_dir.is_dir():
        return frozenset()
    return frozenset(
        "/" + index.parent.relative_to(static_dir).as_posix()
        for index in static_dir.rglob("index.html")
        if index.parent != static_dir
    )


class DirectoryPages:
    def __init__(self, app: ASGIApp, static_dir: Callable[[], Path | None]) -> None:
        self.app = app
        self.static_dir = static_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            directory = self.static_dir()
            if directory is not None and path in directory_pages(directory):
                scope = {**scope, "path": path + "/", "raw_path": path.encode() + b"/"}
        await self.app(scope, receive, send)
