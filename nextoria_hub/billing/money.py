"""Money as integer minor units with an ISO currency, following Stripe's decimal rules."""

from __future__ import annotations

import re
from contextvars import ContextVar
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_name

from nextoria_hub.errors import ValidationError

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Currencies offered in Settings → Finance: Stripe presentment currencies agencies use most.
SUPPORTED_CURRENCIES = tuple(
    sorted(
        [
            "usd",
            "eur",
            "gbp",
            "cad",
            "aud",
            "nzd",
            "chf",
            "sek",
            "nok",
            "dkk",
            "pln",
            "czk",
            "huf",
            "ron",
            "bgn",
            "jpy",
            "sgd",
            "hkd",
            "inr",
            "mxn",
            "brl",
            "zar",
            "aed",
            "kwd",
            "bhd",
            "jod",
            "omr",
            "ils",
            "try",
            "thb",
            "myr",
            "php",
            "idr",
            "krw",
            "clp",
        ]
    )
)


def decimals(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def validate_currency(currency: str, *, field: str = "currency") -> str:
    code = currency.strip().lower()
    if code not in SUPPORTED_CURRENCIES:
        raise ValidationError(f"“{currency}” is not a currency Nextoria Hub supports.", field)
    return code


def currency_label(currency: str, locale: str = "en") -> str:
    return f"{currency.upper()} — {get_currency_name(currency.upper(), locale=locale)}"


def to_minor(amount: str | Decimal | int, currency: str, *, field: str = "amount") -> int:
    """``"12.34"`` USD → 1234; refuses more decimals than the currency has."""
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError("Enter an amount like 1250.00.", field) from None
    places = decimals(currency)
    scaled = value * (10**places)
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{currency.upper()} amounts have at most {places} decimals.", field)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount) / (10 ** decimals(currency))


def typed_amount(amount: int, currency: str) -> str:
    """Minor units as a person would type them back: 45000 USD → "450.00", ¥3000 → "3000"."""
    return f"{from_minor(amount, currency):.{decimals(currency)}f}"


DEFAULT_LOCALE = "en_US"
# The locale of the workspace whose page is being built (billing/locales.py ``use_locale``);
# services that write for a workspace outside a page (emails, PDFs) pass theirs explicitly.
ACTIVE_LOCALE: ContextVar[str] = ContextVar("nextoria_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    """Parsed once: Babel parses a locale name again on every call, most of a format's cost."""
    return Locale.parse(name)


@lru_cache(maxsize=128)
def _pattern(locale: str, places: int) -> str | None:
    """The locale's currency pattern with Stripe's decimals (None: Babel's own, for two).

    ``en_US`` keeps the pattern it always had; other locales keep their own symbol place and
    separators (``1.250 ¥`` in German) with the fraction digits replaced.
    """
    if places == 2:
        return None
    if locale == "en_US":
        return "¤#,##0" if places == 0 else "¤#,##0.000"
    standard = _locale(locale).currency_formats["standard"].pattern
    return re.sub(r"0\.0+", "0" if places == 0 else "0.000", standard)


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Display through Babel with the currency's own number of decimals.

    ``locale``: the active workspace's (see ``ACTIVE_LOCALE``) unless given.
    """
    locale = locale or ACTIVE_LOCALE.get()
    places = decimals(currency)
    pattern = _pattern(locale, places)
    return format_currency(
        from_minor(amount, currency),
        currency.upper(),
        format=pattern,
        locale=_locale(locale),
        currency_digits=pattern is None,
    )
