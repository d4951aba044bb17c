"""Bank debits in Chromium: an invoice paid by ACH test account and one by SEPA IBAN on the
hosted page, each seen Processing and then Paid by the admin and the client (the bank's
answer comes from the sandbox's settle control, not a wait); a SEPA debit that fails comes
back open with the bank's reason."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.models import Dispute, Invoice, Payment, User, Workspace
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import (
    PASSWORD,
    connect_sandbox,
    fill_sandbox_card,
    seed_workspace,
    sign_in,
    unique_slug,
)

PROCESSING = "Bank payment processing — this usually takes up to 4 business days."


def _invoices(slug: str, admin_email: str, contact: str) -> dict[str, int]:
    """A client in USD whose contact can sign in, bank debits enabled, and three sent
    invoices: ``ach`` (USD), ``sepa`` and ``sepa_fails`` (EUR)."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = db.exec(
            select(User).where(User.workspace_id == ws.id, User.email == admin_email)
        ).one()
        actor = Actor.of(admin)
        finance = get_finance(db, ws.id)  # type: ignore[arg-type]
        finance.payment_methods = "card,us_bank_account,sepa_debit"
        db.add(finance)
        client = create_client(
            db, actor, name="Globex Corporation", billing_email=f"ap@{slug}.test", currency="usd"
        )
        user = create_user(
            db,
            workspace_id=ws.id,  # type: ignore[arg-type]
            email=contact,
            name="Cleo Client",
            role="client",
            password=PASSWORD,
        )
        user.client_id = client.id
        db.add(user)
        today = utcnow().date()
        out = {}
        for key, currency, amount in (
            ("ach", "usd", "1200.00"),
            ("sepa", "eur", "950.00"),
            ("sepa_fails", "eur", "480.00"),
        ):
            invoice = create_invoice(
                db,
                actor,
                client_id=client.id,  # type: ignore[arg-type]
                lines=[LineInput("Brand strategy workshop", "1", amount)],
                currency=currency,
                issue_date=today,
                due_date=today + timedelta(days=14),
            )
            send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
            out[key] = invoice.id
    return out  # type: ignore[return-value]


def _pay_by_bank(
    client: Page,
    app: RunningApp,
    slug: str,
    invoice_id: int,
    sandbox: SandboxServer,
    method: str,
    fields: dict[str, str],
) -> None:
    client.goto(app.url(slug, f"/portal/invoices/{invoice_id}"))
    client.get_by_role("button", name="Pay Now").click()
    client.wait_for_url(re.compile(rf"{re.escape(sandbox.base_url)}/c/pay/.*"))
    form = client.get_by_test_id(f"method-{method}")
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    button = (
        "Pay with US bank account" if method == "us_bank_account" else "Pay with SEPA Direct Debit"
    )
    form.get_by_role("button", name=button).click()
    client.wait_for_url(re.compile(r".*/portal/invoices/\d+/return\?session_id=cs_.*"))
    expect(client.locator("#payment-outcome")).to_contain_text(
        "Bank payment processing", timeout=30_000
    )


def _settle(sandbox: SandboxServer, invoice_id: int) -> None:
    with session_scope() as db:
        pi_id = db.exec(
            select(Payment.payment_intent_id).where(
                Payment.invoice_id == invoice_id, Payment.status == "processing"
            )
        ).one()
    sandbox.control("POST", f"intents/{pi_id}/settle")
    assert sandbox.wait_for_deliveries(30)


def _sees(page: Page, url: str, status: str) -> None:
    page.goto(url)
    expect(page.locator(".invoice-status").first).to_have_text(status)


