from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class AuditEntry(SQLModel, table=True):
    """Who changed what, when; values are masked before they get here."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor_label: str = Field(default="", max_length=254)
    action: str = Field(max_length=80)
    detail: str = ""
    at: datetime = Field(default_factory=utcnow, index=True)
