"""Starlette routes mounted in front of the Reflex backend."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nextoria_hub.db import get_engine

log = logging.getLogger(__name__)


async def health(_request: Request) -> JSONResponse:
    """Liveness plus a round trip to the database."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as err:
        log.warning("health check: database unavailable: %s", type(err).__name__)
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse(
        {"status": "ok" if status == 200 else "degraded", "database": database}, status
    )


def build_api() -> Starlette:
    return Starlette(routes=[Route("/api/health", health, methods=["GET"])])
