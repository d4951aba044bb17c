"""Cutting client contacts off: archiving their client or removing them ends access at once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import session_user, start_session
from nextoria_hub.accounts.signin import BAD_CREDENTIALS, sign_in
from nextoria_hub.accounts.team import (
    invitation_for_token,
    list_client_contacts,
    remove_client_contact,
)
from nextoria_hub.billing.clients import (
    archive_client,
    create_client,
    invite_client_contact,
    restore_client,
)
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import Client, Invitation, User, UserSession
from nextoria_hub.tenancy import Actor
from tests.factories import PASSWORD, Tenant, invite_token_for, quick_portal_user


@pytest.fixture
def globex_client(db: Session, acme: Tenant) -> Client:
    client = create_client(
        db, Actor.of(acme.admin), name="Globex Corporation", billing_email="ap@globex.test"
    )
    db.commit()
    return client


@pytest.fixture
def contact(db: Session, globex_client: Client) -> User:
    return quick_portal_user(db, globex_client, "peter@globex.test", "Peter")


def _live_sessions(db: Session, user: User) -> int:
    return len(
        db.exec(
            select(UserSession).where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    )


def _refused(db: Session, tenant: Tenant, email: str) -> None:
    with pytest.raises(ValidationError) as err:
        sign_in(db, workspace_id=tenant.id, email=email, password=PASSWORD)
    assert err.value.message == BAD_CREDENTIALS  # the same answer as a wrong password


def test_archiving_a_client_ends_its_contacts_access(
    db: Session, acme: Tenant, globex_client: Client, contact: User
) -> None:
    _, token = sign_in(db, workspace_id=acme.id, email=contact.email, password=PASSWORD)
    other_device = start_session(db, contact)
    db.commit()
    assert session_user(db, acme.id, token) is not None
    archive_client(db, Actor.of(acme.member), globex_client.id)  # type: ignore[arg-type]
    db.commit()
    assert _live_sessions(db, contact) == 0
    assert session_user(db, acme.id, token) is None
    assert session_user(db, acme.id, other_device) is None
    _refused(db, acme, contact.email)

    restore_client(db, Actor.of(acme.admin), globex_client.id)  # type: ignore[arg-type]
    db.commit()
    assert session_user(db, acme.id, token) is None  # ended sessions stay ended
    user, _ = sign_in(db, workspace_id=acme.id, email=contact.email, password=PASSWORD)
    assert user.id == contact.id


def test_archiving_revokes_the_clients_pending_invitations(
    db: Session, acme: Tenant, globex_client: Client
) -> None:
    invite_client_contact(
        db,
        Actor.of(acme.admin),
        globex_client.id,  # type: ignore[arg-type]
        email="new@globex.test",
    )
    db.commit()
    token = invite_token_for(db, "new@globex.test", kind="client_invite")
    archive_client(db, Actor.of(acme.admin), globex_client.id)  # type: ignore[arg-type]
    db.commit()
    with pytest.raises(NotFound):
        invitation_for_token(db, acme.id, token)
    assert db.exec(select(Invitation)).one().revoked_at is not None


def test_a_session_opened_around_the_archive_is_refused(
    db: Session, acme: Tenant, globex_client: Client, contact: User
) -> None:
    archive_client(db, Actor.of(acme.admin), globex_client.id)  # type: ignore[arg-type]
    db.commit()
    late = start_session(db, contact)  # e.g. a sign-in that raced the archive
    db.commit()
    assert session_user(db, acme.id, late) is None


def test_team_lists_client_contacts_and_admins_remove_them(
    db: Session, acme: Tenant, globex_client: Client, contact: User
) -> None:
    [(listed, client_name)] = list_client_contacts(db, Actor.of(acme.member))
    assert (listed.id, client_name) == (contact.id, "Globex Corporation")
    _, token = sign_in(db, workspace_id=acme.id, email=contact.email, password=PASSWORD)
    db.commit()

    with pytest.raises(AccessDenied):
        remove_client_contact(db, Actor.of(acme.member), user_id=contact.id)  # type: ignore[arg-type]
    for staff in (acme.admin, acme.member):  # staff are removed under Team members
        with pytest.raises(NotFound):
            remove_client_contact(db, Actor.of(acme.admin), user_id=staff.id)  # type: ignore[arg-type]

    remove_client_contact(db, Actor.of(acme.admin), user_id=contact.id)  # type: ignore[arg-type]
    db.commit()
    assert session_user(db, acme.id, token) is None
    _refused(db, acme, contact.email)
    assert list_client_contacts(db, Actor.of(acme.admin)) == []
    with pytest.raises(NotFound):  # once removed, there is nothing left to remove
        remove_client_contact(db, Actor.of(acme.admin), user_id=contact.id)  # type: ignore[arg-type]
