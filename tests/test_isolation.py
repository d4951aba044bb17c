"""Tenant isolation: an actor of workspace A can neither read nor change B's objects.

Workspace B is filled with one of everything (people, a session, a sign-in link, an
invitation, an email, audit entries). Each case attacks it from A with B's real ids and
tokens, checks the answer (NotFound, None, or only A's rows) and then every row of B is
compared with the snapshot taken before. To cover a new tenant service, add a case to
CASES; ``test_every_tenant_service_is_in_the_matrix`` reminds you to.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from nextoria_hub import audit
from nextoria_hub.accounts import sessions, signin, team
from nextoria_hub.accounts.sessions import (
    create_sign_in_link,
    redeem_sign_in_link,
    session_user,
    start_session,
)
from nextoria_hub.accounts.signin import sign_in
from nextoria_hub.accounts.team import (
    accept_invitation,
    change_role,
    invitation_for_token,
    invite,
    list_pending_invitations,
    list_team,
    remove_member,
)
from nextoria_hub.audit import list_audit
from nextoria_hub.db import get_engine
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.notifications import outbox
from nextoria_hub.notifications.outbox import list_emails
from nextoria_hub.tenancy import Actor
from tests.factories import PASSWORD, Tenant, build_tenant, invite_token_for


@dataclass
class World:
    a: Tenant
    b: Tenant
    b_session: str  # a live session token of B's admin
    b_link: str  # an unused sign-in link of B's admin
    b_invite: str  # a pending invitation token of B
    b_invitation_id: int

    @property
    def a_admin(self) -> Actor:
        return Actor.of(self.a.admin)

    def b_user_ids(self) -> list[int]:
        return [self.b.admin.id, self.b.member.id]  # type: ignore[list-item]


@pytest.fixture
def world(db: Session) -> World:
    a = build_tenant(db, "acme", "Acme")
    b = build_tenant(db, "globex", "Globex")
    b_admin = Actor.of(b.admin)
    b_session = start_session(db, b.admin)
    b_link = create_sign_in_link(db, b.admin)
    invitation = invite(db, b_admin, email="pending@globex.test", role="member")
    change_role(db, b_admin, user_id=b.member.id, role="admin")  # type: ignore[arg-type]
    change_role(db, b_admin, user_id=b.member.id, role="member")  # type: ignore[arg-type]
    # A has a bit of everything too, so "only A's rows" is not trivially "no rows"
    invite(db, Actor.of(a.admin), email="pending@acme.test", role="member")
    db.commit()
    token = invite_token_for(db, "pending@globex.test")
    return World(a, b, b_session, b_link, token, invitation.id)  # type: ignore[arg-type]


def snapshot_of(workspace_id: int) -> dict[str, list[tuple]]:
    """Every row of every table that belongs to ``workspace_id``, read afresh."""
    rows: dict[str, list[tuple]] = {}
    with get_engine().connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            column = "id" if table.name == "workspace" else "workspace_id"
            if column not in table.c:
                continue
            order = ", ".join(c.name for c in table.primary_key.columns)
            result = conn.execute(
                text(f'SELECT * FROM "{table.name}" WHERE {column} = :ws ORDER BY {order}'),
                {"ws": workspace_id},
            )
            rows[table.name] = [tuple(r) for r in result]
    return rows


# ---- the attacks: each runs as A with B's real ids/tokens and checks the answer ----


def _list_team(db: Session, w: World) -> None:
    ids = {u.id for u in list_team(db, w.a_admin)}
    assert ids == {w.a.admin.id, w.a.member.id}


def _list_pending_invitations(db: Session, w: World) -> None:
    found = list_pending_invitations(db, w.a_admin)
    assert [i.email for i in found] == ["pending@acme.test"]
    assert w.b_invitation_id not in {i.id for i in found}


def _invite(db: Session, w: World) -> None:
    # inviting B's admin from A creates an invitation to A, not a way into B
    invitation = invite(db, w.a_admin, email=w.b.admin.email, role="admin")
    assert invitation.workspace_id == w.a.id


def _change_role(db: Session, w: World) -> None:
    for user_id in w.b_user_ids():
        for role in ("admin", "member"):
            with pytest.raises(NotFound):
                change_role(db, w.a_admin, user_id=user_id, role=role)


def _remove_member(db: Session, w: World) -> None:
    for user_id in w.b_user_ids():
        with pytest.raises(NotFound):
            remove_member(db, w.a_admin, user_id=user_id)


def _list_emails(db: Session, w: World) -> None:
    emails = list_emails(db, w.a_admin)
    assert emails and {e.workspace_id for e in emails} == {w.a.id}


def _list_audit(db: Session, w: World) -> None:
    entries = list_audit(db, w.a_admin)
    assert entries and {e.workspace_id for e in entries} == {w.a.id}


def _session_user(db: Session, w: World) -> None:
    assert session_user(db, w.a.id, w.b_session) is None


def _redeem_sign_in_link(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, w.a.id, w.b_link)


def _invitation_for_token(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        invitation_for_token(db, w.a.id, w.b_invite)


def _accept_invitation(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        accept_invitation(
            db, workspace_id=w.a.id, token=w.b_invite, name="Mallory", password=PASSWORD
        )


def _sign_in(db: Session, w: World) -> None:
    with pytest.raises(ValidationError):
        sign_in(db, workspace_id=w.a.id, email=w.b.admin.email, password=PASSWORD)


CASES: dict[str, Callable[[Session, World], None]] = {
    "list_team": _list_team,
    "list_pending_invitations": _list_pending_invitations,
    "invite": _invite,
    "change_role": _change_role,
    "remove_member": _remove_member,
    "list_emails": _list_emails,
    "list_audit": _list_audit,
    "session_user": _session_user,
    "redeem_sign_in_link": _redeem_sign_in_link,
    "invitation_for_token": _invitation_for_token,
    "accept_invitation": _accept_invitation,
    "sign_in": _sign_in,
}

# Tenant-scoped functions that need no attack case, and why.
EXEMPT = {
    "enqueue_email": "a writer: the workspace comes from the calling service, not a request",
    "record_audit": "a writer: the workspace comes from the actor or the calling service",
    "failure_count": "an internal counter used by sign_in, which is covered",
    "invite_client": "called by billing.clients.invite_client_contact, which resolves the client "
    "in the actor's workspace first (tests/billing/test_clients.py covers the attack)",
}


@pytest.mark.parametrize("service", list(CASES))
def test_actor_of_a_cannot_touch_b(db: Session, world: World, service: str) -> None:
    before = snapshot_of(world.b.id)
    assert all(before[t] for t in ("workspace", "user", "user_session", "invitation"))
    assert all(before[t] for t in ("sign_in_link", "outbox_email", "audit_entry"))
    CASES[service](db, world)
    db.commit()  # whatever the attack did is now visible to any reader
    assert snapshot_of(world.b.id) == before
    # and B still works for B
    assert session_user(db, world.b.id, world.b_session).id == world.b.admin.id  # type: ignore[union-attr]
    assert invitation_for_token(db, world.b.id, world.b_invite).id == world.b_invitation_id


def test_every_tenant_service_is_in_the_matrix() -> None:
    scoped = set()
    for module in (team, sessions, signin, outbox, audit):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = inspect.signature(fn).parameters
            if "actor" in params or "workspace_id" in params:
                scoped.add(name)
    missing = scoped - set(CASES) - set(EXEMPT)
    assert not missing, f"add an isolation case for: {sorted(missing)}"
