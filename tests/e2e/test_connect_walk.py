"""Stripe Connect in Chromium: a new agency signs up, connects Stripe with one button and
approves on Stripe's page, invites a client, and the client pays; another agency creates a
new Stripe account and finishes Stripe's onboarding. No key is typed anywhere."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, StripeKeys, Workspace
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import PASSWORD, fill_sandbox_card, unique_slug
from tests.e2e.test_payment_flow import _admin_creates_and_sends_invoice, _client_signs_in


def _sign_up(page: Page, app: RunningApp, name: str, slug: str, email: str) -> None:
    page.goto(app.url())
    page.get_by_label("Agency name").fill(name)
    page.get_by_label("Workspace address").fill(slug)
    page.get_by_label("Your name").fill("Sam Founder")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(app.url(slug, "/dashboard"))


def _integrations(app: RunningApp, slug: str, query: str) -> re.Pattern[str]:
    """The Integrations page with ``query`` (the production build adds a trailing slash)."""
    page = re.escape(app.url(slug, "/settings/integrations"))
    return re.compile(rf"{page}/?\?{re.escape(query)}$")


def _keys(slug: str) -> StripeKeys | None:
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        return db.exec(select(StripeKeys).where(StripeKeys.workspace_id == ws.id)).first()


def _no_key_fields_filled(page: Page) -> None:
    for label in ("Publishable key", "Secret key"):
        fields = page.get_by_label(label, exact=True)
        for i in range(fields.count()):
            expect(fields.nth(i)).to_have_value("")


def test_new_agency_connects_with_stripe_and_a_client_pays(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
) -> None:
    slug = unique_slug("hooked")
    _sign_up(page, app_server, "Hooked Studio", slug, "sam@hooked.test")
    page.goto(app_server.url(slug, "/settings/integrations"))
    expect(page.locator("#create-stripe-account")).to_have_text("Create a new Stripe account")
    screenshot(page, "settings-integrations-connect")
    page.get_by_role("radio", name="Live keys").click()  # the platform's key is a test key
    expect(page.locator("#connect-other-mode")).to_contain_text("in test mode on this server")
    expect(page.locator("#connect-with-stripe")).to_have_count(0)
    page.get_by_role("radio", name="Test keys").click()

    page.locator("#connect-with-stripe").click()
    page.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/oauth/authorize\?.*"))
    expect(page.get_by_role("heading")).to_have_text(f"Connect to {app_server.platform_name}")
    page.get_by_label("Business name").fill("Hooked Studio LLC")
    screenshot(page, "connect-stripe-authorize")
    page.get_by_role("button", name="Connect my Stripe account").click()
    page.wait_for_url(_integrations(app_server, slug, "stripe_connect=connected"))
    expect(page.get_by_text("Stripe is connected.")).to_be_visible()
    expect(page.locator("#account-name")).to_contain_text("Hooked Studio LLC")
    expect(page.locator("#secret-key-mask")).to_contain_text("Connected with Stripe")
    expect(page.locator("#charges-badge")).to_have_text("Can take payments")
    expect(page.locator("#connect-webhook-note")).to_be_visible()  # nothing to register
    expect(page.get_by_role("button", name="Disconnect test Stripe account")).to_be_visible()
    _no_key_fields_filled(page)
    screenshot(page, "settings-integrations-connected")
    row = _keys(slug)
    assert row is not None and row.connected_account.startswith("acct_")
    assert (row.secret_key_sealed, row.publishable_key) == ("", "")

    # The admin adds a client, invites its contact, and sends an invoice.
    page.goto(app_server.url(slug, "/clients"))
    page.get_by_role("button", name="New client").click()
    page.get_by_label("Company name").fill("Umbrella Corp")
    page.get_by_label("Billing email").fill("billing@umbrella.test")
    page.get_by_role("button", name="Save client").click()
    expect(page.get_by_role("link", name="Umbrella Corp")).to_be_visible()
    page.get_by_role("button", name="Invite").click()
    page.get_by_label("Contact email").fill("cleo@umbrella.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Portal invitation sent")).to_be_visible()
    invoice_id = _admin_creates_and_sends_invoice(page, app_server, slug, "450.00")

    # The client pays on Checkout in the agency's connected account.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    client = _client_signs_in(context, app_server, slug, "cleo@umbrella.test")
    client.get_by_role("link", name=re.compile("INV-0001")).click()
    client.get_by_role("button", name="Pay Now").click()
    client.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(client, "4242 4242 4242 4242")
    client.wait_for_url(re.compile(r".*/portal/invoices/\d+/return\?session_id=cs_.*"))
    expect(client.locator("#payment-outcome")).to_contain_text(
        "Payment received — thank you", timeout=30_000
    )
    context.close()
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Paid")
    with session_scope() as db:
        invoice = db.get(Invoice, int(invoice_id))
        assert invoice is not None and invoice.status == "paid" and invoice.amount_paid == 90000


def test_new_agency_creates_a_stripe_account_through_onboarding(
    app_server: RunningApp, page: Page, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("newbie")
    _sign_up(page, app_server, "Newbie Design", slug, "sam@newbie.test")
    page.goto(app_server.url(slug, "/settings/integrations"))
    page.locator("#create-stripe-account").click()
    page.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/setup/c/acct_.*"))
    expect(page.get_by_role("heading")).to_have_text("Set up your Stripe account")
    expect(page.get_by_label("Business name")).to_have_value("Newbie Design")
    row = _keys(slug)
    assert row is not None and row.connected_account and not row.charges_enabled

    # Leave without finishing: back on the page, the account waits for its details.
    page.get_by_role("button", name="Save and return later").click()
    page.wait_for_url(_integrations(app_server, slug, "stripe_onboarding=return"))
    expect(page.locator("#charges-badge")).to_have_text("Cannot take payments yet")
    expect(page.locator("#create-stripe-account")).to_have_text("Continue Stripe account set-up")
    expect(page.get_by_text("Stripe does not have your business details yet")).to_be_visible()
    screenshot(page, "settings-integrations-onboarding-pending")

    page.locator("#create-stripe-account").click()
    page.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/setup/c/acct_.*"))
    page.get_by_label("Business name").fill("Newbie Design LLC")
    page.get_by_label("Business website").fill("https://newbie.example")
    page.get_by_label("Representative first name").fill("Jenny")
    page.get_by_label("Representative last name").fill("Rosen")
    page.get_by_label("Routing number").fill("110000000")
    page.get_by_label("Account number").fill("000123456789")
    screenshot(page, "connect-onboarding-form")
    page.get_by_role("button", name="Agree and submit").click()
    page.wait_for_url(_integrations(app_server, slug, "stripe_onboarding=return"))
    expect(page.locator("#charges-badge")).to_have_text("Can take payments", timeout=20_000)
    expect(page.locator("#account-name")).to_contain_text("Newbie Design LLC")
    expect(page.locator("#create-stripe-account")).to_have_count(0)
    _no_key_fields_filled(page)
    screenshot(page, "settings-integrations-onboarded")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "settings-integrations-onboarded-375")
    row = _keys(slug)
    assert row is not None and row.charges_enabled and row.details_submitted
    assert row.secret_key_sealed == ""
