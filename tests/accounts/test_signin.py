"""Signing in to one workspace, and throttling repeated failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from nextoria_hub.accounts.sessions import session_user
from nextoria_hub.accounts.signin import BAD_CREDENTIALS, failure_count, sign_in
from nextoria_hub.accounts.team import remove_member
from nextoria_hub.db import get_engine
from nextoria_hub.errors import Throttled, ValidationError
from nextoria_hub.models import LoginFailure, UserSession
from nextoria_hub.tenancy import Actor
from tests.factories import PASSWORD, Tenant

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):  # type: ignore[no-untyped-def]
    time_machine.move_to(START, tick=False)
    return time_machine


def _fail(db: Session, tenant: Tenant, email: str | None = None) -> None:
    with pytest.raises(ValidationError) as err:
        sign_in(db, workspace_id=tenant.id, email=email or tenant.admin.email, password="wrong-pw")
    assert err.value.message == BAD_CREDENTIALS


def _sessions(db: Session) -> int:
    return db.exec(select(func.count()).select_from(UserSession)).one()


@pytest.mark.parametrize("email", ["admin@acme.test", "  Admin@ACME.test "])
def test_right_password_signs_in(db: Session, acme: Tenant, email: str) -> None:
    user, token = sign_in(db, workspace_id=acme.id, email=email, password=PASSWORD)
    assert user.id == acme.admin.id
    assert session_user(db, acme.id, token).id == acme.admin.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("admin@acme.test", "not-the-password-1"),
        ("admin@acme.test", ""),
        ("nobody@acme.test", PASSWORD),
        ("", PASSWORD),
        ("admin@globex.test", PASSWORD),  # a real account, of another workspace
    ],
)
def test_bad_credentials_all_get_the_same_answer(
    db: Session, acme: Tenant, globex: Tenant, email: str, password: str
) -> None:
    with pytest.raises(ValidationError) as err:
        sign_in(db, workspace_id=acme.id, email=email, password=password)
    assert err.value.message == "Email or password is incorrect."
    assert err.value.field == "password"
    assert _sessions(db) == 0


def test_throttled_after_five_failures_even_with_the_right_password(
    db: Session, acme: Tenant, clock
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        _fail(db, acme)
    with pytest.raises(Throttled) as err:
        sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    assert err.value.retry_after_seconds == 15 * 60
    assert "Try again in 15 minutes" in err.value.message
    assert _sessions(db) == 0
    assert failure_count(db, acme.id, acme.admin.email) == 5  # a refused attempt is not counted

    clock.shift(timedelta(minutes=5, seconds=30))
    with pytest.raises(Throttled) as err:
        sign_in(db, workspace_id=acme.id, email="ADMIN@acme.test", password=PASSWORD)
    assert err.value.retry_after_seconds == 9 * 60 + 30
    assert "Try again in 10 minutes" in err.value.message


def test_throttle_window_expires(db: Session, acme: Tenant, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        _fail(db, acme)
    clock.shift(timedelta(minutes=10))
    _fail(db, acme)  # the fifth, ten minutes after the first four
    clock.shift(timedelta(minutes=4, seconds=59))
    with pytest.raises(Throttled) as err:
        sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    assert err.value.retry_after_seconds == 1
    assert "Try again in 1 minute." in err.value.message
    clock.shift(timedelta(seconds=1))  # the first four fall out of the window
    user, _ = sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    assert user.id == acme.admin.id


def test_throttle_counts_per_email_and_per_workspace(
    db: Session, acme: Tenant, globex: Tenant
) -> None:
    for _ in range(5):
        _fail(db, acme)
    with pytest.raises(Throttled):
        sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    # another person of the same workspace, and the same address elsewhere, are unaffected
    user, _ = sign_in(db, workspace_id=acme.id, email=acme.member.email, password=PASSWORD)
    assert user.id == acme.member.id
    assert failure_count(db, globex.id, acme.admin.email) == 0


def test_failure_survives_the_callers_rollback(db: Session, acme: Tenant) -> None:
    db.commit()
    with Session(get_engine()) as caller:
        with pytest.raises(ValidationError):
            sign_in(caller, workspace_id=acme.id, email=acme.admin.email, password="wrong-pw")
        caller.rollback()
    with Session(get_engine()) as fresh:
        rows = fresh.exec(select(LoginFailure)).all()
        assert [(r.workspace_id, r.email) for r in rows] == [(acme.id, acme.admin.email)]


def test_removed_user_cannot_sign_in(db: Session, acme: Tenant) -> None:
    remove_member(db, Actor.of(acme.admin), user_id=acme.member.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(ValidationError) as err:
        sign_in(db, workspace_id=acme.id, email=acme.member.email, password=PASSWORD)
    assert err.value.message == BAD_CREDENTIALS
    assert failure_count(db, acme.id, acme.member.email) == 1
