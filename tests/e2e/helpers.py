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
