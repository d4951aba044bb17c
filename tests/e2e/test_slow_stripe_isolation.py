"""A 4 s Stripe call in one workspace does not hold up another workspace's page event.

Workspace A's client clicks Pay Now while the sandbox answers every Stripe call after 4 s;
during that call workspace B's admin opens Clients. Both pages record the time of each
websocket frame they send and receive (in the browser, wrapped around ``WebSocket``), so the
figures are the events' own timestamps: B's event must be answered while A's Stripe call is
still in flight and within 2 s (a fraction of the 4 s), which a handler blocking the event
loop could not do.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.db import session_scope
from nextoria_hub.models import User, Workspace
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.e2e.conftest import RunningApp
from tests.e2e.helpers import connect_sandbox, seed_workspace, sign_in, unique_slug
from tests.factories import quick_portal_user

STRIPE_LATENCY_MS = 4000
BOUND_MS = 2000

# Each frame's time is taken in the browser when it is sent or received, and reported to
# the test (which may read it later: the page then may have moved on to Checkout).
FRAME_CLOCK = """(() => {
  const Native = window.WebSocket;
  const note = (kind, data) => window.__frame(kind, Date.now(), String(data).slice(0, 400));
  class Timed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => note('recv', e.data));
    }
    send(data) {
      note('send', data);
      return super.send(data);
    }
  }
  window.WebSocket = Timed;
})();"""


def _clocked(page: Page) -> list[tuple[str, int, str]]:
    frames: list[tuple[str, int, str]] = []
    page.expose_function("__frame", lambda kind, at, data: frames.append((kind, at, data)))
    page.add_init_script(FRAME_CLOCK)
    return frames


def _seed(slug: str, sandbox: SandboxServer) -> int:
    """Workspace A: connected to the sandbox, a client with a portal login and an open invoice."""
    admin_email = seed_workspace(slug)
    connect_sandbox(slug, sandbox)
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        admin = Actor.of(db.exec(select(User).where(User.email == admin_email)).one())
        client = create_client(db, admin, name="Initech", billing_email="ap@initech.test")
        invoice = create_invoice(
            db, admin, client_id=client.id, lines=[LineInput("Design", "1", "100.00")]
        )  # type: ignore[arg-type]
        send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
        db.commit()
        quick_portal_user(db, client, f"peter@{slug}.test", "Peter")
        assert ws.id
        return invoice.id  # type: ignore[return-value]


def test_slow_stripe_in_one_workspace_does_not_delay_another(
    app_server: RunningApp, browser: Browser, stripe_sandbox: SandboxServer
) -> None:
    a, b = unique_slug("slowpay"), unique_slug("bystander")
    invoice_id = _seed(a, stripe_sandbox)
    admin_b = seed_workspace(b)
    contexts = [browser.new_context(), browser.new_context()]
    try:
        pa, pb = (ctx.new_page() for ctx in contexts)
        a_frames, b_frames = _clocked(pa), _clocked(pb)
        for p in (pa, pb):
            p.set_default_timeout(30_000)
        sign_in(pa, app_server.url(a, "/login"), f"peter@{a}.test")
        pa.wait_for_url(app_server.url(a, "/portal"))
        pa.goto(app_server.url(a, f"/portal/invoices/{invoice_id}"))
        pay = pa.get_by_role("button", name="Pay Now")
        expect(pay).to_be_enabled()
        sign_in(pb, app_server.url(b, "/login"), admin_b)
        pb.wait_for_url(app_server.url(b, "/dashboard"))
        expect(pb.locator("#signed-in-user")).to_have_text("Ada Admin")

        stripe_sandbox.control("POST", "chaos", {"latency_ms": STRIPE_LATENCY_MS})
        pay.click()
        expect(pay).to_be_disabled()  # the Stripe call is under way
        b_start = len(b_frames)
        pb.get_by_role("link", name="Clients").first.click()
        pb.wait_for_url(app_server.url(b, "/clients"))
        expect(pb.get_by_role("button", name="New client")).to_be_visible()
        pa.wait_for_url(re.compile(re.escape(stripe_sandbox.base_url) + ".*"), timeout=60_000)
    finally:
        stripe_sandbox.control("DELETE", "chaos")

    paid_at = next(t for kind, t, data in a_frames if kind == "send" and "pay_now" in data)
    redirect_at = next(
        t for kind, t, data in a_frames if kind == "recv" and "_redirect" in data and t >= paid_at
    )
    assert redirect_at - paid_at >= STRIPE_LATENCY_MS  # Stripe really was slow for A

    after = b_frames[b_start:]
    # The page event: Clients' on_load (guard, then ClientsState.load), sent once, answered
    # by the frame that carries the clients list.
    sent_i, (_, sent_at, _) = next(
        (i, f) for i, f in enumerate(after) if f[0] == "send" and '"/clients"' in f[2]
    )
    answered_at = next(
        t for kind, t, data in after[sent_i:] if kind == "recv" and "clients_state" in data
    )
    assert paid_at < sent_at and answered_at < redirect_at  # B's event overlapped A's call
    assert answered_at - sent_at < BOUND_MS, (answered_at - sent_at, after[sent_i:][:3])
    for ctx in contexts:
        ctx.close()
