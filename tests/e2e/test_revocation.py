"""Team → Client contacts → Remove signs a client out of the portal at once, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug


def test_admin_removes_a_client_contact_who_is_signed_out_at_once(
    app_server: RunningApp, page: Page, browser: Browser
) -> None:
    slug = unique_slug("revoke")
    admin = seed_workspace(slug, clients=("cleo@client.test",))
    client_ctx = browser.new_context()
    client_ctx.set_default_timeout(20_000)
    try:
        client = client_ctx.new_page()
        sign_in(client, app_server.url(slug, "/login"), "cleo@client.test")
        client.wait_for_url(app_server.url(slug, "/portal"))

        sign_in(page, app_server.url(slug, "/login"), admin)
        page.wait_for_url(app_server.url(slug, "/dashboard"))
        page.goto(app_server.url(slug, "/settings/team"))
        contacts = page.locator("#client-contacts")
        expect(contacts).to_contain_text("cleo@client.test")
        contacts.get_by_role("button", name="Remove").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
        expect(page.get_by_text("they are signed out")).to_be_visible()
        expect(page.locator("#client-contacts")).to_have_count(0)

        client.goto(app_server.url(slug, "/portal"))  # the old session no longer works
        client.wait_for_url(re.compile(r".*/login.*"))
        sign_in(client, app_server.url(slug, "/login"), "cleo@client.test")
        expect(client.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    finally:
        client_ctx.close()
