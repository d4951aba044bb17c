"""Random tokens handed to browsers and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session

from nextoria_hub.db import rows_changed


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claim_once(db: Session, model: Any, row_id: int, column: str, when: datetime) -> bool:
    """Mark a one-time token row used, once: True for exactly one caller.

    A conditional ``UPDATE … SET column = when WHERE id = … AND column IS NULL`` in the
    caller's transaction, so two workers redeeming the same link or invitation at once
    cannot both see it unused: the second one's UPDATE matches no row (on PostgreSQL it
    waits for the first to commit, then re-checks the condition).
    """
    table = model.__table__
    claim = table.update().where(table.c.id == row_id, table.c[column].is_(None))
    return rows_changed(db, claim.values({column: when})) == 1
