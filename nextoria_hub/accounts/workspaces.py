"""Creating and finding workspaces: slug rules and sign-up."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from nextoria_hub.accounts.passwords import check_password_strength, hash_password
from nextoria_hub.accounts.throttle import AddressLimit, describe_wait
from nextoria_hub.accounts.users import normalise_email, validate_name
from nextoria_hub.audit import record_audit
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound, Throttled, ValidationError
from nextoria_hub.models import Role, User, Workspace, WorkspaceAlias
from nextoria_hub.models.ids import require_id
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor, moved_workspace

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
        # Names a visitor could take for ours, or that mail and TLS tooling look up.
        "autodiscover",
        "autoconfig",
        "secure",
        "security",
        "payments",
        "payment",
        "pay",
        "checkout",
        "invoice",
        "invoices",
        "account",
        "accounts",
        "nextoria-hub",
        "email",
        "webmail",
        "mx",
        "ns",
        "ns1",
        "ns2",
        "dns",
        "vpn",
        "proxy",
        "gateway",
        "sso",
        "oauth",
        "id",
        "identity",
        "signin",
        "sign-in",
        "sign-up",
        "register",
        "logout",
        "password",
        "reset",
        "verify",
        "img",
        "js",
        "css",
        "public",
        "demo",
        "sandbox",
        "prod",
        "production",
        "administrator",
        "abuse",
        "postmaster",
        "hostmaster",
        "webmaster",
        "noreply",
        "no-reply",
        "legal",
        "terms",
        "privacy",
        "developers",
        "ws",
        "events",
        "health",
        "metrics",
        "settings",
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


def validate_agency_name(name: str) -> str:
    """One line of text: no line breaks or control characters (names go into emails)."""
    name = name.strip()
    if not name:
        raise ValidationError("Enter your agency's name.", "name")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise ValidationError("Use one line, without line breaks or control characters.", "name")
    name = " ".join(name.split())
    if len(name) > 120:
        raise ValidationError("Use at most 120 characters.", "name")
    return name


@lru_cache(maxsize=4)
def _signup_limit(spec: str) -> AddressLimit:
    return AddressLimit("signup", spec)


def check_signup_allowed(address: str) -> None:
    """Raise Throttled when ``address`` created too many workspaces lately."""
    wait = _signup_limit(get_settings().signup_per_ip).wait_seconds(address)
    if wait:
        raise Throttled(
            "Too many workspaces were created from your network. "
            f"Try again in {describe_wait(wait)}.",
            retry_after_seconds=wait,
        )


def record_signup(address: str) -> None:
    """Count a created workspace against ``address``."""
    _signup_limit(get_settings().signup_per_ip).hit(address)


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
    name = validate_agency_name(name)
    slug = validate_slug(slug)
    admin_name = validate_name(admin_name, field="admin_name")
    email = normalise_email(admin_email, field="email")
    check_password_strength(admin_password, email=email)
    if db.exec(select(Workspace.id).where(Workspace.slug == slug)).first() is not None:
        raise ValidationError("That address is taken. Choose another.", "slug")
    if alias_workspace(db, slug) is not None:  # a former address, still redirected
        raise ValidationError("That address is taken. Choose another.", "slug")
    workspace = Workspace(slug=slug, name=name)
    db.add(workspace)
    db.flush()
    admin = User(
        workspace_id=require_id(workspace),
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


ALIAS_DAYS = 30


def alias_workspace(db: Session, slug: str) -> Workspace | None:
    """The workspace that had ``slug`` as its address until recently (redirect still on)."""
    return moved_workspace(db, slug.lower())


def change_address(db: Session, actor: Actor, new_slug: str) -> tuple[str, str]:
    """Move the workspace to ``new_slug`` at once; the old address redirects for 30 days.

    Returns (old slug, new slug). Flushes; the caller commits (and moves the webhook).
    """
    actor.require_admin()
    slug = validate_slug(new_slug.strip().lower())
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    old = workspace.slug
    if slug == old:
        raise ValidationError("That is already this workspace's address.", "slug")
    taken = db.exec(select(Workspace.id).where(Workspace.slug == slug)).first()
    held = alias_workspace(db, slug)
    if taken is not None or (held is not None and held.id != workspace.id):
        raise ValidationError("That address is taken. Choose another.", "slug")
    for stale in db.exec(select(WorkspaceAlias).where(col(WorkspaceAlias.slug).in_([slug, old]))):
        db.delete(stale)  # an expired alias, or our own former address taken back
    db.flush()
    now = utcnow()
    db.add(
        WorkspaceAlias(
            workspace_id=require_id(workspace),
            slug=old,
            created_at=now,
            expires_at=now + timedelta(days=ALIAS_DAYS),
        )
    )
    workspace.slug = slug
    db.add(workspace)
    db.flush()
    record_audit(
        db,
        actor,
        "workspace.address",
        f"{old} → {slug} (the old address redirects for {ALIAS_DAYS} days)",
    )
    return old, slug
