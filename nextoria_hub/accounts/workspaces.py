"""Creating and finding workspaces: slug rules and sign-up."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from nextoria_hub.accounts.passwords import check_password_strength, hash_password
from nextoria_hub.accounts.users import normalise_email, validate_name
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Role, User, Workspace

RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "app",
        "mail",
        "static",
        "assets",
        "auth",
        "login",
        "signup",
        "billing",
        "help",
        "support",
        "status",
        "docs",
        "blog",
        "dashboard",
        "portal",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "cdn",
        "dev",
        "test",
        "staging",
        "webhooks",
        "stripe",
        "nextoria",
        "nextoriahub",
        "root",
        "system",
        "localhost",
        "internal",
    }
)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def validate_slug(slug: str) -> str:
    """Return the slug if it can name a workspace address, else raise ValidationError."""
    slug = slug.strip()
    if not 3 <= len(slug) <= 40:
        raise ValidationError("Use 3 to 40 characters.", "slug")
    if slug != slug.lower() or not _SLUG.match(slug) or "--" in slug:
        raise ValidationError(
            "Use lowercase letters, digits and single hyphens, starting and ending with a "
            "letter or digit.",
            "slug",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is reserved. Choose another address.", "slug")
    return slug


def suggest_slug(name: str) -> str:
    """A slug derived from an agency name, for the sign-up form's first suggestion."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40].strip("-")


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    admin: User


def create_workspace(
    db: Session,
    *,
    slug: str,
    name: str,
    admin_name: str,
    admin_email: str,
    admin_password: str,
) -> NewWorkspace:
    """Create a workspace and its first admin. Flushes; the caller commits."""
    name = name.strip()
    if not name:
        raise ValidationError("Enter your agency's name.", "name")
    if len(name) > 120:
        raise ValidationError("Use at most 120 characters.", "name")
    slug = validate_slug(slug)
    admin_name = validate_name(admin_name, field="admin_name")
    email = normalise_email(admin_email, field="email")
    check_password_strength(admin_password, email=email)
    if db.exec(select(Workspace.id).where(Workspace.slug == slug)).first() is not None:
        raise ValidationError("That address is taken. Choose another.", "slug")
    workspace = Workspace(slug=slug, name=name)
    db.add(workspace)
    db.flush()
    admin = User(
        workspace_id=workspace.id,  # type: ignore[arg-type]
        email=email,
        name=admin_name,
        role=Role.admin,
        password_hash=hash_password(admin_password),
    )
    db.add(admin)
    db.flush()
    return NewWorkspace(workspace, admin)


def get_workspace_by_slug(db: Session, slug: str) -> Workspace:
    workspace = db.exec(select(Workspace).where(Workspace.slug == slug.lower())).first()
    if workspace is None:
        raise NotFound(f"No workspace called “{slug}”.")
    return workspace


def list_workspaces(db: Session) -> list[Workspace]:
    return list(db.exec(select(Workspace).order_by(Workspace.slug)))
