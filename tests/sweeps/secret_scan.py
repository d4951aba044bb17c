"""Find Stripe secrets in text: the raw values a test used, and anything shaped like one.

Masks (``sk_test_…1234``) and sealed Fernet tokens don't match: an unmasked secret has at
least eight key characters right after its prefix. Findings name the place and show only
the first characters of what was found, so a failing test does not print a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import SQLModel

from nextoria_hub.db import get_engine

UNMASKED = re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{8,}|\bwhsec_[A-Za-z0-9+/=_-]{8,}")


def _redact(found: str) -> str:
    return f"{found[:10]}… ({len(found)} chars)"


def find_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """What in ``text`` is one of ``secrets`` or looks like an unmasked secret (redacted)."""
    hits = [_redact(s) for s in secrets if s and s in text]
    hits += [_redact(m.group(0)) for m in UNMASKED.finditer(text)]
    return sorted(set(hits))


def scan(places: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """``"where: what"`` for each place whose text holds a secret."""
    wanted = [s for s in secrets if s]
    return [
        f"{where}: {hit}" for where, text in places.items() for hit in find_secrets(text, wanted)
    ]


def database_text() -> dict[str, str]:
    """Every column of every table (text, blobs, JSON and the rest), one place per column."""
    places: dict[str, str] = {}
    with get_engine().connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                values = conn.execute(select(column)).scalars()
                places[f"table {table.name}.{column.name}"] = "\n".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in values
                    if v is not None
                )
    return places
