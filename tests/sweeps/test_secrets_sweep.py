"""No sk_, rk_ or whsec_ value anywhere it could leak, after a real connect-and-pay flow.

An admin connects Stripe through the Integrations page's handlers (a rejected key first,
then the real sk_test_ key, a typed whsec_ secret, the registered webhook), the command
line connects live mode with a restricted rk_live_ key, and a client pays an invoice
through the Client Portal's Pay now, Checkout and the signed webhooks. Then every text
and blob column of the database, the Python log records, the CLI output, everything the
handlers sent towards the browser, the webhook route's and the API's error answers, and a
handler's crash toast are searched for the raw values and for unmasked-looking secrets.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

import nextoria_hub.app as app_module
from nextoria_hub.accounts.sessions import start_session
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.cli import app as cli
from nextoria_hub.models import Invoice
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.stripe_gateway import RESTRICTED_KEY_PERMISSIONS
from nextoria_hub.tenancy import Actor
from stripe_sandbox.sandbox import RAK_NAMES
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.factories import build_tenant, quick_portal_user
from tests.inbox import drain_inbox
from tests.payments.conftest import VISA, api_server, public_port  # noqa: F401  (fixtures)
from tests.sweeps.harness import Outcome, fire
from tests.sweeps.secret_scan import database_text, scan

INTEGRATIONS = "/settings/integrations"
TYPED_WHSEC = "whsec_TypedByHandNeverShown0123456789"


def _restricted_key(sandbox: SandboxServer, account_id: str) -> str:
    """An rk_live_ key with every permission the app asks for."""
    assert RESTRICTED_KEY_PERMISSIONS  # the app's list; the sandbox grants by group
    perms = dict.fromkeys(RAK_NAMES, "write")
    return sandbox.control(
        "POST", f"accounts/{account_id}/restricted_keys", {"mode": "live", "permissions": perms}
    )["key"]


def _pay(checkout_url: str) -> None:
    resp = submit_checkout(checkout_url, VISA, email="ap@initech.test")
    assert resp.status_code in (200, 303), resp.status_code


def _error_answers(port: int, slug: str, whsec: str) -> dict[str, str]:
    """The webhook route's refusals and the API's 404/405, as text (body and headers)."""
    url = f"http://127.0.0.1:{port}"
    host = {"host": f"{slug}.localhost:{port}"}
    tries: dict[str, tuple[str, str, dict[str, str], bytes]] = {
        "webhook, no signature": ("POST", "/api/webhooks/stripe", host, b'{"id": "evt_1"}'),
        "webhook, bad signature": (
            "POST",
            "/api/webhooks/stripe",
            {**host, "stripe-signature": "t=1,v1=" + "0" * 64},
            b'{"id": "evt_1"}',
        ),
        "webhook, secret as signature": (
            "POST",
            "/api/webhooks/stripe",
            {**host, "stripe-signature": f"t=1,v1={whsec}"},
            b"not json",
        ),
        "webhook, unknown host": ("POST", "/api/webhooks/stripe", {"host": "nope.localhost"}, b""),
        "webhook, GET": ("GET", "/api/webhooks/stripe", host, b""),
        "api 404": ("GET", "/api/nothing-here", host, b""),
    }
    answers: dict[str, str] = {}
    for name, (method, path, headers, body) in tries.items():
        resp = httpx.request(
            method, url + path, headers=headers, content=body, trust_env=False, timeout=30
        )
        assert resp.status_code >= 400, name
        answers[f"error answer: {name} ({resp.status_code})"] = f"{resp.headers}\n{resp.text}"
    return answers


def test_no_secret_leaks_after_connecting_and_paying(
    db: Session,
    stripe_sandbox: SandboxServer,
    stripe_account: dict[str, Any],
    public_port: int,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    keys, live = stripe_account["test"], stripe_account["live"]
    rejected = keys["secret_key"][:-6] + "Zz0000"
    rk_live = _restricted_key(stripe_sandbox, stripe_account["account_id"])
    tenant = build_tenant(db, "acme", "Acme")
    admin = Actor.of(tenant.admin)
    token = start_session(db, tenant.admin)
    db.commit()
    host = f"acme.localhost:{public_port}"
    seen: dict[str, Outcome] = {}

    def ui(key: str, *args: Any, route: str = INTEGRATIONS, params=None, as_token=None) -> Outcome:  # type: ignore[no-untyped-def]
        outcome = fire(
            key,
            host=host,
            route=route,
            path=re.sub(r"\[(\w+)\]", lambda m: (params or {})[m[1]], route),
            params=params or {},
            token=as_token or token,
            args=args,
        )
        seen[f"browser: {key} #{len(seen)}"] = outcome
        return outcome

    # Settings → Integrations, as the admin types and clicks.
    ui("IntegrationsState.load")
    form = {"publishable_key": keys["publishable_key"], "webhook_secret": ""}
    refused = ui("IntegrationsState.save_keys", {**form, "secret_key": rejected})
    assert "rejected" in refused.visible_text(), refused.visible_text()
    ui("IntegrationsState.save_keys", {**form, "secret_key": keys["secret_key"]})
    ui("IntegrationsState.save_webhook_secret", {"signing_secret": TYPED_WHSEC})
    ui("IntegrationsState.register_webhook")
    ui("IntegrationsState.check")
    ui("IntegrationsState.load")
    # A crash in a handler: what the browser's toast and the log would carry.
    crash = ui("IntegrationsState.save_keys", keys["secret_key"])
    assert crash.exception is not None
    crash_toast = repr(app_module.app.backend_exception_handler(crash.exception))
    logging.getLogger("reflex").error("handler crash", exc_info=crash.exception)

    # The command line connects live mode with a restricted key.
    result = CliRunner().invoke(
        cli,
        [
            "stripe",
            "connect",
            "--workspace",
            "acme",
            "--publishable-key",
            live["publishable_key"],
            "--secret-key",
            rk_live,
            "--mode",
            "live",
        ],
    )
    assert result.exit_code == 0, result.output[-300:]
    status = CliRunner().invoke(cli, ["stripe", "status", "--workspace", "acme", "--json"])
    assert status.exit_code == 0

    # A client pays an invoice through the portal (test mode: the active one).
    db.expire_all()
    webhook_secret = dict(conn.webhook_secrets(db, tenant.id))["test"]
    assert webhook_secret.startswith("whsec_") and webhook_secret != TYPED_WHSEC
    client = create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    portal = quick_portal_user(db, client, "peter@initech.test", "Peter")
    invoice = create_invoice(
        db,
        admin,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Website design", "2", "1250.00", "20")],
    )
    send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    portal_token = start_session(db, portal)
    db.commit()
    page = {"invoice_id": str(invoice.id)}
    pay = ui(
        "PortalInvoiceState.pay_now",
        route="/portal/invoices/[invoice_id]",
        params=page,
        as_token=portal_token,
    )
    checkout_url = re.search(r"_redirect\(path='([^']+)'", "\n".join(pay.events))
    assert checkout_url, pay.events
    _pay(checkout_url[1])
    assert stripe_sandbox.wait_for_deliveries(20)
    drain_inbox()  # the route only records; a worker applies (and logs: swept below too)
    db.expire_all()
    assert db.get(Invoice, invoice.id).status == "paid"  # type: ignore[union-attr]
    ui("PortalInvoiceState.load", route="/portal/invoices/[invoice_id]", params=page,
       as_token=portal_token)  # fmt: skip
    ui("InvoiceDetailState.load", route="/invoices/[invoice_id]", params=page)
    for key in ("PaymentsState.load", "DashboardState.load", "AuditState.load", "EmailsState.load"):
        ui(key)

    secrets = [keys["secret_key"], rejected, live["secret_key"], rk_live, TYPED_WHSEC]
    secrets.append(webhook_secret)
    places = database_text()
    assert "sk_test_…" in places["table stripe_keys.secret_key_mask"]
    places.update({where: o.visible_text() + "\n" + repr(o.delta) for where, o in seen.items()})
    places["crash toast"] = crash_toast
    places["python log"] = (
        "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        + caplog.text
    )
    places["cli output"] = result.output + status.output
    places.update(_error_answers(public_port, "acme", webhook_secret))
    assert len(caplog.records) > 0 and "connected acme in live mode" in result.output
    leaks = scan(places, secrets)
    assert not leaks, "secrets found:\n" + "\n".join(leaks)
