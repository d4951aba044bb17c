"""The team of a workspace: invitations, roles and removal."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import session_user, start_session
from nextoria_hub.accounts.signin import BAD_CREDENTIALS, sign_in
from nextoria_hub.accounts.team import (
    accept_invitation,
    change_role,
    invitation_for_token,
    invite,
    is_only_admin,
    list_pending_invitations,
    list_team,
    remove_member,
)
from nextoria_hub.audit import list_audit
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import Invitation, OutboxEmail, Role, User, UserSession
from nextoria_hub.notifications.links import fill_links
from nextoria_hub.tenancy import Actor
from tests.factories import INVITE_LINK, PASSWORD, Tenant, invite_token_for, quick_user

NEW_PASSWORD = "invited-person-passphrase-9"


def _invite(db: Session, tenant: Tenant, email: str, role: str = "member") -> str:
    """Invite ``email`` as the tenant's admin and return the token from the outbox email."""
    invitation = invite(db, Actor.of(tenant.admin), email=email, role=role, name="New Person")
    db.commit()
    return invite_token_for(db, invitation.email)


def test_invite_writes_an_email_with_a_link_to_the_workspace(db: Session, acme: Tenant) -> None:
    invitation = invite(db, Actor.of(acme.admin), email=" New@Agency.COM ", role="member")
    db.commit()
    assert (invitation.workspace_id, invitation.email, invitation.role) == (
        acme.id,
        "new@agency.com",
        Role.member,
    )
    email = db.exec(select(OutboxEmail)).one()
    assert (email.workspace_id, email.to_address, email.kind) == (
        acme.id,
        "new@agency.com",
        "team_invite",
    )
    assert email.status == "pending"
    match = INVITE_LINK.search(fill_links(email.text_body))  # as delivered
    assert match is not None and match["slug"] == "acme"
    assert f"/invite?token={match['token']}" in fill_links(email.html_body)
    # The stored email holds a placeholder, never the token itself.
    assert match["token"] not in email.text_body and match["token"] not in email.html_body
    assert "Acme Creative" in email.subject
    assert invitation.token_hash != match["token"]
    assert invitation_for_token(db, acme.id, match["token"]).id == invitation.id
    assert [i.id for i in list_pending_invitations(db, Actor.of(acme.admin))] == [invitation.id]
    assert [(a.action, a.detail) for a in list_audit(db, Actor.of(acme.admin))] == [
        ("team.invite", "new@agency.com as member")
    ]


