"""Creating a workspace from the apex sign-up form."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts.sessions import create_sign_in_link
from nextoria_hub.accounts.workspaces import (
    check_signup_allowed,
    create_workspace,
    record_signup,
    suggest_slug,
)
from nextoria_hub.errors import Throttled, ValidationError
from nextoria_hub.settings import get_settings
from nextoria_hub.ui.states.session import AppState

FIELDS = ("name", "slug", "admin_name", "email", "password")


class SignupState(AppState):
    """The address field is never written by the server: the suggestion from the agency name
    is its placeholder, used only while the field is empty. So a suggestion arriving late can
    never land in front of what the person typed."""

    agency_name: str = ""
    slug: str = ""  # exactly what was typed in the address field
    errors: dict[str, str] = {}
    submitting: bool = False

    @rx.var
    def suggested_slug(self) -> str:
        return suggest_slug(self.agency_name) if self.agency_name.strip() else ""

    @rx.var
    def effective_slug(self) -> str:
        return self.slug or self.suggested_slug

    @rx.var
    def address_preview(self) -> str:
        base = get_settings().base_domain
        port = self.router.url.port
        slug = self.slug or self.suggested_slug
        return f"{slug or 'your-agency'}.{base}{f':{port}' if port else ''}"

    @rx.event
    def set_agency_name(self, value: str) -> None:
        self.agency_name = value

    @rx.event
    def set_slug(self, value: str) -> None:
        self.slug = value.strip().lower()

    @rx.event
    async def submit(self, form: dict):
        """Create the workspace; argon2 and the inserts run off the event loop."""
        self.errors = {}
        if not self._resolve_is_apex():
            return rx.toast.error("Workspaces are created on the main Nextoria Hub address.")
        address, wanted_slug = self.router.session.client_ip, self.slug or self.suggested_slug

        def work(db, _actor) -> tuple[str, str]:
            check_signup_allowed(address)
            created = create_workspace(
                db,
                slug=wanted_slug,
                name=(form.get("name") or ""),
                admin_name=(form.get("admin_name") or ""),
                admin_email=(form.get("email") or ""),
                admin_password=(form.get("password") or ""),
            )
            return create_sign_in_link(db, created.admin), created.workspace.slug

        done = await self._off_loop(work, signed_in=False)
        if isinstance(done.error, ValidationError | Throttled):
            self.errors = {(done.field or "form"): done.message}
            return None
        token, slug = done.unwrap()
        record_signup(address)
        return rx.redirect(self._workspace_url(slug, f"/welcome?token={token}"))

    def _resolve_is_apex(self) -> bool:
        self._resolve()
        return self.host_kind == "apex"
