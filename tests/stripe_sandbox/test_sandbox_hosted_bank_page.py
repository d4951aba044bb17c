"""Bank methods on the hosted Checkout page in a real browser: ACH, SEPA and iDEAL's bank page."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from playwright.sync_api import expect

from stripe_sandbox.testing import SandboxServer

pytestmark = pytest.mark.e2e


def _session(
    client: stripe.StripeClient, sandbox: SandboxServer, currency: str, methods: list[str]
) -> Any:
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "allowed_payment_method_types": methods,
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": 12000,
                        "product_data": {"name": "Invoice INV-9"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": f"{sandbox.base_url}/_sandbox/health?session_id={{CHECKOUT_SESSION_ID}}",
        }
    )


def test_ach_debit_completes_unpaid(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox, "usd", ["card", "us_bank_account"])
    page.goto(s.url)
    expect(page.get_by_test_id("wallets")).to_contain_text("Apple Pay and Google Pay are cards")
    page.get_by_label("Account holder name").fill("Jenny Rosen")
    page.get_by_label("Routing number").fill("110000000")
    page.get_by_label("Account number").fill("000123456789")
    page.get_by_role("button", name="Pay with US bank account").click()
    page.wait_for_url(f"**session_id={s.id}")
    done = client.v1.checkout.sessions.retrieve(s.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete" and done.payment_status == "unpaid"
    assert done.payment_intent.status == "processing"
    sandbox.control("POST", f"intents/{done.payment_intent.id}/settle")
    assert client.v1.checkout.sessions.retrieve(s.id).payment_status == "paid"


def test_sepa_and_ideal_without_card(
    page: Any, client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    s = _session(client, sandbox, "eur", ["sepa_debit", "ideal"])
    page.goto(s.url)
    expect(page.get_by_label("Card number")).to_have_count(0)
    expect(page.get_by_test_id("wallets")).to_have_count(0)
    page.get_by_label("IBAN").fill("AT00 0000")
    page.get_by_label("Name on the account").fill("Jenny Rosen")
    page.get_by_role("button", name="Pay with SEPA Direct Debit").click()
    expect(page.get_by_role("alert")).to_have_text("The provided IBAN is invalid.")
    page.get_by_label("Bank").select_option("ing")
    page.get_by_role("button", name="Pay with iDEAL").click()
    page.get_by_role("button", name="Authorize test payment").click()
    page.wait_for_url(f"**session_id={s.id}")
    done = client.v1.checkout.sessions.retrieve(s.id)
    assert done.status == "complete" and done.payment_status == "paid"
