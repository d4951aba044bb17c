"""Signing in on a workspace subdomain, redeeming sign-in links and invitations."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts.sessions import redeem_sign_in_link
from nextoria_hub.accounts.signin import sign_in
from nextoria_hub.accounts.team import accept_invitation, invitation_for_token
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound, Throttled, ValidationError
from nextoria_hub.models import Role
from nextoria_hub.tenancy import workspace_for_host
from nextoria_hub.ui.states.session import AppState


def _home_for(role: str) -> str:
    return "/portal" if role == Role.client else "/dashboard"


class LoginState(AppState):
    error: str = ""
    # Shown when tries are slowed down (per account or per address): when to try again.
    throttle_note: str = ""

    @rx.event
    def submit(self, form: dict):
        self.error = ""
        self.throttle_note = ""
        with session_scope() as db:
            workspace = workspace_for_host(db, self._host())
            if workspace is None:
                self.host_kind = "unknown"
                return None
            try:
                user, token = sign_in(
                    db,
                    workspace_id=workspace.id,  # type: ignore[arg-type]
                    email=(form.get("email") or ""),
                    password=(form.get("password") or ""),
                    client_ip=self.router.session.client_ip,
                )
            except ValidationError as err:
                self.error = err.message
                return None
            except Throttled as err:
                self.throttle_note = err.message
                return None
            role = user.role
        self.session_token = token
        self.access = "loading"  # the next page's guard decides; don't show its shell early
        next_path = self.router.url.query_parameters.get("next", "")
        safe_next = (
            next_path if next_path.startswith("/") and not next_path.startswith("//") else ""
        )
        return rx.redirect(safe_next or _home_for(role))

    @rx.event
    def load_login(self):
        """If already signed in here, go home instead of showing the form."""
        self.error = ""
        self.throttle_note = ""
        actor = self._resolve()
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
            try:
                self.session_token = redeem_sign_in_link(db, workspace.id, token)  # type: ignore[arg-type]
            except NotFound as err:
                self.problem = err.message
                return None
        self.access = "loading"
        return rx.redirect("/dashboard")


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
        self._resolve()
        self.access = "ok"
        self.problem = ""
        with session_scope() as db:
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
    def accept(self, form: dict):
        self.errors = {}
        with session_scope() as db:
            workspace = workspace_for_host(db, self._host())
            if workspace is None:
                return None
            try:
                user, token = accept_invitation(
                    db,
                    workspace_id=workspace.id,  # type: ignore[arg-type]
                    token=self._token(),
                    name=(form.get("name") or ""),
                    password=(form.get("password") or ""),
                )
            except ValidationError as err:
                self.errors = {err.field or "form": err.message}
                return None
            except NotFound as err:
                self.problem = err.message
                return None
            role = user.role
        self.session_token = token
        self.access = "loading"
        return rx.redirect(_home_for(role))
