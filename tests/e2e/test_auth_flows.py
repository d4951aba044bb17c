"""Sign-up, sign-in, throttling, sign-out and workspace boundaries, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import LoginFailure, UserSession, Workspace
from tests.e2e.conftest import RunningApp, screenshot, screenshot_widths
from tests.e2e.helpers import PASSWORD, seed_workspace, sign_in, unique_slug


def test_sign_up_lands_signed_in_on_the_new_subdomain(app_server: RunningApp, page: Page) -> None:
    slug = unique_slug("studio")
    page.goto(app_server.url())
    expect(page.get_by_role("heading", name="Create your workspace")).to_be_visible()
    page.get_by_label("Agency name").fill("Studio Nine")
    # The address is suggested from the name (as the placeholder) until the admin types one.
    expect(page.get_by_label("Workspace address")).to_have_attribute("placeholder", "studio-nine")
    expect(page.get_by_label("Workspace address")).to_have_value("")
    expect(page.locator("#slug-preview")).to_have_text(f"studio-nine.localhost:{app_server.port}")
    expect(page.get_by_text("Your workspace will live at")).to_be_visible()
    # Name, Tab, address at typing speed: what was typed is what stays.
    page.get_by_label("Agency name").fill("")
    page.get_by_label("Agency name").press_sequentially("Other Shop")
    page.keyboard.press("Tab")
    page.keyboard.type(slug)
    expect(page.get_by_label("Workspace address")).to_have_value(slug)
    expect(page.locator("#slug-preview")).to_have_text(f"{slug}.localhost:{app_server.port}")
    page.get_by_label("Your name").fill("Sam Founder")
    page.get_by_label("Email").fill("sam@studio.test")
    page.get_by_label("Password").fill("short")
    screenshot(page, "signup")
    screenshot_widths(page, "signup")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.locator("#password-error")).to_have_text("Use at least 12 characters.")

    page.get_by_label("Workspace address").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create workspace").click()
    expect(page.locator("#slug-error")).to_contain_text("reserved")

    page.get_by_label("Workspace address").fill(slug)
    page.get_by_role("button", name="Create workspace").click()
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    expect(page.locator("#workspace-name")).to_have_text("Other Shop")
    expect(page.locator("#signed-in-user")).to_have_text("Sam Founder")
    screenshot(page, "dashboard")
    with session_scope() as db:
        assert db.exec(select(Workspace).where(Workspace.slug == slug)).one().name == "Other Shop"


def test_sign_in_is_per_workspace(app_server: RunningApp, page: Page) -> None:
    a, b = unique_slug("alpha"), unique_slug("bravo")
    admin_a = seed_workspace(a)
    seed_workspace(b)
    sign_in(page, app_server.url(b, "/login"), admin_a)
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    sign_in(page, app_server.url(b, "/login"), "nobody@bravo.test")
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")

    sign_in(page, app_server.url(a, "/login"), admin_a)
    page.wait_for_url(app_server.url(a, "/dashboard"))
    # The session cookie of A, copied onto B's host, is worthless there.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "nx_session")
    page.context.add_cookies([{"name": "nx_session", "value": token, "url": app_server.url(b)}])
    page.goto(app_server.url(b, "/dashboard"))
    page.wait_for_url(re.compile(rf"{re.escape(app_server.url(b, '/login'))}.*"))


def test_repeated_failures_are_throttled(app_server: RunningApp, page: Page) -> None:
    slug = unique_slug("gamma")
    admin = seed_workspace(slug)
    for _ in range(5):
        sign_in(page, app_server.url(slug, "/login"), admin, "wrong-password-123")
        expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    # Someone kept guessing: the account's wait has grown to its one-minute cap.
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        for _ in range(6):
            db.add(LoginFailure(workspace_id=ws.id, email=admin, at=utcnow()))
    sign_in(page, app_server.url(slug, "/login"), admin)  # even the right password waits
    expect(page.locator("#login-throttle-note")).to_contain_text(
        re.compile(r"Too many failed attempts\. Try again in \d+ seconds?\.")
    )
    screenshot(page, "login-throttled")


def test_unknown_subdomain_shows_no_workspace(app_server: RunningApp, page: Page) -> None:
    page.goto(app_server.url("no-such-agency", "/login"))
    expect(page.get_by_role("heading", name="No workspace at this address")).to_be_visible()
    link = page.get_by_role("link", name="Go to Nextoria Hub")
    expect(link).to_have_attribute("href", app_server.url())
    expect(page.get_by_label("Email")).to_have_count(0)


def test_client_is_refused_admin_pages_and_sign_out_ends_the_session(
    app_server: RunningApp, page: Page
) -> None:
    slug = unique_slug("delta")
    seed_workspace(slug, clients=("cleo@client.test",))
    sign_in(page, app_server.url(slug, "/login"), "cleo@client.test")
    page.wait_for_url(app_server.url(slug, "/portal"))
    expect(page.get_by_text("Client Portal")).to_be_visible()
    expect(page.locator("#signed-in-user")).to_have_text("Cleo Client")
    screenshot(page, "portal")
    for path in ("/settings/team", "/emails", "/dashboard"):
        page.goto(app_server.url(slug, path))
        expect(page.get_by_role("heading", name="You don't have access")).to_be_visible()
        expect(page.get_by_role("table")).to_have_count(0)

    page.goto(app_server.url(slug, "/portal"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(app_server.url(slug, "/login"))
    with session_scope() as db:
        sessions = db.exec(select(UserSession).join(Workspace).where(Workspace.slug == slug)).all()
        assert sessions and all(s.ended_at is not None for s in sessions)
    page.goto(app_server.url(slug, "/portal"))
    page.wait_for_url(re.compile(r".*/login.*"))
