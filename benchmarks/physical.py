"""The two costs every webhook pays at least once, measured on this machine in this run.

**HMAC of one event**: HMAC-SHA256 over ``"<timestamp>." + body`` of one
``payment_intent.succeeded`` event as the Stripe sandbox sends it (pretty-printed JSON,
a few KiB), i.e. the computation behind the ``Stripe-Signature`` check; beside it the whole
check as the product runs it (``stripe.WebhookSignature.verify_header`` through
``stripe_gateway.verify_webhook``, which also parses the header and compares in constant
time). Both are the median of repeated ``timeit`` batches, in microseconds.

**One database commit**: insert one small row and commit, on a pooled connection of the
product's own engine (``db.engine_for``: WAL and ``busy_timeout`` on SQLite, the
``psycopg`` pool on PostgreSQL), into a scratch table of the benchmark's database. Median
of a few hundred commits after a warm-up, in milliseconds.
"""

from __future__ import annotations

import statistics
import time
import timeit

from sqlalchemy import text

from benchmarks.context import BenchContext
from benchmarks.report import Limit
from benchmarks.servers import stripe_sandbox
from benchmarks.stripe_events import body_of, one_payment_event, sign

NAME = "Physical limits"
SECRET = "whsec_benchmark_physical_limit_0000"


def run(ctx: BenchContext) -> list[Limit]:
    with stripe_sandbox(ctx.work_dir) as sandbox:
        body = body_of(one_payment_event(sandbox.url))
    return [*_hmac_limits(ctx, body), _commit_limit(ctx)]


def _per_call_us(stmt: object, number: int, repeat: int) -> float:
    runs = timeit.repeat(stmt, number=number, repeat=repeat)  # type: ignore[arg-type]
    return statistics.median(runs) / number * 1e6


def _hmac_limits(ctx: BenchContext, body: bytes) -> list[Limit]:
    import hashlib
    import hmac

    from nextoria_hub.stripe_gateway import verify_webhook

    header = sign(body, SECRET)
    ts = header.split(",", 1)[0][2:]
    signed = f"{ts}.".encode() + body
    key = SECRET.encode()
    secrets = [("test", SECRET)]
    assert verify_webhook(body, header, secrets) == "test"
    number, repeat = (2000, 5) if ctx.quick else (20000, 7)
    raw = _per_call_us(lambda: hmac.new(key, signed, hashlib.sha256).hexdigest(), number, repeat)
    full = _per_call_us(lambda: verify_webhook(body, header, secrets), number // 4, repeat)
    size = f"{len(body):,} B event"
    return [
        Limit("HMAC-SHA256 of one event", ctx.backend, raw, "µs", size),
        Limit("Stripe signature check of one event", ctx.backend, full, "µs", size),
    ]


def _commit_limit(ctx: BenchContext) -> Limit:
    from nextoria_hub.db import engine_for

    engine = engine_for(ctx.database_url)
    key = "INTEGER PRIMARY KEY" if ctx.backend == "sqlite" else "SERIAL PRIMARY KEY"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE bench_commit (id {key}, note VARCHAR(40) NOT NULL)"))
    insert = text("INSERT INTO bench_commit (note) VALUES (:note)")
    warmup, count = (20, 100) if ctx.quick else (50, 400)
    timings: list[float] = []
    for i in range(warmup + count):
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert, {"note": f"row {i}"})
        if i >= warmup:
            timings.append(time.perf_counter() - started)
    engine.dispose()
    engine_for.cache_clear()
    return Limit(
        "One database commit (insert one row)",
        ctx.backend,
        statistics.median(timings) * 1000,
        "ms",
        f"median of {count}, p99 {sorted(timings)[int(count * 0.99) - 1] * 1000:.3g} ms",
    )
