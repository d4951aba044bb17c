"""Stripe's per-account rate limit held across processes through Redis.

Two `charge_due_invoices` processes share one workspace's due invoices, against the sandbox
limiting every account to 25 requests a second (Stripe's test mode). With
``NEXTORIA_REDIS_URL`` set, their limiters are one moving window in Redis and the sandbox
refuses nothing: no second ever had more than 25 of the account's requests. Without it each
process keeps 25/s on its own, together twice that, and the sandbox refuses some (the control
that shows the check can fail). Either way every invoice is charged exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date

import pytest
import redis
from sqlmodel import select

from nextoria_hub.models import Payment
from tests.payments.conftest import Shop
from tests.payments.test_autopay import at, enable, ledger, save_card
from tests.payments.test_autopay_gaps import ROOT, _many_invoices

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 25
N = 120


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        pytest.skip(f"no Redis at {REDIS_URL} for the shared limiter: {err}")


def _two_processes(shop: Shop, due: date, redis_url: str) -> list[dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEXTORIA_REDIS_URL": redis_url}
    code = (
        "import json, datetime as d; from nextoria_hub.payments.autopay import "
        "charge_due_invoices; "
        f"print(json.dumps(charge_due_invoices(d.datetime.fromisoformat('{at(due).isoformat()}'))"
        ".as_dict()))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    deadline = time.monotonic() + 240
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _account_requests(shop: Shop) -> dict[str, int]:
    rows = shop.sandbox.control("GET", "requests")["data"]
    (row,) = [r for r in rows if r["account"] == shop.account["account_id"] and not r["livemode"]]
    return row


def _run(shop: Shop, redis_url: str) -> dict[str, int]:
    enable(shop)
    save_card(shop)
    due = date.today()
    ids = _many_invoices(shop, due, N)
    before = _account_requests(shop)
    shop.sandbox.control("POST", "chaos", {"rate_limit_per_second": LIMIT})
    try:
        results = _two_processes(shop, due, redis_url)
    finally:
        shop.sandbox.control("DELETE", "chaos")
    after = _account_requests(shop)
    assert sum(r["workspaces_failed"] for r in results) == 0, results
    assert all(r["charged"] > 0 for r in results), results  # both processes did work
    # exactly once, whatever the limiter
    shop.settle_webhooks(180)
    charges = [c for c in ledger(shop) if c["status"] == "succeeded"]
    assert sorted(int(c["metadata"]["nextoria_invoice_id"]) for c in charges) == sorted(ids)
    shop.db.expire_all()
    paid = shop.db.exec(select(Payment.invoice_id).where(Payment.kind == "payment")).all()
    assert sorted(paid) == sorted(ids)
    return {
        "requests": after["requests"] - before["requests"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
    }


def test_two_processes_on_one_redis_never_exceed_the_account_limit(shop: Shop) -> None:
    _redis_or_skip()
    counts = _run(shop, REDIS_URL)
    assert counts["requests"] >= N
    assert counts["rate_limited"] == 0, counts


def test_without_redis_two_processes_do_exceed_it(shop: Shop) -> None:
    counts = _run(shop, "")
    assert counts["rate_limited"] > 0, counts  # retried with backoff, still charged once


def test_the_limiter_is_shared_only_when_redis_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nextoria_hub.payments.autopay.ratelimit import SharedLimiter, TokenBucket, _bucket
    from nextoria_hub.settings import get_settings

    monkeypatch.delenv("NEXTORIA_REDIS_URL", raising=False)
    get_settings.cache_clear()
    assert isinstance(_bucket(9101, "test"), TokenBucket)
    monkeypatch.setenv("NEXTORIA_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    try:
        shared = _bucket(9101, "live")
        assert isinstance(shared, SharedLimiter) and shared.rate == 100
        assert shared.key == "9101:live" and _bucket(9101, "live") is shared
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
