"""Small builders for test data.

``make_workspace``/``make_user`` go through the real services (and pay for a full argon2
hash each). ``quick_workspace``/``quick_user`` insert the same rows directly with a cheap
argon2id hash of ``PASSWORD``: ``verify_password`` accepts it, but in a millisecond, which
keeps sign-in tests fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from nextoria_hub.accounts.users import create_user
from nextoria_hub.accounts.workspaces import NewWorkspace, create_workspace
from nextoria_hub.models import Client, OutboxEmail, Role, StripeKeys, User, Workspace
from nextoria_hub.notifications.links import fill_links
from nextoria_hub.secret_box import mask, seal
from nextoria_hub.tenancy import Actor

PASSWORD = "a-strong-passphrase-42"
INVITE_LINK = re.compile(
    r"http://(?P<slug>[a-z0-9-]+)\.localhost:3000/invite\?token=(?P<token>[\w-]+)"
)


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


@lru_cache
def quick_hash(password: str = PASSWORD) -> str:
    """An argon2id hash with minimal cost parameters (test data only)."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password)


def quick_user(
    db: Session, workspace_id: int, email: str, role: str = "member", name: str = ""
) -> User:
    user = User(
        workspace_id=workspace_id,
        email=email.lower(),
        name=name or email.split("@")[0],
        role=Role(role),
        password_hash=quick_hash(),
    )
    db.add(user)
    db.commit()
    return user


def quick_workspace(db: Session, slug: str = "acme", name: str = "Acme") -> NewWorkspace:
    """A workspace and its admin ``admin@<slug>.test`` (password ``PASSWORD``)."""
    workspace = Workspace(slug=slug, name=name)
    db.add(workspace)
    db.commit()
    admin = quick_user(db, workspace.id, f"admin@{slug}.test", "admin", f"{name} Admin"[:120])  # type: ignore[arg-type]
    return NewWorkspace(workspace, admin)


@dataclass
class Tenant:
    workspace: Workspace
    admin: User
    member: User

    @property
    def id(self) -> int:
        return self.workspace.id  # type: ignore[return-value]


def build_tenant(db: Session, slug: str, name: str) -> Tenant:
    """A workspace with ``admin@<slug>.test`` and ``member@<slug>.test``, quickly."""
    created = quick_workspace(db, slug, name)
    member = quick_user(db, created.workspace.id, f"member@{slug}.test", "member", f"{name} Member")  # type: ignore[arg-type]
    return Tenant(created.workspace, created.admin, member)


def actor_of(user: User) -> Actor:
    return Actor.of(user)


def invite_token_for(db: Session, to_address: str, kind: str = "team_invite") -> str:
    """The token in the newest invitation email to ``to_address``, as its reader would see it."""
    email = db.exec(
        select(OutboxEmail)
        .where(OutboxEmail.to_address == to_address, OutboxEmail.kind == kind)
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert email is not None, f"no invitation email to {to_address}"
    body = fill_links(email.text_body)  # as delivered: the stored body holds a placeholder
    match = INVITE_LINK.search(body)
    assert match is not None, email.text_body
    return match["token"]


def quick_portal_user(db: Session, client: Client, email: str, name: str = "") -> User:
    """A Client Portal login (role client) bound to ``client``."""
    user = quick_user(db, client.workspace_id, email, "client", name)
    user.client_id = client.id
    db.add(user)
    db.commit()
    return user


def quick_stripe_keys(db: Session, workspace_id: int, label: str, mode: str = "test") -> StripeKeys:
    """Stripe keys stored as ``connect`` stores them, without asking Stripe (made-up keys)."""
    secret = f"sk_{mode}_{label}_0000000000000000"
    webhook = f"whsec_{label}_000000000000"
    row = StripeKeys(
        workspace_id=workspace_id,
        mode=mode,
        publishable_key=f"pk_{mode}_{label}_0000000000000000",
        secret_key_sealed=seal(secret),
        secret_key_mask=mask(secret),
        webhook_secret_sealed=seal(webhook),
        webhook_secret_mask=mask(webhook),
        webhook_endpoint_id=f"we_{label}",
        account_id=f"acct_{label}",
        account_name=label.title(),
        charges_enabled=True,
        details_submitted=True,
    )
    db.add(row)
    db.commit()
    return row
