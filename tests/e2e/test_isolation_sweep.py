"""Every page across workspaces, and secrets in what the browser receives, in Chromium.

Isolation: A's admin, member and client each open every page of ``_PAGES`` on A's
subdomain with B's client and invoice ids in the URL, then again on B's subdomain with
A's session cookie. Neither the rendered page nor any websocket frame the browser
received may hold B's private data, and B's pages must not open for A's cookie.

Secrets: an admin connects Stripe on Settings → Integrations with sandbox keys, types a
webhook secret, registers the webhook, meets a Stripe outage (the error toast), a client
pays an invoice; every websocket frame received, each page's HTML, the 404 page, the
webhook route's refusals and the app server's log are searched for sk_, rk_ and whsec_.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, WebSocket, expect
from sqlmodel import select

from nextoria_hub.accounts.sessions import start_session
from nextoria_hub.app import _PAGES
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.db import session_scope
from nextoria_hub.models import Invoice, User, Workspace
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp
from tests.e2e.helpers import fill_sandbox_card, seed_workspace, unique_slug
from tests.sweeps.secret_scan import scan

# B's private data: what no one of A may see, on either host.
B_CLIENT, B_LINE, B_AMOUNT = "Zanzibar Imports", "Secret sauce consulting", "987.65"


@dataclass
class Pair:
    a_slug: str
    b_slug: str
    a_users: dict[str, int]  # role → user id in A
    b_client: int
    b_invoice: int


def _books(slug: str, currency: str, client_name: str, line: str, price: str) -> tuple[int, int]:
    """A client with a portal login (client@<slug>.test) and an open invoice; their ids."""
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = db.exec(select(User).where(User.workspace_id == ws.id, User.role == "admin")).one()
        actor = Actor.of(admin)
        client = create_client(
            db, actor, name=client_name, billing_email=f"ap@{slug}.example", currency=currency
        )
        invoice = create_invoice(
            db,
            actor,
            client_id=client.id,  # type: ignore[arg-type]
            lines=[LineInput(line, "1", price, "")],
        )
        send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
        portal = db.exec(select(User).where(User.email == f"client@{slug}.test")).one()
        portal.client_id = client.id
        db.add(portal)
        return client.id, invoice.id  # type: ignore[return-value]


@pytest.fixture
def pair(app_server: RunningApp) -> Pair:
    a_slug, b_slug = unique_slug("acme"), unique_slug("globex")
    for slug in (a_slug, b_slug):
        seed_workspace(slug, clients=(f"client@{slug}.test",), members=(f"member@{slug}.test",))
    _books(a_slug, "usd", "Acme Buyer", "Design work", "100.00")
    b_client, b_invoice = _books(b_slug, "eur", B_CLIENT, B_LINE, B_AMOUNT)
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == a_slug)).one()
        users = db.exec(select(User).where(User.workspace_id == ws.id)).all()
        a_users = {str(u.role): u.id for u in users}
    return Pair(a_slug, b_slug, a_users, b_client, b_invoice)  # type: ignore[arg-type]


def _record_frames(page: Page) -> list[str]:
    received: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", on_socket)
    return received


def _settle(page: Page, frames: list[str]) -> None:
    """Wait for the page to land (its shell, no access, sign-in) and its socket to go quiet."""
    landed = (
        page.locator("#signed-in-user")
        .or_(page.get_by_text("You don't have access"))
        .or_(page.get_by_text("No workspace at this address"))
        .or_(page.get_by_role("button", name="Sign in"))
        .or_(page.get_by_text("Sign-in link expired"))
        .or_(page.get_by_text("Invitation not valid"))
    )
    # Generous: on a loaded machine the first hydration of a fresh tab can take a while.
    expect(landed.first).to_be_visible(timeout=60_000)
    deadline, seen = time.monotonic() + 10, -1
    while time.monotonic() < deadline and seen != len(frames):
        seen = len(frames)
        page.wait_for_timeout(300)


def _sign_in_everywhere(context: BrowserContext, app: RunningApp, token: str, *slugs: str) -> None:
    """The session cookie of one user, presented on each of these subdomains."""
    context.add_cookies(
        [{"name": "nx_session", "value": token, "url": app.url(slug)} for slug in slugs]
    )


def _pages(p: Pair) -> list[str]:
    params = {"client_id": str(p.b_client), "invoice_id": str(p.b_invoice)}
    paths = []
    for route, *_ in _PAGES:
        path = re.sub(r"\[(\w+)\]", lambda m: params[m[1]], route)
        paths.append(path + ("?session_id=cs_test_x" if path.endswith("/return") else ""))
    return paths


@pytest.mark.parametrize("on_b", [False, True], ids=["B-ids-on-A", "A-cookie-on-B"])
@pytest.mark.parametrize("role", ["admin", "member", "client"])
def test_every_page_across_workspaces(
    app_server: RunningApp, context: BrowserContext, pair: Pair, role: str, on_b: bool
) -> None:
    with session_scope() as db:
        token = start_session(db, db.get(User, pair.a_users[role]))  # type: ignore[arg-type]
    _sign_in_everywhere(context, app_server, token, pair.a_slug, pair.b_slug)
    page = context.new_page()
    frames = _record_frames(page)
    # On B's own host its name and slug are public (the sign-in page shows them).
    private = (B_CLIENT, B_LINE, B_AMOUNT, "€") + (() if on_b else (pair.b_slug,))
    markers = re.compile("|".join(map(re.escape, private)), re.I)
    slug = pair.b_slug if on_b else pair.a_slug
    leaks: list[str] = []
    opened_on_b: list[str] = []
    for path in _pages(pair):
        frames.clear()
        page.goto(app_server.url(slug, path))
        _settle(page, frames)
        where = f"{path} on {'B' if on_b else 'A'}'s host as A's {role}"
        for source, text in (("page", page.content()), ("frames", "\n".join(frames))):
            if hit := markers.search(text):
                leaks.append(
                    f"{where} ({source}): …{text[max(0, hit.start() - 80) : hit.end() + 40]}…"
                )
        if on_b and page.locator("#signed-in-user").is_visible():
            opened_on_b.append(
                f"{where}: signed in as {page.locator('#signed-in-user').inner_text()}"
            )
    assert not leaks, "B's data reached A's browser:\n" + "\n".join(leaks)
    assert not opened_on_b, "A's cookie opened B's pages:\n" + "\n".join(opened_on_b)
    # The sweep saw real pages: A's own workspace opens for this role with this cookie.
    page.goto(app_server.url(pair.a_slug, "/portal" if role == "client" else "/dashboard"))
    expect(page.locator("#signed-in-user")).to_be_visible()


def _fill_keys(page: Page, pk: str, sk: str) -> None:
    page.get_by_label("Publishable key").fill(pk)
    page.get_by_label("Secret key").fill(sk)
    page.get_by_role("button", name=re.compile(r"^(Connect|Save new keys)$")).click()


def _error_answers(app: RunningApp, slug: str) -> dict[str, str]:
    """The app's own 404 page, the webhook route's refusals, the API's unknown paths."""
    host = {"host": f"{slug}.localhost:{app.port}"}
    base = f"http://127.0.0.1:{app.port}"
    tries = {
        "404 page": ("GET", "/no-such-page", host, b"", {}),
        "webhook without signature": ("POST", "/api/webhooks/stripe", host, b"{}", {}),
        "webhook bad signature": (
            "POST",
            "/api/webhooks/stripe",
            host,
            b'{"id": "evt_x", "type": "payment_intent.succeeded"}',
            {"stripe-signature": "t=1,v1=" + "ab" * 32},
        ),
        "webhook unknown host": ("POST", "/api/webhooks/stripe", {"host": "x.localhost"}, b"", {}),
        "webhook GET": ("GET", "/api/webhooks/stripe", host, b"", {}),
        "api 404": ("GET", "/api/nothing", host, b"", {}),
    }
    answers = {}
    for name, (method, path, headers, body, extra) in tries.items():
        resp = httpx.request(
            method, base + path, headers={**headers, **extra}, content=body, trust_env=False
        )
        answers[f"error answer: {name} ({resp.status_code})"] = f"{resp.headers}\n{resp.text}"
    return answers


