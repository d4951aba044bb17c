"""Settings → Branding: the workspace's logo and accent colour, as its clients see them."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.accounts import branding
from nextoria_hub.errors import AccessDenied, NotSignedIn, ValidationError
from nextoria_hub.ui.states.session import AppState

MAX_READ = branding.MAX_LOGO_BYTES + 1  # enough to tell "too big" without reading more


class BrandingState(AppState):
    logo_url: str = ""
    accent: str = ""
    errors: dict[str, str] = {}
    saving: bool = False

    def _show(self, shown: branding.Branding) -> None:
        self.logo_url = branding.logo_url(shown)
        self.accent = shown.accent

    @rx.event
    def load(self):
        self.errors = {}
        try:
            with self._unit() as (db, actor):
                actor.require_admin()
                self._show(branding.get_branding(db, actor.workspace_id))
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    async def _save(self, work, done_message: str):  # type: ignore[no-untyped-def]
        self.saving, self.errors = True, {}
        done = await self._off_loop(work)
        self.saving = False
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if isinstance(done.error, ValidationError):
            self.errors = {done.field or "logo": done.message}
            return None
        if not done.ok:
            return rx.toast.error(done.message)
        self._show(done.value)  # type: ignore[arg-type]
        return rx.toast.success(done_message)

    @rx.event
    async def upload_logo(self, files: list[rx.UploadFile]):
        data = await files[0].read(MAX_READ) if files else b""
        return await self._save(lambda db, actor: branding.set_logo(db, actor, data), "Logo saved.")

    @rx.event
    async def drop_logo(self):
        return await self._save(lambda db, actor: branding.remove_logo(db, actor), "Logo removed.")

    @rx.event
    async def save_accent(self, form: dict):  # type: ignore[type-arg]
        accent = str(form.get("accent", ""))[:20]
        return await self._save(
            lambda db, actor: branding.set_accent(db, actor, accent), "Accent colour saved."
        )
