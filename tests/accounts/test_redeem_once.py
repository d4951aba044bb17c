"""Races on one-time things, from several workers at once (issue 12): a sign-in link or an
invitation is redeemed once, and two admins removing each other leave one admin."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import create_sign_in_link, redeem_sign_in_link
from nextoria_hub.accounts.team import accept_invitation, invite, remove_member
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Role, User, UserSession
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, invite_token_for, quick_user

LOSERS = (NotFound, ValidationError, OperationalError)  # SQLite may refuse the late writer


def _at_once(*calls: Callable[[Session], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run each call in its own thread and unit of work, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(call: Callable[[Session], Any]) -> None:
        try:
            barrier.wait()
            with session_scope() as db:
                results.append(call(db))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_a_sign_in_link_gives_one_session(db: Session, acme: Tenant) -> None:
    token = create_sign_in_link(db, acme.admin)
    db.commit()
    before = len(db.exec(select(UserSession)).all())
    results, errors = _at_once(
        *[lambda s: redeem_sign_in_link(s, acme.id, token) for _ in range(4)]
    )
    assert len(results) == 1, (results, errors)
    assert all(isinstance(e, LOSERS) for e in errors), errors
    db.expire_all()
    assert len(db.exec(select(UserSession)).all()) == before + 1


def test_an_invitation_is_accepted_once(db: Session, acme: Tenant) -> None:
    invite(db, Actor.of(acme.admin), email="new@acme.test", role="member")
    db.commit()
    token = invite_token_for(db, "new@acme.test")
    password = "a long enough passphrase 2026"
    results, errors = _at_once(
        *[
            lambda s: accept_invitation(
                s, workspace_id=acme.id, token=token, name="New", password=password
            )
            for _ in range(3)
        ]
    )
    assert len(results) == 1, (results, errors)
    assert all(isinstance(e, LOSERS) for e in errors), errors
    db.expire_all()
    users = db.exec(select(User).where(User.email == "new@acme.test")).all()
    assert len(users) == 1


def test_two_admins_removing_each_other_leave_one_admin(db: Session, acme: Tenant) -> None:
    other = quick_user(db, acme.id, "second@acme.test", "admin", "Second")
    db.commit()
    first = acme.admin
    results, errors = _at_once(
        lambda s: remove_member(s, Actor.of(first), user_id=other.id),  # type: ignore[arg-type]
        lambda s: remove_member(s, Actor.of(other), user_id=first.id),  # type: ignore[arg-type]
    )
    assert len(results) <= 1 and all(isinstance(e, LOSERS) for e in errors), errors
    db.expire_all()
    admins = db.exec(
        select(User).where(
            User.workspace_id == acme.id,
            User.role == Role.admin,
            User.removed_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    assert len(admins) == 1
