from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class ConnectOAuthState(SQLModel, table=True):
    """One "Connect with Stripe" attempt: the ``state`` sent to Stripe, usable once.

    Bound to the workspace and to the admin's session: the callback refuses it when that
    session has ended or the user is no longer an admin there.
    """

    __tablename__ = "connect_oauth_state"

    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(max_length=64, unique=True, index=True, repr=False)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    session_id: int = Field(foreign_key="user_session.id")
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class ConnectOnboarding(SQLModel, table=True):
    """A "Create a new Stripe account" in flight: the idempotency key of ``POST /v1/accounts``.

    Committed before Stripe is asked, so a retry after a lost answer sends the same key and
    gets the same account back (no second account for one workspace). Removed once the
    account is stored on the workspace's Stripe connection.
    """

    __tablename__ = "connect_onboarding"
    __table_args__ = (UniqueConstraint("workspace_id", "mode"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    mode: str = Field(max_length=8)
    idempotency_key: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
