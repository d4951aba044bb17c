"""Connect with Stripe over HTTP against the sandbox: OAuth, payments with Stripe-Account,
the one Connect webhook endpoint, deauthorization."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import end_session, start_session
from nextoria_hub.billing.clients import create_client
from nextoria_hub.models import OutboxEmail, Role, StripeKeys
from nextoria_hub.payments import stripe_connect
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.factories import build_tenant, quick_user
from tests.payments.conftest import Shop, post_event


def _approve(sandbox: SandboxServer, authorize_url: str, action: str = "approve") -> str:
    """What the agency does on Stripe's page; returns where Stripe sends the browser."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    page = httpx.get(authorize_url, trust_env=False)
    assert page.status_code == 200 and "Connect my Stripe account" in page.text
    form = {**query, "account": "new", "new_name": "Agency on Connect", "action": action}
    resp = httpx.post(f"{sandbox.base_url}/oauth/authorize", data=form, trust_env=False)
    assert resp.status_code == 303
    return resp.headers["location"]


def _callback(port: int, location: str) -> httpx.Response:
    """Follow Stripe's redirect to our apex callback (as the browser would)."""
    parts = urlsplit(location)
    assert parts.path == stripe_connect.CALLBACK_PATH
    return httpx.get(
        f"http://127.0.0.1:{port}{parts.path}?{parts.query}",
        headers={"host": f"localhost:{port}"},
        trust_env=False,
    )


def connect_workspace(db: Session, sandbox: SandboxServer, port: int, slug: str) -> Shop:
    tenant = build_tenant(db, slug, slug.title())
    admin = Actor.of(tenant.admin)
    token = start_session(db, tenant.admin)
    url = stripe_connect.authorize_url(db, admin, token)
    db.commit()
    resp = _callback(port, _approve(sandbox, url))
    assert resp.status_code == 303
    assert resp.headers["location"] == (
        f"http://{slug}.localhost:{port}/settings/integrations?stripe_connect=connected"
    )
    client = create_client(
        db, admin, name="Initech", billing_email=f"ap@{slug}-client.test", currency="usd"
    )
    db.commit()
    user = quick_user(db, tenant.id, f"peter@{slug}-client.test", "client", "Peter")
    user.client_id, user.role = client.id, Role.client
    db.add(user)
    db.commit()
    row = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == tenant.id)).one()
    return Shop(db, tenant, client, user, {"account_id": row.connected_account}, sandbox, port)


def _row(shop: Shop) -> StripeKeys | None:
    shop.db.expire_all()
    return shop.db.exec(select(StripeKeys).where(StripeKeys.workspace_id == shop.tenant.id)).first()


def test_oauth_stores_the_account_and_no_secret_and_the_state_works_once(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    tenant = build_tenant(db, "oauth", "OAuth")
    token = start_session(db, tenant.admin)
    url = stripe_connect.authorize_url(db, Actor.of(tenant.admin), token)
    db.commit()
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [platform["client_id"]]
    assert query["redirect_uri"] == [f"http://localhost:{public_port}/api/stripe/connect/callback"]
    location = _approve(stripe_sandbox, url)
    assert _callback(public_port, location).status_code == 303
    db.expire_all()
    row = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == tenant.id)).one()
    assert row.connected_account.startswith("acct_") and row.mode == "test"
    assert (row.secret_key_sealed, row.webhook_secret_sealed, row.publishable_key) == ("", "", "")
    assert row.account_name == "Agency on Connect" and row.charges_enabled
    # The same state (and code) again: refused, nothing changes.
    replay = _callback(public_port, location)
    assert replay.status_code == 400
    # A forged state: refused.
    forged = location.replace("state=", "state=x")
    assert _callback(public_port, forged).status_code == 400


