"""The demo workspace that ``make run`` creates, so a newcomer has something to click."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlmodel import Session, select

from nextoria_hub.accounts.users import create_user, find_user
from nextoria_hub.accounts.workspaces import create_workspace
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import StripeNotConnected
from nextoria_hub.models import Workspace
from nextoria_hub.models.ids import require_id
from nextoria_hub.payments.stripe_connection import (
    ConnectInput,
    active_secret_key,
    connect,
    register_webhook,
)
from nextoria_hub.stripe_gateway import StripeGatewayError, retrieve_account
from nextoria_hub.tenancy import Actor

DEMO_SLUG = "acme"
DEMO_NAME = "Acme Creative"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


DEMO_ADMIN = DemoLogin("admin", "admin@acme.test", "acme-admin-demo-2026", "Ada Admin")
DEMO_MEMBER = DemoLogin("member", "member@acme.test", "acme-member-demo-2026", "Max Member")
DEMO_CLIENT = DemoLogin("client", "client@globex.test", "globex-client-demo-2026", "Cleo Client")
DEMO_LOGINS = (DEMO_ADMIN, DEMO_MEMBER, DEMO_CLIENT)


def seed_demo(db: Session) -> Workspace:
    """Create the demo workspace and its people if missing; safe to run again."""
    workspace = db.exec(select(Workspace).where(Workspace.slug == DEMO_SLUG)).first()
    if workspace is None:
        workspace = create_workspace(
            db,
            slug=DEMO_SLUG,
            name=DEMO_NAME,
            admin_name=DEMO_ADMIN.name,
            admin_email=DEMO_ADMIN.email,
            admin_password=DEMO_ADMIN.password,
        ).workspace
    for login in (DEMO_MEMBER, DEMO_CLIENT):
        if find_user(db, require_id(workspace), login.email) is None:
            create_user(
                db,
                workspace_id=require_id(workspace),
                email=login.email,
                name=login.name,
                role=login.role,
                password=login.password,
            )
    _seed_demo_billing(db, workspace)
    return workspace


def _seed_demo_billing(db: Session, workspace: Workspace) -> None:
    """A client (the demo client login's company) with open invoices to pay; once only."""
    admin = find_user(db, require_id(workspace), DEMO_ADMIN.email)
    contact = find_user(db, require_id(workspace), DEMO_CLIENT.email)
    if admin is None or contact is None or contact.client_id is not None:
        return
    actor = Actor.of(admin)
    client = create_client(
        db,
        actor,
        name="Globex Corporation",
        billing_email="billing@globex.test",
        contact_name=DEMO_CLIENT.name,
        currency="usd",
    )
    contact.client_id = client.id
    db.add(contact)
    today = utcnow().date()
    for description, quantity, price, issued_days_ago, due_in in (
        ("Website redesign — discovery and wireframes", "1", "2400.00", 3, 14),
        ("Monthly SEO retainer", "1", "850.00", 40, -10),
    ):
        invoice = create_invoice(
            db,
            actor,
            client_id=require_id(client),
            lines=[LineInput(description, quantity, price)],
            issue_date=today - timedelta(days=issued_days_ago),
            due_date=today + timedelta(days=due_in),
        )
        send_invoice(db, actor, require_id(invoice))


def connect_demo_stripe(db: Session, workspace: Workspace, sandbox_url: str) -> str:
    """Connect the demo workspace to an account of the local Stripe sandbox; safe to run again.

    The account is created through the sandbox's control API (it is not part of Stripe's);
    the keys then go through the same validation and storage as the settings page.
    """
    actor = Actor.system(workspace, name="Demo set-up", label="demo")
    try:
        mode, secret_key = active_secret_key(db, require_id(workspace))
        retrieve_account(secret_key)
        return f"Stripe sandbox already connected ({mode} mode)"
    except (StripeNotConnected, StripeGatewayError):
        pass
    response = httpx.post(
        f"{sandbox_url.rstrip('/')}/_sandbox/accounts",
        json={"name": DEMO_NAME, "url": "https://acme.example"},
        timeout=10,
        trust_env=False,
    )
    response.raise_for_status()
    keys = response.json()["test"]
    connect(db, actor, ConnectInput(keys["publishable_key"], keys["secret_key"], mode="test"))
    register_webhook(db, actor, "test")
    return f"connected to a new Stripe sandbox account {response.json()['account_id']} (test mode)"
