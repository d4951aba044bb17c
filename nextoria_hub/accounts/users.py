"""Users of a workspace: input rules and creation."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from nextoria_hub.accounts.passwords import check_password_strength, hash_password
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Client, Role, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str, *, field: str = "email") -> str:
    email = email.strip().lower()
    if not email:
        raise ValidationError("Enter an email address.", field)
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError("Enter a valid email address, like name@agency.com.", field)
    return email


def validate_name(name: str, *, field: str = "name") -> str:
    """A display name: trimmed, one line (names end up in email subjects)."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Enter a name.", field)
    if len(name) > 120:
        raise ValidationError("Use at most 120 characters.", field)
    return name


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise ValidationError("Role must be admin, member or client.", "role") from None


def find_user(db: Session, workspace_id: int, email: str) -> User | None:
    return db.exec(
        select(User).where(User.workspace_id == workspace_id, User.email == email.strip().lower())
    ).first()


def create_user(
    db: Session, *, workspace_id: int, email: str, name: str, role: str, password: str
) -> User:
    """Add a user with a password to a workspace. Flushes; the caller commits."""
    email = normalise_email(email)
    parsed_role = parse_role(role)
    name = validate_name(name or email.split("@")[0])
    check_password_strength(password, email=email)
    if find_user(db, workspace_id, email) is not None:
        raise ValidationError("Someone with this email is already in the workspace.", "email")
    user = User(
        workspace_id=workspace_id,
        email=email,
        name=name,
        role=parsed_role,
        password_hash=hash_password(password),
    )
    db.add(user)
    db.flush()
    return user


def may_sign_in(db: Session, user: User) -> bool:
    """Not removed, and for a client contact, their client not archived."""
    if not user.active:
        return False
    if user.role == Role.client and user.client_id is not None:
        client = db.get(Client, user.client_id)
        if client is None or client.archived_at is not None:
            return False
    return True
