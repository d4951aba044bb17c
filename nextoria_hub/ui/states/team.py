"""Settings → Team."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts import team
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.states.session import AppState


class TeamState(AppState):
    members: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    contacts: list[dict[str, str]] = []
    invite_error: str = ""
    invite_open: bool = False

    def _refresh(self, db, actor) -> None:
        self.members = [
            {
                "id": str(u.id),
                "name": u.name,
                "email": u.email,
                "role": u.role,
                "is_me": "yes" if u.id == actor.user_id else "",
                "only_admin": "yes" if team.is_only_admin(db, u) else "",
            }
            for u in team.list_team(db, actor)
        ]
        self.contacts = [
            {"id": str(u.id), "name": u.name, "email": u.email, "client": client_name}
            for u, client_name in team.list_client_contacts(db, actor)
        ]
        self.invitations = (
            [
                {"email": i.email, "role": i.role, "expires": i.expires_at.strftime("%d %b %Y")}
                for i in team.list_pending_invitations(db, actor)
            ]
            if actor.is_admin
            else []
        )

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                self._refresh(db, actor)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_invite_open(self, value: bool) -> None:
        self.invite_open = value
        self.invite_error = ""

    @rx.event
    def send_invite(self, form: dict):
        self.invite_error = ""
        try:
            with self._unit() as (db, actor):
                team.invite(
                    db,
                    actor,
                    email=(form.get("email") or ""),
                    role=form.get("role") or "member",
                    name=(form.get("name") or ""),
                )
                self._refresh(db, actor)
        except ValidationError as err:
            self.invite_error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.invite_open = False
        return rx.toast.success(f"Invitation sent to {(form.get('email') or '').strip()}.")

    @rx.event
    def change_role(self, user_id: str, role: str):
        try:
            with self._unit() as (db, actor):
                user = team.change_role(db, actor, user_id=int(user_id), role=role)
                self._refresh(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success(f"{user.name} is now {role}.")

    @rx.event
    def remove(self, user_id: str):
        try:
            with self._unit() as (db, actor):
                team.remove_member(db, actor, user_id=int(user_id))
                self._refresh(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Removed from the workspace.")

    @rx.event
    def remove_contact(self, user_id: str):
        """Cut a client contact off the portal (admins)."""
        try:
            with self._unit() as (db, actor):
                team.remove_client_contact(db, actor, user_id=int(user_id))
                self._refresh(db, actor)
        except (ValidationError, NotFound, ValueError):
            return rx.toast.error("That person is not in this workspace.")
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Removed: they are signed out and can no longer sign in.")
