"""The host picks the workspace; only the session authorises."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlmodel import Session

from nextoria_hub.accounts.sessions import end_session, start_session
from nextoria_hub.errors import NotSignedIn
from nextoria_hub.models import Role
from nextoria_hub.settings import Settings, get_settings
from nextoria_hub.tenancy import (
    is_apex,
    origin_allowed,
    require_actor,
    resolve_actor,
    slug_from_host,
    workspace_for_host,
)
from tests.factories import quick_user, quick_workspace


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    def apply(**values: str) -> Settings:
        for key, value in values.items():
            monkeypatch.setenv(f"NEXTORIA_{key.upper()}", value)
        get_settings.cache_clear()
        return get_settings()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("acme.localhost:3000", "acme"),
        ("acme.localhost", "acme"),
        ("ACME.LocalHost:3000", "acme"),
        ("acme.localhost.", "acme"),
        ("  acme.localhost:8000 ", "acme"),
        ("my-agency.localhost:3000", "my-agency"),
        ("localhost:3000", None),
        ("localhost", None),
        (".localhost", None),
        ("a.b.localhost:3000", None),
        ("www.acme.localhost", None),
        ("acme.example.com", None),
        ("acme.localhost.evil.com", None),
        ("acmelocalhost", None),
        ("evil-localhost:3000", None),
        ("127.0.0.1:3000", None),
        ("[::1]:3000", None),
        ("", None),
    ],
)
def test_slug_from_host_on_localhost(host: str, slug: str | None) -> None:
    assert slug_from_host(host, "localhost") == slug


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("acme.nextoriahub.com", "acme"),
        ("Acme.NextoriaHub.com:443", "acme"),
        ("nextoriahub.com", None),
        ("acme.localhost:3000", None),
        ("x.acme.nextoriahub.com", None),
        ("acme.nextoriahub.com.evil.io", None),
        ("acmenextoriahub.com", None),
    ],
)
def test_slug_from_host_on_a_real_domain(host: str, slug: str | None) -> None:
    assert slug_from_host(host, "nextoriahub.com") == slug


def test_base_domain_setting_is_respected(settings_env) -> None:  # type: ignore[no-untyped-def]
    assert slug_from_host("acme.localhost:3000") == "acme"
    settings = settings_env(base_domain=" NextoriaHub.com. ")
    assert settings.base_domain == "nextoriahub.com"
    assert slug_from_host("acme.nextoriahub.com") == "acme"
    assert slug_from_host("acme.localhost:3000") is None
    assert is_apex("nextoriahub.com:443")
    assert not is_apex("localhost:3000")
    assert origin_allowed("https://acme.nextoriahub.com")
    assert not origin_allowed("http://acme.localhost:3000")
    assert settings.workspace_url("acme", "/login") == "http://acme.nextoriahub.com/login"


def test_is_apex() -> None:
    assert is_apex("localhost:3000")
    assert is_apex("LOCALHOST")
    assert not is_apex("acme.localhost:3000")
    assert not is_apex("")


@pytest.mark.parametrize(
    "origin",
    [
        "http://acme.localhost:3000",
        "https://acme.localhost",
        "http://localhost:3000",
        "http://ACME.localhost:3000/",
    ],
)
def test_origins_of_the_base_domain_are_allowed(origin: str) -> None:
    assert origin_allowed(origin) is True


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "null",
        "acme.localhost:3000",
        "http://",
        "http://evil.com",
        "https://acme.localhost.evil.com",
        "http://evil.com/acme.localhost",
        "http://a.b.localhost:3000",
        "ftp://acme.localhost",
        "javascript://acme.localhost",
        "http://127.0.0.1:3000",
        "http://evil.com@acme.localhost:3000",
        "http://x@acme.localhost",
    ],
)
def test_foreign_origins_are_refused(origin: str) -> None:
    assert origin_allowed(origin) is False


def test_workspace_for_host(db: Session) -> None:
    acme = quick_workspace(db, "acme").workspace
    assert workspace_for_host(db, "Acme.localhost:3000").id == acme.id  # type: ignore[union-attr]
    assert workspace_for_host(db, "nobody.localhost:3000") is None
    assert workspace_for_host(db, "localhost:3000") is None


def test_resolve_actor_host_picks_session_authorises(db: Session) -> None:
    acme = quick_workspace(db, "acme", "Acme")
    globex = quick_workspace(db, "globex", "Globex")
    member = quick_user(db, acme.workspace.id, "member@acme.test", "member")  # type: ignore[arg-type]
    token = start_session(db, member)
    db.commit()

    workspace, actor = resolve_actor(db, "acme.localhost:3000", token)
    assert workspace.id == acme.workspace.id  # type: ignore[union-attr]
    assert actor is not None
    assert (actor.workspace_id, actor.user_id, actor.role) == (
        acme.workspace.id,
        member.id,
        Role.member,
    )
    assert actor.is_staff and not actor.is_admin

    # the same token on another workspace's host: that workspace, nobody signed in
    workspace, actor = resolve_actor(db, "globex.localhost:3000", token)
    assert workspace.id == globex.workspace.id  # type: ignore[union-attr]
    assert actor is None
    with pytest.raises(NotSignedIn):
        require_actor(db, "globex.localhost:3000", token)

    assert resolve_actor(db, "localhost:3000", token) == (None, None)
    assert resolve_actor(db, "nobody.localhost:3000", token) == (None, None)
    assert resolve_actor(db, "acme.localhost:3000", "")[1] is None
    assert require_actor(db, "acme.localhost:3000", token).user_id == member.id

    end_session(db, token)
    with pytest.raises(NotSignedIn):
        require_actor(db, "acme.localhost:3000", token)


def test_actor_role_comes_from_the_database_not_the_session(db: Session) -> None:
    acme = quick_workspace(db, "acme")
    member = quick_user(db, acme.workspace.id, "member@acme.test", "member")  # type: ignore[arg-type]
    token = start_session(db, member)
    db.commit()
    member.role = Role.admin
    db.add(member)
    db.commit()
    assert require_actor(db, "acme.localhost", token).is_admin
