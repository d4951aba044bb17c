"""Issue 18: a client pays a part of an invoice, then the rest, in Chromium against the
sandbox; then an invoice with a deposit offers the deposit first. Screenshots at 1280 and
375 px (docs/screenshots/partial-*.png)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.billing.payment_terms import TermsInput, set_payment_terms
from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, OutboxEmail, Payment, User, Workspace
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


def _seed(slug: str, terms: TermsInput | None, amount: str = "3000.00") -> int:
    """A client with a portal login and one sent invoice with these payment terms."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        staff = Actor.of(db.exec(select(User).where(User.email == f"admin@{slug}.test")).one())
        client = db.exec(
            select(User).where(User.email == "peter@initech.test", User.workspace_id == ws.id)
        ).first()
        if client is None:
            initech = create_client(db, staff, name="Initech", billing_email="ap@initech.test")
            user = create_user(
                db,
                workspace_id=ws.id,  # type: ignore[arg-type]
                email="peter@initech.test",
                name="Peter",
                role="client",
                password=PASSWORD,
            )
            user.client_id = initech.id
            db.add(user)
            client_id = initech.id
        else:
            client_id = client.client_id
        invoice = create_invoice(
            db,
            staff,
            client_id=client_id,  # type: ignore[arg-type]
            lines=[LineInput("Website redesign", "1", amount)],
        )
        if terms is not None:  # else a draft, its terms set on the page
            set_payment_terms(db, staff, invoice.id, terms)  # type: ignore[arg-type]
            send_invoice(db, staff, invoice.id)  # type: ignore[arg-type]
        return invoice.id  # type: ignore[return-value]


