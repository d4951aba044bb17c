"""Toasts never cover an action; invoice pages hold with long descriptions (Chromium)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.db import session_scope
from nextoria_hub.models import Workspace
from nextoria_hub.tenancy import Actor
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import PASSWORD, seed_workspace, sign_in, unique_slug

LONG_URL = "https://files.example.com/" + "briefs/" * 20 + "final-final-v3.pdf"
LONG = ("Discovery workshop, sitemap and wireframes, see " + LONG_URL + " ").ljust(500, "x")


def _overlaps(a: dict, b: dict) -> bool:  # type: ignore[type-arg]
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _covered_buttons(page: Page) -> list[str]:
    """Names of visible page buttons that a visible toast sits on."""
    toasts = page.locator("[data-sonner-toast]")
    covered = []
    for t in range(toasts.count()):
        box = toasts.nth(t).bounding_box()
        buttons = page.locator("main button:visible, button:visible").filter(
            has_not=page.locator("[data-sonner-toast]")
        )
        for b in range(buttons.count()):
            button = buttons.nth(b)
            if button.evaluate("e => !!e.closest('[data-sonner-toast]')"):
                continue
            other = button.bounding_box()
            if box and other and _overlaps(box, other):
                covered.append(button.inner_text())
    return covered


def _seed_client(slug: str) -> str:
    """A client with a portal user; returns the user's email."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        operator = Actor(workspace_id=ws.id, user_id=None, role="admin", email="t", name="T")  # type: ignore[arg-type]
        client = create_client(db, operator, name="Initech", billing_email="ap@initech.test")
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
    return "peter@initech.test"


def test_draft_created_toast_leaves_send_clickable_and_long_lines_wrap(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    slug = unique_slug("tau")
    admin = seed_workspace(slug)
    client_email = _seed_client(slug)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/invoices/new"))
    page.get_by_label("Line 1 description").fill(LONG)
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_label("Line 1 unit price").fill("600")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r".*/invoices/\d+$"))
    expect(page.locator("[data-sonner-toast]").filter(has_text="created")).to_be_visible()
    assert _covered_buttons(page) == []
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".invoice-status").first).to_have_text("Open")
    expect(page.locator("[data-sonner-toast]").filter(has_text="sent")).to_be_visible()
    assert _covered_buttons(page) == []
    # No sideways scroll with a 500-character description and a long URL.
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"page scrolls sideways at {width}px ({scroll}px wide)"
        screenshot(page, f"invoice-long-description-{width}")

    invoice_id = page.url.rsplit("/", 1)[1]
    context = browser.new_context(viewport={"width": 375, "height": 800})
    client = context.new_page()
    sign_in(client, app_server.url(slug, "/login"), client_email)
    client.wait_for_url(app_server.url(slug, "/portal"))
    client.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    expect(client.locator("#amount-due")).to_have_text("$1,200.00")
    card = client.locator("#amount-due").locator(
        "xpath=ancestor::div[contains(@class,'rt-Box')][1]"
    )
    box, amount = card.bounding_box(), client.locator("#amount-due").bounding_box()
    assert box and amount and amount["x"] + amount["width"] <= box["x"] + box["width"]
    assert client.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(client, "portal-invoice-long-description-375")
    context.close()
