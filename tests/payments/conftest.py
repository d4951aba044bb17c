"""A workspace connected to its own sandbox account, our webhook route served over HTTP so
the sandbox delivers real signed events to it, and helpers to pay like a browser does."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe
import uvicorn
from sqlmodel import Session

from nextoria_hub import stripe_gateway
from nextoria_hub.api.routes import build_api
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.models import Client, Invoice, Role, User
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.factories import Tenant, build_tenant, quick_user
from tests.inbox import drain_inbox

VISA = "4242424242424242"
DECLINED = "4000000000000002"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def api_server(stripe_sandbox: SandboxServer) -> Iterator[int]:
    """``build_api()`` under uvicorn on a loopback port; yields the port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_api(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def public_port(api_server: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Make the workspace URLs (and so the webhook URL) point at the test server."""
    monkeypatch.setenv("NEXTORIA_PUBLIC_PORT", str(api_server))
    get_settings.cache_clear()
    yield api_server
    monkeypatch.undo()
    get_settings.cache_clear()


@dataclass
class Shop:
    """A connected workspace with a client, its portal user and Stripe helpers."""

    db: Session
    tenant: Tenant
    client: Client
    portal_user: User
    account: dict[str, Any]
    sandbox: SandboxServer
    port: int

    @property
    def admin(self) -> Actor:
        return Actor.of(self.tenant.admin)

    @property
    def portal(self) -> Actor:
        return Actor.of(self.portal_user)

    @property
    def base_url(self) -> str:
        return f"http://{self.tenant.workspace.slug}.localhost:{self.port}"

    @property
    def stripe(self) -> stripe.StripeClient:
        return self.sandbox.client(self.account["test"]["secret_key"])

    def invoice(self, *lines: LineInput, currency: str | None = None, send: bool = True) -> Invoice:
        invoice = create_invoice(
            self.db,
            self.admin,
            client_id=self.client.id,  # type: ignore[arg-type]
            lines=list(lines) or [LineInput("Website design", "2", "1250.00", "20")],
            currency=currency,
        )
        if send:
            send_invoice(self.db, self.admin, invoice.id)  # type: ignore[arg-type]
        self.db.commit()
        return invoice

    def pay(self, url: str, card: str = VISA) -> httpx.Response:
        """Submit the hosted Checkout page as a browser would."""
        resp = submit_checkout(url, card)
        assert resp.status_code in (200, 303), resp.text[:500]
        return resp

    def settle_webhooks(self, timeout: float = 20) -> None:
        """Every webhook the sandbox owes delivered, and every queued event applied."""
        assert self.sandbox.wait_for_deliveries(timeout)
        drain_inbox()

    def refresh(self, *objs: Any) -> None:
        self.db.expire_all()
        for obj in objs:
            self.db.refresh(obj)

    def webhook_secret(self, mode: str = "test") -> str:
        return dict(conn.webhook_secrets(self.db, self.tenant.id))[mode]


def make_shop(
    db: Session,
    sandbox: SandboxServer,
    account: dict[str, Any],
    port: int,
    slug: str = "acme",
    *,
    register: bool = True,
) -> Shop:
    tenant = build_tenant(db, slug, slug.title())
    admin = Actor.of(tenant.admin)
    keys = account["test"]
    conn.connect(db, admin, conn.ConnectInput(keys["publishable_key"], keys["secret_key"]))
    if register:
        conn.register_webhook(db, admin, "test")
    client = create_client(
        db, admin, name="Initech", billing_email="ap@initech.test", currency="usd"
    )
    db.commit()
    user = quick_user(db, tenant.id, f"peter@{slug}-client.test", "client", "Peter")
    user.client_id = client.id
    user.role = Role.client
    db.add(user)
    db.commit()
    return Shop(db, tenant, client, user, account, sandbox, port)


@pytest.fixture
def shop(
    db: Session, stripe_sandbox: SandboxServer, stripe_account: dict, public_port: int
) -> Shop:
    return make_shop(db, stripe_sandbox, stripe_account, public_port)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header exactly as Stripe computes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def post_event(
    port: int,
    slug: str,
    event: dict[str, Any] | bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return httpx.post(
        f"http://127.0.0.1:{port}/api/webhooks/stripe",
        content=body,
        headers={
            "host": f"{slug}.localhost:{port}",
            "content-type": "application/json",
            "stripe-signature": signature
            if signature is not None
            else sign(body, secret, timestamp),
        },
        trust_env=False,
        timeout=30,
    )


def sandbox_events(shop: Shop, **filters: str) -> list[dict[str, Any]]:
    """The account's events, oldest first, as the JSON Stripe sends."""
    resp = httpx.get(
        f"{shop.sandbox.base_url}/v1/events",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {shop.account['test']['secret_key']}"},
        trust_env=False,
        timeout=30,
    )
    resp.raise_for_status()
    out = list(reversed(resp.json()["data"]))  # Stripe lists newest first
    for key, value in filters.items():
        out = [e for e in out if e[key] == value]
    return out


__all__ = ["DECLINED", "VISA", "Shop", "make_shop", "os", "post_event", "sandbox_events", "sign"]


CONNECT_EVENTS = list(conn.CONNECT_WEBHOOK_EVENTS)


@pytest.fixture
def platform(
    stripe_sandbox: SandboxServer, public_port: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A sandbox platform, configured as the deploy guide says, with its Connect endpoint."""
    account = stripe_sandbox.create_account("Nextoria Platform", platform=True)
    monkeypatch.setenv("NEXTORIA_STRIPE_CONNECT_CLIENT_ID", account["client_id"])
    monkeypatch.setenv("NEXTORIA_STRIPE_PLATFORM_SECRET_KEY", account["test"]["secret_key"])
    get_settings.cache_clear()
    url = get_settings().apex_url("/api/webhooks/stripe/connect")
    _id, secret = stripe_gateway.upsert_connect_webhook_endpoint(
        account["test"]["secret_key"], url=url, events=CONNECT_EVENTS
    )
    assert secret
    monkeypatch.setenv("NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET", secret)
    get_settings.cache_clear()
    account["webhook_secret"] = secret
    yield account
    get_settings.cache_clear()
