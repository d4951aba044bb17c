"""format_money: Babel's display, each currency with its own decimals, in any locale."""

from __future__ import annotations

import pytest

from nextoria_hub.billing.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (123456, "usd", "en_US", "$1,234.56"),
        (-123456, "usd", "en_US", "-$1,234.56"),
        (100, "eur", "en_US", "€1.00"),
        (500, "jpy", "en_US", "¥500"),
        (1234567, "kwd", "en_US", "KWD1,234.567"),
        (123456, "eur", "de_DE", "1.234,56\xa0€"),
        (123456, "usd", "de_DE", "1.234,56\xa0$"),
    ],
)
def test_format_money(amount: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(amount, currency, locale) == shown


def test_locales_do_not_leak_into_each_other() -> None:
    # The parsed locale is cached per name: a German format must not change the US one.
    assert format_money(100, "usd", "de_DE") == "1,00\xa0$"
    assert format_money(100, "usd") == "$1.00"
