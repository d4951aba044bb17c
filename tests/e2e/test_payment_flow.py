"""The seed's "How Invoice Payments Work", end to end in Chromium against the sandbox."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.billing.finance import get_finance
from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, OutboxEmail, Workspace
from nextoria_hub.notifications.links import fill_links
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import (
    PASSWORD,
    connect_sandbox,
    fill_sandbox_card,
    seed_workspace,
    sign_in,
    unique_slug,
)


def _admin_creates_and_sends_invoice(page: Page, app: RunningApp, slug: str, amount: str) -> str:
    page.goto(app.url(slug, "/invoices/new"))
    page.get_by_label("Line 1 description").fill("Brand strategy workshop")
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill(amount)
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r".*/invoices/\d+$"))
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".invoice-status").first).to_have_text("Open")
    return page.url.rsplit("/", 1)[1]


def _workspace_id(db, slug: str) -> int:  # type: ignore[no-untyped-def]
    return db.exec(select(Workspace.id).where(Workspace.slug == slug)).one()


def _client_signs_in(context, app: RunningApp, slug: str, email: str) -> Page:  # type: ignore[no-untyped-def]
    with session_scope() as db:
        link = db.exec(
            select(OutboxEmail).where(
                OutboxEmail.to_address == email, OutboxEmail.kind == "client_invite"
            )
        ).one()
    url = re.search(r"http://\S+/invite\?token=\S+", fill_links(link.text_body)).group(0)  # type: ignore[union-attr]
    client_page = context.new_page()
    client_page.goto(url)
    client_page.get_by_label("Your name").fill("Cleo Client")
    client_page.get_by_label("Password").fill(PASSWORD)
    client_page.get_by_role("button", name="Join workspace").click()
    client_page.wait_for_url(app.url(slug, "/portal"))
    return client_page


def test_client_pays_an_invoice_through_checkout(
    app_server: RunningApp,
    page: Page,
    browser,
    stripe_sandbox: SandboxServer,  # type: ignore[no-untyped-def]
) -> None:
    slug = unique_slug("omega")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))

    # The admin adds a client and invites its contact to the portal.
    page.goto(app_server.url(slug, "/clients"))
    page.get_by_role("button", name="New client").click()
    page.get_by_label("Company name").fill("Globex Corporation")
    page.get_by_label("Billing email").fill("billing@globex.test")
    page.get_by_label("Contact name").fill("Cleo Client")
    page.get_by_role("button", name="Save client").click()
    expect(page.get_by_role("link", name="Globex Corporation")).to_be_visible()
    page.get_by_role("button", name="Invite").click()
    page.get_by_label("Contact email").fill("cleo@globex.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Portal invitation sent")).to_be_visible()

    invoice_id = _admin_creates_and_sends_invoice(page, app_server, slug, "600.00")
    screenshot(page, "invoice-admin")

    client_context = browser.new_context(viewport={"width": 1280, "height": 800})
    client_context.set_default_timeout(20_000)
    client = _client_signs_in(client_context, app_server, slug, "cleo@globex.test")
    client.get_by_role("link", name=re.compile("INV-0001")).click()
    expect(client.locator("#amount-due")).to_have_text("$1,200.00")
    screenshot(client, "portal-invoice")

    # Declined card: the sandbox page says so and the invoice stays open.
    client.get_by_role("button", name="Pay Now").click()
    client.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(client, "4000 0000 0000 0002")
    expect(client.get_by_role("alert")).to_have_text("Your card was declined.")
    with session_scope() as db:
        assert db.get(Invoice, int(invoice_id)).status == "open"  # type: ignore[union-attr]

    # Authentication required, completed: paid.
    fill_sandbox_card(client, "4000 0025 0000 3155")
    client.get_by_role("button", name="Complete authentication").click()
    client.wait_for_url(re.compile(r".*/portal/invoices/\d+/return\?session_id=cs_.*"))
    expect(client.locator("#payment-outcome")).to_contain_text(
        "Payment received — thank you", timeout=30_000
    )
    expect(client.locator("#paid-message")).to_contain_text("A receipt is on its way by email.")
    screenshot(client, "portal-paid")

    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Paid")
    expect(page.locator(".timeline")).to_contain_text("payment failed")
    with session_scope() as db:
        invoice = db.get(Invoice, int(invoice_id))
        assert invoice is not None and invoice.status == "paid" and invoice.amount_paid == 120000
        kinds = {(e.kind, e.to_address) for e in db.exec(select(OutboxEmail)).all()}
    assert ("payment_received_admin", admin) in kinds
    assert ("payment_receipt", "billing@globex.test") in kinds
    client_context.close()


def test_4242_pays_and_a_paid_invoice_cannot_be_paid_again(
    app_server: RunningApp,
    page: Page,
    browser,
    stripe_sandbox: SandboxServer,  # type: ignore[no-untyped-def]
) -> None:
    slug = unique_slug("sigma")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/clients"))
    page.get_by_role("button", name="New client").click()
    page.get_by_label("Company name").fill("Initech")
    page.get_by_label("Billing email").fill("ap@initech.test")
    page.get_by_role("button", name="Save client").click()
    page.get_by_role("button", name="Invite").click()
    page.get_by_label("Contact email").fill("peter@initech.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Portal invitation sent")).to_be_visible()
    invoice_id = _admin_creates_and_sends_invoice(page, app_server, slug, "49.50")
    with session_scope() as db:  # Finance → Automatic payment receipts: Off
        get_finance(db, _workspace_id(db, slug)).receipts_enabled = False

    client_context = browser.new_context(viewport={"width": 390, "height": 844})
    client_context.set_default_timeout(20_000)
    client = _client_signs_in(client_context, app_server, slug, "peter@initech.test")
    client.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    client.get_by_role("button", name="Pay Now").click()
    client.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(client, "4242 4242 4242 4242")
    expect(client.locator("#payment-outcome")).to_contain_text(
        "Payment received — thank you", timeout=30_000
    )
    expect(client.locator("#paid-message")).to_have_text(re.compile(r"Invoice INV-0001 is paid\.$"))
    client.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    expect(client.locator(".invoice-status").first).to_have_text("Paid")
    expect(client.get_by_role("button", name="Pay Now")).to_have_count(0)
    screenshot(client, "portal-mobile")
    page.goto(app_server.url(slug, "/dashboard"))
    expect(page.locator(".total-paid_this_month")).to_contain_text("$99.00")
    screenshot(page, "dashboard")
    client_context.close()
