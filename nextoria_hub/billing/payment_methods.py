"""The payment methods an agency can offer, with the seed's region notes and currency rules.

Since Stripe API 2026-09-30.endive a request cannot name ``payment_method_types``: Checkout
either gets ``allowed_payment_method_types`` (the methods chosen in Finance that fit the
invoice's currency) or nothing at all, and then offers what the agency's Stripe Dashboard
enables (dynamic payment methods).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaymentMethodOption:
    key: str  # Stripe's payment method type, as in allowed_payment_method_types
    label: str
    note: str
    currencies: frozenset[str] | None  # None: any currency
    always_on: bool = False
    retired: str = ""  # why it cannot be enabled, if Stripe discontinued it


PAYMENT_METHODS: tuple[PaymentMethodOption, ...] = (
    PaymentMethodOption(
        "card",
        "Card",
        "Visa, Mastercard, Amex and debit cards worldwide; Apple Pay and Google Pay are "
        "offered automatically with cards.",
        None,
        always_on=True,
    ),
    PaymentMethodOption(
        "us_bank_account",
        "ACH Direct Debit",
        "US only, USD invoices. Requires Stripe business verification.",
        frozenset({"usd"}),
    ),
    PaymentMethodOption(
        "sepa_debit",
        "SEPA Direct Debit",
        "EU only, EUR invoices. Requires a SEPA mandate, which Checkout collects.",
        frozenset({"eur"}),
    ),
    PaymentMethodOption(
        "ideal", "iDEAL", "Netherlands, EUR invoices. Instant bank transfer.", frozenset({"eur"})
    ),
    PaymentMethodOption(
        "sofort",
        "Sofort",
        "EU bank redirect.",
        frozenset({"eur"}),
        retired="Stripe discontinued Sofort on 31 March 2025; EU customers can pay by card, SEPA "
        "Direct Debit or iDEAL instead.",
    ),
)
BY_KEY = {m.key: m for m in PAYMENT_METHODS}


def methods_for_currency(enabled: list[str], currency: str) -> list[str]:
    """The enabled methods Checkout may offer for an invoice in ``currency`` (card always).

    A discontinued method is never in the answer, whatever is stored.
    """
    currency = currency.lower()
    out = ["card"]
    for key in enabled:
        option = BY_KEY.get(key)
        if option is None or option.always_on or option.retired:
            continue
        if option.currencies is None or currency in option.currencies:
            out.append(key)
    return out
