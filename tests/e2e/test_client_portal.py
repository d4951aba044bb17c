"""The Client Portal home in Chromium at 375 px: open invoices first, each with Pay Now,
above the paginated history and the payments with their receipts; no empty state before
the data; axe-core finds nothing serious or critical on the portal and the sign-in page.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.accounts import branding
from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import StripeCustomer, User, Workspace
from nextoria_hub.models.invoice import Invoice
from nextoria_hub.models.payment import Payment
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.e2e.axe import check_axe
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import PASSWORD, connect_sandbox, seed_workspace, sign_in, unique_slug

# Records whether the portal ever rendered its empty state (it must show a skeleton until
# the first event after hydrate brings the data, never the default empty list).
WATCH_EMPTY = """
window.__sawEmpty = false;
new MutationObserver(() => {
  if (document.body && document.body.innerText.includes('No invoices yet')) {
    window.__sawEmpty = true;
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _seed(slug: str) -> tuple[int, int]:
    """Initech with 3 open invoices (sent as the product does) and 60 settled ones."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        boss = db.exec(select(User).where(User.email == f"admin@{slug}.test")).one()
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
        today = utcnow().date()
        for n in range(60):
            issued = today - timedelta(days=400 - n * 5)
            inv = Invoice(
                workspace_id=ws.id,  # type: ignore[arg-type]
                client_id=client.id,  # type: ignore[arg-type]
                number=f"OLD-{n + 1:03d}",
                status="paid",
                currency="usd",
                issue_date=issued,
                due_date=issued + timedelta(days=14),
                total=80_000,
                amount_paid=80_000,
            )
            db.add(inv)
            db.flush()
            db.add(
                Payment(
                    workspace_id=ws.id,  # type: ignore[arg-type]
                    invoice_id=inv.id,  # type: ignore[arg-type]
                    client_id=client.id,  # type: ignore[arg-type]
                    status="succeeded",
                    amount=80_000,
                    currency="usd",
                    method_detail="Visa •••• 4242",
                    payment_intent_id=f"pi_old_{n}",
                )
            )
        first = 0
        for amount in ("450.00", "1200.00", "75.50"):
            inv = create_invoice(
                db,
                staff,
                client_id=client.id,  # type: ignore[arg-type]
                lines=[LineInput("Workshop", "1", amount)],
            )
            send_invoice(db, staff, inv.id)  # type: ignore[arg-type]
            first = first or inv.id  # type: ignore[assignment]
        # The agency's brand, as Settings → Branding would save it.
        logo = io.BytesIO()
        Image.new("RGB", (600, 200), (20, 90, 60)).save(logo, format="JPEG")
        branding.set_logo(db, staff, logo.getvalue())
        branding.set_accent(db, staff, "#14633c")
        return first, client.id  # type: ignore[return-value]


def test_portal_home_at_375_px(
    app_server: RunningApp,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
    axe_source: str,
) -> None:
    slug = unique_slug("portal")
    seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    first_open, _client_id = _seed(slug)

    context = browser.new_context(viewport={"width": 375, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(app_server.url(slug, "/login"))
    check_axe(page, axe_source, "the sign-in page")
    screenshot(page, "signin-375")
    page.add_init_script(WATCH_EMPTY)
    sign_in(page, app_server.url(slug, "/login"), "peter@initech.test")
    page.wait_for_url(app_server.url(slug, "/portal"))

    opens = page.locator(".portal-open")
    expect(opens).to_have_count(3)
    expect(page.locator(".pay-now")).to_have_count(3)
    expect(page.locator(".open-total")).to_have_text("$1,725.50")
    history = page.locator("#portal-history .portal-invoice")
    expect(history).to_have_count(25)
    expect(page.locator("#portal-history")).to_contain_text("Page 1 of 3")
    expect(page.locator("#portal-payments .portal-receipt")).to_have_count(25)
    assert page.evaluate("window.__sawEmpty") is False
    logo = page.locator(".agency-logo:visible")  # in the portal's frame, every page
    expect(logo).to_have_count(1)
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 512  # stored ≤ 512 px
    colour = page.locator(".pay-now").first.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(20, 99, 60)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "portal-home-375")
    check_axe(page, axe_source, "the portal home")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator(".pay-now").last).to_be_in_viewport()
    screenshot(page, "portal-home-1280")
    page.set_viewport_size({"width": 375, "height": 800})

    # Pages, search by number, filter by status.
    page.get_by_role("button", name="Next page of invoices").click()
    expect(page.locator("#portal-history")).to_contain_text("Page 2 of 3")
    page.get_by_label("Search by invoice number").fill("OLD-007")
    page.get_by_role("button", name="Search").click()
    expect(history).to_have_count(1)
    expect(history).to_contain_text("OLD-007")
    page.get_by_label("Search by invoice number").fill("")
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Search").click()
    expect(history).to_have_count(3)

    # The receipt link downloads the receipt PDF of that payment (one per part).
    receipt = page.locator("#portal-payments .portal-receipt").first
    assert re.fullmatch(
        r"/api/invoices/\d+/receipt\.pdf\?payment=\d+", receipt.get_attribute("href") or ""
    )
    with page.expect_download() as download:
        receipt.click()
    assert download.value.path().read_bytes().startswith(b"%PDF-")

    # Every portal page fits 375 px.
    for path, name in (
        (f"/portal/invoices/{first_open}", "portal-invoice-375"),
        ("/portal/payment-methods", "portal-payment-methods-375"),
    ):
        page.goto(app_server.url(slug, path))
        expect(page.locator("h1, h2, h3").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        screenshot(page, name)
        check_axe(page, axe_source, path)
        expect(page.locator(".agency-logo:visible")).to_have_count(1)

    # The invoice page's Pay Now wears the agency's accent too.
    page.goto(app_server.url(slug, f"/portal/invoices/{first_open}"))
    pay = page.get_by_role("button", name="Pay Now")
    expect(pay).to_be_visible()
    assert pay.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(20, 99, 60)"

    # Pay Now on the home goes straight to Stripe Checkout for that invoice.
    page.goto(app_server.url(slug, "/portal"))
    page.get_by_role("button", name=re.compile(r"Pay Now")).first.click()
    page.wait_for_url(re.compile(r"/c/pay/cs_"), timeout=30_000)

    # Profile: billing details go to the Stripe customer Checkout just created.
    page.goto(app_server.url(slug, "/portal/profile"))
    expect(page.get_by_label("Name on invoices")).to_have_value("Initech")
    page.get_by_label("Name on invoices").fill("Initech GmbH")
    page.get_by_label("Address", exact=True).fill("Hauptstraße 5")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("Tax ID type").select_option("eu_vat")
    page.get_by_label("Tax ID", exact=True).fill("DE12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tax_id-error")).to_contain_text("valid EU VAT number")
    page.get_by_label("Tax ID", exact=True).fill("DE123456789")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Billing details saved.")).to_be_visible()
    page.get_by_label("Email me a receipt for each payment").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "portal-profile-375")
    # The toast fades in and out (axe would measure it half transparent): audit the page.
    expect(page.get_by_text("Billing details saved.")).to_be_hidden(timeout=20_000)
    check_axe(page, axe_source, "/portal/profile")
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        key = secret_key_for(db, ws.id, "test")  # type: ignore[arg-type]
        customer_id = db.exec(
            select(StripeCustomer.customer_id).where(StripeCustomer.workspace_id == ws.id)
        ).all()
    stripe = stripe_sandbox.client(key)
    customers = [stripe.v1.customers.retrieve(c) for c in customer_id]
    mine = [c for c in customers if c.name == "Initech GmbH"]
    assert len(mine) == 1 and mine[0].address and mine[0].address.city == "Berlin"
    assert [t.value for t in stripe.v1.customers.tax_ids.list(mine[0].id).data] == ["DE123456789"]
    context.close()


def test_admin_sets_the_brand_in_settings(
    app_server: RunningApp,
    page: Page,
    axe_source: str,
    tmp_path: Path,
) -> None:
    slug = unique_slug("brand")
    admin = seed_workspace(slug)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, "/settings/branding"))
    expect(page.get_by_text("No logo yet")).to_be_visible()

    fake = tmp_path / "logo.png"
    fake.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    page.locator("#logo-upload input[type=file]").set_input_files(str(fake))
    expect(page.locator("#logo-error")).to_contain_text("not an image")

    real = tmp_path / "real.png"
    Image.new("RGB", (300, 100), (30, 60, 160)).save(real, format="PNG")
    page.locator("#logo-upload input[type=file]").set_input_files(str(real))
    expect(page.locator("#brand-logo")).to_be_visible()
    assert page.locator("#brand-logo").evaluate("img => img.naturalWidth") == 300

    page.get_by_label("Accent colour").fill("#ffd400")
    page.get_by_role("button", name="Save colour").click()
    expect(page.locator("#accent-error")).to_contain_text("Too light")
    page.get_by_label("Accent colour").fill("#14633c")
    page.get_by_role("button", name="Save colour").click()
    expect(page.get_by_text("Accent colour saved.")).to_be_visible()
    screenshot(page, "settings-branding")
    expect(page.get_by_text("Accent colour saved.")).to_be_hidden(timeout=20_000)
    check_axe(page, axe_source, "/settings/branding")
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        shown = branding.get_branding(db, ws.id)  # type: ignore[arg-type]
    assert (shown.accent, shown.has_logo) == ("#14633c", True)
