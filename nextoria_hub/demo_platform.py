"""A Stripe Connect platform in the local sandbox, so `make run`'s demo offers "Connect with Stripe".

A real deployment registers its platform once with Stripe (docs/deploy.md) and sets three
environment variables. The demo does the same against the sandbox on every start: it finds
(or creates) one platform account by name, and makes a fresh Connect webhook endpoint at the
apex, because Stripe shows an endpoint's signing secret only when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from nextoria_hub.payments.stripe_connection import CONNECT_WEBHOOK_EVENTS
from nextoria_hub.stripe_gateway import replace_webhook_endpoint

DEMO_PLATFORM_NAME = "Nextoria Hub Demo Platform"


@dataclass(frozen=True)
class DemoPlatform:
    account_id: str
    client_id: str
    secret_key: str = ""
    webhook_secret: str = ""

    def env(self, sandbox_url: str) -> dict[str, str]:
        """The settings the app reads (names as in docs/deploy.md)."""
        return {
            "NEXTORIA_STRIPE_CONNECT_CLIENT_ID": self.client_id,
            "NEXTORIA_STRIPE_PLATFORM_SECRET_KEY": self.secret_key,
            "NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET": self.webhook_secret,
            "NEXTORIA_STRIPE_CONNECT_BASE": sandbox_url.rstrip("/"),
        }


def _control(sandbox_url: str) -> httpx.Client:
    # The sandbox's own test controls (not part of Stripe's API); loopback, no proxies.
    return httpx.Client(base_url=f"{sandbox_url.rstrip('/')}/_sandbox", timeout=10, trust_env=False)


def _find_or_create(control: httpx.Client) -> tuple[str, str, str]:
    """(account id, client_id, test secret key) of the demo platform."""
    accounts = control.get("/accounts").raise_for_status().json()["data"]
    for account in accounts:
        if (account.get("business_profile") or {}).get("name") != DEMO_PLATFORM_NAME:
            continue
        keys = control.get(f"/accounts/{account['id']}").raise_for_status().json()["keys"]
        if keys.get("client_id") and keys["test"].get("secret_key"):
            return account["id"], keys["client_id"], keys["test"]["secret_key"]
    body = {"name": DEMO_PLATFORM_NAME, "platform": True}
    created = control.post("/accounts", json=body).raise_for_status().json()
    return created["account_id"], created["client_id"], created["test"]["secret_key"]


def demo_platform(sandbox_url: str, webhook_url: str) -> DemoPlatform:
    """The demo's platform with a new Connect endpoint at ``webhook_url``; safe to run again."""
    with _control(sandbox_url) as control:
        account_id, client_id, secret_key = _find_or_create(control)
    _, webhook_secret = replace_webhook_endpoint(
        secret_key, url=webhook_url, events=list(CONNECT_WEBHOOK_EVENTS), connect=True
    )
    return DemoPlatform(account_id, client_id, secret_key, webhook_secret)
