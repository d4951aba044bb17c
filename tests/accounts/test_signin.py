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


def _refused(db: Session, tenant: Tenant, **kwargs) -> Throttled:  # type: ignore[no-untyped-def]
    with pytest.raises(Throttled) as err:
        sign_in(db, workspace_id=tenant.id, email=tenant.admin.email, password=PASSWORD, **kwargs)
    return err.value


def test_failures_beyond_five_slow_the_account_with_doubling_delays(
    db: Session, acme: Tenant, clock
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        _fail(db, acme)
    err = _refused(db, acme)  # even the right password waits
    assert err.retry_after_seconds == 2
    assert "Try again in 2 seconds" in err.message
    assert _sessions(db) == 0
    assert failure_count(db, acme.id, acme.admin.email) == 5  # a refused attempt is not counted

    waits = []
    for _ in range(6):
        clock.shift(timedelta(seconds=_refused(db, acme).retry_after_seconds))
        _fail(db, acme)  # one more guess once the wait is over
        waits.append(_refused(db, acme).retry_after_seconds)
    assert waits == [4, 8, 16, 32, 60, 60]  # doubling, capped at a minute: never a lock-out
    clock.shift(timedelta(seconds=60))
    user, _ = sign_in(db, workspace_id=acme.id, email="ADMIN@acme.test", password=PASSWORD)
    assert user.id == acme.admin.id


def test_throttle_window_expires(db: Session, acme: Tenant, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        _fail(db, acme)
    clock.shift(timedelta(seconds=1))
    assert _refused(db, acme).retry_after_seconds == 1
    clock.shift(timedelta(minutes=15))  # every failure out of the window: no delay at all
    for _ in range(4):
        _fail(db, acme)
    user, _ = sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    assert user.id == acme.admin.id


def test_throttle_counts_per_email_and_per_workspace(
    db: Session, acme: Tenant, globex: Tenant, clock
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        _fail(db, acme)
    _refused(db, acme)
    # another person of the same workspace, and the same address elsewhere, are unaffected
    user, _ = sign_in(db, workspace_id=acme.id, email=acme.member.email, password=PASSWORD)
    assert user.id == acme.member.id
    assert failure_count(db, globex.id, acme.admin.email) == 0


def test_failures_from_one_address_across_accounts_are_slowed(
    db: Session, acme: Tenant, globex: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Password spraying: one guess each on many accounts still counts against the address."""
    from nextoria_hub.settings import get_settings

    monkeypatch.setenv("NEXTORIA_LOGIN_IP_FAILURES", "3/minute;10/hour")
    get_settings.cache_clear()
    sprayer, colleague = "203.0.113.50", "198.51.100.50"
    targets = [acme.admin.email, acme.member.email, "nobody@acme.test"]
    for email in targets:
        with pytest.raises(ValidationError):
            sign_in(db, workspace_id=acme.id, email=email, password="wrong-pw", client_ip=sprayer)
    err = _refused(db, globex, client_ip=sprayer)
    assert "from your network" in err.message
    assert 0 < err.retry_after_seconds <= 60
    # Nobody else is slowed: not the accounts (one failure each), not another address.
    user, _ = sign_in(
        db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD, client_ip=colleague
    )
    assert user.id == acme.admin.id


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
