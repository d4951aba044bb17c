"""May this workspace load this row: the one tenant check for a row loaded by id.

Every tenant table carries ``workspace_id``; a row asked for by id is returned only to its own
workspace, and to any other it does not exist (it never says whether the id is used elsewhere).
``tenancy.get_owned`` is the name callers use; this module sits below ``accounts`` so that the
session code can use it too.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlmodel import Session, SQLModel


class Owner(Protocol):
    """Anything that names a workspace: an ``Actor``, an event's context."""

    @property
    def workspace_id(self) -> int: ...


T = TypeVar("T", bound=SQLModel)


def owner_id(owner: Owner | int) -> int:
    return owner if isinstance(owner, int) else owner.workspace_id


def get_owned(db: Session, model: type[T], row_id: int | None, owner: Owner | int) -> T | None:
    """The row of ``model`` with this id if it belongs to ``owner``'s workspace, else None."""
    if row_id is None:
        return None
    row = db.get(model, row_id)
    if row is None or not belongs_to(row, owner):
        return None
    return row


def belongs_to(row: object, owner: Owner | int) -> bool:
    """A row already in hand is ``owner``'s (compare two rows' workspaces with this too)."""
    return getattr(row, "workspace_id", None) == owner_id(owner)
