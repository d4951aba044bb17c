from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from nextoria_hub.clock import utcnow


class Workspace(SQLModel, table=True):
    """An agency's tenant, reached at ``<slug>.<base domain>``."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    # Babel locale for money and dates on its pages, emails and PDFs (billing/locales.py).
    locale: str = Field(default="en_US", max_length=16)
