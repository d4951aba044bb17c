"""Decline classification: which failures a retry can fix, and which need the client."""

from __future__ import annotations

# Decline codes (and error codes) that no retry can fix: the client must change the card.
HARD_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "incorrect_cvc",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "do_not_honor",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "card_not_supported",
        "currency_not_supported",
        "invalid_account",
        "new_account_information_available",
        "no_action_taken",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "service_not_allowed",
        "stop_payment_order",
        "transaction_not_allowed",
        "test_mode_live_card",
        "payment_method_not_available",
    }
)
AUTH_CODES = frozenset({"authentication_required", "card_velocity_exceeded_authentication"})
# Bank debits that no retry can fix: the client must give another account (or mandate).
# ``insufficient_funds`` is not here: it is retried on the Finance schedule like a soft decline.
BANK_HARD_CODES = frozenset(
    {
        "account_closed",
        "no_account",
        "debit_not_authorized",
        "invalid_account_number",
        "account_frozen",
        "bank_account_restricted",
        "bank_ownership_changed",
        "incorrect_account_holder_name",
        "invalid_currency",
        "branch_does_not_exist",
    }
)


def classify_failure(code: str, decline_code: str) -> str:
    """``soft`` (retry on the schedule), ``hard`` (new card needed) or ``authentication``."""
    code, decline_code = (code or "").lower(), (decline_code or "").lower()
    if code in AUTH_CODES or decline_code in AUTH_CODES:
        return "authentication"
    if decline_code in HARD_CODES or code in HARD_CODES or code in BANK_HARD_CODES:
        return "hard"
    return "soft"