def test_ach_and_sepa_are_processing_then_paid(
    app_server: RunningApp, page: Page, browser: Browser, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("bank")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    ids = _invoices(slug, admin, "cleo@globex.test")
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    client = context.new_page()
    sign_in(client, app_server.url(slug, "/login"), "cleo@globex.test")
    client.wait_for_url(app_server.url(slug, "/portal"))

    # ACH: the hosted page's bank form with Stripe's success test account.
    _pay_by_bank(
        client,
        app_server,
        slug,
        ids["ach"],
        stripe_sandbox,
        "us_bank_account",
        {
            "Account holder name": "Cleo Client",
            "Routing number": "110000000",
            "Account number": "000123456789",
        },
    )
    screenshot(client, "portal-bank-processing")
    portal_ach = app_server.url(slug, f"/portal/invoices/{ids['ach']}")
    _sees(client, portal_ach, "Processing")
    expect(client.locator("#bank-processing")).to_have_text(PROCESSING)
    expect(client.get_by_role("button", name="Pay Now")).to_have_count(0)
    screenshot(client, "portal-invoice-processing")
    admin_ach = app_server.url(slug, f"/invoices/{ids['ach']}")
    _sees(page, admin_ach, "Processing")
    expect(page.locator("#bank-processing")).to_have_text(PROCESSING)
    expect(page.locator(".timeline")).to_contain_text("payment processing")
    screenshot(page, "invoice-admin-processing")

    _settle(stripe_sandbox, ids["ach"])
    _sees(page, admin_ach, "Paid")
    expect(page.locator(".timeline")).to_contain_text("ACH Direct Debit •••• 6789")
    _sees(client, portal_ach, "Paid")

    # SEPA: an IBAN that succeeds, on a euro invoice.
    _pay_by_bank(
        client,
        app_server,
        slug,
        ids["sepa"],
        stripe_sandbox,
        "sepa_debit",
        {"Name on the account": "Cleo Client", "IBAN": "DE89 3704 0044 0532 0130 00"},
    )
    portal_sepa = app_server.url(slug, f"/portal/invoices/{ids['sepa']}")
    admin_sepa = app_server.url(slug, f"/invoices/{ids['sepa']}")
    _sees(client, portal_sepa, "Processing")
    _sees(page, admin_sepa, "Processing")
    _settle(stripe_sandbox, ids["sepa"])
    _sees(page, admin_sepa, "Paid")
    expect(page.locator(".timeline")).to_contain_text("SEPA Direct Debit •••• 3000")
    screenshot(page, "invoice-admin-bank-paid")
    _sees(client, portal_sepa, "Paid")
    with session_scope() as db:
        for key in ("ach", "sepa"):
            invoice = db.get(Invoice, ids[key])
            assert invoice is not None and invoice.status == "paid"
            assert invoice.amount_paid == invoice.total

    # SEPA that the bank refuses: open again, with the bank's reason, for both.
    _pay_by_bank(
        client,
        app_server,
        slug,
        ids["sepa_fails"],
        stripe_sandbox,
        "sepa_debit",
        {"Name on the account": "Cleo Client", "IBAN": "AT86 1904 3002 3547 3202"},
    )
    _settle(stripe_sandbox, ids["sepa_fails"])
    portal_failed = app_server.url(slug, f"/portal/invoices/{ids['sepa_fails']}")
    _sees(client, portal_failed, "Open")
    expect(client.locator("#payment-failure")).to_contain_text("could not be matched")
    expect(client.get_by_role("button", name="Pay Now")).to_be_visible()
    screenshot(client, "portal-bank-failed")
    _sees(page, app_server.url(slug, f"/invoices/{ids['sepa_fails']}"), "Open")
    expect(page.locator("#payment-failure")).to_contain_text("could not be matched")
    screenshot(page, "invoice-admin-bank-failed")

    # Autopay's page offers a bank account as well as a card when Finance allows one.
    client.goto(app_server.url(slug, "/portal/payment-methods"))
    expect(client.get_by_role("button", name="Save a card or bank account")).to_be_visible()
    context.close()


def test_a_disputed_payment_is_flagged_and_a_lost_dispute_shown_as_returned(
    app_server: RunningApp, page: Page, browser: Browser, stripe_sandbox: SandboxServer
) -> None:
    slug = unique_slug("chargeback")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    ids = _invoices(slug, admin, "cleo@globex.test")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    client = context.new_page()
    sign_in(client, app_server.url(slug, "/login"), "cleo@globex.test")
    client.wait_for_url(app_server.url(slug, "/portal"))
    client.goto(app_server.url(slug, f"/portal/invoices/{ids['ach']}"))
    client.get_by_role("button", name="Pay Now").click()
    client.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(client, "4000 0000 0000 0259")
    expect(client.locator("#payment-outcome")).to_contain_text("Payment received", timeout=30_000)
    assert stripe_sandbox.wait_for_deliveries(30)
    context.close()

    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    expect(page.locator("#disputes-at-risk")).to_contain_text("$1,200.00")
    page.mouse.move(0, 0)  # no chart tooltip in the picture
    page.wait_for_timeout(1500)  # the chart's bars finish growing
    screenshot(page, "dashboard-disputes")
    invoice_url = app_server.url(slug, f"/invoices/{ids['ach']}")
    _sees(page, invoice_url, "Disputed")
    expect(page.locator("#dispute-notice")).to_contain_text("$1,200.00 is at risk")
    screenshot(page, "invoice-admin-disputed")

    with session_scope() as db:
        dispute = db.exec(select(Dispute.dispute_id)).one()
    stripe_sandbox.control("POST", f"disputes/{dispute}/close", {"outcome": "lost"})
    assert stripe_sandbox.wait_for_deliveries(30)
    _sees(page, invoice_url, "Dispute lost")
    expect(page.get_by_text("Returned (dispute lost)")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("returned to the client's bank")
    page.goto(app_server.url(slug, "/dashboard"))
    expect(page.locator(".total-outstanding")).to_be_visible()
    expect(page.locator("#disputes-at-risk")).to_have_count(0)
