"""Invitation links: the outbox holds a placeholder, the token exists only in the sent email."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from nextoria_hub.accounts.team import accept_invitation, invite
from nextoria_hub.accounts.tokens import token_hash
from nextoria_hub.models import Invitation, OutboxEmail
from nextoria_hub.notifications.delivery import deliver_pending
from nextoria_hub.notifications.links import MASK, fill_links, issue_link_token, mask_links
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from tests.factories import PASSWORD, Tenant, build_tenant
from tests.resend_capture import ResendCapture

LINK = re.compile(r"http://acme\.localhost:3000/invite\?token=([\w-]+)")


@pytest.fixture
def acme(db: Session) -> Tenant:
    return build_tenant(db, "acme", "Acme Creative")


def _stored(db: Session) -> OutboxEmail:
    return db.exec(select(OutboxEmail).where(OutboxEmail.kind == "team_invite")).one()


def test_the_database_holds_no_usable_link(db: Session, acme: Tenant) -> None:
    invite(db, Actor.of(acme.admin), email="new@agency.test", role="admin")
    db.commit()
    email = _stored(db)
    invitation = db.exec(select(Invitation)).one()
    stored_token = LINK.search(email.text_body)[1]  # type: ignore[index]
    assert stored_token.startswith("__NXLINK_")
    # What the database holds is neither the token nor anything that hashes to it.
    for candidate in (stored_token, invitation.token_hash):
        assert token_hash(candidate) != invitation.token_hash
    sent_token = LINK.search(fill_links(email.text_body))[1]  # type: ignore[index]
    assert token_hash(sent_token) == invitation.token_hash
    assert sent_token not in email.text_body + email.html_body


def test_delivery_fills_the_link_and_it_works_once(
    db: Session, acme: Tenant, resend_capture: ResendCapture
) -> None:
    invite(db, Actor.of(acme.admin), email="new@agency.test", role="member")
    db.commit()
    assert deliver_pending().sent == 1
    [request] = resend_capture.requests
    token = LINK.search(request.body["text"])[1]  # type: ignore[index]
    assert f"/invite?token={token}" in request.body["html"]
    assert "__NXLINK_" not in request.body["text"] + request.body["html"]
    db.expire_all()
    stored = _stored(db)
    assert stored.status == "sent"
    assert token not in stored.text_body + stored.html_body  # still only the placeholder
    user, _ = accept_invitation(
        db, workspace_id=acme.id, token=token, name="Nia New", password=PASSWORD
    )
    assert user.email == "new@agency.test"


def test_links_from_a_retired_master_key_are_not_sent(
    db: Session, acme: Tenant, resend_capture: ResendCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    invite(db, Actor.of(acme.admin), email="new@agency.test", role="member")
    db.commit()
    monkeypatch.setenv("NEXTORIA_SECRET_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()
    counts = deliver_pending()
    assert (counts.sent, counts.retrying) == (0, 1)
    assert resend_capture.requests == []
    db.expire_all()
    assert "retired" in _stored(db).last_error


def test_emails_page_text_is_masked() -> None:
    token, placeholder = issue_link_token()
    body = f"Join: http://acme.localhost:3000/invite?token={placeholder}\nThanks"
    assert mask_links(body) == f"Join: http://acme.localhost:3000/invite?token={MASK}\nThanks"
    # A token written before placeholders existed is masked as well.
    old = f"http://acme.localhost:3000/invite?token={token} ok"
    assert mask_links(old) == f"http://acme.localhost:3000/invite?token={MASK} ok"
