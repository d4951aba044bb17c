"""Revising invoices and the workspace's locale, in Chromium (screenshots at 1280 and 375 px):
edit a draft (lines, tax, dates, notes, client, currency) with a clear error, void and
duplicate a sent invoice (the link on both timelines), the locale in Settings → Workspace
shown on the invoice page, and the fixed late fee per currency in Settings → Finance."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, User
from nextoria_hub.tenancy import Actor
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug

NBSP = "\xa0"


def _books(slug: str) -> dict[str, int]:
    """A draft for Globex (USD), a sent invoice for Globex, and a second client in EUR."""
    today = utcnow().date()
    with session_scope() as db:
        admin = Actor.of(db.exec(select(User).where(User.email == f"admin@{slug}.test")).one())
        globex = create_client(db, admin, name="Globex Corporation", billing_email="ap@globex.test")
        umbrella = create_client(
            db, admin, name="Umbrella GmbH", billing_email="ap@umbrella.test", currency="eur"
        )
        draft = inv.create_invoice(
            db,
            admin,
            client_id=globex.id,  # type: ignore[arg-type]
            lines=[LineInput("Brand strategy workshop", "2", "600.00", "20")],
            issue_date=today,
            due_date=today + timedelta(days=14),
        )
        sent = inv.create_invoice(
            db,
            admin,
            client_id=globex.id,  # type: ignore[arg-type]
            lines=[
                LineInput("Website design", "1", "2400.00", "20"),
                LineInput("Hosting (12 months)", "12", "25.00"),
            ],
            notes="Thank you for your business.",
        )
        inv.send_invoice(db, admin, sent.id)  # type: ignore[arg-type]
        db.flush()
        return {"draft": draft.id, "sent": sent.id, "umbrella": umbrella.id}  # type: ignore[dict-item]


def _narrow(page: Page, name: str) -> None:
    """The same page at 375 px, then back."""
    size = page.viewport_size or {"width": 1280, "height": 800}
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)
    screenshot(page, f"{name}-375")
    page.set_viewport_size(size)


def test_edit_a_draft_void_and_duplicate_locale_and_fees(
    app_server: RunningApp, page: Page
) -> None:
    slug = unique_slug("drafts")
    admin = seed_workspace(slug)
    ids = _books(slug)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))

    # -- edit a draft: a clear error first, then every field --
    page.goto(app_server.url(slug, f"/invoices/{ids['draft']}"))
    page.locator("#edit-draft").click()
    editor = page.locator("#draft-editor")
    expect(editor.get_by_label("Line 1 description")).to_have_value("Brand strategy workshop")
    expect(editor.get_by_label("Line 1 unit price")).to_have_value("600.00")
    editor.get_by_label("Line 1 description").fill("")
    editor.locator("#save-draft").click()
    expect(editor.get_by_role("alert")).to_contain_text("Line 1: enter a description.")
    editor.get_by_label("Line 1 description").fill("Brand workshop (full day)")
    expect(editor.get_by_role("alert")).to_have_count(0)  # corrected: the error goes
    editor.get_by_label("Line 1 quantity").fill("1.5")
    editor.get_by_label("Line 1 tax rate").fill("19")
    editor.get_by_role("button", name="Add line").click()
    editor.get_by_label("Line 2 description").fill("Travel")
    editor.get_by_label("Line 2 unit price").fill("180.00")
    editor.locator("#client_id").select_option(label="Umbrella GmbH (EUR)")
    editor.locator("#currency").select_option("eur")
    editor.locator("#notes").fill("Payable within 30 days.")
    screenshot(page, "invoice-draft-editor")
    _narrow(page, "invoice-draft-editor")
    editor.locator("#save-draft").click()
    expect(page.locator("#draft-editor")).to_have_count(0)
    body = page.locator("body")
    expect(body).to_contain_text("Umbrella GmbH")
    expect(body).to_contain_text("Brand workshop (full day)")
    expect(body).to_contain_text("€1,251.00")  # 900 + 19% tax (171) + 180 travel
    expect(body).to_contain_text("Payable within 30 days.")
    expect(page.get_by_text(re.compile("Draft edited by Ada Admin"))).to_be_visible()
    with session_scope() as db:
        saved = db.get(Invoice, ids["draft"])
        assert saved is not None
        assert (saved.client_id, saved.currency, saved.total) == (ids["umbrella"], "eur", 125100)

    # -- void and duplicate a sent invoice --
    page.goto(app_server.url(slug, f"/invoices/{ids['sent']}"))
    page.locator("#void-and-duplicate").click()
    page.locator("#confirm-void-and-duplicate").click()
    page.wait_for_url(re.compile(r"/invoices/\d+\?edit=1"))
    new_id = int(re.search(r"/invoices/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert new_id != ids["sent"]
    expect(page.locator("#duplicated-from")).to_contain_text("Duplicated from INV-0002")
    expect(page.locator("#draft-editor")).to_be_visible()  # opened to revise at once
    expect(page.locator("#draft-editor").get_by_label("Line 2 description")).to_have_value(
        "Hosting (12 months)"
    )
    page.locator("#draft-editor").get_by_label("Line 2 quantity").fill("6")
    page.locator("#save-draft").click()
    expect(page.locator("body")).to_contain_text("$3,030.00")  # 2,400 + 20% + 6 × 25
    expect(page.get_by_text("Duplicated from INV-0002", exact=True)).to_be_visible()  # timeline
    screenshot(page, "invoice-duplicated-draft")
    _narrow(page, "invoice-duplicated-draft")
    page.locator("#duplicated-from").get_by_role("link", name="INV-0002").click()
    page.wait_for_url(app_server.url(slug, f"/invoices/{ids['sent']}"))
    expect(page.locator(".replaced-by")).to_contain_text("Replaced by INV-0003")
    expect(page.get_by_text("Replaced by INV-0003", exact=True)).to_be_visible()  # timeline
    expect(page.locator("#void-and-duplicate")).to_have_count(0)  # void now: nothing to revise
    screenshot(page, "invoice-replaced-by")

    # -- the workspace locale --
    page.goto(app_server.url(slug, "/settings/workspace"))
    expect(page.locator("#locale")).to_have_value("en_US")
    expect(page.locator("#locale-example")).to_contain_text("$1,250.00")
    page.locator("#locale").select_option("de_DE")
    expect(page.locator("#locale-example")).to_contain_text(f"1.250,00{NBSP}$")
    screenshot(page, "settings-workspace-locale")
    _narrow(page, "settings-workspace-locale")
    page.goto(app_server.url(slug, f"/invoices/{new_id}"))
    expect(page.locator("body")).to_contain_text(f"3.030,00{NBSP}$")
    page.goto(app_server.url(slug, f"/invoices/{ids['draft']}"))
    expect(page.locator("body")).to_contain_text(f"1.251,00{NBSP}€")
    screenshot(page, "invoice-locale-de")

    # -- the fixed late fee per currency --
    page.goto(app_server.url(slug, "/settings/finance"))
    reminders = page.locator("#reminders")
    reminders.get_by_role("radio", name="A fixed amount").click()
    expect(page.locator("#fee_fixed_usd")).to_be_visible()  # the default currency
    expect(page.locator("#fee_fixed_eur")).to_be_visible()  # a client's currency
    page.locator("#fee_fixed_usd").fill("25")
    page.locator("#fee-add-currency").select_option("jpy")
    page.locator("#fee_fixed_jpy").fill("3000.5")
    reminders.get_by_role("button", name="Save reminders").click()
    expect(reminders.get_by_text("JPY: JPY amounts have at most 0 decimals.")).to_be_visible()
    page.locator("#fee_fixed_jpy").fill("3000")
    reminders.get_by_role("button", name="Save reminders").click()
    expect(page.get_by_text("Reminders and late fees saved.")).to_be_visible(timeout=15_000)
    page.reload()
    expect(page.locator("#fee_fixed_usd")).to_have_value("25.00")
    expect(page.locator("#fee_fixed_jpy")).to_have_value("3000")
    expect(page.locator("#fee_fixed_eur")).to_have_value("")
    reminders.scroll_into_view_if_needed()
    screenshot(page, "settings-late-fee-per-currency")
    _narrow(page, "settings-late-fee-per-currency")
    with session_scope() as db:
        ws_id = db.exec(select(User.workspace_id).where(User.email == admin)).one()
        assert rem.fixed_fees(rem.get_reminder_settings(db, ws_id)) == {"usd": 2500, "jpy": 3000}
