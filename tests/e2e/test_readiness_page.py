"""Readiness is asked of Stripe again on page load when stale; Finance warns per method."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import StripeKeys, Workspace
from nextoria_hub.payments.stripe_connection import ConnectInput, connect
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot, screenshot_widths
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug


def test_stale_readiness_is_refreshed_on_load_and_finance_warns(
    app_server: RunningApp, page: Page, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("phi")
    admin = seed_workspace(slug)
    account = stripe_sandbox.create_account(f"{slug} Ltd")
    keys = account["test"]
    with session_scope() as db:  # keys only: no webhook, so no account.updated reaches us
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        operator = Actor(workspace_id=ws.id, user_id=None, role="admin", email="t", name="T")  # type: ignore[arg-type]
        connect(db, operator, ConnectInput(keys["publishable_key"], keys["secret_key"]))
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/settings/finance"))
    expect(page.get_by_text("ACH Direct Debit")).to_be_visible()
    expect(page.locator(".method-warning")).to_have_count(0)

    stripe_sandbox.control(
        "POST",
        f"accounts/{account['account_id']}/readiness",
        {"charges_enabled": True, "details_submitted": False, "currently_due": ["company.tax_id"]},
    )
    page.goto(app_server.url(slug, "/settings/integrations"))
    expect(page.locator("#charges-badge")).to_have_text("Can take payments")  # checked just now
    with session_scope() as db:  # ... a while ago
        row = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == ws.id)).one()
        row.checked_at = utcnow() - timedelta(minutes=10)
    stripe_sandbox.control(
        "POST",
        f"accounts/{account['account_id']}/readiness",
        {"charges_enabled": False, "details_submitted": False, "currently_due": ["company.tax_id"]},
    )
    page.reload()
    expect(page.locator("#charges-badge")).to_have_text("Cannot take payments yet")

    page.goto(app_server.url(slug, "/settings/finance"))
    expect(page.locator("#method-warning-us_bank_account")).to_contain_text("can't take payments")
    screenshot(page, "settings-finance-readiness")
    screenshot_widths(page, "settings-finance-readiness")
