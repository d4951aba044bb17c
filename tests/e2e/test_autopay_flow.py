"""Autopay in Chromium: enable, save a card in setup mode, the job charges, both see Paid."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, OutboxEmail, User, Workspace
from nextoria_hub.notifications.outbox import render_row
from nextoria_hub.payments.autopay import charge_due_invoices
from nextoria_hub.tenancy import Actor
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


def _client_with_due_invoice(slug: str, admin_email: str, contact: str) -> tuple[int, int]:
    """A client whose contact can sign in, and a sent invoice due today: (client id, invoice id)."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = db.exec(
            select(User).where(User.workspace_id == ws.id, User.email == admin_email)
        ).one()
        actor = Actor.of(admin)
        client = create_client(
            db, actor, name="Retainer Co", billing_email=f"ap@{slug}.test", currency="usd"
        )
        user = create_user(
            db,
            workspace_id=ws.id,
            email=contact,
            name="Cleo Client",
            role="client",
            password=PASSWORD,
        )  # type: ignore[arg-type]
        user.client_id = client.id
        db.add(user)
        today = utcnow().date()
        invoice = create_invoice(
            db,
            actor,
            client_id=client.id,
            lines=[LineInput("Monthly retainer", "1", "850.00")],  # type: ignore[arg-type]
            issue_date=today - timedelta(days=14),
            due_date=today,
        )
        send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
        return client.id, invoice.id  # type: ignore[return-value]


def _enable_autopay(page: Page, app: RunningApp, slug: str, admin: str, client_id: int) -> None:
    sign_in(page, app.url(slug, "/login"), admin)
    page.wait_for_url(app.url(slug, "/dashboard"))
    page.goto(app.url(slug, f"/clients/{client_id}?tab=billing"))
    page.get_by_role("button", name="Enable Autopay").click()
    expect(page.locator("#autopay-badge")).to_have_text("Autopay on")
    expect(page.locator("#autopay-waiting")).to_be_visible()


def _client_saves_card(
    browser: Browser, app: RunningApp, slug: str, contact: str, sandbox: SandboxServer, card: str
) -> Page:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(20_000)
    client = ctx.new_page()
    sign_in(client, app.url(slug, "/login"), contact)
    client.wait_for_url(app.url(slug, "/portal"))
    client.goto(app.url(slug, "/portal/payment-methods"))
    expect(client.locator("#autopay-callout")).to_contain_text("save a card")
    client.get_by_role("button", name="Save a card").click()
    client.wait_for_url(re.compile(rf"{re.escape(sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(client, card, button="Save card")
    if card.replace(" ", "").endswith("3155"):
        client.get_by_role("button", name="Complete authentication").click()
    client.wait_for_url(re.compile(r".*/portal/payment-methods/?\?session_id=.*"))
    expect(client.locator("#saved-card")).to_contain_text(card.replace(" ", "")[-4:])
    return client


def test_autopay_charges_the_due_invoice(
    app_server: RunningApp, page: Page, browser: Browser, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("auto")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    client_id, invoice_id = _client_with_due_invoice(slug, admin, "cleo@retainer.test")
    _enable_autopay(page, app_server, slug, admin, client_id)

    client = _client_saves_card(
        browser, app_server, slug, "cleo@retainer.test", stripe_sandbox, "4242 4242 4242 4242"
    )
    screenshot(client, "portal-payment-methods")
    page.reload()
    expect(page.locator("#autopay-method")).to_contain_text("4242")
    screenshot(page, "client-billing")

    charge_due_invoices()
    with session_scope() as db:
        assert db.get(Invoice, invoice_id).status == "paid"  # type: ignore[union-attr]
    client.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    expect(client.locator(".invoice-status").first).to_have_text("Paid")
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Paid")
    client.context.close()


def test_autopay_with_an_authentication_card_emails_the_client(
    app_server: RunningApp, page: Page, browser: Browser, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("authy")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    client_id, invoice_id = _client_with_due_invoice(slug, admin, "cleo@auth.test")
    _enable_autopay(page, app_server, slug, admin, client_id)
    client = _client_saves_card(
        browser, app_server, slug, "cleo@auth.test", stripe_sandbox, "4000 0025 0000 3155"
    )

    charge_due_invoices()
    with session_scope() as db:
        assert db.get(Invoice, invoice_id).status == "open"  # type: ignore[union-attr]
        mail = db.exec(
            select(OutboxEmail).where(OutboxEmail.kind == "autopay_action_required")
        ).all()
        # The app's worker may have queued it from the webhook and not rendered it yet: read
        # it as delivery will send it.
        assert any(f"/portal/invoices/{invoice_id}" in render_row(db, m)[1] for m in mail)
    client.context.close()
