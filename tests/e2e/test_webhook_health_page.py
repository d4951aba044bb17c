"""Settings → Integrations: refused deliveries show in red and Register webhook recovers."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from nextoria_hub.payments.stripe_connection import WEBHOOK_EVENTS
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import connect_sandbox, seed_workspace, sign_in, unique_slug
from tests.payments.conftest import sign


def _refused_delivery(app_server: RunningApp, slug: str) -> None:
    """A POST signed with some other secret, as Stripe sends when the stored one is wrong."""
    body = json.dumps({"id": "evt_x", "object": "event", "type": "invoice.paid"}).encode()
    resp = httpx.post(
        f"http://127.0.0.1:{app_server.port}/api/webhooks/stripe",
        content=body,
        headers={
            "host": f"{slug}.localhost:{app_server.port}",
            "content-type": "application/json",
            "stripe-signature": sign(body, "whsec_some_other_endpoints_secret"),
        },
        trust_env=False,
        timeout=30,
    )
    assert resp.status_code == 400


def test_refused_deliveries_are_red_and_registering_again_recovers(
    app_server: RunningApp, page: Page, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("omega")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    _refused_delivery(app_server, slug)
    page.goto(app_server.url(slug, "/settings/integrations"))
    # One webhook-secret field (in the Webhook card), none in the keys form.
    expect(page.get_by_label("Webhook secret")).to_have_count(1)
    expect(page.locator("#webhook-events > *")).to_have_count(len(WEBHOOK_EVENTS))
    expect(page.locator("#webhook-events")).to_contain_text("Checkout")
    expect(page.locator("#deliveries-refused")).to_be_visible()
    page.get_by_role("button", name="Check connection").click()
    expect(page.locator("#problems")).to_contain_text("deliveries are being refused")
    expect(page.locator("#deliveries-refused")).to_have_count(0)  # said once, in Problems
    screenshot(page, "settings-integrations-refused")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "settings-integrations-refused-375")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Register webhook automatically").click()
    expect(page.locator("#deliveries-refused")).to_have_count(0)
    page.get_by_role("button", name="Check connection").click()
    expect(page.locator("#problems")).to_contain_text("Everything checks out")
