"""Issue 19: the workspace's sign-in and join pages carry its logo and accent, and every
page a person sees before signing in passes axe-core (no serious or critical violation)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from nextoria_hub.accounts import branding
from nextoria_hub.accounts.team import invite
from nextoria_hub.db import session_scope
from nextoria_hub.models import OutboxEmail, User
from nextoria_hub.notifications.links import fill_links
from nextoria_hub.tenancy import Actor
from tests.e2e.axe import check_axe
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import seed_workspace, unique_slug

ACCENT, ACCENT_RGB = "#8a1c4a", "rgb(138, 28, 74)"
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _brand_and_invite(slug: str) -> str:
    """Brand the workspace as Settings → Branding would; returns an invitation link."""
    with session_scope() as db:
        boss = db.exec(select(User).where(User.email == f"admin@{slug}.test")).one()
        admin = Actor.of(boss)
        logo = io.BytesIO()
        Image.new("RGB", (480, 120), (138, 28, 74)).save(logo, format="PNG")
        branding.set_logo(db, admin, logo.getvalue())
        branding.set_accent(db, admin, ACCENT)
        invite(db, admin, email="nina@agency.test", role="member", name="Nina Novak")
    with session_scope() as db:
        email = db.exec(
            select(OutboxEmail).where(OutboxEmail.to_address == "nina@agency.test")
        ).one()
        body = fill_links(email.text_body)
    return re.search(r"http://\S+/invite\?token=\S+", body).group(0)  # type: ignore[union-attr]


def test_sign_in_and_join_pages_show_the_brand_and_pass_axe(
    app_server: RunningApp,
    browser,  # type: ignore[no-untyped-def]
    axe_source: str,
) -> None:
    slug = unique_slug("brandin")
    seed_workspace(slug)
    link = _brand_and_invite(slug)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()

    page.goto(app_server.url(slug, "/login"))
    logo = page.locator(".agency-logo")
    expect(logo).to_be_visible()
    assert re.search(r"/api/branding/logo\.png\?v=\d+$", logo.get_attribute("src") or "")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 480
    expect(logo).to_have_attribute("alt", re.compile(r"Agency logo$"))
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == ACCENT_RGB
    expect(page.get_by_text("Nextoria Hub", exact=True)).to_have_count(0)  # the agency's page
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"signin-branded-{width}")
        check_axe(page, axe_source, f"the branded sign-in page at {width}px")

    page.goto(link)
    expect(page.get_by_label("Your name")).to_have_value("Nina Novak")
    expect(page.locator(".agency-logo")).to_be_visible()
    button = page.get_by_role("button", name="Join workspace")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == ACCENT_RGB
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "join-branded-375")
    check_axe(page, axe_source, "the join page")

    # The other pages before sign-in: an expired sign-in link, and sign-up on the apex.
    page.goto(app_server.url(slug, "/welcome?token=not-a-live-link"))
    expect(page.get_by_text("Sign-in link expired")).to_be_visible()
    check_axe(page, axe_source, "the expired sign-in link page")
    page.goto(app_server.url(None, "/"))
    expect(page.get_by_role("heading", name="Create your workspace")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    check_axe(page, axe_source, "the sign-up page")
    context.close()


def test_an_unbranded_workspace_signs_in_under_the_products_mark(
    app_server: RunningApp,
    page,  # type: ignore[no-untyped-def]
) -> None:
    slug = unique_slug("plain")
    seed_workspace(slug)
    page.goto(app_server.url(slug, "/login"))
    expect(page.get_by_text("Nextoria Hub", exact=True)).to_be_visible()
    expect(page.locator(".agency-logo")).to_have_count(0)
    colour = page.get_by_role("button", name="Sign in").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert colour != ACCENT_RGB
    # The product's own favicon and logo come from the top-level assets/ folder.
    for name in ("favicon.ico", "logo.svg", "logo.png"):
        served = page.request.get(app_server.url(None, f"/{name}"))
        assert served.status == 200, name
        assert served.body() == (ASSETS / name).read_bytes(), name
