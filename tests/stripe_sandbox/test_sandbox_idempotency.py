"""Idempotency-Key: replay, parameter mismatch, in-flight conflict, per-scope keys."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def _post(server: SandboxServer, key: str, body: dict[str, Any], idem: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/customers",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
        trust_env=False,
        timeout=30,
    )


def test_same_key_same_params_replays(sandbox: SandboxServer, account: dict[str, Any]) -> None:
    key = account["test"]["secret_key"]
    first = _post(sandbox, key, {"name": "Once"}, "k-1")
    second = _post(sandbox, key, {"name": "Once"}, "k-1")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    client = stripe.StripeClient(key, base_addresses={"api": sandbox.base_url})
    assert len(client.v1.customers.list().data) == 1


def test_official_client_replay(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "same"})
    b = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "same"})
    assert a.id == b.id


def test_mismatched_params_are_400(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "mm"})
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"name": "B"}, options={"idempotency_key": "mm"})
    assert exc.value.http_status == 400
    assert exc.value.json_body["error"]["type"] == "idempotency_error"


def test_card_errors_are_replayed_too(client: stripe.StripeClient) -> None:
    params: Any = {
        "amount": 1000,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "ce"})
    with pytest.raises(stripe.CardError) as second:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "ce"})
    assert first.value.json_body == second.value.json_body
    assert second.value.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.payment_intents.list().data) == 1


def test_keys_are_per_account_and_mode(
    sandbox: SandboxServer, account: dict[str, Any], client_for: Any
) -> None:
    test = _post(sandbox, account["test"]["secret_key"], {"name": "X"}, "shared")
    live = _post(sandbox, account["live"]["secret_key"], {"name": "Y"}, "shared")
    assert live.status_code == 200 and live.json()["id"] != test.json()["id"]
    assert "Idempotent-Replayed" not in live.headers


def test_concurrent_same_key_is_409(fresh_sandbox: SandboxServer) -> None:
    account = fresh_sandbox.create_account("Slow")
    key = account["test"]["secret_key"]
    fresh_sandbox.control("POST", "chaos", {"latency_ms": 600})
    results: list[httpx.Response] = []

    def go() -> None:
        results.append(_post(fresh_sandbox, key, {"name": "Z"}, "race"))

    first = threading.Thread(target=go)
    first.start()
    threading.Event().wait(0.2)
    second = _post(fresh_sandbox, key, {"name": "Z"}, "race")
    first.join()
    assert second.status_code == 409
    assert second.json()["error"]["type"] == "idempotency_error"
    assert results[0].status_code == 200
    replay = _post(fresh_sandbox, key, {"name": "Z"}, "race")
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_keys_expire_after_24_hours(sandbox: SandboxServer, account: dict[str, Any]) -> None:
    key = account["test"]["secret_key"]
    first = _post(sandbox, key, {"name": "Old"}, "old-key")
    for entry in sandbox.sandbox.idempotency.values():
        entry.created -= 24 * 3600 + 1
    again = _post(sandbox, key, {"name": "Old"}, "old-key")
    assert again.status_code == 200 and again.json()["id"] != first.json()["id"]
