from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class Role(StrEnum):
    admin = "admin"
    member = "member"
    client = "client"


class User(SQLModel, table=True):
    """A person who signs in to one workspace; the same email in two workspaces is two users."""

    __table_args__ = (UniqueConstraint("workspace_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    email: str = Field(max_length=254)
    name: str = Field(max_length=120)
    role: str = Field(max_length=16, default=Role.member)
    # For role=client: the billing client this portal user belongs to.
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    password_hash: str = Field(default="", repr=False)
    created_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime = Field(default_factory=utcnow)
    # Removed people keep their row (history points at it) but can no longer sign in.
    removed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None
