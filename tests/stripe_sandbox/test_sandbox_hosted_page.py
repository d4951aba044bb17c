"""The hosted Checkout page in a real browser (Chromium through Playwright's sync API)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from playwright.sync_api import expect

from stripe_sandbox.testing import SandboxServer

pytestmark = pytest.mark.e2e


# ``browser``/``page`` come from tests/conftest.py: one Chromium for the whole run.


def _session(client: stripe.StripeClient, sandbox: SandboxServer, mode: str = "payment") -> Any:
    success = f"{sandbox.base_url}/_sandbox/health?session_id={{CHECKOUT_SESSION_ID}}"
    params: dict[str, Any] = {
        "mode": mode,
        "success_url": success,
        "cancel_url": f"{sandbox.base_url}/_sandbox/health?canceled=1",
        "allowed_payment_method_types": ["card"],
    }
    if mode == "payment":
        params["line_items"] = [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 4950,
                    "product_data": {"name": "Brand sprint"},
                },
                "quantity": 1,
            }
        ]
        params["payment_intent_data"] = {"metadata": {"workspace": "w-9"}}
    else:
        params["currency"] = "usd"
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def _fill(page: Any, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")


def test_4242_pays_and_redirects(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    expect(page.get_by_test_id("amount")).to_have_text("$49.50")
    expect(page.get_by_text("Acme Studio").first).to_be_visible()
    _fill(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(f"**session_id={s.id}")
    assert page.url.endswith(f"session_id={s.id}")
    done = client.v1.checkout.sessions.retrieve(s.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete" and done.payment_intent.status == "succeeded"
    assert done.payment_intent.metadata["workspace"] == "w-9"


def test_0002_shows_decline_and_stays_open(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    _fill(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    assert client.v1.checkout.sessions.retrieve(s.id).status == "open"
    failed = client.v1.events.list(params={"type": "payment_intent.payment_failed"}).data
    assert len(failed) == 1


def test_9995_shows_insufficient_funds(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    _fill(page, "4000000000009995")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")


def test_3155_complete_authentication(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    _fill(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(f"**session_id={s.id}")
    assert client.v1.checkout.sessions.retrieve(s.id).payment_status == "paid"


def test_3155_fail_authentication(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    _fill(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.get_by_role("alert")).to_contain_text("unable to authenticate")
    assert client.v1.checkout.sessions.retrieve(s.id).status == "open"


def test_setup_mode_saves_card(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    cus = client.v1.customers.create(params={"name": "Saver"})
    s = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "customer": cus.id,
            "success_url": f"{sandbox.base_url}/_sandbox/health?session_id={{CHECKOUT_SESSION_ID}}",
        }
    )
    page.goto(s.url)
    _fill(page, "4242424242424242")
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"**session_id={s.id}")
    pms = client.v1.payment_methods.list(params={"customer": cus.id, "type": "card"}).data
    assert [p.card.last4 for p in pms] == ["4242"]


def test_cancel_link_and_closed_sessions(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox)
    page.goto(s.url)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**canceled=1")
    client.v1.checkout.sessions.expire(s.id)
    page.goto(s.url)
    expect(page.get_by_text("This checkout session has expired.")).to_be_visible()
