"""Data set-up for browser tests, through the same services the app uses."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page

from nextoria_hub.accounts.users import create_user
from nextoria_hub.accounts.workspaces import create_workspace
from nextoria_hub.db import session_scope

PASSWORD = "a-strong-passphrase-42"


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def seed_workspace(
    slug: str, *, clients: tuple[str, ...] = (), members: tuple[str, ...] = ()
) -> str:
    """Create a workspace with admin@<slug>.test plus the given people; returns the admin email."""
    with session_scope() as db:
        ws = create_workspace(
            db,
            slug=slug,
            name=f"{slug.title()} Agency",
            admin_name="Ada Admin",
            admin_email=f"admin@{slug}.test",
            admin_password=PASSWORD,
        ).workspace
        for email in clients:
            create_user(
                db,
                workspace_id=ws.id,
                email=email,
                name="Cleo Client",
                role="client",
                password=PASSWORD,
            )
        for email in members:
            create_user(
                db,
                workspace_id=ws.id,
                email=email,
                name="Max Member",
                role="member",
                password=PASSWORD,
            )
    return f"admin@{slug}.test"


def sign_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def connect_sandbox(slug: str, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Connect the workspace to a new sandbox account in test mode, webhook registered."""
    from sqlmodel import select

    from nextoria_hub.models import Workspace
    from nextoria_hub.payments.stripe_connection import ConnectInput, connect, register_webhook
    from nextoria_hub.tenancy import Actor

    keys = sandbox.create_account(f"{slug} Ltd")["test"]
    with session_scope() as db:
        ws = db.exec(select(Workspace).where(Workspace.slug == slug)).one()
        operator = Actor(workspace_id=ws.id, user_id=None, role="admin", email="test", name="Test")  # type: ignore[arg-type]
        connect(db, operator, ConnectInput(keys["publishable_key"], keys["secret_key"]))
        register_webhook(db, operator, "test")


def fill_sandbox_card(page: Page, number: str, button: str = "Pay") -> None:
    """Fill the sandbox's hosted Checkout page and submit it."""
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Cleo Client")
    page.get_by_role("button", name=button, exact=True).click()
