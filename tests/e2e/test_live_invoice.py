"""Open invoice pages follow the invoice: paid elsewhere, the page shows Paid without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.db import session_scope
from nextoria_hub.models import User, Workspace
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.e2e.conftest import RunningApp, screenshot, screenshot_widths
from tests.e2e.helpers import PASSWORD, connect_sandbox, seed_workspace, sign_in, unique_slug


def test_admin_and_client_pages_turn_paid_without_a_reload(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
) -> None:
    slug = unique_slug("chi")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        boss = db.exec(select(User).where(User.email == admin)).one()
        staff = Actor.of(boss)
        client = create_client(db, staff, name="Initech", billing_email="ap@initech.test")
        user = create_user(
            db,
            workspace_id=ws.id,  # type: ignore[arg-type]
            email="peter@initech.test",
            name="Peter",
            role="client",
            password=PASSWORD,
        )
        user.client_id = client.id
        db.add(user)
        invoice = create_invoice(
            db,
            staff,
            client_id=client.id,
            lines=[LineInput("Workshop", "1", "450.00")],  # type: ignore[arg-type]
        )
        send_invoice(db, staff, invoice.id)  # type: ignore[arg-type]
        invoice_id, portal_user_id = invoice.id, user.id
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Open")

    context = browser.new_context(viewport={"width": 375, "height": 800})
    context.set_default_timeout(20_000)
    portal = context.new_page()
    sign_in(portal, app_server.url(slug, "/login"), "peter@initech.test")
    portal.wait_for_url(app_server.url(slug, "/portal"))
    portal.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    expect(portal.locator("#amount-due")).to_have_text("$450.00")

    # The client pays in another tab (Checkout, then Stripe's webhook to the app).
    with session_scope() as db:
        who = Actor.of(db.get(User, portal_user_id))  # type: ignore[arg-type]
        url = start_checkout(db, who, invoice_id, base_url=app_server.url(slug))  # type: ignore[arg-type]
    submit_checkout(url)
    assert stripe_sandbox.wait_for_deliveries(30)

    expect(page.locator(".invoice-status").first).to_have_text("Paid", timeout=30_000)
    expect(portal.locator("#amount-due")).to_have_text("$0.00", timeout=30_000)
    with session_scope() as db:
        from nextoria_hub.models import Payment

        pi = db.exec(
            select(Payment.payment_intent_id).where(Payment.invoice_id == invoice_id)
        ).one()
    # The Stripe id is shown short, whole on hover, with a copy button.
    # (in the payments table and in the timeline's "paid" entry).
    short = page.locator(f'code[title="{pi}"]')
    expect(short).to_have_count(2)
    expect(short.first).to_have_text(pi[:10] + "…" + pi[-5:])
    expect(page.get_by_role("button", name=f"Copy {pi}").first).to_be_visible()
    screenshot(page, "invoice-paid-live")
    screenshot_widths(page, "invoice-paid-live")
    screenshot_widths(portal, "portal-invoice-paid-live")
    context.close()