def test_denied_or_ended_session_connects_nothing(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    tenant = build_tenant(db, "denier", "Denier")
    admin = Actor.of(tenant.admin)
    token = start_session(db, tenant.admin)
    url = stripe_connect.authorize_url(db, admin, token)
    db.commit()
    resp = _callback(public_port, _approve(stripe_sandbox, url, action="deny"))
    assert resp.status_code == 303 and "stripe_connect=failed" in resp.headers["location"]
    # Approved, but the admin's session ended before Stripe sent them back.
    url = stripe_connect.authorize_url(db, admin, token)
    db.commit()
    location = _approve(stripe_sandbox, url)
    end_session(db, token)
    db.commit()
    assert _callback(public_port, location).status_code == 400
    db.expire_all()
    assert db.exec(select(StripeKeys).where(StripeKeys.workspace_id == tenant.id)).first() is None


def test_connected_workspace_pays_through_the_platform_and_the_connect_webhook(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    shop = connect_workspace(db, stripe_sandbox, public_port, "conn")
    acct = shop.account["account_id"]
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 300000
    # The session lives in the agency's account, made with the platform key + Stripe-Account.
    platform_client = stripe_sandbox.client(platform["test"]["secret_key"])
    session_id = urlsplit(url).path.rsplit("/", 1)[-1]
    session = platform_client.v1.checkout.sessions.retrieve(
        session_id, options={"stripe_account": acct}
    )
    assert session.payment_status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        platform_client.v1.checkout.sessions.retrieve(session_id)
    # Readiness and Check connection work without a secret of the agency.
    assert conn.check_connection(shop.db, shop.admin) == []


def test_another_accounts_event_changes_nothing_here(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    ours = connect_workspace(db, stripe_sandbox, public_port, "ours")
    theirs = connect_workspace(db, stripe_sandbox, public_port, "theirs")
    event = {
        "id": "evt_cross_account",
        "object": "event",
        "type": "account.application.deauthorized",
        "account": theirs.account["account_id"],
        "livemode": False,
        "created": 1_700_000_000,
        "data": {"object": {"id": platform["client_id"], "object": "application"}},
    }
    resp = post_event(public_port, "x", event, platform["webhook_secret"])  # wrong route: host
    assert resp.status_code == 404  # no workspace "x"; the Connect route is at the apex
    body = httpx.post(
        f"http://127.0.0.1:{public_port}/api/webhooks/stripe/connect",
        content=_signed(event, platform["webhook_secret"])[0],
        headers={
            "host": f"ours.localhost:{public_port}",
            "stripe-signature": _signed(event, platform["webhook_secret"])[1],
        },
        trust_env=False,
    )
    assert body.status_code == 404  # never from a workspace's host
    payload, signature = _signed(event, platform["webhook_secret"])
    resp = _post_connect(public_port, payload, signature)
    assert resp.status_code == 200, resp.text
    ours.settle_webhooks()
    assert _row(ours) is not None  # ours is still connected
    assert _row(theirs) is None  # theirs, which the event named, is not


def _signed(event: dict[str, Any], secret: str) -> tuple[bytes, str]:
    import json

    from tests.payments.conftest import sign

    payload = json.dumps(event).encode()
    return payload, sign(payload, secret)


def _post_connect(port: int, payload: bytes, signature: str) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/api/webhooks/stripe/connect",
        content=payload,
        headers={"host": f"localhost:{port}", "stripe-signature": signature},
        trust_env=False,
    )


def test_connect_webhook_refuses_a_workspace_secret(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    shop = connect_workspace(db, stripe_sandbox, public_port, "signed")
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "account.application.deauthorized",
        "account": shop.account["account_id"],
        "livemode": False,
        "created": 1_700_000_000,
        "data": {"object": {"id": platform["client_id"], "object": "application"}},
    }
    payload, signature = _signed(event, "whsec_not_the_platforms")
    assert _post_connect(public_port, payload, signature).status_code == 400
    shop.settle_webhooks()
    assert _row(shop) is not None


def test_deauthorized_in_stripe_disconnects_and_tells_the_admins(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    shop = connect_workspace(db, stripe_sandbox, public_port, "leaver")
    acct = shop.account["account_id"]
    stripe_sandbox.control(
        "POST", f"accounts/{acct}/deauthorize", {"platform": platform["account_id"]}
    )
    shop.settle_webhooks()
    assert _row(shop) is None
    emails = shop.db.exec(
        select(OutboxEmail).where(OutboxEmail.workspace_id == shop.tenant.id)
    ).all()
    assert [e.to_address for e in emails if e.kind == "stripe_deauthorized"] == [
        "admin@leaver.test"
    ]


def test_disconnect_deauthorizes_the_platform(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    shop = connect_workspace(db, stripe_sandbox, public_port, "quitter")
    acct = shop.account["account_id"]
    conn.disconnect(shop.db, shop.admin, "test")
    shop.db.commit()
    assert _row(shop) is None
    with pytest.raises(stripe.PermissionError):
        stripe_sandbox.client(platform["test"]["secret_key"]).v1.customers.list(
            options={"stripe_account": acct}
        )
    shop.settle_webhooks()  # the deauthorized event finds no workspace: nothing to apply


def test_cli_registers_the_connect_webhook_once(
    stripe_sandbox: SandboxServer, public_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from nextoria_hub.cli import app

    account = stripe_sandbox.create_account("CLI Platform", platform=True)
    monkeypatch.setenv("NEXTORIA_STRIPE_CONNECT_CLIENT_ID", account["client_id"])
    monkeypatch.setenv("NEXTORIA_STRIPE_PLATFORM_SECRET_KEY", account["test"]["secret_key"])
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(app, ["stripe", "connect-platform", "--register-webhook"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert out["webhook_url"] == f"http://localhost:{public_port}/api/webhooks/stripe/connect"
    assert out["webhook_secret"].startswith("whsec_")
    assert account["test"]["secret_key"] not in first.output
    again = json.loads(
        runner.invoke(app, ["stripe", "connect-platform", "--register-webhook"]).output
    )
    assert again["webhook_endpoint_id"] == out["webhook_endpoint_id"]
    assert "webhook_secret" not in again
    endpoint = stripe_sandbox.client(account["test"]["secret_key"]).v1.webhook_endpoints.retrieve(
        out["webhook_endpoint_id"]
    )
    assert "account.application.deauthorized" in endpoint.enabled_events
    get_settings.cache_clear()
