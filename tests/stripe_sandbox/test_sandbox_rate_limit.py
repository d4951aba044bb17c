"""The opt-in per-account rate limit (chaos ``rate_limit_per_second``) and the request counts."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_sandbox.sandbox import RateLimiter
from stripe_sandbox.store import Scope
from stripe_sandbox.testing import SandboxServer


def test_bucket_bursts_then_refills_per_account_and_mode() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    a, a_live, b = Scope("acct_a", False), Scope("acct_a", True), Scope("acct_b", False)
    assert [limiter.admit(a, 3) for _ in range(4)] == [True, True, True, False]
    assert limiter.admit(a_live, 3) and limiter.admit(b, 3)  # other buckets are untouched
    now[0] += 0.34  # one token back (3 per second)
    assert [limiter.admit(a, 3) for _ in range(2)] == [True, False]
    now[0] += 10  # refills up to the burst, never beyond
    assert [limiter.admit(a, 3) for _ in range(4)] == [True, True, True, False]
    assert limiter.admit(a, 0)  # 0 is off
    counts = {(c["account"], c["livemode"]): c for c in limiter.counts()}
    assert counts[("acct_a", False)] == {
        "account": "acct_a",
        "livemode": False,
        "requests": 8,
        "rate_limited": 3,
    }
    assert counts[("acct_b", False)]["requests"] == 1


def test_limit_answers_stripes_429_per_account(fresh_sandbox: SandboxServer) -> None:
    one = fresh_sandbox.create_account("One")
    two = fresh_sandbox.create_account("Two")
    client = fresh_sandbox.client(one["test"]["secret_key"])
    state = fresh_sandbox.control("POST", "chaos", {"rate_limit_per_second": 2})
    assert state["rate_limit_per_second"] == 2
    started = time.monotonic()
    admitted, refused = 0, []
    for n in range(10):
        try:
            client.v1.customers.create(
                params={"name": f"c{n}"}, options={"idempotency_key": f"k{n}"}
            )
            admitted += 1
        except stripe.RateLimitError as err:
            refused.append(err)
    elapsed = time.monotonic() - started
    # A burst of 2, then 2 per second: never more than that got through.
    assert 2 <= admitted <= 2 + 2 * elapsed + 1
    assert refused, "requests over the limit must be refused"
    error = refused[0]
    assert error.http_status == 429
    body = (error.json_body or {})["error"]
    assert (body["type"], body["code"]) == ("invalid_request_error", "rate_limit")
    assert body["message"].startswith("Request rate limit exceeded.")
    # Another account and the same account's live mode have buckets of their own.
    fresh_sandbox.client(two["test"]["secret_key"]).v1.customers.list()
    fresh_sandbox.client(one["live"]["secret_key"]).v1.customers.list()
    counts = {
        (c["account"], c["livemode"]): c for c in fresh_sandbox.control("GET", "requests")["data"]
    }
    mine = counts[(one["account_id"], False)]
    assert (mine["requests"], mine["rate_limited"]) == (admitted, len(refused))
    assert counts[(two["account_id"], False)] == {
        "account": two["account_id"],
        "livemode": False,
        "requests": 1,
        "rate_limited": 0,
    }
    # DELETE turns it off; a refused idempotent POST left nothing behind, so it now creates.
    fresh_sandbox.control("DELETE", "chaos")
    assert fresh_sandbox.control("GET", "chaos")["rate_limit_per_second"] == 0
    created = [
        client.v1.customers.create(params={"name": f"c{n}"}, options={"idempotency_key": f"k{n}"})
        for n in range(10)
    ]
    names = {c.name for c in client.v1.customers.list(params={"limit": 100}).data}
    assert names == {f"c{n}" for n in range(10)}
    assert len({c.id for c in created}) == 10


def test_limit_rejects_negative(fresh_sandbox: SandboxServer) -> None:
    import httpx

    with pytest.raises(httpx.HTTPStatusError):
        fresh_sandbox.control("POST", "chaos", {"rate_limit_per_second": -1})
