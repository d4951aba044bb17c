"""Server-side sessions: random tokens stored hashed, idle timeout and absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from nextoria_hub.accounts.tokens import claim_once, new_token, token_hash
from nextoria_hub.accounts.users import may_sign_in
from nextoria_hub.clock import utcnow
from nextoria_hub.db import rows_changed
from nextoria_hub.errors import NotFound
from nextoria_hub.models import SignInLink, User, UserSession
from nextoria_hub.models.ids import require_id
from nextoria_hub.ownership import belongs_to, get_owned
from nextoria_hub.settings import get_settings

SIGN_IN_LINK_TTL = timedelta(minutes=2)
EXPIRED_LINK = "This sign-in link has expired. Sign in with your email and password."
# A grant travels over the websocket to the page, which posts it to /api/session at once.
SESSION_GRANT_TTL = timedelta(seconds=60)
# last_seen_at is written at most this often, so page loads don't each cost a write.
_TOUCH_EVERY = timedelta(minutes=1)


def start_session(db: Session, user: User) -> str:
    """Open a new session for ``user`` and return its token (shown to the browser once)."""
    token = new_token()
    now = utcnow()
    db.add(
        UserSession(
            workspace_id=user.workspace_id,
            user_id=require_id(user),
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
    if record is None or not belongs_to(record, workspace_id) or record.ended_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now >= record.expires_at or now - record.last_seen_at >= idle:
        record.ended_at = now
        db.add(record)
        return None
    user = get_owned(db, User, record.user_id, workspace_id)
    if user is None or not may_sign_in(db, user):
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
        select(UserSession).where(
            UserSession.user_id == user_id, col(UserSession.ended_at).is_(None)
        )
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
            user_id=require_id(user),
            token_hash=token_hash(token),
            expires_at=utcnow() + SIGN_IN_LINK_TTL,
        )
    )
    db.flush()
    return token


def issue_session_grant(db: Session, user: User) -> str:
    """A single-use grant the page exchanges for the session cookie (``POST /api/session``).

    The session token itself never travels over the websocket: it is made by the HTTP
    route that sets the cookie. Stored hashed, like sign-in links (same table).
    """
    grant = new_token()
    db.add(
        SignInLink(
            workspace_id=user.workspace_id,
            user_id=require_id(user),
            token_hash=token_hash(grant),
            expires_at=utcnow() + SESSION_GRANT_TTL,
        )
    )
    db.flush()
    return grant


def grant_for_session(db: Session, token: str) -> str:
    """Swap a session a service just opened for a grant: the session ends, the grant opens
    a new one where the cookie is set (so the token is never seen by the websocket)."""
    record = db.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).one()
    record.ended_at = utcnow()
    db.add(record)
    user = db.get(User, record.user_id)
    assert user is not None
    return issue_session_grant(db, user)


def grant_is_live(db: Session, workspace_id: int, grant: str) -> bool:
    """Whether a grant or sign-in link would be redeemed now (it is not used up by asking)."""
    if not grant:
        return False
    link = db.exec(select(SignInLink).where(SignInLink.token_hash == token_hash(grant))).first()
    return (
        link is not None
        and belongs_to(link, workspace_id)
        and link.used_at is None
        and utcnow() < link.expires_at
    )


def redeem_grant(db: Session, workspace_id: int, grant: str) -> str:
    """Exchange a grant (or sign-in link) for a new session token; one winner.

    The link is marked used by a conditional update, so two workers redeeming the same
    grant at once cannot both open a session.
    """
    now = utcnow()
    refused = NotFound(EXPIRED_LINK)
    if not grant:
        raise refused
    link = db.exec(select(SignInLink).where(SignInLink.token_hash == token_hash(grant))).first()
    if link is None or not belongs_to(link, workspace_id):
        raise refused
    won = rows_changed(
        db,
        update(SignInLink)
        .where(
            col(SignInLink.id) == link.id,
            col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now,
        )
        .values(used_at=now),
    )
    if won != 1:
        raise refused
    user = get_owned(db, User, link.user_id, workspace_id)
    if user is None or not may_sign_in(db, user):
        raise refused
    return start_session(db, user)


def redeem_sign_in_link(db: Session, workspace_id: int, token: str) -> str:
    """Exchange a sign-in link for a new session token; the link then stops working."""
    link = db.exec(select(SignInLink).where(SignInLink.token_hash == token_hash(token))).first()
    now = utcnow()
    if (
        link is None
        or not belongs_to(link, workspace_id)
        or link.used_at is not None
        or now >= link.expires_at
    ):
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    if not claim_once(db, SignInLink, require_id(link), "used_at", now):
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    db.refresh(link)
    user = db.get(User, link.user_id)
    if user is None or not user.active:
        raise NotFound("This sign-in link has expired. Sign in with your email and password.")
    return start_session(db, user)
