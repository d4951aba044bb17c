"""Two workspaces with an admin and a member each, built without paying for argon2."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from nextoria_hub.models import User, Workspace
from tests.factories import quick_user, quick_workspace


@dataclass
class Tenant:
    workspace: Workspace
    admin: User
    member: User

    @property
    def id(self) -> int:
        return self.workspace.id  # type: ignore[return-value]


def build_tenant(db: Session, slug: str, name: str) -> Tenant:
    created = quick_workspace(db, slug, name)
    member = quick_user(db, created.workspace.id, f"member@{slug}.test", "member", f"{name} Member")  # type: ignore[arg-type]
    return Tenant(created.workspace, created.admin, member)


@pytest.fixture
def acme(db: Session) -> Tenant:
    return build_tenant(db, "acme", "Acme Creative")


@pytest.fixture
def globex(db: Session, acme: Tenant) -> Tenant:
    return build_tenant(db, "globex", "Globex Studio")
