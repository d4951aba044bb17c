"""Signing in to one workspace; repeated failures slow the next try (per account and address)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func
from sqlmodel import Session, col, select

from nextoria_hub.accounts.passwords import (
    DUMMY_HASH,
    check_password_strength,
    hash_password,
    verify_password,
)
from nextoria_hub.accounts.sessions import end_all_sessions, start_session
from nextoria_hub.accounts.throttle import AddressLimit, describe_wait
from nextoria_hub.accounts.users import find_user, may_sign_in
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import Throttled, ValidationError
from nextoria_hub.models import LoginFailure, User
from nextoria_hub.models.ids import require_id
from nextoria_hub.settings import get_settings

BAD_CREDENTIALS = "Email or password is incorrect."


def sign_in(
    db: Session, *, workspace_id: int, email: str, password: str, client_ip: str = ""
) -> tuple[User, str]:
    """Check credentials for this workspace only and open a session.

    Unknown email, wrong password and an account of another workspace give the same
    answer. Failures slow the next try rather than lock anyone out: per account, after
    ``login_max_failures`` within the window each further try waits a doubling delay
    (capped); per client address, failures on every account count against moving windows.
    A throttled attempt is refused before the password is checked and is not counted.
    A failure is committed at once, before raising.
    """
    settings = get_settings()
    email = email.strip().lower()
    if client_ip:
        ip_wait = _ip_failures(settings.login_ip_failures).wait_seconds(client_ip)
        if ip_wait:
            raise Throttled(
                "Too many failed sign-ins from your network. "
                f"Try again in {describe_wait(ip_wait)}.",
                retry_after_seconds=ip_wait,
            )
    now = utcnow()
    wait = _account_wait_seconds(db, workspace_id, email, now)
    if wait:
        raise Throttled(
            f"Too many failed attempts. Try again in {describe_wait(wait)}.",
            retry_after_seconds=wait,
        )
    user = find_user(db, workspace_id, email) if email else None
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not may_sign_in(db, user):
        db.add(LoginFailure(workspace_id=workspace_id, email=email[:254], at=now))
        db.commit()  # kept even though the caller's unit of work rolls back on the error below
        if client_ip:
            _ip_failures(settings.login_ip_failures).hit(client_ip)
        raise ValidationError(BAD_CREDENTIALS, "password")
    return user, start_session(db, user)


def _account_wait_seconds(db: Session, workspace_id: int, email: str, now: datetime) -> int:
    """Seconds before the next try on this account is checked (0: now).

    The first ``login_max_failures`` failures in the window cost nothing; each one after
    that doubles the wait after the latest failure, from ``login_delay_seconds`` up to
    ``login_max_delay_seconds``. Someone guessing at another person's account can so only
    ever delay them by the cap, never lock them out.
    """
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    failures = db.exec(
        select(LoginFailure.at)
        .where(
            LoginFailure.workspace_id == workspace_id,
            LoginFailure.email == email.strip().lower(),
            LoginFailure.at > now - window,
        )
        .order_by(col(LoginFailure.at))
    ).all()
    excess = len(failures) - settings.login_max_failures
    if excess < 0:
        return 0
    delay = min(
        settings.login_max_delay_seconds, settings.login_delay_seconds * 2 ** min(excess, 30)
    )
    remaining = (failures[-1] + timedelta(seconds=delay) - now).total_seconds()
    return max(0, math.ceil(remaining))


@lru_cache(maxsize=4)
def _ip_failures(spec: str) -> AddressLimit:
    return AddressLimit("signin-failures", spec)


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
    end_all_sessions(db, require_id(user))
    return start_session(db, user)
