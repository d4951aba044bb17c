from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class InboxEvent(SQLModel, table=True):
    """A verified Stripe event waiting to be applied, or the outcome of applying it.

    Written by the webhook route in the commit that records the delivery; workers claim it
    (``status`` ``applying``, ``next_attempt_at`` is then the lease expiry) and apply it.
    Statuses: ``pending``, ``applying``, ``applied``, ``failed`` (out of tries, or malformed).
    """

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("workspace_id", "event_id"),
        Index("ix_webhook_inbox_due", "status", "next_attempt_at"),
        Index("ix_webhook_inbox_object", "workspace_id", "object_id", "stripe_created"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    event_id: str = Field(max_length=255)
    event_type: str = Field(max_length=120)
    mode: str = Field(max_length=4)
    # data.object.id: events about one object are applied in ``stripe_created`` order.
    object_id: str = Field(default="", max_length=255)
    stripe_created: int = 0
    body: str
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    claim_token: str = Field(default="", max_length=32)
    received_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    applied_at: datetime | None = None
    # the handler's answer: applied | unmatched | ignored (and its detail)
    result: str = Field(default="", max_length=20)
    detail: str = ""
    last_error: str = ""  # the traceback of the last failed try


class WorkerHeartbeat(SQLModel, table=True):
    """One row per running worker, touched each pass: ``/api/health`` reports the freshest."""

    __tablename__ = "worker_heartbeat"

    id: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
