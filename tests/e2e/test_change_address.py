"""Settings → Workspace → Change address in Chromium: at once, signed in, old address redirects."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.db import session_scope
from nextoria_hub.models import AuditEntry, StripeKeys, Workspace
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import connect_sandbox, seed_workspace, sign_in, unique_slug


def test_change_address_moves_the_workspace_and_its_webhook(
    app_server: RunningApp, page: Page, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("psi")
    new = slug + "-studio"
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/settings/workspace"))
    expect(page.locator("#workspace-address")).to_have_text(app_server.url(slug, "/"))
    page.get_by_label("New address").fill(new)
    expect(page.locator("#new-address-preview")).to_have_text(app_server.url(new, "/"))
    screenshot(page, "settings-workspace")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "settings-workspace-375")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Change address").click()
    page.wait_for_url(re.compile(re.escape(app_server.url(new, "/")) + ".*"))
    expect(page.locator("#workspace-name")).to_be_visible()

    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == new)).one()
        keys = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == ws.id)).one()
        audit = db.exec(select(AuditEntry.action).where(AuditEntry.workspace_id == ws.id)).all()
    assert "workspace.address" in audit
    from nextoria_hub.secret_box import unseal

    endpoint = stripe_sandbox.client(unseal(keys.secret_key_sealed)).v1.webhook_endpoints.retrieve(
        keys.webhook_endpoint_id
    )
    assert endpoint.url == app_server.url(new, "/api/webhooks/stripe")

    page.goto(app_server.url(slug, "/invoices"))  # the old address, bookmarked
    page.wait_for_url(re.compile(re.escape(app_server.url(new, "/invoices")) + "/?$"))
