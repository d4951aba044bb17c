from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class WorkspaceAlias(SQLModel, table=True):
    """A workspace's former address: redirects to the new one (and its webhook route keeps
    accepting deliveries) until ``expires_at``; nobody else may take it before then."""

    __tablename__ = "workspace_alias"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    slug: str = Field(max_length=40, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
