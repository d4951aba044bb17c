from __future__ import annotations

import pytest
from sqlmodel import Session

from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, build_tenant


@pytest.fixture
def acme(db: Session) -> Tenant:
    return build_tenant(db, "acme", "Acme")


@pytest.fixture
def globex(db: Session) -> Tenant:
    return build_tenant(db, "globex", "Globex")


@pytest.fixture
def admin(acme: Tenant) -> Actor:
    return Actor.of(acme.admin)


@pytest.fixture
def member(acme: Tenant) -> Actor:
    return Actor.of(acme.member)
