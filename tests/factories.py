"""Small builders for test data, going through the real services."""

from __future__ import annotations

from sqlmodel import Session

from nextoria_hub.accounts.users import create_user
from nextoria_hub.accounts.workspaces import NewWorkspace, create_workspace
from nextoria_hub.models import User
from nextoria_hub.tenancy import Actor

PASSWORD = "a-strong-passphrase-42"


def make_workspace(db: Session, slug: str = "acme", name: str = "Acme") -> NewWorkspace:
    created = create_workspace(
        db,
        slug=slug,
        name=name,
        admin_name=f"{name} Admin",
        admin_email=f"admin@{slug}.test",
        admin_password=PASSWORD,
    )
    db.commit()
    return created


def make_user(db: Session, workspace_id: int, email: str, role: str = "member") -> User:
    user = create_user(
        db,
        workspace_id=workspace_id,
        email=email,
        name=email.split("@")[0],
        role=role,
        password=PASSWORD,
    )
    db.commit()
    return user


def actor_of(user: User) -> Actor:
    return Actor.of(user)
