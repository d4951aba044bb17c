"""Settings → Workspace → Locale: how money and dates read on pages, emails and PDFs."""

from __future__ import annotations

from datetime import date

import reflex as rx

from nextoria_hub.billing.locales import (
    LOCALES,
    format_day,
    locale_label,
    set_workspace_locale,
    workspace_locale,
)
from nextoria_hub.billing.money import format_money
from nextoria_hub.errors import AccessDenied, NotSignedIn, ValidationError
from nextoria_hub.ui.states.session import AppState

SAMPLE_DAY = date(2026, 12, 5)


def _example(locale: str) -> str:
    return (
        f"{format_money(125000, 'usd', locale)} · {format_money(125000, 'jpy', locale)} · "
        f"{format_money(12500, 'kwd', locale)} · {format_day(SAMPLE_DAY, locale)}"
    )


class LocaleState(AppState):
    locale: str = ""
    options: list[dict[str, str]] = []
    example: str = ""

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                actor.require_admin()
                self.locale = workspace_locale(db, actor.workspace_id)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.options = [{"code": c, "label": locale_label(c)} for c in LOCALES]
        self.example = _example(self.locale)
        return None

    @rx.event
    def choose_locale(self, value: str):
        """Saved at once (a select, no form): the example line shows the result."""
        try:
            with self._unit() as (db, actor):
                self.locale = set_workspace_locale(db, actor, value)
        except ValidationError as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.example = _example(self.locale)
        return rx.toast.success(f"Locale set to {locale_label(self.locale)}.")
