"""Issue 17: the invoice timeline names Stripe ids short, whole on hover, copied whole, and
the page holds at 1280 and 375 px with a long description beside them (Chromium)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import col, select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.db import session_scope
from nextoria_hub.models import CheckoutSession, Payment, User, Workspace
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.e2e.axe import check_axe
from tests.e2e.conftest import RunningApp, screenshot
from tests.e2e.helpers import PASSWORD, connect_sandbox, seed_workspace, sign_in, unique_slug

LONG_URL = "https://files.example.com/" + "deliverables/" * 12 + "final-v7.pdf"
LONG = ("Website redesign, phase two, brief at " + LONG_URL + " ").ljust(400, "x")


def _paid_invoice(slug: str, app: RunningApp, sandbox: SandboxServer) -> int:
    """An invoice declined once, then paid through Checkout (Stripe's webhooks delivered)."""
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
        invoice = create_invoice(
            db,
            staff,
            client_id=client.id,  # type: ignore[arg-type]
            lines=[LineInput(LONG, "2", "600.00", "20")],
        )
        send_invoice(db, staff, invoice.id)  # type: ignore[arg-type]
        invoice_id, portal_user_id = invoice.id, user.id
    with session_scope() as db:
        who = Actor.of(db.get(User, portal_user_id))  # type: ignore[arg-type]
        url = start_checkout(db, who, invoice_id, base_url=app.url(slug))  # type: ignore[arg-type]
    submit_checkout(url, "4000000000000002")  # declined: a failed attempt with its own id
    submit_checkout(url)
    assert sandbox.wait_for_deliveries(30)
    return invoice_id  # type: ignore[return-value]


def _stripe_ids(invoice_id: int) -> list[str]:
    """The Checkout Session, PaymentIntents and charge the timeline names, longest first."""
    with session_scope() as db:
        session_id = db.exec(
            select(CheckoutSession.session_id).where(CheckoutSession.invoice_id == invoice_id)
        ).one()
        paid = db.exec(
            select(Payment).where(Payment.invoice_id == invoice_id, Payment.status == "succeeded")
        ).one()
        failed = db.exec(
            select(Payment).where(Payment.invoice_id == invoice_id, col(Payment.status) == "failed")
        ).all()
        ids = [session_id, paid.payment_intent_id, paid.charge_id]
        ids += [p.payment_intent_id for p in failed]
    return sorted({i for i in ids if i}, key=len, reverse=True)


def test_timeline_ids_are_short_with_copy_and_the_page_holds(
    app_server: RunningApp,
    browser,  # type: ignore[no-untyped-def]
    stripe_sandbox: SandboxServer,
    axe_source: str,
) -> None:
    slug = unique_slug("tid")
    admin = seed_workspace(slug)
    connect_sandbox(slug, stripe_sandbox)
    invoice_id = _paid_invoice(slug, app_server, stripe_sandbox)

    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(20_000)
    page: Page = context.new_page()
    sign_in(page, app_server.url(slug, "/login"), admin)
    page.wait_for_url(app_server.url(slug, "/dashboard"))
    page.goto(app_server.url(slug, f"/invoices/{invoice_id}"))
    expect(page.locator(".invoice-status").first).to_have_text("Paid", timeout=30_000)
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("payment failed")
    ids = _stripe_ids(invoice_id)  # the app's worker has applied the events by now
    assert any(i.startswith("cs_test_") for i in ids) and any(i.startswith("ch_") for i in ids)

    # No raw id in the words of the timeline: each is a short code with the whole on hover.
    detail_text = " ".join(timeline.locator(".timeline-detail").all_inner_texts())
    for stripe_id in ids:
        assert stripe_id not in detail_text, f"{stripe_id} shown whole in the timeline"
        short = timeline.locator(f'code[title="{stripe_id}"]').first
        expect(short).to_have_text(stripe_id[:10] + "…" + stripe_id[-5:])
        expect(timeline.get_by_role("button", name=f"Copy {stripe_id}").first).to_be_visible()

    # The copy button copies the whole id.
    longest = ids[0]
    timeline.get_by_role("button", name=f"Copy {longest}").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == longest

    # The invoice card keeps its figures inside it, at both widths, with no sideways scroll.
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"page scrolls sideways at {width}px ({scroll}px wide)"
        table = page.locator("table").first
        card = table.locator("xpath=ancestor::div[contains(@class,'rt-Box')][1]")
        card_box, amount = card.bounding_box(), table.get_by_text("$1,200.00").bounding_box()
        assert card_box and amount
        assert amount["x"] + amount["width"] <= card_box["x"] + card_box["width"] + 0.5
        box = timeline.bounding_box()
        assert box and box["x"] + box["width"] <= width
        screenshot(page, f"invoice-timeline-ids-{width}")
    context.close()

    # Issue 19: the client's return page from Checkout, at 375 px, passes axe too; and
    # (issue 17) with receipts Off in Finance it promises no receipt.
    with session_scope() as db:
        ws_id = db.exec(select(Workspace.id).where(Workspace.slug == slug)).one()
        get_finance(db, ws_id).receipts_enabled = False  # type: ignore[arg-type]
    session_id = next(i for i in ids if i.startswith("cs_"))
    mobile = browser.new_context(viewport={"width": 375, "height": 800})
    mobile.set_default_timeout(20_000)
    client = mobile.new_page()
    sign_in(client, app_server.url(slug, "/login"), "peter@initech.test")
    client.wait_for_url(app_server.url(slug, "/portal"))
    client.goto(
        app_server.url(slug, f"/portal/invoices/{invoice_id}/return?session_id={session_id}")
    )
    expect(client.locator("#payment-outcome")).to_contain_text("Payment received")
    expect(client.locator("#paid-message")).to_have_text("Invoice INV-0001 is paid.")
    assert client.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(client, "portal-return-375")
    check_axe(client, axe_source, "the return page from Checkout")
    mobile.close()
