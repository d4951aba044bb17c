"""Server-side sessions: random tokens stored hashed, idle timeout and absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from nextoria_hub.accounts.tokens import claim_once, new_token, token_hash
from nextoria_hub.accounts.users import may_sign_in
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound
from nextoria_hub.models import SignInLink, User, UserSession
from nextoria_hub.settings import get_settings

SIGN_IN_LINK_TTL = timedelta(minutes=2)
# last_seen_at is written at most this often, so page loads don't each cost a write.
_TOUCH_EVERY = timedelta(minutes=1)


def start_session(db: Session, user: User) -> str:
    """Open a new session for ``user`` and return its token (shown to the browser once)."""
    token = new_token()
    now = utcnow()
    db.add(
        UserSession(
            workspace_id=user.workspace_id,
            user_id=user.id,  # type: ignore[arg-type]
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=get_settings().session_max_hours),
        )
    )
    db.flush()
    return token


def session_user(db: Session, workspace_id: int, token: str) -> User | None:
    """The user behind a live session token of this workspace, or None.

    A token of another workspace, an ended session, or one idle or older than allowed
    yields None. Touches ``last_seen_at`` for the idle timeout.
    """
    if not token:
        return None
    record = db.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).first()
    if record is None or record.workspace_id != workspace_id or record.ended_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now >= record.expires_at or now - record.last_seen_at >= idle:
        record.ended_at = now
        db.add(record)
        return None
    user = db.get(User, record.user_id)
    if user is None or user.workspace_id != workspace_id or not may_sign_in(db, user):
        return None
    if now - record.last_seen_at >= _TOUCH_EVERY:
        record.last_seen_at = now
        db.add(record)
    return user


def end_session(db: Session, token: str) -> None:
    """Sign out: the token stops working everywhere at once."""
    record = db.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).first()
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        db.add(record)


def end_all_sessions(db: Session, user_id: int) -> int:
    """End every session of a user (password change, removal). Returns how many ended."""
    now = utcnow()
    records = db.exec(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))  # type: ignore[union-attr]
    ).all()
    for record in records:
        record.ended_at = now
        db.add(record)
    return len(records)


def create_sign_in_link(db: Session, user: User) -> str:
    """A one-time token that signs ``user`` in on their workspace within two minutes."""
    token = new_token()
    db.add(
        SignInLink(
            workspace_id=user.workspace_id,
            user_id=user.id,  # type: ignore[arg-type]
            token_hash=token_hash(token),
            expires_at=utcnow() + SIGN_IN_LINK_TTL,
        )
    )
    db.flush()
    return token


def redeem_sign_in_link(db: Session, workspace_id: int, token: str) -> str:
    """Exchange a sign-in link for a new session token; the link then stops working."""
    link = db.exec(select(SignInLink).where(SignInLink.token_hash == token_hash(token))).first()
    now = utcnow()
    if (
        link is None
        or link.workspace_id != workspace_id
        or link.used_at is not None
        or now >= link.expires_at
    ):
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    if not claim_once(db, SignInLink, link.id, "used_at", now):  # type: ignore[arg-type]
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    db.refresh(link)
    user = db.get(User, link.user_id)
    if user is None or not user.active:
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    return start_session(db, user)
