"""A workspace's locale (Babel): how its money and dates read on pages, emails and PDFs.

The default, ``en_US``, prints exactly what Nextoria Hub printed before workspaces could
choose ("$1,250.00", "05 Dec 2026"); other locales use Babel's own medium date format.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from sqlmodel import Session

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.money import ACTIVE_LOCALE, DEFAULT_LOCALE, format_money
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import Workspace
from nextoria_hub.tenancy import Actor

# Offered in Settings → Workspace: the languages and regions agencies bill in most. Any other
# Babel locale is refused (not silently replaced) so what is saved is what prints.
LOCALES = (
    "en_US",
    "en_GB",
    "en_AU",
    "en_CA",
    "en_IE",
    "en_IN",
    "en_NZ",
    "en_SG",
    "en_ZA",
    "fr_FR",
    "fr_BE",
    "fr_CA",
    "fr_CH",
    "de_DE",
    "de_AT",
    "de_CH",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "nl_BE",
    "pt_PT",
    "pt_BR",
    "sv_SE",
    "nb_NO",
    "da_DK",
    "fi_FI",
    "pl_PL",
    "cs_CZ",
    "hu_HU",
    "ro_RO",
    "ja_JP",
    "ko_KR",
    "ar_AE",
    "he_IL",
    "tr_TR",
    "th_TH",
)
_LEGACY_DAY = "dd MMM y"  # what en_US printed before locales: "05 Dec 2026"
_LEGACY_TIME = "dd MMM y HH:mm"


@lru_cache(maxsize=64)
def locale_label(name: str) -> str:
    """``de_DE`` → "Deutsch (Deutschland) — de_DE", in the locale's own language."""
    parsed = Locale.parse(name)
    return f"{parsed.get_display_name(name)} — {name}"


def validate_locale(name: str) -> str:
    code = (name or "").strip().replace("-", "_")
    if code not in LOCALES:
        raise ValidationError(f"“{name}” is not a locale Nextoria Hub offers.", "locale")
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        raise ValidationError(f"“{name}” is not a locale Babel knows.", "locale") from None
    return code


def workspace_locale(db: Session, workspace_id: int) -> str:
    """The workspace's locale; the default when unset or no longer offered."""
    workspace = db.get(Workspace, workspace_id)
    locale = workspace.locale if workspace is not None else ""
    return locale if locale in LOCALES else DEFAULT_LOCALE


def set_workspace_locale(db: Session, actor: Actor, locale: str) -> str:
    """Admins choose the workspace's locale; audited. Returns the saved code."""
    actor.require_admin()
    code = validate_locale(locale)
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    if workspace.locale != code:
        record_audit(db, actor, "workspace.locale", f"{workspace.locale} → {code}")
        workspace.locale = code
        db.add(workspace)
        db.flush()
    return code


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Format money and dates in ``locale`` inside the block (a page's unit of work), like
    Flask-Babel's per-request locale: the pages' many formatting calls need no argument."""
    token = ACTIVE_LOCALE.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        ACTIVE_LOCALE.reset(token)


def format_day(value: date, locale: str | None = None) -> str:
    """A date as the workspace writes it ("05 Dec 2026" in en_US, "05.12.2026" in de_DE)."""
    locale = locale or ACTIVE_LOCALE.get()
    if locale == DEFAULT_LOCALE:
        return format_date(value, format=_LEGACY_DAY, locale=DEFAULT_LOCALE)
    return format_date(value, format="medium", locale=locale)


def format_moment(value: datetime, locale: str | None = None) -> str:
    """A date and time (UTC, as stored) for timelines and payment rows."""
    locale = locale or ACTIVE_LOCALE.get()
    if locale == DEFAULT_LOCALE:
        return format_datetime(value, format=_LEGACY_TIME, locale=DEFAULT_LOCALE)
    return format_datetime(value, format="medium", locale=locale, tzinfo=None)


class Formatter:
    """Money and dates in one workspace's locale, for code that formats many values."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = locale

    @classmethod
    def of(cls, db: Session, workspace_id: int) -> Formatter:
        return cls(workspace_locale(db, workspace_id))

    def money(self, amount: int, currency: str) -> str:
        return format_money(amount, currency, self.locale)

    def day(self, value: date) -> str:
        return format_day(value, self.locale)

    def moment(self, value: datetime) -> str:
        return format_moment(value, self.locale)
