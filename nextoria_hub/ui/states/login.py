"""Signing in on a workspace subdomain, redeeming sign-in links and invitations."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts.sessions import EXPIRED_LINK, grant_for_session, grant_is_live
from nextoria_hub.accounts.signin import sign_in
from nextoria_hub.accounts.team import accept_invitation, invitation_for_token
from nextoria_hub.api.session_routes import safe_path
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound, Throttled
from nextoria_hub.models import Role
from nextoria_hub.tenancy import workspace_for_host
from nextoria_hub.ui.states.session import AppState, post_form


def _home_for(role: str) -> str:
    return "/portal" if role == Role.client else "/dashboard"


def _take_cookie(grant: str, next_path: str):
    """The page trades the grant for the HttpOnly session cookie, then loads ``next_path``."""
    return post_form("/api/session", {"grant": grant, "next": next_path})


class LoginState(AppState):
    error: str = ""
    # Shown when tries are slowed down (per account or per address): when to try again.
    throttle_note: str = ""

    @rx.event
    async def submit(self, form: dict):
        """Check the password off the event loop (argon2), then trade the session for a grant."""
        self.error = ""
        self.throttle_note = ""
        host, client_ip = self._host(), self.router.session.client_ip
        email, password = (form.get("email") or ""), (form.get("password") or "")

        def work(db, _actor) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
            workspace = workspace_for_host(db, host)
            if workspace is None:
                return None
            user, token = sign_in(
                db,
                workspace_id=workspace.id,  # type: ignore[arg-type]
                email=email,
                password=password,
                client_ip=client_ip,
            )
            return user.role, grant_for_session(db, token)

        done = await self._off_loop(work, signed_in=False)
        if isinstance(done.error, Throttled):
            self.throttle_note = done.message
            return None
        if not done.ok:
            self.error = done.message
            return None
        if done.value is None:
            self.host_kind = "unknown"
            return None
        role, grant = done.value
        self.access = "loading"  # the next page's guard decides; don't show its shell early
        next_path = safe_path(self.router.url.query_parameters.get("next", ""))
        return _take_cookie(grant, next_path or _home_for(role))

    @rx.event
    def load_login(self):
        """If already signed in here, go home instead of showing the form."""
        self.error = ""
        self.throttle_note = ""
        with session_scope() as db:
            actor = self._resolve(db)
        self.access = "ok"
        if actor is not None:
            return rx.redirect(_home_for(actor.role))
        return None


class WelcomeState(AppState):
    """Lands a new admin on their subdomain: swaps the one-time link for a session."""

    problem: str = ""

    @rx.event
    def redeem(self):
        self.problem = ""
        token = self.router.url.query_parameters.get("token", "")
        with session_scope() as db:
            workspace = workspace_for_host(db, self._host())
            if workspace is None:
                self.host_kind = "unknown"
                return None
            if not grant_is_live(db, workspace.id, token):  # type: ignore[arg-type]
                self.problem = EXPIRED_LINK
                return None
        # The one-time link is itself a grant: the route redeems it and sets the cookie.
        self.access = "loading"
        return _take_cookie(token, "/dashboard")


class InviteState(AppState):
    invite_email: str = ""
    invite_name: str = ""  # the name the agency typed, filled in for the person to confirm
    invite_role: str = ""
    problem: str = ""
    errors: dict[str, str] = {}

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @rx.event
    def load_invite(self):
        self.access = "ok"
        self.problem = ""
        with session_scope() as db:
            self._resolve(db)
            workspace = workspace_for_host(db, self._host())
            if workspace is None:
                return None
            try:
                invitation = invitation_for_token(db, workspace.id, self._token())  # type: ignore[arg-type]
            except NotFound as err:
                self.problem = err.message
                return None
            self.invite_email, self.invite_role = invitation.email, invitation.role
            self.invite_name = invitation.name
        return None

    @rx.event
    async def accept(self, form: dict):
        """Create the account (argon2, off the event loop) and sign the new user in."""
        self.errors = {}
        host, token = self._host(), self._token()
        name, password = (form.get("name") or ""), (form.get("password") or "")

        def work(db, _actor) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
            workspace = workspace_for_host(db, host)
            if workspace is None:
                return None
            user, session = accept_invitation(
                db,
                workspace_id=workspace.id,  # type: ignore[arg-type]
                token=token,
                name=name,
                password=password,
            )
            return user.role, grant_for_session(db, session)

        done = await self._off_loop(work, signed_in=False)
        if isinstance(done.error, NotFound):
            self.problem = done.message
            return None
        if not done.ok:
            self.errors = {done.field or "form": done.message}
            return None
        if done.value is None:
            return None
        role, grant = done.value
        self.access = "loading"
        return _take_cookie(grant, _home_for(role))
