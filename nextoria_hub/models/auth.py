"""Server-side authentication records. Every token is stored only as its SHA-256 hash."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class UserSession(SQLModel, table=True):
    """A signed-in browser, bound to one workspace and one user."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True, repr=False)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None


class SignInLink(SQLModel, table=True):
    """A one-time, short-lived link that signs a user in on their workspace's subdomain.

    Sign-up happens on the apex, which cannot set a cookie for the new subdomain; the
    link carries the new admin across.
    """

    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    token_hash: str = Field(max_length=64, unique=True, index=True, repr=False)
    expires_at: datetime
    used_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, counted per workspace and email to throttle guessing."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    email: str = Field(max_length=254, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


class Invitation(SQLModel, table=True):
    """An invite to join a workspace; accepted once, on the workspace's subdomain."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=120)
    role: str = Field(max_length=16)
    client_id: int | None = Field(default=None, foreign_key="client.id")
    token_hash: str = Field(max_length=64, unique=True, index=True, repr=False)
    invited_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