def _pay_on_sandbox(page: Page, sandbox: SandboxServer) -> None:
    page.wait_for_url(re.compile(rf"{re.escape(sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(page, "4242 4242 4242 4242")
    page.wait_for_url(re.compile(r".*/portal/invoices/\d+/return\?session_id=cs_.*"))
    expect(page.locator("#payment-outcome")).to_contain_text(
        "Payment received — thank you", timeout=30_000
    )


def test_client_pays_a_part_then_the_rest(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
) -> None:
    slug = unique_slug("parts")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    invoice_id = _seed(slug, TermsInput(True, minimum="500"))
    invoice_url = app_server.url(slug, f"/portal/invoices/{invoice_id}")

    client = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    client.set_default_timeout(20_000)
    sign_in(client, app_server.url(slug, "/login"), "peter@initech.test")
    client.wait_for_url(app_server.url(slug, "/portal"))
    client.goto(invoice_url)
    expect(client.locator("#amount-due")).to_have_text("$3,000.00")

    # Too little is refused with what is allowed; a valid part goes to its own Checkout.
    client.get_by_text("Another amount").click()
    client.get_by_label("Amount to pay").fill("100")
    expect(client.get_by_text("At least $500.00, up to the balance of $3,000.00.")).to_be_visible()
    client.get_by_role("button", name="Pay Now").click()
    expect(client.get_by_role("alert").filter(has_text="Pay at least $500.00")).to_be_visible()
    client.get_by_label("Amount to pay").fill("1000.00")
    expect(client.get_by_role("alert").filter(has_text="Pay at least")).to_have_count(0)
    screenshot(client, "partial-portal-choose-1280")
    client.get_by_role("button", name="Pay Now").click()
    _pay_on_sandbox(client, stripe_sandbox)
    expect(client.locator("#paid-message")).to_contain_text(
        "is partly paid: the balance is $2,000.00"
    )

    client.goto(invoice_url)
    expect(client.locator(".invoice-status").first).to_have_text("Partially paid")
    expect(client.locator("#paid-so-far")).to_have_text("$1,000.00")
    expect(client.locator("#amount-due")).to_have_text("$2,000.00")
    screenshot(client, "partial-portal-part-paid-1280")
    client.set_viewport_size({"width": 375, "height": 800})
    screenshot(client, "partial-portal-part-paid-375")
    client.set_viewport_size({"width": 1280, "height": 800})

    # The admin sees it too, with the balance.
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Partially paid")
    expect(page.locator("#terms-summary")).to_have_text("Partial payments of at least $500.00")
    expect(page.locator(".timeline")).to_contain_text("Part payment: the balance is now $2,000.00")
    screenshot(page, "partial-admin-invoice-1280")

    # The next Pay Now offers the balance.
    client.goto(invoice_url)
    expect(client.locator("#amount-due")).to_have_text("$2,000.00")
    client.get_by_role("button", name="Pay Now").click()
    _pay_on_sandbox(client, stripe_sandbox)
    client.goto(invoice_url)
    expect(client.locator(".invoice-status").first).to_have_text("Paid")
    with session_scope() as db:
        invoice = db.get(Invoice, invoice_id)
        assert invoice is not None and (invoice.status, invoice.amount_paid) == ("paid", 300000)
        paid = db.exec(
            select(Payment.amount).where(
                Payment.invoice_id == invoice_id, Payment.kind == "payment"
            )
        ).all()
        receipts = db.exec(
            select(OutboxEmail).where(
                OutboxEmail.kind == "payment_receipt",
                OutboxEmail.to_address == "ap@initech.test",
                OutboxEmail.workspace_id == invoice.workspace_id,  # other tests use this address
            )
        ).all()
    assert sorted(paid) == [100000, 200000]
    assert len(receipts) == 2
    client.context.close()


def test_a_deposit_is_offered_first(
    app_server: RunningApp,
    page: Page,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
) -> None:
    slug = unique_slug("deposit")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))

    # Finance: new invoices allow parts of at least 250.
    page.goto(app_server.url(slug, "/settings/finance"))
    page.locator("#partial").click()
    page.get_by_label("Minimum part").fill("250")
    page.get_by_role("button", name="Save changes").first.click()
    expect(page.get_by_text("Finance settings saved.")).to_be_visible()
    screenshot(page, "partial-finance-1280")
    invoice_id = _seed(slug, None)

    # The draft took the default; the admin adds a 30% deposit on its Payment terms card.
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator("#terms-summary")).to_have_text("Partial payments of at least $250.00")
    page.get_by_text("Percentage").click()
    page.get_by_label("Deposit", exact=True).fill("120")
    page.get_by_role("button", name="Save terms").click()
    expect(page.locator("#payment-terms")).to_contain_text("between 0.01 and 99.99 percent")
    page.get_by_label("Deposit", exact=True).fill("30")
    page.get_by_role("button", name="Save terms").click()
    expect(page.locator("#terms-summary")).to_have_text(
        "Deposit of 30% ($900.00) due on issue; partial payments of at least $250.00"
    )
    screenshot(page, "partial-admin-terms-1280")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".invoice-status").first).to_have_text("Open")
    expect(page.get_by_role("button", name="Save terms")).to_have_count(0)
    invoice_url = app_server.url(slug, f"/portal/invoices/{invoice_id}")
    client = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    client.set_default_timeout(20_000)
    sign_in(client, app_server.url(slug, "/login"), "peter@initech.test")
    client.wait_for_url(app_server.url(slug, "/portal"))
    client.goto(invoice_url)
    expect(client.locator("#deposit-note")).to_contain_text("A deposit of $900.00 is due now")
    expect(client.locator("#deposit-note")).to_contain_text("the rest, $2,100.00")
    expect(client.locator("#pay-deposit")).to_be_checked()
    screenshot(client, "partial-portal-deposit-375")
    client.get_by_role("button", name="Pay Now").click()
    _pay_on_sandbox(client, stripe_sandbox)
    client.goto(invoice_url)
    expect(client.locator(".invoice-status").first).to_have_text("Partially paid")
    expect(client.locator("#deposit-received")).to_contain_text("Deposit received")
    expect(client.locator("#amount-due")).to_have_text("$2,100.00")
    client.set_viewport_size({"width": 1280, "height": 800})
    screenshot(client, "partial-portal-deposit-paid-1280")
    client.context.close()
