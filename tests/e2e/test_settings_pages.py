"""Settings → Integrations → Stripe and Settings → Finance, in Chromium against the sandbox."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, WebSocket, expect

from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug


def _record_frames(page: Page) -> list[str]:
    frames: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    return frames


def _fill_keys(page: Page, pk: str, sk: str) -> None:
    page.get_by_label("Publishable key").fill(pk)
    page.get_by_label("Secret key").fill(sk)
    page.get_by_role("button", name=re.compile(r"^(Connect|Save new keys)$")).click()


def test_connect_validate_register_and_switch_modes(
    app_server: RunningApp, page: Page, stripe_sandbox: SandboxServer
) -> None:
    account: dict[str, Any] = stripe_sandbox.create_account("Studio Kappa Ltd")
    test, live = account["test"], account["live"]
    slug = unique_slug("kappa")
    admin = seed_workspace(slug)
    frames = _record_frames(page)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/settings/integrations"))
    expect(page.get_by_text("No test keys yet")).to_be_visible()
    expect(page.locator("#webhook-url")).to_have_text(app_server.url(slug, "/api/webhooks/stripe"))

    _fill_keys(page, test["publishable_key"], live["secret_key"])
    expect(page.locator("#secret_key-error")).to_contain_text("different modes")
    _fill_keys(page, test["publishable_key"], test["secret_key"][:-4] + "0000")
    expect(page.locator("#secret_key-error")).to_contain_text("Stripe rejected this key")
    # One place for each error (issue 17): the field's reason inline, not again in a toast.
    expect(page.get_by_text("Stripe rejected this key")).to_have_count(1)
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect(page.locator(".test-mode-badge")).to_have_count(0)

    _fill_keys(page, test["publishable_key"], test["secret_key"])
    expect(page.locator("#secret-key-mask")).to_have_text(f"sk_test_…{test['secret_key'][-4:]}")
    expect(page.locator("#account-name")).to_contain_text("Studio Kappa Ltd")
    expect(page.locator("#charges-badge")).to_have_text("Can take payments")
    expect(page.locator(".test-mode-badge:visible")).to_have_count(1)

    page.get_by_role("button", name="Register webhook automatically").click()
    expect(page.get_by_text("whsec_…")).to_be_visible()
    page.get_by_role("button", name="Check connection").click()
    expect(page.locator("#problems")).to_contain_text("Everything checks out")
    endpoints = stripe_sandbox.client(test["secret_key"]).v1.webhook_endpoints.list().data
    assert [e.url for e in endpoints] == [app_server.url(slug, "/api/webhooks/stripe")]
    screenshot(page, "settings-integrations")

    page.get_by_role("radio", name="Live keys").click()
    expect(page.get_by_text("No live keys yet")).to_be_visible()
    _fill_keys(page, live["publishable_key"], live["secret_key"])
    expect(page.locator("#secret-key-mask")).to_have_text(f"sk_live_…{live['secret_key'][-4:]}")
    page.get_by_role("button", name="Use live mode").click()
    expect(page.locator(".test-mode-badge")).to_have_count(0)
    expect(page.locator(".live-mode-badge:visible")).to_have_count(1)
    expect(page.locator("#mode-warning")).to_contain_text("Live mode has no webhook secret")
    screenshot(page, "settings-integrations-live")
    page.get_by_role("button", name="Use test mode").click()
    expect(page.locator(".test-mode-badge:visible")).to_have_count(1)
    expect(page.locator(".live-mode-badge")).to_have_count(0)

    everything = "\n".join(frames)
    assert frames, "no websocket traffic was recorded"
    for secret in (test["secret_key"], live["secret_key"]):
        # The browser typed them in (framesent), but the server never sends them back.
        received = [f for f in frames if secret in f and '"delta"' in f]
        assert received == [], "a secret key was sent to the browser"
    assert "whsec_" not in everything.replace("whsec_…", "")


def test_finance_options_explain_contradictions(app_server: RunningApp, page: Page) -> None:
    slug = unique_slug("lambda")
    admin = seed_workspace(slug)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/settings/finance"))
    expect(page.get_by_label("Default currency")).to_have_value("usd")
    expect(page.locator("#method-card")).to_be_disabled()
    expect(page.locator("#method-sofort")).to_be_disabled()
    expect(page.get_by_text("Stripe discontinued Sofort on 31 March 2025")).to_be_visible()
    expect(page.get_by_label("Only the methods ticked below")).to_be_checked()
    page.get_by_label("Use what my Stripe Dashboard enables").click()
    expect(page.get_by_label("Use what my Stripe Dashboard enables")).to_be_checked()
    expect(page.get_by_text("Stripe Dashboard → Settings → Payment Methods")).to_be_visible()
    expect(page.locator("#method-sepa_debit")).to_be_disabled()
    page.get_by_label("Only the methods ticked below").click()
    expect(page.locator("#method-sepa_debit")).to_be_enabled()

    page.locator("#method-sepa_debit").click()
    page.get_by_label("Retry 2", exact=True).fill("1")
    page.locator("#save-finance").click()
    expect(page.get_by_role("alert").filter(has_text="increasing order")).to_be_visible()
    # The reason once, inline; the toast only says where to look.
    expect(page.get_by_text(re.compile("increasing order"))).to_have_count(1)
    expect(page.locator("[data-sonner-toast]")).to_contain_text("see the note in red below")

    page.get_by_label("Retry 2", exact=True).fill("4")
    page.get_by_role("button", name="Add retry").click()
    expect(page.get_by_label("Retry 5", exact=True)).to_have_value("9")
    page.get_by_role("button", name="Remove retry 1").click()
    page.get_by_label("Notice days").fill("5")
    page.locator("#receipts").click()
    page.locator("#save-finance").click()
    warning = page.locator(".finance-warning")
    expect(warning).to_contain_text("SEPA Direct Debit only works for EUR invoices")
    screenshot(page, "settings-finance")

    page.reload()
    expect(page.get_by_label("Retry 1", exact=True)).to_have_value("4")
    expect(page.get_by_label("Retry 4", exact=True)).to_have_value("9")
    expect(page.locator("#method-sepa_debit")).to_be_checked()
    expect(page.get_by_label("Notice days")).to_have_value("5")
    expect(page.locator("#receipts")).not_to_be_checked()

    page.goto(app_server.url(slug, "/settings/audit"))
    expect(page.get_by_text("finance.update")).to_be_visible()
