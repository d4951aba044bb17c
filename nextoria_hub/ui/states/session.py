"""The base state of every page: which workspace the host names, and who is signed in.

Each event handler that reads or changes tenant data calls ``_actor()`` again: the
session token is checked against the database on every event, never cached as trust.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import reflex as rx
from sqlmodel import Session

from nextoria_hub.accounts.sessions import end_session
from nextoria_hub.db import session_scope
from nextoria_hub.errors import AccessDenied, NotSignedIn
from nextoria_hub.models import Role
from nextoria_hub.payments.stripe_connection import uses_live_keys, uses_test_keys
from nextoria_hub.tenancy import Actor, is_apex, resolve_actor

SESSION_COOKIE = "nx_session"
SESSION_MAX_AGE = 14 * 24 * 3600


class AppState(rx.State):
    session_token: str = rx.Cookie(
        "", name=SESSION_COOKIE, path="/", max_age=SESSION_MAX_AGE, same_site="lax"
    )

    # What the page knows about where it is and who is looking; set by ``guard``.
    host_kind: str = "loading"  # loading | apex | workspace | unknown
    access: str = "loading"  # loading | ok | signin | forbidden
    workspace_name: str = ""
    workspace_slug: str = ""
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    apex_url: str = "/"
    # True while the workspace uses Stripe test keys: every page shows a "Test mode" badge.
    test_mode: bool = False
    live_mode: bool = False  # the "Live mode" marker: real money moves

    @rx.var
    def is_staff(self) -> bool:
        return self.user_role in (Role.admin, Role.member)

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == Role.admin

    @rx.var
    def user_initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def _host(self) -> str:
        return self.router.url.hostname or ""

    def _workspace_url(self, slug: str, path: str = "/") -> str:
        """A URL on ``slug``'s subdomain, same scheme and port as the page the browser is on."""
        url = self.router.url
        base = url.hostname or ""
        if not is_apex(base):
            base = base.split(".", 1)[1] if "." in base else base
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme or 'http'}://{slug}.{base}{port}{path}"

    @contextmanager
    def _unit(self) -> Iterator[tuple[Session, Actor]]:
        """A DB unit of work with the signed-in actor of this host's workspace."""
        with session_scope() as db:
            _ws, actor = resolve_actor(db, self._host(), self.session_token)
            if actor is None:
                raise NotSignedIn()
            yield db, actor

    def _set_identity(self, actor: Actor | None, workspace_name: str, slug: str) -> None:
        self.workspace_name = workspace_name
        self.workspace_slug = slug
        self.user_name = actor.name if actor else ""
        self.user_email = actor.email if actor else ""
        self.user_role = actor.role.value if actor else ""

    def _resolve(self) -> Actor | None:
        host = self._host()
        url = self.router.url
        base = host if is_apex(host) else host.split(".", 1)[-1]
        self.apex_url = f"{url.scheme or 'http'}://{base}{f':{url.port}' if url.port else ''}/"
        if is_apex(host):
            self.host_kind = "apex"
            self._set_identity(None, "", "")
            return None
        with session_scope() as db:
            workspace, actor = resolve_actor(db, host, self.session_token)
            if workspace is None:
                self.host_kind = "unknown"
                self._set_identity(None, "", "")
                return None
            self.host_kind = "workspace"
            self._set_identity(actor, workspace.name, workspace.slug)
            self.test_mode = actor is not None and uses_test_keys(db, workspace.id)  # type: ignore[arg-type]
            self.live_mode = actor is not None and uses_live_keys(db, workspace.id)  # type: ignore[arg-type]
            return actor

    @rx.event
    def guard(self, need: str = "any"):
        """Page loader: check who may see this page. ``need``: any, public, staff, admin, client."""
        actor = self._resolve()
        if self.host_kind != "workspace":
            self.access = "ok" if need == "public" else "forbidden"
            return None
        if need == "public":
            self.access = "ok"
            return None
        if actor is None:
            self.access = "signin"
            return rx.redirect(f"/login?next={self.router.url.path}")
        allowed = {
            "any": True,
            "staff": actor.is_staff,
            "admin": actor.is_admin,
            "client": actor.role == Role.client,
        }.get(need, False)
        self.access = "ok" if allowed else "forbidden"
        return None

    @rx.event
    def sign_out(self):
        with session_scope() as db:
            if self.session_token:
                end_session(db, self.session_token)
        self.session_token = ""
        self._set_identity(None, self.workspace_name, self.workspace_slug)
        self.access = "signin"
        return rx.redirect("/login")

    def _denied(self, err: NotSignedIn | AccessDenied):
        """What a handler returns when the actor lost the right to act mid-page."""
        if isinstance(err, NotSignedIn):
            self.access = "signin"
            return rx.redirect("/login")
        self.access = "forbidden"
        return rx.toast.error(err.message)


class HomeState(AppState):
    @rx.event
    def go_home(self):
        """``/``: the apex shows sign-up; a workspace sends people to their home page."""
        actor = self._resolve()
        if self.host_kind != "workspace":
            return None
        if actor is None:
            return rx.redirect("/login")
        return rx.redirect("/portal" if actor.role == Role.client else "/dashboard")
