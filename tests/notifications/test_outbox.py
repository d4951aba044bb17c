"""The outbox: emails rendered with their workspace, written in the caller's transaction."""

from __future__ import annotations

import jinja2
import pytest
from sqlmodel import Session, select

from nextoria_hub.accounts.team import invite
from nextoria_hub.errors import AccessDenied
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications.outbox import enqueue_email, list_emails, render
from nextoria_hub.tenancy import Actor
from tests.factories import quick_user, quick_workspace


def _context(**overrides: str) -> dict[str, str]:
    return {
        "workspace_name": "Acme Creative",
        "inviter_name": "Ada Admin",
        "invitee_name": "Nina",
        "role": "member",
        "link": "http://acme.localhost:3000/invite?token=abc",
        **overrides,
    }


def test_render_team_invite() -> None:
    subject, text, html = render("team_invite", _context())
    assert subject == "Ada Admin invited you to Acme Creative on Nextoria Hub"
    assert not text.startswith("Subject:")
    assert text.startswith("Hello Nina,")
    assert "join Acme Creative as member" in text
    assert "http://acme.localhost:3000/invite?token=abc" in text
    assert "<strong>Acme Creative</strong>" in html
    assert 'href="http://acme.localhost:3000/invite?token=abc"' in html
    assert "on behalf of Acme Creative" in html


def test_html_escapes_names_but_text_keeps_them() -> None:
    _, text, html = render("team_invite", _context(workspace_name="<b>Bold & Co</b>"))
    assert "<b>Bold" not in html
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in html
    assert "<b>Bold & Co</b>" in text


def test_missing_context_is_an_error_not_a_blank() -> None:
    context = _context()
    del context["link"]
    with pytest.raises(jinja2.UndefinedError):
        render("team_invite", context)


def test_enqueue_writes_a_pending_email_in_the_callers_transaction(db: Session) -> None:
    ws = quick_workspace(db, "acme", "Acme Creative").workspace
    email = enqueue_email(
        db, workspace_id=ws.id, to="nina@agency.com", kind="team_invite", context=_context()
    )
    assert email.id is not None
    assert (email.status, email.attempts, email.sent_at) == ("pending", 0, None)
    assert "Acme Creative" in email.subject and "Acme Creative" in email.text_body
    assert "Acme Creative" in email.html_body
    db.rollback()  # the cause did not happen, so neither does the email
    assert db.exec(select(OutboxEmail)).all() == []


def test_list_emails_shows_only_the_actors_workspace_newest_first(db: Session) -> None:
    acme = quick_workspace(db, "acme", "Acme")
    globex = quick_workspace(db, "globex", "Globex")
    for tenant, people in ((acme, ["a1", "a2"]), (globex, ["g1"])):
        for person in people:
            invite(db, Actor.of(tenant.admin), email=f"{person}@agency.com", role="member")
    enqueue_email(
        db, workspace_id=None, to="ops@nextoria.test", kind="team_invite", context=_context()
    )
    db.commit()

    acme_emails = list_emails(db, Actor.of(acme.admin))
    assert [e.to_address for e in acme_emails] == ["a2@agency.com", "a1@agency.com"]
    assert all(e.workspace_id == acme.workspace.id for e in acme_emails)
    assert all("Acme" in e.subject for e in acme_emails)
    assert [e.to_address for e in list_emails(db, Actor.of(globex.admin))] == ["g1@agency.com"]
    assert len(list_emails(db, Actor.of(acme.admin), limit=1)) == 1


@pytest.mark.parametrize("role", ["member", "client"])
def test_list_emails_requires_an_admin(db: Session, role: str) -> None:
    acme = quick_workspace(db, "acme", "Acme")
    invite(db, Actor.of(acme.admin), email="x@agency.com", role="member")
    user = quick_user(db, acme.workspace.id, f"{role}@acme.test", role)  # type: ignore[arg-type]
    with pytest.raises(AccessDenied):
        list_emails(db, Actor.of(user))


def test_invite_with_the_longest_names_still_fits_the_subject_column(db: Session) -> None:
    """Workspace and user names may be 120 characters each; the subject column holds 250."""
    acme = quick_workspace(db, "acme", "W" * 120)
    inviter = quick_user(db, acme.workspace.id, "long@acme.test", "admin", name="N" * 120)  # type: ignore[arg-type]
    invite(db, Actor.of(inviter), email="new@agency.com", role="member")
    db.commit()
    [email] = db.exec(select(OutboxEmail)).all()
    assert len(email.subject) == 250 and email.subject.endswith("…")
    assert email.subject.startswith("N" * 120 + " invited you to ")
    assert "W" * 120 in email.text_body


def test_email_admins_reaches_only_that_workspaces_active_admins(db) -> None:
    from sqlmodel import select

    from nextoria_hub.accounts.team import remove_member
    from nextoria_hub.models import OutboxEmail
    from nextoria_hub.notifications.outbox import email_admins
    from tests.factories import actor_of, make_user, make_workspace

    acme = make_workspace(db, "acme", "Acme")
    make_workspace(db, "globex", "Globex")
    second = make_user(db, acme.workspace.id, "second@acme.test", "admin")
    gone = make_user(db, acme.workspace.id, "gone@acme.test", "admin")
    make_user(db, acme.workspace.id, "member@acme.test", "member")
    remove_member(db, actor_of(acme.admin), user_id=gone.id)
    db.commit()
    context = {
        "workspace_name": "Acme",
        "inviter_name": "x",
        "invitee_name": "",
        "role": "member",
        "link": "http://l",
    }
    assert email_admins(db, acme.workspace.id, kind="team_invite", context=context) == 2
    db.commit()
    sent = {e.to_address for e in db.exec(select(OutboxEmail)).all()}
    assert sent == {acme.admin.email, second.email}


def test_emails_kept_here_are_said_to_be_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    from nextoria_hub.notifications.outbox import delivery_note, status_label
    from nextoria_hub.settings import get_settings

    monkeypatch.delenv("RESEND_API_KEY", raising=False)
    get_settings.cache_clear()
    try:
        assert status_label("logged") == "Kept here, not sent"
        assert "kept here, not sent" in delivery_note()
        monkeypatch.setenv("RESEND_API_KEY", "re_test_key_for_the_note")
        get_settings.cache_clear()
        assert delivery_note() == ""
        assert status_label("sent") == "Sent"
    finally:
        monkeypatch.delenv("RESEND_API_KEY", raising=False)
        get_settings.cache_clear()
