"""Clients: create/update/archive/search, validation, portal contacts and isolation."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from nextoria_hub.accounts.team import accept_invitation
from nextoria_hub.billing import clients as svc
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import Invitation, OutboxEmail, Role
from nextoria_hub.notifications.links import fill_links
from nextoria_hub.tenancy import Actor
from tests.factories import PASSWORD, Tenant, quick_user


def test_create_defaults_currency_to_finance_and_normalises(db: Session, admin: Actor) -> None:
    get_finance(db, admin.workspace_id).default_currency = "eur"
    client = svc.create_client(
        db, admin, name="  Initech ", billing_email=" Billing@Initech.TEST ", contact_name="Bill"
    )
    db.commit()
    assert (client.name, client.billing_email, client.currency) == (
        "Initech",
        "billing@initech.test",
        "eur",
    )
    assert (
        svc.create_client(db, admin, name="X", billing_email="x@x.test", currency="JPY").currency
        == "jpy"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "billing_email": "a@b.test"}, "name"),
        ({"name": "x" * 161, "billing_email": "a@b.test"}, "name"),
        ({"name": "Ok", "billing_email": "not-an-email"}, "billing_email"),
        ({"name": "Ok", "billing_email": ""}, "billing_email"),
        ({"name": "Ok", "billing_email": "a@b.test", "currency": "xyz"}, "currency"),
    ],
)
def test_bad_input_names_the_field(db: Session, admin: Actor, kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        svc.create_client(db, admin, **kwargs)
    assert err.value.field == field


def test_update_archive_restore_and_search(db: Session, admin: Actor, member: Actor) -> None:
    a = svc.create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    b = svc.create_client(db, member, name="Umbrella Corp", billing_email="pay@umbrella.test")
    svc.update_client(
        db,
        admin,
        a.id,
        name="Initech Ltd",
        billing_email="ap@initech.test",
        contact_name="Peter",
        currency="gbp",
    )
    assert svc.get_client(db, admin, a.id).currency == "gbp"
    assert [c.name for c in svc.list_clients(db, admin)] == ["Initech Ltd", "Umbrella Corp"]
    assert [c.id for c in svc.list_clients(db, admin, search="UMBRELLA")] == [b.id]
    assert [c.id for c in svc.list_clients(db, admin, search="initech.TEST")] == [a.id]
    svc.archive_client(db, admin, b.id)
    assert [c.id for c in svc.list_clients(db, admin)] == [a.id]
    assert {c.id for c in svc.list_clients(db, admin, include_archived=True)} == {a.id, b.id}
    svc.restore_client(db, admin, b.id)
    assert len(svc.list_clients(db, admin)) == 2


def test_another_workspace_cannot_see_or_change_clients(
    db: Session, admin: Actor, globex: Tenant
) -> None:
    ours = svc.create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    db.commit()
    other = Actor.of(globex.admin)
    assert svc.list_clients(db, other) == []
    for call in (
        lambda: svc.get_client(db, other, ours.id),
        lambda: svc.archive_client(db, other, ours.id),
        lambda: svc.restore_client(db, other, ours.id),
        lambda: svc.update_client(
            db,
            other,
            ours.id,
            name="Hacked",
            billing_email="x@x.test",
            contact_name="",
            currency="usd",
        ),
        lambda: svc.invite_client_contact(db, other, ours.id, email="mallory@evil.test"),
    ):
        with pytest.raises(NotFound):
            call()
    db.commit()
    db.refresh(ours)
    assert ours.name == "Initech" and ours.archived_at is None
    assert db.exec(select(Invitation).where(Invitation.client_id == ours.id)).all() == []


def test_invite_contact_becomes_a_portal_user_of_that_client(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    client = svc.create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    invitation = svc.invite_client_contact(
        db, admin, client.id, email="Peter@Initech.test", name="Peter"
    )
    db.commit()
    assert invitation.role == Role.client and invitation.client_id == client.id
    email = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "client_invite")).one()
    assert email.to_address == "peter@initech.test"
    assert "Acme" in email.subject and "Initech" in email.subject
    sent = fill_links(email.text_body)  # the stored body holds a placeholder, not the token
    token = sent.split("/invite?token=")[1].split()[0]
    assert token not in email.text_body
    assert "http://acme.localhost:3000/invite?token=" in sent
    user, _session = accept_invitation(
        db, workspace_id=acme.id, token=token, name="Peter", password=PASSWORD
    )
    db.commit()
    assert user.role == Role.client and user.client_id == client.id
    assert svc.portal_client(db, Actor.of(user)).id == client.id
    with pytest.raises(AccessDenied):
        svc.portal_client(db, admin)
    # a client user is not staff
    with pytest.raises(AccessDenied):
        svc.list_clients(db, Actor.of(user))
    with pytest.raises(AccessDenied):
        svc.create_client(db, Actor.of(user), name="X", billing_email="x@x.test")


def test_portal_user_sees_only_their_own_client(db: Session, admin: Actor, acme: Tenant) -> None:
    mine = svc.create_client(db, admin, name="Mine", billing_email="a@mine.test")
    theirs = svc.create_client(db, admin, name="Theirs", billing_email="a@theirs.test")
    user = quick_user(db, acme.id, "c@mine.test", "client")
    user.client_id = mine.id
    db.add(user)
    db.commit()
    actor = Actor.of(user)
    assert svc.get_client(db, actor, mine.id).id == mine.id
    with pytest.raises(NotFound):
        svc.get_client(db, actor, theirs.id)
