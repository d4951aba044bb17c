"""The session cookie over HTTP: set only by /api/session, HttpOnly and host-only, read from the
event socket's handshake and kept out of the headers Reflex copies into state."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from nextoria_hub.accounts.sessions import (
    grant_for_session,
    issue_session_grant,
    session_user,
    start_session,
)
from nextoria_hub.api import session_cookie
from nextoria_hub.api.routes import build_api
from nextoria_hub.models import UserSession
from nextoria_hub.settings import get_settings
from tests.factories import Tenant, build_tenant

HOST = "acme.localhost:3000"
ORIGIN = f"http://{HOST}"


@pytest.fixture
def acme(db: Session) -> Tenant:
    return build_tenant(db, "acme", "Acme Creative")


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_api(), base_url=ORIGIN, follow_redirects=False)


def _post(client: TestClient, path: str, data: dict[str, str], **headers: str):  # type: ignore[no-untyped-def]
    return client.post(path, data=data, headers={"host": HOST, "origin": ORIGIN, **headers})


def _grant(db: Session, tenant: Tenant) -> str:
    grant = issue_session_grant(db, tenant.admin)
    db.commit()
    return grant


def test_grant_becomes_an_httponly_host_only_cookie(
    db: Session, acme: Tenant, client: TestClient
) -> None:
    response = _post(client, "/api/session", {"grant": _grant(db, acme), "next": "/invoices"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{ORIGIN}/?next=/invoices"
    cookie = response.headers["set-cookie"]
    attrs = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert not any(a.startswith("domain") for a in attrs)
    assert "secure" not in attrs  # http here; see the https case below
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert session_user(db, acme.id, token).id == acme.admin.id  # type: ignore[union-attr]


def test_secure_on_https(
    db: Session, acme: Tenant, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "public_scheme", "https")
    response = _post(client, "/api/session", {"grant": _grant(db, acme)})
    assert "secure" in [p.strip().lower() for p in response.headers["set-cookie"].split(";")]


def test_a_grant_works_once_and_only_on_its_workspace(
    db: Session, acme: Tenant, client: TestClient
) -> None:
    globex = build_tenant(db, "globex", "Globex Studio")
    foreign = _grant(db, globex)
    refused = _post(client, "/api/session", {"grant": foreign})
    assert refused.status_code == 303 and refused.headers["location"] == f"{ORIGIN}/login"
    assert "set-cookie" not in refused.headers
    grant = _grant(db, acme)
    assert "set-cookie" in _post(client, "/api/session", {"grant": grant}).headers
    again = _post(client, "/api/session", {"grant": grant})
    assert "set-cookie" not in again.headers


def test_another_site_cannot_sign_in_or_out(db: Session, acme: Tenant, client: TestClient) -> None:
    grant = _grant(db, acme)
    for origin in ("http://evil.test", "http://globex.localhost:3000", "null", ""):
        response = _post(client, "/api/session", {"grant": grant}, origin=origin)
        assert response.status_code == 403, origin
        assert _post(client, "/api/session/end", {}, origin=origin).status_code == 403
    assert "set-cookie" in _post(client, "/api/session", {"grant": grant}).headers


def test_no_open_redirect(db: Session, acme: Tenant, client: TestClient) -> None:
    for bad in ("//evil.test/x", "/\\evil.test", "https://evil.test", "x"):
        response = _post(client, "/api/session", {"grant": _grant(db, acme), "next": bad})
        assert response.headers["location"] == f"{ORIGIN}/", bad


def test_sign_in_rotates_and_sign_out_ends_the_session(
    db: Session, acme: Tenant, client: TestClient
) -> None:
    old = start_session(db, acme.admin)
    db.commit()
    cookie = f"{session_cookie.SESSION_COOKIE}={old}"
    response = _post(client, "/api/session", {"grant": _grant(db, acme)}, cookie=cookie)
    new = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    assert new != old
    db.expire_all()
    assert session_user(db, acme.id, old) is None  # the pre-sign-in id is dead (no fixation)
    out = _post(client, "/api/session/end", {}, cookie=f"{session_cookie.SESSION_COOKIE}={new}")
    assert out.status_code == 303 and out.headers["location"] == f"{ORIGIN}/"
    assert "max-age=0" in out.headers["set-cookie"].lower()
    db.expire_all()
    assert session_user(db, acme.id, new) is None


def test_grant_for_session_ends_the_session_it_replaces(db: Session, acme: Tenant) -> None:
    token = start_session(db, acme.admin)
    grant = grant_for_session(db, token)
    assert grant != token
    assert session_user(db, acme.id, token) is None
    assert db.exec(select(UserSession)).one().ended_at is not None


def test_handshake_moves_the_cookie_out_of_the_socket_headers() -> None:
    seen: list[dict] = []

    async def inner(scope, _receive, _send):  # type: ignore[no-untyped-def]
        seen.append(scope)

    middleware = session_cookie.HandshakeCookie(inner)
    headers = [(b"cookie", b"theme=dark; nx_session=tok123; other=1"), (b"host", b"a")]
    for path in ("/_event/", "/api/health"):
        scope = {"type": "websocket", "path": path, "headers": headers}
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    event, other = seen
    assert event[session_cookie.SCOPE_KEY] == "tok123"
    assert b"tok123" not in repr(event["headers"]).encode()
    assert (b"cookie", b"theme=dark; other=1") in event["headers"]
    assert session_cookie.SCOPE_KEY not in other
    assert other["headers"] == headers
