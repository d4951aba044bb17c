"""Creating workspaces: slug rules, field names of errors, and the unique address."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from nextoria_hub.accounts.passwords import verify_password
from nextoria_hub.accounts.workspaces import (
    RESERVED_SLUGS,
    create_workspace,
    get_workspace_by_slug,
    list_workspaces,
    suggest_slug,
    validate_slug,
)
from nextoria_hub.db import get_engine
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Role, User, Workspace
from tests.factories import PASSWORD, quick_workspace

VALID = {
    "slug": "acme",
    "name": "Acme Creative",
    "admin_name": "Ada Admin",
    "admin_email": "ada@acme.test",
    "admin_password": PASSWORD,
}


def _count(db: Session, model: type) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize(
    "slug", ["abc", "acme", "acme-creative", "a1b2", "123", "x" * 40, "a-b-c", "  acme  "]
)
def test_valid_slugs(slug: str) -> None:
    assert validate_slug(slug) == slug.strip()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("", "3 to 40"),
        ("ab", "3 to 40"),
        ("x" * 41, "3 to 40"),
        ("Acme", "lowercase"),
        ("ACME", "lowercase"),
        ("-acme", "lowercase"),
        ("acme-", "lowercase"),
        ("ac--me", "lowercase"),
        ("ac_me", "lowercase"),
        ("ac.me", "lowercase"),
        ("ac me", "lowercase"),
        ("café", "lowercase"),
        ("acme/x", "lowercase"),
    ],
)
def test_malformed_slugs_are_refused_on_the_slug_field(slug: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_slug(slug)
    assert message in err.value.message
    assert err.value.field == "slug"


@pytest.mark.parametrize("slug", ["www", "api", "admin", "app", "mail", "static", "assets"])
def test_reserved_slugs_are_refused(slug: str) -> None:
    assert slug in RESERVED_SLUGS
    with pytest.raises(ValidationError) as err:
        validate_slug(slug)
    assert "reserved" in err.value.message
    assert err.value.field == "slug"


def test_create_workspace_makes_the_first_admin(db: Session) -> None:
    created = create_workspace(db, **VALID)
    db.commit()
    ws = db.exec(select(Workspace).where(Workspace.slug == "acme")).one()
    admin = db.exec(select(User).where(User.workspace_id == ws.id)).one()
    assert (ws.id, admin.id) == (created.workspace.id, created.admin.id)
    assert ws.name == "Acme Creative"
    assert admin.role == Role.admin
    assert admin.email == "ada@acme.test"
    assert admin.password_hash.startswith("$argon2id$")
    assert verify_password(admin.password_hash, PASSWORD)
    assert get_workspace_by_slug(db, "ACME").id == ws.id
    assert [w.slug for w in list_workspaces(db)] == ["acme"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"slug": "ab"}, "slug"),
        ({"slug": "Acme"}, "slug"),
        ({"slug": "www"}, "slug"),
        ({"admin_name": ""}, "admin_name"),
        ({"admin_name": "x" * 121}, "admin_name"),
        ({"admin_email": ""}, "email"),
        ({"admin_email": "not-an-email"}, "email"),
        ({"admin_password": "short"}, "password"),
        ({"admin_password": "passwordpassword"}, "password"),
        ({"admin_email": "jonathan@acme.test", "admin_password": "jonathan2026!"}, "password"),
    ],
)
def test_each_error_names_its_form_field(db: Session, changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        create_workspace(db, **{**VALID, **changes})
    assert err.value.field == field
    db.rollback()
    assert _count(db, Workspace) == 0
    assert _count(db, User) == 0


def test_taken_slug_is_refused(db: Session) -> None:
    quick_workspace(db, "acme")
    with pytest.raises(ValidationError) as err:
        create_workspace(db, **{**VALID, "admin_email": "other@acme.test"})
    assert err.value.field == "slug"
    assert "taken" in err.value.message
    db.rollback()
    assert _count(db, Workspace) == 1


def test_unique_index_holds_when_the_check_races(db: Session) -> None:
    """Two sign-ups both see the slug free; the database refuses the second insert."""
    db.commit()
    with Session(get_engine()) as first, Session(get_engine()) as second:
        for session in (first, second):  # both pass the "is it taken?" check
            assert (
                session.exec(select(Workspace.id).where(Workspace.slug == "acme")).first() is None
            )
        first.add(Workspace(slug="acme", name="First"))
        first.commit()
        second.add(Workspace(slug="acme", name="Second"))
        with pytest.raises(IntegrityError):
            second.flush()
        second.rollback()
    rows = db.exec(select(Workspace)).all()
    assert [(w.slug, w.name) for w in rows] == [("acme", "First")]


def test_concurrent_sign_ups_for_one_slug_leave_one_workspace(db: Session) -> None:
    db.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def sign_up(n: int) -> None:
        with Session(get_engine()) as session:
            barrier.wait()
            try:
                create_workspace(
                    session,
                    **{**VALID, "name": f"Agency {n}", "admin_email": f"admin{n}@acme.test"},
                )
                session.commit()
                outcomes.append("created")
            except (IntegrityError, ValidationError) as err:
                session.rollback()
                outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 2
    assert outcomes.count("created") == 1
    assert _count(db, Workspace) == 1
    assert _count(db, User) == 1


def test_get_workspace_by_slug_unknown_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        get_workspace_by_slug(db, "nobody")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Creative", "acme-creative"),
        ("  Acme   Creative, Inc.  ", "acme-creative-inc"),
        ("ACME", "acme"),
        ("Studio 54", "studio-54"),
        ("--Hello__World--", "hello-world"),
        ("Café Olé", "caf-ol"),
        ("x" * 39 + " agency", "x" * 39),
        ("", ""),
    ],
)
def test_suggest_slug(name: str, slug: str) -> None:
    assert suggest_slug(name) == slug


@pytest.mark.parametrize("name", ["Acme Creative", "Studio 54 LLC", "The  Pixel--Works!"])
def test_suggested_slugs_of_ordinary_names_are_valid(name: str) -> None:
    assert validate_slug(suggest_slug(name)) == suggest_slug(name)


def test_names_are_kept_on_one_line(db: Session) -> None:
    from nextoria_hub.accounts.users import validate_name

    assert validate_name("  Ada\nSubject: hijack\r\n Admin ") == "Ada Subject: hijack Admin"


@pytest.mark.parametrize(
    "slug",
    [
        "autodiscover",
        "autoconfig",
        "secure",
        "payments",
        "billing",
        "status",
        "support",
        "nextoria-hub",
        "checkout",
        "sso",
        "postmaster",
        "ns1",
    ],
)
def test_lookalike_and_infrastructure_names_are_reserved(slug: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_slug(slug)
    assert "reserved" in err.value.message


@pytest.mark.parametrize(
    "name",
    [
        "Acme\nCreative",
        "Acme\r\nBcc: x@evil.test",
        "Acme\x00",
        "Acme\u2028Line",
        "Ac\tme",
        "\x1b[31mAcme",
    ],
)
def test_agency_names_are_one_line(db: Session, name: str) -> None:
    with pytest.raises(ValidationError) as err:
        create_workspace(db, **(VALID | {"name": name}))
    assert err.value.field == "name"
    assert "one line" in err.value.message
    assert _count(db, Workspace) == 0


def test_agency_name_spaces_are_collapsed(db: Session) -> None:
    created = create_workspace(db, **(VALID | {"name": "  Acme    Creative "}))
    assert created.workspace.name == "Acme Creative"


def test_sign_ups_are_limited_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from nextoria_hub.accounts.workspaces import check_signup_allowed, record_signup
    from nextoria_hub.errors import Throttled
    from nextoria_hub.settings import get_settings

    monkeypatch.setenv("NEXTORIA_SIGNUP_PER_IP", "2/hour;3/day")
    get_settings.cache_clear()
    address, other = "203.0.113.7", "198.51.100.9"
    for _ in range(2):
        check_signup_allowed(address)
        record_signup(address)
    with pytest.raises(Throttled) as err:
        check_signup_allowed(address)
    assert "Try again in" in err.value.message
    assert 0 < err.value.retry_after_seconds <= 3600
    check_signup_allowed(other)  # another address is not affected
