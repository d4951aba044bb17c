"""The read-only ``payment_method_types`` of intents and Checkout Sessions.

Since 2026-09-30.endive a request cannot set ``payment_method_types``; Stripe computes it
(dynamic payment methods) from what the account has turned on in its Dashboard, narrowed by
``allowed_payment_method_types`` and ``excluded_payment_method_types`` and by what fits the
currency. A sandbox account has turned on the methods below, each in the currencies it serves
(kept simple: no per-account settings). Sofort is not among them: Stripe discontinued it on
31 March 2025, so listing it allows nothing.
"""

from __future__ import annotations

from .api import Params
from .errors import invalid

# method -> currencies it serves (None: any), as enabled on every sandbox account.
ACCOUNT_METHODS: dict[str, frozenset[str] | None] = {
    "card": None,
    "us_bank_account": frozenset({"usd"}),
    "sepa_debit": frozenset({"eur"}),
    "ideal": frozenset({"eur"}),
}


def _fits(method: str, currency: str | None) -> bool:
    # All four can be set up for later too (iDEAL by saving a SEPA Direct Debit mandate).
    currencies = ACCOUNT_METHODS[method]
    return currencies is None or currency is None or currency.lower() in currencies


def resolve(p: Params, currency: str | None) -> list[str]:
    """The types an object offers, from its request's allowed/excluded lists and currency."""
    allowed = [str(t) for t in p.list("allowed_payment_method_types")]
    excluded = {str(t) for t in p.list("excluded_payment_method_types")}
    candidates = allowed or list(ACCOUNT_METHODS)
    out: list[str] = []
    for method in candidates:
        usable = method in ACCOUNT_METHODS and _fits(method, currency)
        if usable and method not in excluded and method not in out:
            out.append(method)
    if not out:
        param = "allowed_payment_method_types" if allowed else "excluded_payment_method_types"
        raise invalid(
            "None of the payment method types this request allows is enabled on the account "
            f"and usable{' in ' + currency.upper() if currency else ''}. Enable payment "
            "methods in the Dashboard, or allow others.",
            param=param,
        )
    return out


def changes(p: Params) -> bool:
    """Whether an update or confirm request narrows the types again."""
    return p.has("allowed_payment_method_types") or p.has("excluded_payment_method_types")
