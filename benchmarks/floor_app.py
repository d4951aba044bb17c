"""The webhook floor: a bare Starlette endpoint that only checks the Stripe signature and
inserts one row, on the product's engine and database. Served like the app (granian, one
worker) by the webhook ingest benchmark: ``granian --factory benchmarks.floor_app:build_floor``.

Its signing secret comes from ``NEXTORIA_BENCH_WHSEC`` (an environment variable of its own
process, never logged).
"""

from __future__ import annotations

import json
import os

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nextoria_hub.db import get_engine
from nextoria_hub.stripe_gateway import verify_webhook

TABLE = "bench_floor_event"


def _insert(event_id: str, body: str) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            text(f"INSERT INTO {TABLE} (event_id, body) VALUES (:event_id, :body)"),
            {"event_id": event_id, "body": body},
        )


def build_floor() -> Starlette:
    secrets = [("test", os.environ["NEXTORIA_BENCH_WHSEC"])]
    key = "INTEGER PRIMARY KEY" if get_engine().dialect.name == "sqlite" else "SERIAL PRIMARY KEY"
    with get_engine().begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                f"(id {key}, event_id VARCHAR(255) NOT NULL UNIQUE, body TEXT NOT NULL)"
            )
        )

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        if verify_webhook(payload, signature, secrets) is None:
            return JSONResponse({"outcome": "bad_signature"}, 400)
        event_id = str(json.loads(payload)["id"])
        await run_in_threadpool(_insert, event_id, payload.decode())
        return JSONResponse({"outcome": "applied"})

    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/webhooks/stripe", webhook, methods=["POST"]),
        ]
    )
