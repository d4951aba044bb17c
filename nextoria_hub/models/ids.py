"""The primary key of a stored row, typed as present.

Tables declare `id: int | None` because a row has no id until it is flushed; code that holds a
stored row asks for `require_id(row)` instead of silencing the type checker, so a row used
before its insert fails loudly here rather than as a NULL foreign key later.
"""

from typing import Protocol


class Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def require_id(row: Stored) -> int:
    """`row.id`, which must be set: flush or commit a new row before asking for it."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def stored_key(value: int | None) -> int:
    """A primary key read back from the database (``select(Model.id)``): never NULL there."""
    if value is None:
        raise RuntimeError("a stored row's primary key was NULL")
    return value
