"""PDFs, exports, aged receivables, reminders and late fees, in Chromium (screenshots)."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlmodel import select

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import User, Workspace
from nextoria_hub.tenancy import Actor
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug


def _books(slug: str) -> dict[str, int]:
    """Two clients, an invoice 45 days overdue with a late fee, a current one, a paid one."""
    today = utcnow().date()
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = Actor.of(db.exec(select(User).where(User.email == f"admin@{slug}.test")).one())
        globex = create_client(db, admin, name="Globex Corporation", billing_email="ap@globex.test")
        hooli = create_client(db, admin, name="Hooli", billing_email="ap@hooli.test")
        portal = db.exec(select(User).where(User.email == f"client@{slug}.test")).one()
        portal.client_id = globex.id
        db.add(portal)

        def invoice(client, unit: str, due_in: int):  # type: ignore[no-untyped-def]
            made = inv.create_invoice(
                db,
                admin,
                client_id=client.id,
                lines=[LineInput("Brand strategy workshop", "2", unit, "20")],
                issue_date=today + timedelta(days=due_in - 14),
                due_date=today + timedelta(days=due_in),
            )
            inv.send_invoice(db, admin, made.id)
            return made

        late = invoice(globex, "600.00", -45)
        invoice(hooli, "250.00", 10)
        invoice(hooli, "125.00", -95)
        paid = invoice(globex, "400.00", 5)
        inv.mark_paid_manually(db, admin, paid.id, "Bank transfer 2291")
        rem.update_reminder_settings(
            db,
            admin,
            rem.ReminderUpdate(
                enabled=True,
                days_before=3,
                on_due_date=True,
                days_after=2,
                repeat_every=7,
                max_after=3,
                late_fee_kind="percent",
                late_fee_percent="1.5",
                late_fee_after_days=30,
            ),
        )
        db.flush()
        rem.send_due_reminders(db, today)
        return {"workspace": ws.id, "late": late.id, "paid": paid.id, "globex": globex.id}  # type: ignore[dict-item]


FETCH = """async (path) => {
  const r = await fetch(path, {credentials: "same-origin"});
  const bytes = new Uint8Array(await r.arrayBuffer());
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return [r.status, r.headers.get("content-type") || "", btoa(raw)];
}"""


def _fetch(page: Page, path: str) -> tuple[int, str, bytes]:
    """GET ``path`` from the page itself (its host, its cookie), as a click on the link would."""
    status, kind, body = page.evaluate(FETCH, path)
    return status, kind, base64.b64decode(body)


def _pdf_text(page: Page, path: str) -> str:
    status, kind, body = _fetch(page, path)
    assert (status, kind) == (200, "application/pdf")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def test_admin_and_client_documents_reports_and_reminders(
    app_server: RunningApp, page: Page, browser
) -> None:  # type: ignore[no-untyped-def]
    slug = unique_slug("docs")
    admin = seed_workspace(slug, clients=(f"client@{slug}.test",))
    ids = _books(slug)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))

    aging = page.locator("#aged-receivables")
    expect(aging).to_contain_text("Globex Corporation")
    expect(aging).to_contain_text("$1,461.60")  # 1,440.00 + the 1.5% late fee, 31–60 days
    expect(aging).to_contain_text("$304.50")  # Hooli, 90+ days, with its fee
    screenshot(page, "dashboard-aged-receivables")

    page.goto(app_server.url(slug, f"/invoices/{ids['late']}"))
    expect(page.locator("#late-fees")).to_contain_text("$21.60")
    with page.expect_download() as pdf_download:  # the button itself, not only the route
        page.locator("#download-pdf").click()
    assert pdf_download.value.suggested_filename == "Invoice-INV-0001.pdf"
    assert pdf_download.value.path().read_bytes().startswith(b"%PDF-")
    expect(page.get_by_text("Late fee", exact=True).first).to_be_visible()
    text = _pdf_text(page, f"/api/invoices/{ids['late']}/invoice.pdf")
    assert "Late fee" in text and "$1,461.60" in text and "Globex Corporation" in text
    screenshot(page, "invoice-late-fee")
    page.locator("#late-fees").get_by_role("button", name="Waive").click()
    expect(page.locator("#late-fees")).not_to_contain_text("$21.60")
    expect(page.get_by_text("waived by Ada Admin")).to_be_visible()
    text = _pdf_text(page, f"/api/invoices/{ids['late']}/invoice.pdf")
    assert "Late fee" not in text and "$1,440.00" in text

    page.goto(app_server.url(slug, "/invoices"))
    page.get_by_label("Search invoices").fill("hooli")
    expect(page.locator("table")).not_to_contain_text("Globex")
    with page.expect_download() as download:
        page.locator("#export-invoices").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert "Hooli" in exported and "Globex" not in exported
    screenshot(page, "invoices-export")

    page.goto(app_server.url(slug, "/settings/finance"))
    reminders = page.locator("#reminders")
    expect(page.locator("#days_before")).to_have_value("3")
    page.locator("#days_after").fill("4")
    reminders.get_by_role("button", name="Save reminders").click()
    expect(page.get_by_text("Reminders and late fees saved.")).to_be_visible(timeout=15_000)
    page.reload()
    expect(page.locator("#days_after")).to_have_value("4")  # saved, read back on a fresh load
    reminders.scroll_into_view_if_needed()
    screenshot(page, "settings-reminders")

    page.goto(app_server.url(slug, f"/clients/{ids['globex']}"))
    page.get_by_role("radio", name="Billing").click()
    switch = page.get_by_role("switch", name="Send this client reminders")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.get_by_text("Reminders off for this client.")).to_be_visible()
    with session_scope() as db:
        assert rem._client_off(db, ids["workspace"], ids["globex"])

    page.goto(app_server.url(slug, "/emails"))
    expect(page.get_by_text(re.compile(r"Overdue: invoice INV-0001")).first).to_be_visible()

    client = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(client, app_server.url(slug, "/login"), f"client@{slug}.test")
    client.wait_for_url(re.compile(r"/portal"))
    client.goto(app_server.url(slug, f"/portal/invoices/{ids['paid']}"))
    expect(client.locator("#download-pdf")).to_be_visible()
    expect(client.locator("#download-receipt")).to_be_visible()
    receipt = _pdf_text(client, f"/api/invoices/{ids['paid']}/receipt.pdf")
    assert "RECEIPT" in receipt and "$960.00" in receipt
    screenshot(client, "portal-invoice-pdf")
    # Not another client's invoice, even by id.
    assert _fetch(client, f"/api/invoices/{ids['paid'] + 1000}/invoice.pdf")[0] == 404
    late_of_globex = _fetch(client, f"/api/invoices/{ids['late']}/invoice.pdf")
    assert late_of_globex[0] == 200  # Globex's own overdue invoice
    client.context.close()
