"""Connect Onboarding in the sandbox: accounts the platform creates, single-use account links,
the hosted onboarding form, and ``account.updated`` on the platform's Connect endpoint."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox import onboarding
from stripe_sandbox.testing import SandboxServer, WebhookReceiver

REFRESH = "https://app.example/onboarding/refresh"
RETURN = "https://app.example/settings/integrations?stripe_onboarding=return"
STANDARD = {
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "full"},
}


@pytest.fixture
def platform(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.create_account("Nextoria Platform", platform=True)


def _client(sandbox: SandboxServer, platform: dict[str, Any]) -> stripe.StripeClient:
    return sandbox.client(platform["test"]["secret_key"])


def _link(client: stripe.StripeClient, account: str) -> str:
    link = client.v1.account_links.create(
        {
            "account": account,
            "type": "account_onboarding",
            "refresh_url": REFRESH,
            "return_url": RETURN,
        }
    )
    assert link.object == "account_link" and link.expires_at - link.created == 300
    return link.url


def _fill(url: str, **overrides: str) -> httpx.Response:
    """Open the link and submit the form as a person would."""
    page = httpx.get(url)
    assert page.status_code == 200 and "Set up your Stripe account" in page.text
    form_id = re.search(r"name='form' value='([^']+)'", page.text)
    assert form_id
    form = {
        "form": form_id.group(1),
        "business_name": "Brand New Agency",
        "business_url": "https://brand-new.example",
        "first_name": "Jenny",
        "last_name": "Rosen",
        "routing_number": "110000000",
        "account_number": "000123456789",
        "action": "submit",
        **overrides,
    }
    return httpx.post(url, data=form)


def test_create_account_link_and_onboard(
    sandbox: SandboxServer, platform: dict[str, Any], receiver: WebhookReceiver
) -> None:
    client = _client(sandbox, platform)
    client.v1.webhook_endpoints.create(
        {
            "url": receiver.url,
            "enabled_events": ["account.updated"],
            "connect": True,
        }
    )
    account = client.v1.accounts.create(
        {"controller": STANDARD, "business_profile": {"name": "Brand New"}}  # type: ignore[typeddict-item]
    )
    assert (account.charges_enabled, account.details_submitted) == (False, False)
    assert "external_account" in account.requirements.currently_due
    assert account.controller.stripe_dashboard.type == "full"
    # The platform acts for it at once (Stripe-Account), as for an OAuth-connected one.
    seen = client.v1.accounts.retrieve_current(options={"stripe_account": account.id})
    assert seen.id == account.id
    url = _link(client, account.id)
    done = _fill(url)
    assert done.status_code == 303 and done.headers["location"] == RETURN
    ready = client.v1.accounts.retrieve(account.id)
    assert (ready.charges_enabled, ready.details_submitted) == (True, True)
    assert ready.requirements.currently_due == []
    assert sandbox.wait_for_deliveries()
    (event,) = [e for e in receiver.events() if e["type"] == "account.updated"]
    assert event["account"] == account.id
    assert event["data"]["object"]["charges_enabled"] is True
    assert event["data"]["previous_attributes"]["charges_enabled"] is False
    # The link worked once: opening it again goes to refresh_url.
    again = httpx.get(url)
    assert again.status_code == 303 and again.headers["location"] == REFRESH


def test_form_errors_and_leaving_change_nothing(
    sandbox: SandboxServer, platform: dict[str, Any]
) -> None:
    client = _client(sandbox, platform)
    account = client.v1.accounts.create({"type": "standard"})
    url = _link(client, account.id)
    page = httpx.get(url)
    form_id = re.search(r"name='form' value='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
    wrong = httpx.post(url, data={"form": form_id, "business_name": "X", "action": "submit"})
    assert wrong.status_code == 400 and "Required" in wrong.text
    left = httpx.post(url, data={"form": form_id, "action": "leave"})
    assert left.status_code == 303 and left.headers["location"] == RETURN
    assert client.v1.accounts.retrieve(account.id).details_submitted is False
    bad_bank = _fill(_link(client, account.id), account_number="1")
    assert bad_bank.status_code == 400 and "test bank account" in bad_bank.text


def test_expired_link_goes_to_refresh_url(
    sandbox: SandboxServer, platform: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(sandbox, platform)
    account = client.v1.accounts.create({"type": "standard"})
    url = _link(client, account.id)
    later = time.time() + onboarding.LINK_TTL + 1
    monkeypatch.setattr(onboarding.time, "time", lambda: later)
    resp = httpx.get(url)
    assert resp.status_code == 303 and resp.headers["location"] == REFRESH


def test_refusals_as_stripe(sandbox: SandboxServer, platform: dict[str, Any]) -> None:
    client = _client(sandbox, platform)
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.accounts.create({"type": "standard", "controller": STANDARD})  # type: ignore[typeddict-item]
    assert both.value.param == "controller"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.accounts.create({"type": "standard", "bogus": "1"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.code == "parameter_unknown"
    account = client.v1.accounts.create({"type": "standard"})
    with pytest.raises(stripe.InvalidRequestError) as update:
        client.v1.account_links.create(
            {
                "account": account.id,
                "type": "account_update",
                "return_url": RETURN,
                "refresh_url": REFRESH,
            }
        )
    assert update.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.account_links.create({"account": account.id, "type": "account_onboarding"})
    assert missing.value.code == "parameter_missing"
    # Not the platform's account, and not a platform at all.
    other = sandbox.create_account("Someone Else")
    with pytest.raises(stripe.InvalidRequestError) as foreign:
        _link(client, other["account_id"])
    assert foreign.value.code == "account_invalid"
    with pytest.raises(stripe.InvalidRequestError):
        sandbox.client(other["test"]["secret_key"]).v1.accounts.create({"type": "standard"})
