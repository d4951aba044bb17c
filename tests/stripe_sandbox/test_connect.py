"""Connect in the sandbox: OAuth for Standard accounts, Stripe-Account, Connect webhooks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

from stripe_sandbox.testing import SandboxServer, WebhookReceiver

REDIRECT = "https://app.example/oauth/callback"


def _approve(sandbox: SandboxServer, client_id: str, state: str, account: str = "new") -> str:
    """Approve on the authorize page as a browser would; the redirect's query back."""
    form = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "read_write",
        "state": state,
        "redirect_uri": REDIRECT,
        "account": account,
        "new_name": "Agency",
        "action": "approve",
    }
    page = httpx.get(f"{sandbox.base_url}/oauth/authorize", params=form)
    assert page.status_code == 200 and "Connect my Stripe account" in page.text
    resp = httpx.post(f"{sandbox.base_url}/oauth/authorize", data=form)
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return urlsplit(location).query


@pytest.fixture
def platform(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.create_account("Nextoria Platform", platform=True)


def _connect(sandbox: SandboxServer, platform: dict[str, Any]) -> tuple[str, stripe.StripeClient]:
    query = parse_qs(_approve(sandbox, platform["client_id"], "st1"))
    assert query["state"] == ["st1"] and query["scope"] == ["read_write"]
    client = sandbox.client(platform["test"]["secret_key"], client_id=platform["client_id"])
    token = client.oauth.token({"grant_type": "authorization_code", "code": query["code"][0]})
    assert token["livemode"] is False and token["scope"] == "read_write"
    assert token["stripe_user_id"].startswith("acct_")
    return token["stripe_user_id"], client


def test_oauth_code_once_and_stripe_account_header(
    sandbox: SandboxServer, platform: dict[str, Any]
) -> None:
    query = parse_qs(_approve(sandbox, platform["client_id"], "s"))
    client = sandbox.client(platform["test"]["secret_key"])
    code = query["code"][0]
    token = client.oauth.token({"grant_type": "authorization_code", "code": code})
    acct = token["stripe_user_id"]
    with pytest.raises(stripe.oauth_error.InvalidGrantError):
        client.oauth.token({"grant_type": "authorization_code", "code": code})
    customer = client.v1.customers.create({"name": "C"}, options={"stripe_account": acct})
    # The customer lives in the connected account, not the platform.
    assert (
        client.v1.customers.retrieve(customer.id, options={"stripe_account": acct}).id
        == customer.id
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(customer.id)
    assert client.v1.accounts.retrieve(acct, options={"stripe_account": acct}).id == acct


def test_stripe_account_of_unconnected_account_is_403(
    sandbox: SandboxServer, platform: dict[str, Any]
) -> None:
    other = sandbox.create_account("Stranger")
    client = sandbox.client(platform["test"]["secret_key"])
    with pytest.raises(stripe.PermissionError):
        client.v1.customers.list(options={"stripe_account": other["account_id"]})


def test_deny_redirects_with_error(sandbox: SandboxServer, platform: dict[str, Any]) -> None:
    form = {
        "client_id": platform["client_id"],
        "state": "x",
        "redirect_uri": REDIRECT,
        "action": "deny",
    }
    resp = httpx.post(f"{sandbox.base_url}/oauth/authorize", data=form)
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["x"]
    assert "code" not in query


def test_connect_webhook_carries_account_and_deauthorization(
    sandbox: SandboxServer, platform: dict[str, Any], receiver: WebhookReceiver
) -> None:
    acct, client = _connect(sandbox, platform)
    own = sandbox.client(platform["test"]["secret_key"])
    ep = own.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["*"], "connect": True}
    )
    assert ep.secret.startswith("whsec_")
    client.v1.customers.create({"name": "Connected"}, options={"stripe_account": acct})
    own.v1.customers.create({"name": "Platform's own"})
    assert sandbox.wait_for_deliveries()
    events = receiver.events()
    created = [e for e in events if e["type"] == "customer.created"]
    assert [e["account"] for e in created] == [acct]
    assert created[0]["data"]["object"]["name"] == "Connected"
    result = client.oauth.deauthorize({"client_id": platform["client_id"], "stripe_user_id": acct})
    assert result["stripe_user_id"] == acct
    assert sandbox.wait_for_deliveries()
    events = receiver.events()
    gone = [e for e in events if e["type"] == "account.application.deauthorized"]
    assert gone[0]["account"] == acct
    assert gone[0]["data"]["object"]["id"] == platform["client_id"]
    with pytest.raises(stripe.PermissionError):
        client.v1.customers.list(options={"stripe_account": acct})
    with pytest.raises(stripe.oauth_error.InvalidClientError):
        client.oauth.deauthorize({"client_id": platform["client_id"], "stripe_user_id": acct})