def test_no_secret_reaches_the_browser_or_the_log(
    app_server: RunningApp,
    context: BrowserContext,
    stripe_sandbox: SandboxServer,
    data_dir,  # type: ignore[no-untyped-def]
) -> None:
    account = stripe_sandbox.create_account("Secretive Ltd")
    keys = account["test"]
    typed_whsec = "whsec_TypedIntoTheBrowser0123456789"
    slug = unique_slug("vault")
    seed_workspace(slug, clients=(f"client@{slug}.test",))
    _client_id, invoice_id = _books(slug, "usd", "Initech", "Design work", "250.00")
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = db.exec(select(User).where(User.workspace_id == ws.id, User.role == "admin")).one()
        portal = db.exec(select(User).where(User.email == f"client@{slug}.test")).one()
        admin_token, portal_token = start_session(db, admin), start_session(db, portal)
    page = context.new_page()
    frames = _record_frames(page)
    places: dict[str, str] = {}

    def keep(name: str) -> None:
        _settle(page, frames)
        places[f"page {name}"] = page.content()

    _sign_in_everywhere(context, app_server, admin_token, slug)
    page.goto(app_server.url(slug, "/settings/integrations"))
    keep("integrations, empty")
    _fill_keys(page, keys["publishable_key"], keys["secret_key"][:-4] + "0000")
    expect(page.locator("#secret_key-error")).to_contain_text("Stripe rejected this key")
    _fill_keys(page, keys["publishable_key"], keys["secret_key"])
    expect(page.locator("#secret-key-mask")).to_have_text(f"sk_test_…{keys['secret_key'][-4:]}")
    page.get_by_label("Webhook secret").fill(typed_whsec)
    page.get_by_role("button", name="Save secret").click()
    expect(page.get_by_text(f"whsec_…{typed_whsec[-4:]}")).to_be_visible()
    page.get_by_role("button", name="Register webhook automatically").click()
    expect(page.get_by_text(f"whsec_…{typed_whsec[-4:]}")).to_have_count(0)
    keep("integrations, connected")
    # Stripe down: whatever the page says about it (a toast) must not carry a key either.
    stripe_sandbox.control("POST", "chaos", {"failure_rate": 1.0, "failure_mode": "500"})
    try:
        page.get_by_role("button", name="Register webhook automatically").click()
        toast = page.locator("[data-sonner-toast]").last
        expect(toast).to_be_visible()
        places["error toast"] = toast.inner_text()
    finally:
        stripe_sandbox.control("DELETE", "chaos")
    page.reload()
    keep("integrations, reloaded")

    # The client pays through Checkout.
    _sign_in_everywhere(context, app_server, portal_token, slug)
    page.goto(app_server.url(slug, f"/portal/invoices/{invoice_id}"))
    page.get_by_role("button", name="Pay Now").click()
    page.wait_for_url(re.compile(rf"{re.escape(stripe_sandbox.base_url)}/c/pay/.*"))
    fill_sandbox_card(page, "4242 4242 4242 4242")
    page.wait_for_url(re.compile(r".*/portal/invoices/\d+/return\?session_id=cs_.*"))
    expect(page.locator("#payment-outcome")).to_contain_text("Payment received", timeout=30_000)
    keep("portal return")
    with session_scope() as db:
        assert db.get(Invoice, invoice_id).status == "paid"  # type: ignore[union-attr]
        whsec = dict(conn.webhook_secrets(db, ws.id))["test"]  # type: ignore[arg-type]

    _sign_in_everywhere(context, app_server, admin_token, slug)
    for path in ("/dashboard", "/payments", f"/invoices/{invoice_id}", "/settings/audit"):
        page.goto(app_server.url(slug, path))
        keep(path)
    page.goto(app_server.url(slug, "/no-such-page"))
    places["page 404"] = page.content()

    places["websocket frames received"] = "\n".join(frames)
    places.update(_error_answers(app_server, slug))
    log = data_dir / "reflex-run.log"
    places["app server log"] = log.read_text(errors="replace")
    assert frames and "sk_test_…" in places["websocket frames received"]
    assert whsec.startswith("whsec_") and whsec != typed_whsec
    leaks = scan(places, [keys["secret_key"], keys["secret_key"][:-4] + "0000", typed_whsec, whsec])
    assert not leaks, "secrets found:\n" + "\n".join(leaks)
