"""Signing in to one workspace, with throttling of repeated failures."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from nextoria_hub.accounts.passwords import (
    DUMMY_HASH,
    check_password_strength,
    hash_password,
    verify_password,
)
from nextoria_hub.accounts.sessions import end_all_sessions, start_session
from nextoria_hub.accounts.users import find_user
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import Throttled, ValidationError
from nextoria_hub.models import LoginFailure, User
from nextoria_hub.settings import get_settings

BAD_CREDENTIALS = "Email or password is incorrect."


def sign_in(db: Session, *, workspace_id: int, email: str, password: str) -> tuple[User, str]:
    """Check credentials for this workspace only and open a session.

    Unknown email, wrong password and an account of another workspace give the same
    answer. After too many failures on one email the attempt is refused before the
    password is even checked. A failure is committed at once, before raising.
    """
    settings = get_settings()
    email = email.strip().lower()
    window = timedelta(minutes=settings.login_window_minutes)
    now = utcnow()
    failures = db.exec(
        select(LoginFailure.at)
        .where(
            LoginFailure.workspace_id == workspace_id,
            LoginFailure.email == email,
            LoginFailure.at > now - window,
        )
        .order_by(col(LoginFailure.at))
    ).all()
    if len(failures) >= settings.login_max_failures:
        oldest_counted = failures[len(failures) - settings.login_max_failures]
        wait = max(1, math.ceil((oldest_counted + window - now).total_seconds()))
        minutes = math.ceil(wait / 60)
        raise Throttled(
            f"Too many failed attempts. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
            retry_after_seconds=wait,
        )
    user = find_user(db, workspace_id, email) if email else None
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        db.add(LoginFailure(workspace_id=workspace_id, email=email[:254], at=now))
        db.commit()  # kept even though the caller's unit of work rolls back on the error below
        raise ValidationError(BAD_CREDENTIALS, "password")
    return user, start_session(db, user)


def failure_count(db: Session, workspace_id: int, email: str) -> int:
    return db.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.workspace_id == workspace_id, LoginFailure.email == email.lower())
    ).one()


def change_password(db: Session, user: User, *, current: str, new: str) -> str:
    """Set a new password, end every session of the user, and return a fresh session token."""
    if not verify_password(user.password_hash, current):
        raise ValidationError("Your current password is incorrect.", "current_password")
    check_password_strength(new, email=user.email, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    db.add(user)
    end_all_sessions(db, user.id)  # type: ignore[arg-type]
    return start_session(db, user)