@pytest.mark.parametrize("role", ["admin", "member", "client"])
def test_accepting_creates_the_user_with_the_role_and_signs_them_in(
    db: Session, acme: Tenant, role: str
) -> None:
    token = _invite(db, acme, "new@agency.com", role)
    user, session_token = accept_invitation(
        db, workspace_id=acme.id, token=token, name="Nina New", password=NEW_PASSWORD
    )
    db.commit()
    assert (user.workspace_id, user.email, user.name, user.role) == (
        acme.id,
        "new@agency.com",
        "Nina New",
        role,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert session_user(db, acme.id, session_token).id == user.id  # type: ignore[union-attr]
    assert list_pending_invitations(db, Actor.of(acme.admin)) == []
    with pytest.raises(NotFound):  # used
        invitation_for_token(db, acme.id, token)
    with pytest.raises(NotFound):
        accept_invitation(db, workspace_id=acme.id, token=token, name="x", password=NEW_PASSWORD)


def test_accept_checks_the_password(db: Session, acme: Tenant) -> None:
    token = _invite(db, acme, "new@agency.com")
    with pytest.raises(ValidationError) as err:
        accept_invitation(db, workspace_id=acme.id, token=token, name="", password="short")
    assert err.value.field == "password"
    db.rollback()
    assert invitation_for_token(db, acme.id, token).accepted_at is None


def test_expired_invitation_is_refused(db: Session, acme: Tenant, time_machine) -> None:  # type: ignore[no-untyped-def]
    token = _invite(db, acme, "new@agency.com")
    time_machine.move_to(invitation_for_token(db, acme.id, token).expires_at, tick=False)
    with pytest.raises(NotFound):
        invitation_for_token(db, acme.id, token)
    with pytest.raises(NotFound):
        accept_invitation(db, workspace_id=acme.id, token=token, name="", password=NEW_PASSWORD)
    assert list_pending_invitations(db, Actor.of(acme.admin)) == []


def test_invitation_of_another_workspace_is_refused(
    db: Session, acme: Tenant, globex: Tenant
) -> None:
    token = _invite(db, acme, "new@agency.com")
    with pytest.raises(NotFound):
        invitation_for_token(db, globex.id, token)
    with pytest.raises(NotFound):
        accept_invitation(db, workspace_id=globex.id, token=token, name="", password=NEW_PASSWORD)
    db.rollback()
    assert db.exec(select(User).where(User.email == "new@agency.com")).all() == []


@pytest.mark.parametrize("token", ["", "made-up-token"])
def test_unknown_invitation_token_is_refused(db: Session, acme: Tenant, token: str) -> None:
    _invite(db, acme, "new@agency.com")
    with pytest.raises(NotFound):
        invitation_for_token(db, acme.id, token)


def test_members_cannot_manage_the_team(db: Session, acme: Tenant) -> None:
    member = Actor.of(acme.member)
    assert {u.id for u in list_team(db, member)} == {acme.admin.id, acme.member.id}
    with pytest.raises(AccessDenied):
        invite(db, member, email="new@agency.com", role="member")
    with pytest.raises(AccessDenied):
        change_role(db, member, user_id=acme.member.id, role="admin")  # type: ignore[arg-type]
    with pytest.raises(AccessDenied):
        remove_member(db, member, user_id=acme.admin.id)  # type: ignore[arg-type]
    with pytest.raises(AccessDenied):
        list_pending_invitations(db, member)
    db.rollback()
    assert db.get(User, acme.member.id).role == Role.member  # type: ignore[union-attr]
    assert db.get(User, acme.admin.id).removed_at is None  # type: ignore[union-attr]
    assert db.exec(select(Invitation)).all() == []
    assert db.exec(select(OutboxEmail)).all() == []


def test_clients_see_no_team(db: Session, acme: Tenant) -> None:
    client = quick_user(db, acme.id, "client@customer.test", "client")
    with pytest.raises(AccessDenied):
        list_team(db, Actor.of(client))
    assert client.id not in {u.id for u in list_team(db, Actor.of(acme.admin))}


def test_invite_refuses_bad_input(db: Session, acme: Tenant) -> None:
    admin = Actor.of(acme.admin)
    with pytest.raises(ValidationError) as err:
        invite(db, admin, email=acme.member.email, role="member")
    assert err.value.field == "email"
    with pytest.raises(ValidationError) as err:
        invite(db, admin, email="not-an-email", role="member")
    assert err.value.field == "email"
    with pytest.raises(ValidationError) as err:
        invite(db, admin, email="new@agency.com", role="owner")
    assert err.value.field == "role"


def test_change_role(db: Session, acme: Tenant) -> None:
    admin = Actor.of(acme.admin)
    user = change_role(db, admin, user_id=acme.member.id, role="admin")  # type: ignore[arg-type]
    db.commit()
    assert db.get(User, acme.member.id).role == Role.admin == user.role  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as err:
        change_role(db, admin, user_id=acme.member.id, role="client")  # type: ignore[arg-type]
    assert err.value.field == "role"
    with pytest.raises(ValidationError):
        change_role(db, admin, user_id=acme.member.id, role="owner")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        change_role(db, admin, user_id=999_999, role="member")
    assert ("team.role", "member@acme.test: member → admin") in [
        (a.action, a.detail) for a in list_audit(db, admin)
    ]


def test_last_admin_cannot_be_demoted_or_removed(db: Session, acme: Tenant) -> None:
    admin = Actor.of(acme.admin)
    with pytest.raises(ValidationError) as err:
        change_role(db, admin, user_id=acme.admin.id, role="member")  # type: ignore[arg-type]
    assert "at least one admin" in err.value.message
    with pytest.raises(ValidationError) as err:
        remove_member(db, admin, user_id=acme.admin.id)  # type: ignore[arg-type]
    assert "last admin" in err.value.message
    db.rollback()
    assert db.get(User, acme.admin.id).role == Role.admin  # type: ignore[union-attr]
    assert db.get(User, acme.admin.id).removed_at is None  # type: ignore[union-attr]

    # with a second admin, either may step down
    change_role(db, admin, user_id=acme.member.id, role="admin")  # type: ignore[arg-type]
    change_role(db, admin, user_id=acme.admin.id, role="member")  # type: ignore[arg-type]
    db.commit()
    assert db.get(User, acme.admin.id).role == Role.member  # type: ignore[union-attr]


def test_the_only_admin_is_not_offered_demotion_or_removal(db: Session, acme: Tenant) -> None:
    admin = Actor.of(acme.admin)
    assert is_only_admin(db, acme.admin)
    assert not is_only_admin(db, acme.member)
    change_role(db, admin, user_id=acme.member.id, role="admin")  # type: ignore[arg-type]
    db.flush()
    assert not is_only_admin(db, acme.admin) and not is_only_admin(db, acme.member)


def test_a_removed_admin_does_not_count_as_an_admin(db: Session, acme: Tenant) -> None:
    admin = Actor.of(acme.admin)
    second = quick_user(db, acme.id, "second@acme.test", "admin")
    remove_member(db, admin, user_id=second.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(ValidationError):
        change_role(db, admin, user_id=acme.admin.id, role="member")  # type: ignore[arg-type]


def test_removed_member_loses_sessions_and_sign_in(db: Session, acme: Tenant) -> None:
    tokens = [start_session(db, acme.member) for _ in range(2)]
    db.commit()
    remove_member(db, Actor.of(acme.admin), user_id=acme.member.id)  # type: ignore[arg-type]
    db.commit()
    assert all(session_user(db, acme.id, t) is None for t in tokens)
    records = db.exec(select(UserSession).where(UserSession.user_id == acme.member.id)).all()
    assert all(r.ended_at is not None for r in records)
    with pytest.raises(ValidationError) as err:
        sign_in(db, workspace_id=acme.id, email=acme.member.email, password=PASSWORD)
    assert err.value.message == BAD_CREDENTIALS
    assert acme.member.id not in {u.id for u in list_team(db, Actor.of(acme.admin))}
    with pytest.raises(NotFound):  # already gone
        remove_member(db, Actor.of(acme.admin), user_id=acme.member.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        change_role(db, Actor.of(acme.admin), user_id=acme.member.id, role="admin")  # type: ignore[arg-type]


def test_removed_user_can_be_invited_back(db: Session, acme: Tenant) -> None:
    remove_member(db, Actor.of(acme.admin), user_id=acme.member.id)  # type: ignore[arg-type]
    db.commit()
    token = _invite(db, acme, acme.member.email, "admin")
    user, session_token = accept_invitation(
        db, workspace_id=acme.id, token=token, name="", password=NEW_PASSWORD
    )
    db.commit()
    assert user.id == acme.member.id  # the same row, so history still points at it
    assert user.active and user.role == Role.admin
    assert session_user(db, acme.id, session_token).id == user.id  # type: ignore[union-attr]
    signed_in, _ = sign_in(db, workspace_id=acme.id, email=user.email, password=NEW_PASSWORD)
    assert signed_in.id == user.id


def test_accepting_for_an_email_that_joined_meanwhile_is_refused(db: Session, acme: Tenant) -> None:
    token = _invite(db, acme, "new@agency.com")
    quick_user(db, acme.id, "new@agency.com")
    with pytest.raises(ValidationError) as err:
        accept_invitation(db, workspace_id=acme.id, token=token, name="", password=NEW_PASSWORD)
    assert err.value.field == "email"


def test_re_inviting_replaces_the_earlier_invitation(db: Session, acme: Tenant) -> None:
    as_admin = _invite(db, acme, "new@agency.com", "admin")
    as_member = _invite(db, acme, "new@agency.com", "member")  # the admin changed their mind
    pending = list_pending_invitations(db, Actor.of(acme.admin))
    assert [(i.email, i.role) for i in pending] == [("new@agency.com", "member")]
    with pytest.raises(NotFound):
        accept_invitation(db, workspace_id=acme.id, token=as_admin, name="", password=NEW_PASSWORD)
    assert invitation_for_token(db, acme.id, as_member).role == Role.member


def test_removal_revokes_the_persons_pending_invitations(db: Session, acme: Tenant) -> None:
    """A removed person cannot walk back in through an invitation sent before the removal."""
    token = _invite(db, acme, "bob@agency.com", "admin")
    bob = quick_user(db, acme.id, "bob@agency.com", "member")  # e.g. added by the CLI meanwhile
    remove_member(db, Actor.of(acme.admin), user_id=bob.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(NotFound):
        accept_invitation(db, workspace_id=acme.id, token=token, name="", password=NEW_PASSWORD)
    db.rollback()
    assert db.get(User, bob.id).removed_at is not None  # type: ignore[union-attr]
    assert list_pending_invitations(db, Actor.of(acme.admin)) == []
