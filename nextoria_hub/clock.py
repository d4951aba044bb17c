"""Time in one place: aware UTC datetimes (SQLModel stores and returns them in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
