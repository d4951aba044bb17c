"""Server-side sessions and one-time sign-in links."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import (
    create_sign_in_link,
    end_all_sessions,
    end_session,
    redeem_sign_in_link,
    session_user,
    start_session,
)
from nextoria_hub.accounts.signin import change_password, sign_in
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import SignInLink, UserSession
from tests.factories import PASSWORD, Tenant

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):  # type: ignore[no-untyped-def]
    time_machine.move_to(START, tick=False)
    return time_machine


def _row_values(db: Session, table: str) -> list[str]:
    rows = db.execute(text(f'SELECT * FROM "{table}"')).all()
    return [str(value) for row in rows for value in row]


def test_token_is_stored_only_as_its_sha256(db: Session, acme: Tenant) -> None:
    token = start_session(db, acme.admin)
    db.commit()
    record = db.exec(select(UserSession)).one()
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 40
    assert not any(token in value for value in _row_values(db, "user_session"))
    assert session_user(db, acme.id, token).id == acme.admin.id  # type: ignore[union-attr]


def test_sign_in_link_token_is_stored_only_as_its_sha256(db: Session, acme: Tenant) -> None:
    token = create_sign_in_link(db, acme.admin)
    db.commit()
    assert (
        db.exec(select(SignInLink)).one().token_hash == hashlib.sha256(token.encode()).hexdigest()
    )
    assert not any(token in value for value in _row_values(db, "sign_in_link"))


def test_each_session_gets_a_new_token(db: Session, acme: Tenant) -> None:
    tokens = {start_session(db, acme.admin) for _ in range(3)}
    assert len(tokens) == 3
    assert all(session_user(db, acme.id, t).id == acme.admin.id for t in tokens)  # type: ignore[union-attr]


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
def test_unknown_token_yields_no_user(db: Session, acme: Tenant, token: str) -> None:
    start_session(db, acme.admin)
    assert session_user(db, acme.id, token) is None


def test_session_of_workspace_a_is_worthless_on_b(
    db: Session, acme: Tenant, globex: Tenant
) -> None:
    token = start_session(db, acme.admin)
    db.commit()
    assert session_user(db, globex.id, token) is None
    # … and presenting it there does not end it at home
    assert session_user(db, acme.id, token).id == acme.admin.id  # type: ignore[union-attr]


def test_idle_timeout(db: Session, acme: Tenant, clock) -> None:  # type: ignore[no-untyped-def]
    token = start_session(db, acme.admin)
    db.commit()
    clock.shift(timedelta(hours=23, minutes=59))
    assert session_user(db, acme.id, token) is not None  # activity resets the idle clock
    db.commit()
    clock.shift(timedelta(hours=23, minutes=59))
    assert session_user(db, acme.id, token) is not None
    db.commit()
    clock.shift(timedelta(hours=24))
    assert session_user(db, acme.id, token) is None
    db.commit()
    assert db.exec(select(UserSession)).one().ended_at is not None
    clock.shift(timedelta(minutes=-30))  # ended stays ended
    assert session_user(db, acme.id, token) is None


def test_absolute_lifetime_even_when_active(db: Session, acme: Tenant, clock) -> None:  # type: ignore[no-untyped-def]
    token = start_session(db, acme.admin)
    db.commit()
    for _ in range(14):
        clock.shift(timedelta(hours=23))
        assert session_user(db, acme.id, token) is not None
        db.commit()
    # 14 × 23 h = 322 h; the session lives 14 days = 336 h
    clock.shift(timedelta(hours=13))
    assert session_user(db, acme.id, token) is not None
    db.commit()
    clock.shift(timedelta(hours=1))
    assert session_user(db, acme.id, token) is None


def test_sign_out_ends_the_session(db: Session, acme: Tenant) -> None:
    token = start_session(db, acme.admin)
    other = start_session(db, acme.admin)
    db.commit()
    end_session(db, token)
    db.commit()
    assert session_user(db, acme.id, token) is None
    assert session_user(db, acme.id, other) is not None  # the other browser stays signed in
    end_session(db, token)  # twice is harmless
    end_session(db, "unknown")


def test_end_all_sessions(db: Session, acme: Tenant) -> None:
    tokens = [start_session(db, acme.admin) for _ in range(3)]
    member_token = start_session(db, acme.member)
    end_session(db, tokens[0])
    assert end_all_sessions(db, acme.admin.id) == 2  # type: ignore[arg-type]
    db.commit()
    assert all(session_user(db, acme.id, t) is None for t in tokens)
    assert session_user(db, acme.id, member_token) is not None
    assert end_all_sessions(db, acme.admin.id) == 0  # type: ignore[arg-type]


def test_sign_in_gives_a_new_token_each_time(db: Session, acme: Tenant) -> None:
    _, first = sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    _, second = sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    assert first != second
    assert session_user(db, acme.id, first) is not None
    assert session_user(db, acme.id, second) is not None


def test_password_change_ends_older_sessions(db: Session, acme: Tenant) -> None:
    old = [start_session(db, acme.admin) for _ in range(2)]
    member_token = start_session(db, acme.member)
    db.commit()
    new_password = "another-long-passphrase-7"
    fresh = change_password(db, acme.admin, current=PASSWORD, new=new_password)
    db.commit()
    assert all(session_user(db, acme.id, t) is None for t in old)
    assert session_user(db, acme.id, fresh).id == acme.admin.id  # type: ignore[union-attr]
    assert session_user(db, acme.id, member_token) is not None
    with pytest.raises(ValidationError):
        sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=PASSWORD)
    user, _ = sign_in(db, workspace_id=acme.id, email=acme.admin.email, password=new_password)
    assert user.id == acme.admin.id


def test_password_change_needs_the_current_password_and_a_strong_new_one(
    db: Session, acme: Tenant
) -> None:
    token = start_session(db, acme.admin)
    with pytest.raises(ValidationError) as err:
        change_password(db, acme.admin, current="wrong-password-123", new="another-long-one-77")
    assert err.value.field == "current_password"
    with pytest.raises(ValidationError) as err:
        change_password(db, acme.admin, current=PASSWORD, new="short")
    assert err.value.field == "new_password"
    assert session_user(db, acme.id, token) is not None


def test_sign_in_link_is_one_time(db: Session, acme: Tenant) -> None:
    link = create_sign_in_link(db, acme.admin)
    db.commit()
    session_token = redeem_sign_in_link(db, acme.id, link)
    db.commit()
    assert session_token != link
    assert session_user(db, acme.id, session_token).id == acme.admin.id  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, acme.id, link)


def test_sign_in_link_expires_after_two_minutes(db: Session, acme: Tenant, clock) -> None:  # type: ignore[no-untyped-def]
    fresh = create_sign_in_link(db, acme.admin)
    stale = create_sign_in_link(db, acme.admin)
    db.commit()
    clock.shift(timedelta(minutes=1, seconds=59))
    assert redeem_sign_in_link(db, acme.id, fresh)
    clock.shift(timedelta(seconds=1))
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, acme.id, stale)


def test_sign_in_link_is_bound_to_its_workspace(db: Session, acme: Tenant, globex: Tenant) -> None:
    link = create_sign_in_link(db, acme.admin)
    db.commit()
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, globex.id, link)
    db.rollback()
    # the failed attempt did not use it up
    assert session_user(db, acme.id, redeem_sign_in_link(db, acme.id, link)) is not None


@pytest.mark.parametrize("token", ["", "made-up"])
def test_unknown_sign_in_link_is_not_found(db: Session, acme: Tenant, token: str) -> None:
    create_sign_in_link(db, acme.admin)
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, acme.id, token)
    assert db.exec(select(UserSession)).all() == []


def test_sign_in_link_of_a_removed_user_opens_no_session(db: Session, acme: Tenant) -> None:
    link = create_sign_in_link(db, acme.member)
    acme.member.removed_at = acme.member.created_at
    db.add(acme.member)
    db.commit()
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, acme.id, link)
    assert db.exec(select(UserSession)).all() == []
