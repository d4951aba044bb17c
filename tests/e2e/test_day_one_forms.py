"""Day-one forms in Chromium: the invite dialog and the Join page fill in what is known."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    mark_paid_manually,
    send_invoice,
)
from nextoria_hub.db import session_scope
from nextoria_hub.models import OutboxEmail, Workspace
from nextoria_hub.notifications.links import fill_links
from nextoria_hub.tenancy import Actor
from tests.e2e.conftest import RunningApp, screenshot, screenshot_widths
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug


def test_invite_offers_the_clients_contact_and_join_fills_in_the_name(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    slug = unique_slug("upsilon")
    admin = seed_workspace(slug)
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        operator = Actor(workspace_id=ws.id, user_id=None, role="admin", email="t", name="T")  # type: ignore[arg-type]
        create_client(
            db,
            operator,
            name="Globex Corporation",
            billing_email="billing@globex.test",
            contact_name="Cleo Client",
        )
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/clients"))
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_label("Contact email")).to_have_value("billing@globex.test")
    expect(page.get_by_label("Contact name (optional)")).to_have_value("Cleo Client")
    screenshot(page, "clients-invite-prefilled")
    screenshot_widths(page, "clients-invite-prefilled")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Portal invitation sent to billing@globex.test")).to_be_visible()

    with session_scope() as db:
        mail = db.exec(
            select(OutboxEmail).where(
                OutboxEmail.to_address == "billing@globex.test", OutboxEmail.kind == "client_invite"
            )
        ).one()
    link = re.search(r"http://\S+/invite\?token=\S+", fill_links(mail.text_body))
    assert link is not None
    context = browser.new_context(viewport={"width": 375, "height": 800})
    join = context.new_page()
    join.goto(link.group(0))
    expect(join.get_by_label("Your name")).to_have_value("Cleo Client")
    screenshot(join, "join-name-filled-375")
    screenshot_widths(join, "join-name-filled")
    context.close()


def test_day_one_pages_hold_at_1280_and_375(app_server: RunningApp, page: Page) -> None:
    """Issue 17's changed pages: Payments names the invoice, Team offers the only admin no
    demotion, Emails says nothing left the machine; each at both widths."""
    slug = unique_slug("phi")
    admin = seed_workspace(slug)
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        operator = Actor(workspace_id=ws.id, user_id=None, role="admin", email="t", name="T")  # type: ignore[arg-type]
        client = create_client(
            db, operator, name="Globex Corporation", billing_email="billing@globex.test"
        )
        invoice = create_invoice(
            db,
            operator,
            client_id=client.id,  # type: ignore[arg-type]
            lines=[LineInput("Website redesign", "2", "600.00")],
        )
        send_invoice(db, operator, invoice.id)  # type: ignore[arg-type]
        mark_paid_manually(db, operator, invoice.id, "bank transfer")  # type: ignore[arg-type]
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))

    page.goto(app_server.url(slug, "/payments"))
    expect(page.get_by_role("link", name="INV-0001")).to_be_visible()
    screenshot_widths(page, "payments-invoice-number")

    page.goto(app_server.url(slug, "/settings/team"))
    expect(page.locator(".only-admin-note")).to_be_visible()
    expect(page.get_by_role("button", name="Make member")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    screenshot_widths(page, "settings-team-only-admin")

    page.goto(app_server.url(slug, "/emails"))
    expect(page.locator("#delivery-note")).to_contain_text("No email leaves this machine")
    screenshot_widths(page, "emails-not-sent")
