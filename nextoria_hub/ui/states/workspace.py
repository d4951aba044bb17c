"""Settings → Workspace: the workspace's address, and changing it."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts.sessions import create_sign_in_link
from nextoria_hub.accounts.workspaces import ALIAS_DAYS, change_address
from nextoria_hub.api.moved import forget_aliases
from nextoria_hub.errors import AccessDenied, NotSignedIn, ValidationError
from nextoria_hub.models import User, Workspace
from nextoria_hub.payments.stripe_connection import move_webhooks
from nextoria_hub.settings import get_settings
from nextoria_hub.ui.states.session import AppState


class WorkspaceState(AppState):
    address: str = ""
    new_slug: str = ""
    error: str = ""
    alias_days: int = ALIAS_DAYS

    @rx.var
    def new_address(self) -> str:
        slug = self.new_slug.strip().lower()
        return get_settings().workspace_url(slug, "/") if slug else ""

    @rx.event
    def load(self):
        self.error, self.new_slug = "", ""
        try:
            with self._unit() as (db, actor):
                actor.require_admin()
                workspace = db.get(Workspace, actor.workspace_id)
                assert workspace is not None
                self.address = get_settings().workspace_url(workspace.slug, "/")
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_new_slug(self, value: str) -> None:
        self.new_slug = value

    @rx.event
    def change(self):
        """Move at once; the browser follows to the new address, signed in (cookies are
        per address, so a one-time sign-in link carries the session across)."""
        self.error = ""
        try:
            with self._unit() as (db, actor):
                _old, slug = change_address(db, actor, self.new_slug)
                problems = move_webhooks(db, actor)
                user = db.get(User, actor.user_id)
                assert user is not None
                token = create_sign_in_link(db, user)
        except ValidationError as err:
            self.error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        forget_aliases()  # this worker redirects the old address at once
        events = [rx.redirect(self._workspace_url(slug, f"/welcome?token={token}"))]
        if problems:
            events.insert(0, rx.toast.warning(" ".join(problems)))
        return events
