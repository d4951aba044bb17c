"""The people of a workspace: invitations, roles and removal. Admin-only changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from nextoria_hub.accounts.passwords import check_password_strength, hash_password
from nextoria_hub.accounts.sessions import end_all_sessions, start_session
from nextoria_hub.accounts.tokens import claim_once, token_hash
from nextoria_hub.accounts.users import find_user, normalise_email, parse_role
from nextoria_hub.audit import record_audit
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Client, Invitation, Role, User, Workspace
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications.links import issue_link_token
from nextoria_hub.notifications.outbox import enqueue_email
from nextoria_hub.ownership import belongs_to, get_owned
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

INVITE_TTL = timedelta(days=7)


def list_team(db: Session, actor: Actor) -> list[User]:
    """Admins and members of the actor's workspace (clients are listed under Clients)."""
    actor.require_staff()
    return list(
        db.exec(
            select(User)
            .where(
                User.workspace_id == actor.workspace_id,
                User.role != Role.client,
                col(User.removed_at).is_(None),
            )
            .order_by(col(User.name))
        )
    )


def list_pending_invitations(db: Session, actor: Actor) -> list[Invitation]:
    actor.require_admin()
    return list(
        db.exec(
            select(Invitation)
            .where(
                Invitation.workspace_id == actor.workspace_id,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(col(Invitation.id).desc())
        )
    )


def invite(db: Session, actor: Actor, *, email: str, role: str, name: str = "") -> Invitation:
    """Invite someone to the workspace; the link goes out through the outbox."""
    actor.require_admin()
    parsed = parse_role(role)
    invitation = _send_invitation(
        db,
        actor,
        email=email,
        name=name,
        role=parsed,
        kind="team_invite",
        context={"role": parsed.value},
    )
    record_audit(db, actor, "team.invite", f"{invitation.email} as {parsed.value}")
    return invitation


def invite_client(
    db: Session, actor: Actor, *, client: Client, email: str, name: str = ""
) -> Invitation:
    """Invite a client's contact to the Client Portal; the caller checked the client."""
    actor.require_staff()
    invitation = _send_invitation(
        db,
        actor,
        email=email,
        name=name,
        role=Role.client,
        client_id=client.id,
        kind="client_invite",
        context={"client_name": client.name},
    )
    record_audit(
        db, actor, "client.invite", f"{invitation.email} for client #{client.id} {client.name}"
    )
    return invitation


def _send_invitation(
    db: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: Role,
    kind: str,
    context: dict[str, str],
    client_id: int | None = None,
) -> Invitation:
    """One rule for every invitation: one pending per email, a hashed token, the email with its link."""
    email = normalise_email(email)
    existing = find_user(db, actor.workspace_id, email)
    if existing is not None and existing.active:
        raise ValidationError("This person is already in the workspace.", "email")
    _revoke_pending(db, actor.workspace_id, email)  # the newest invitation is the one that counts
    # The email holds a placeholder for the token, filled only when it is delivered.
    token, placeholder = issue_link_token()
    invitation = Invitation(
        workspace_id=actor.workspace_id,
        email=email,
        name=name.strip()[:120],
        role=role,
        client_id=client_id,
        token_hash=token_hash(token),
        invited_by_id=actor.user_id,
        expires_at=utcnow() + INVITE_TTL,
    )
    db.add(invitation)
    db.flush()
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    enqueue_email(
        db,
        workspace_id=actor.workspace_id,
        to=email,
        kind=kind,
        context={
            "workspace_name": workspace.name,
            "inviter_name": actor.name,
            "invitee_name": invitation.name,
            "link": get_settings().workspace_url(workspace.slug, f"/invite?token={placeholder}"),
            **context,
        },
    )
    return invitation


def list_client_contacts(db: Session, actor: Actor) -> list[tuple[User, str]]:
    """Client Portal logins of the workspace with their client's name, for Team → Remove."""
    actor.require_staff()
    rows = db.exec(
        select(User, Client.name)
        .join(Client, col(Client.id) == col(User.client_id), isouter=True)
        .where(
            User.workspace_id == actor.workspace_id,
            User.role == Role.client,
            col(User.removed_at).is_(None),
        )
        .order_by(col(User.name))
    ).all()
    return [(user, client_name or "") for user, client_name in rows]


def remove_client_contact(db: Session, actor: Actor, *, user_id: int) -> None:
    """Cut a client's contact off: signed out everywhere at once, no sign-in, no old invite."""
    actor.require_admin()
    user = get_owned(db, User, user_id, actor)
    if user is None or user.role != Role.client or not user.active:
        raise NotFound("That person is not in this workspace.")
    end_all_sessions(db, require_id(user))
    _revoke_pending(db, actor.workspace_id, user.email)
    user.removed_at = utcnow()
    db.add(user)
    record_audit(db, actor, "client.contact_remove", user.email)


def end_client_access(db: Session, client: Client) -> int:
    """An archived client's contacts: every session ended, pending invitations revoked.

    Sign-in stays refused while the client is archived (``users.may_sign_in``). Returns
    how many sessions ended.
    """
    now = utcnow()
    ended = 0
    contacts = db.exec(
        select(User).where(
            User.workspace_id == client.workspace_id,
            User.client_id == client.id,
            User.role == Role.client,
        )
    ).all()
    for user in contacts:
        ended += end_all_sessions(db, require_id(user))
    pending = db.exec(
        select(Invitation).where(
            Invitation.workspace_id == client.workspace_id,
            Invitation.client_id == client.id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    ).all()
    for invitation in pending:
        invitation.revoked_at = now
        db.add(invitation)
    return ended


def _revoke_pending(db: Session, workspace_id: int, email: str) -> None:
    """Stop every pending invitation to ``email`` in the workspace from working."""
    now = utcnow()
    pending = db.exec(
        select(Invitation).where(
            Invitation.workspace_id == workspace_id,
            Invitation.email == email,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    ).all()
    for invitation in pending:
        invitation.revoked_at = now
        db.add(invitation)


def invitation_for_token(db: Session, workspace_id: int, token: str) -> Invitation:
    invitation = db.exec(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    ).first()
    if (
        invitation is None
        or not belongs_to(invitation, workspace_id)
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or utcnow() >= invitation.expires_at
    ):
        raise NotFound("This invitation is no longer valid. Ask your admin for a new one.")
    return invitation


def accept_invitation(
    db: Session, *, workspace_id: int, token: str, name: str, password: str
) -> tuple[User, str]:
    """Create the invited user with their chosen password and sign them in."""
    invitation = invitation_for_token(db, workspace_id, token)
    check_password_strength(password, email=invitation.email)
    name = (name or invitation.name or invitation.email.split("@")[0]).strip()[:120]
    user = find_user(db, workspace_id, invitation.email)
    if user is not None and user.active:
        raise ValidationError("This email already has an account here. Sign in instead.", "email")
    if user is None:
        user = User(
            workspace_id=workspace_id, email=invitation.email, name=name, role=invitation.role
        )
    user.name, user.role, user.removed_at = name, invitation.role, None
    user.client_id = invitation.client_id if invitation.role == Role.client else None
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    # One acceptance per invitation, even from two workers at once (a conditional UPDATE).
    if not claim_once(db, Invitation, require_id(invitation), "accepted_at", utcnow()):
        raise NotFound("This invitation is no longer valid. Ask your admin for a new one.")
    db.refresh(invitation)
    db.add(user)
    db.flush()
    return user, start_session(db, user)


def _member(db: Session, actor: Actor, user_id: int) -> User:
    user = get_owned(db, User, user_id, actor)
    if user is None or user.role == Role.client or not user.active:
        raise NotFound("That person is not in this workspace.")
    return user


def _admin_count(db: Session, workspace_id: int) -> int:
    """Active admins, counted under the workspace's row lock: two admins demoting or
    removing each other at once take turns, and the second sees the first's change."""
    db.execute(
        update(Workspace)
        .where(col(Workspace.id) == workspace_id)
        .values(name=col(Workspace.name))
        .execution_options(synchronize_session=False)
    )
    return db.exec(
        select(func.count())
        .select_from(User)
        .where(
            User.workspace_id == workspace_id,
            User.role == Role.admin,
            col(User.removed_at).is_(None),
        )
    ).one()


def is_only_admin(db: Session, user: User) -> bool:
    """The workspace's last admin can be neither demoted nor removed: the page offers neither."""
    return user.role == Role.admin and _admin_count(db, user.workspace_id) <= 1


def change_role(db: Session, actor: Actor, *, user_id: int, role: str) -> User:
    actor.require_admin()
    parsed = parse_role(role)
    if parsed == Role.client:
        raise ValidationError("Team members can be admins or members.", "role")
    user = _member(db, actor, user_id)
    if user.role == Role.admin and parsed != Role.admin:
        admins = _admin_count(db, actor.workspace_id)  # takes the lock, then re-reads
        db.refresh(user)
        if user.role == Role.admin and admins <= 1:
            raise ValidationError(
                "The workspace needs at least one admin: promote someone first.", "role"
            )
    old = user.role
    user.role = parsed
    db.add(user)
    record_audit(db, actor, "team.role", f"{user.email}: {old} → {parsed.value}")
    return user


def remove_member(db: Session, actor: Actor, *, user_id: int) -> None:
    actor.require_admin()
    user = _member(db, actor, user_id)
    if user.role == Role.admin:
        admins = _admin_count(db, actor.workspace_id)  # takes the lock, then re-reads
        db.refresh(user)
        if user.role == Role.admin and admins <= 1:
            raise ValidationError(
                "The last admin cannot be removed: promote someone first.", "role"
            )
    end_all_sessions(db, require_id(user))
    _revoke_pending(db, actor.workspace_id, user.email)  # no way back in through an old invite
    user.removed_at = utcnow()
    db.add(user)
    record_audit(db, actor, "team.remove", user.email)
