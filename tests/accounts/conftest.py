"""Two workspaces with an admin and a member each, built without paying for argon2."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.factories import Tenant, build_tenant


@pytest.fixture
def acme(db: Session) -> Tenant:
    return build_tenant(db, "acme", "Acme Creative")


@pytest.fixture
def globex(db: Session, acme: Tenant) -> Tenant:
    return build_tenant(db, "globex", "Globex Studio")
