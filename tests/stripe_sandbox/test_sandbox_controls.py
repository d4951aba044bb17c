"""The /_sandbox test controls: readiness, restricted and revoked keys, ledger, chaos."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def test_readiness(
    sandbox: SandboxServer,
    client: stripe.StripeClient,
    live_client: stripe.StripeClient,
    account: dict,
) -> None:
    acct_id = account["account_id"]
    out = sandbox.control(
        "POST",
        f"accounts/{acct_id}/readiness",
        {
            "charges_enabled": False,
            "details_submitted": False,
            "currently_due": ["external_account"],
        },
    )
    assert out["charges_enabled"] is False
    acct = client.v1.accounts.retrieve_current()
    assert acct.charges_enabled is False and acct.details_submitted is False
    assert acct.requirements.currently_due == ["external_account"]
    live_card = {"number": "4539578763621486", "exp_month": 1, "exp_year": 2040, "cvc": "1"}
    pm = live_client.v1.payment_methods.create(params={"type": "card", "card": live_card})
    params: Any = {"amount": 999, "currency": "usd", "payment_method": pm.id, "confirm": True}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        live_client.v1.payment_intents.create(params=params)
    assert "cannot currently make live charges" in str(exc.value.user_message)
    test_params: Any = {**params, "payment_method": "pm_card_visa"}
    assert client.v1.payment_intents.create(params=test_params).status == "succeeded"
    sandbox.control(
        "POST", f"accounts/{acct_id}/readiness", {"charges_enabled": True, "currently_due": []}
    )
    assert client.v1.accounts.retrieve_current().charges_enabled is True
    assert live_client.v1.payment_intents.create(params=params).status == "succeeded"


def test_restricted_key_permissions(
    sandbox: SandboxServer, account: dict[str, Any], client_for: Any
) -> None:
    rk = sandbox.control(
        "POST",
        f"accounts/{account['account_id']}/restricted_keys",
        {
            "mode": "test",
            "permissions": {
                "customers": "write",
                "checkout_sessions": "write",
                "payment_intents": "read",
            },
        },
    )
    assert rk["key"].startswith("rk_test_")
    restricted = client_for(rk["key"])
    cus = restricted.v1.customers.create(params={"name": "allowed"})
    assert restricted.v1.customers.retrieve(cus.id).name == "allowed"
    assert restricted.v1.payment_intents.list().object == "list"
    with pytest.raises(stripe.PermissionError) as exc:
        restricted.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    body = exc.value.json_body["error"]
    assert exc.value.http_status == 403 and body["type"] == "invalid_request_error"
    assert "does not have the required permissions" in body["message"]
    assert account["account_id"] in body["message"]
    assert "'rak_payment_intent_write'" in body["message"]
    with pytest.raises(stripe.PermissionError) as exc:
        restricted.v1.webhook_endpoints.list()
    assert "'rak_webhook_read'" in exc.value.json_body["error"]["message"]
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.control(
            "POST",
            f"accounts/{account['account_id']}/restricted_keys",
            {"permissions": {"nonsense": "write"}},
        )


def test_revoked_key_is_401(sandbox: SandboxServer, account: dict, client_for: Any) -> None:
    key = account["test"]["secret_key"]
    client = client_for(key)
    client.v1.customers.list()
    assert sandbox.control("POST", "keys/revoke", {"key": key}) == {"key": key, "revoked": True}
    with pytest.raises(stripe.AuthenticationError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 401
    assert client_for(account["live"]["secret_key"]).v1.customers.list().object == "list"


def test_ledger(sandbox: SandboxServer, client: stripe.StripeClient, account: dict) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"workspace": "w1"},
        }
    )
    client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 200})
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(
            params={
                "amount": 100,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    ledger = sandbox.control("GET", f"accounts/{account['account_id']}/ledger")
    rows = ledger["data"]
    assert [(r["amount"], r["status"]) for r in rows] == [(100, "failed"), (4200, "succeeded")]
    ok = rows[1]
    assert ok["payment_intent"] == pi.id and ok["metadata"] == {"workspace": "w1"}
    assert ok["amount_refunded"] == 200 and ok["refunded"] is False and ok["currency"] == "usd"
    live = sandbox.control("GET", f"accounts/{account['account_id']}/ledger?mode=live")
    assert live["data"] == []


def test_account_lookup_and_errors(sandbox: SandboxServer, account: dict) -> None:
    got = sandbox.control("GET", f"accounts/{account['account_id']}")
    assert got["keys"]["test"]["secret_key"] == account["test"]["secret_key"]
    assert got["account"]["settings"]["dashboard"]["display_name"] == "Acme Studio"
    with pytest.raises(httpx.HTTPStatusError) as exc:
        sandbox.control("GET", "accounts/acct_missing")
    assert exc.value.response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError) as exc:
        sandbox.control("POST", "accounts", {})
    assert exc.value.response.status_code == 400


def test_latency(fresh_sandbox: SandboxServer) -> None:
    client = fresh_sandbox.client(fresh_sandbox.create_account("L")["test"]["secret_key"])
    fresh_sandbox.control("POST", "chaos", {"latency_ms": 300})
    start = time.monotonic()
    client.v1.customers.list()
    assert time.monotonic() - start >= 0.3
    fresh_sandbox.control("DELETE", "chaos")
    assert fresh_sandbox.control("GET", "chaos")["latency_ms"] == 0


def test_failures_500_and_429(fresh_sandbox: SandboxServer) -> None:
    client = fresh_sandbox.client(fresh_sandbox.create_account("F")["test"]["secret_key"])
    fresh_sandbox.control("POST", "chaos", {"failure_rate": 1, "failure_mode": "500"})
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.create(params={"name": "x"})
    assert exc.value.http_status == 500
    fresh_sandbox.control("POST", "chaos", {"failure_mode": "429"})
    with pytest.raises(stripe.RateLimitError) as rl:
        client.v1.customers.list()
    assert rl.value.http_status == 429
    fresh_sandbox.control("POST", "chaos", {"failure_rate": 0.5, "failure_mode": "500", "seed": 7})
    outcomes = []
    for _ in range(40):
        try:
            client.v1.customers.list()
            outcomes.append(True)
        except stripe.APIError:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    fresh_sandbox.control("DELETE", "chaos")
    assert client.v1.customers.list().data == []


def test_hang_times_out(fresh_sandbox: SandboxServer) -> None:
    key = fresh_sandbox.create_account("H")["test"]["secret_key"]
    fresh_sandbox.control(
        "POST", "chaos", {"failure_rate": 1, "failure_mode": "hang", "hang_seconds": 3}
    )
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            f"{fresh_sandbox.base_url}/v1/customers",
            headers={"Authorization": f"Bearer {key}"},
            timeout=0.5,
            trust_env=False,
        )
    fresh_sandbox.control("DELETE", "chaos")
