"""The session token never reaches what the backend sends the page or what it stores as state.

Every handler of the app runs signed in (the cookie as the socket's handshake carries it);
the delta, the returned events and the pickled state tree (what the state manager writes
to ``.states/`` or Redis) are searched for the raw token. A sign-in hands the page only a
grant, which is not a session token and opens nothing until ``/api/session`` redeems it.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from nextoria_hub.accounts.sessions import session_user, start_session
from nextoria_hub.models import UserSession
from tests.factories import PASSWORD, build_tenant
from tests.sweeps.harness import all_handlers, fire

HOST = "acme.localhost:3000"
# Handlers that need a sandbox or arguments beyond a page's: their guard paths still run.
ROUTES = {"Portal": "/portal", "Invoice": "/invoices", "Client": "/clients"}


def test_no_handler_leaks_the_session_token(db: Session) -> None:
    acme = build_tenant(db, "acme", "Acme Creative")
    token = start_session(db, acme.admin)
    db.commit()
    for key in sorted(all_handlers()):
        route = next((r for prefix, r in ROUTES.items() if key.startswith(prefix)), "/dashboard")
        outcome = fire(key, host=HOST, route=route, path=route, params={}, token=token)
        assert token not in outcome.visible_text(), key
        assert token.encode() not in outcome.pickled, key
        assert b"nx_session" not in outcome.pickled, key


def test_sign_in_sends_a_grant_not_a_session(db: Session) -> None:
    acme = build_tenant(db, "acme", "Acme Creative")
    db.commit()
    outcome = fire(
        "LoginState.submit",
        host=HOST,
        route="/login",
        path="/login",
        params={},
        token="",
        args=({"email": acme.admin.email, "password": PASSWORD},),
    )
    assert not outcome.error, outcome.error
    (script,) = outcome.events
    assert "/api/session" in script
    grant = script.split('"grant": "', 1)[1].split('"', 1)[0]
    assert grant.encode() not in outcome.pickled
    db.expire_all()
    assert session_user(db, acme.id, grant) is None  # a grant is not a session
    live = db.exec(select(UserSession).where(col(UserSession.ended_at).is_(None))).all()
    assert live == []  # the session the service opened was swapped for the grant
