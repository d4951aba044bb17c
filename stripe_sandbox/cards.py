"""Stripe's test card numbers and what each does when set up or charged."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import StripeError


@dataclass(frozen=True)
class Failure:
    """A card error as Stripe reports it."""

    code: str
    decline_code: str | None
    message: str

    def error(self, **extra: object) -> StripeError:
        return StripeError(
            402, "card_error", self.message, code=self.code, decline_code=self.decline_code, **extra
        )

    def as_last_error(self) -> dict[str, object]:
        return {
            "type": "card_error",
            "code": self.code,
            "decline_code": self.decline_code,
            "message": self.message,
            "doc_url": f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}",
        }


DECLINED = Failure("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT = Failure("card_declined", "insufficient_funds", "Your card has insufficient funds.")
AUTH_REQUIRED = Failure(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
LIVE_TEST_CARD = Failure(
    "card_declined",
    None,
    "Your card was declined. Your request was in live mode, but used a known test card.",
)
TEST_LIVE_CARD = Failure(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)
INCORRECT_NUMBER = Failure("incorrect_number", None, "Your card number is incorrect.")
EXPIRED = Failure("expired_card", None, "Your card has expired.")
AUTH_FAILED_MESSAGE = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)

# number -> behaviour: ok, decline, insufficient, auth (3DS), charge_fail (attaches, never charges)
BEHAVIOUR: dict[str, str] = {
    "4242424242424242": "ok",
    "4000056655665556": "ok",
    "5555555555554444": "ok",
    "2223003122003222": "ok",
    "378282246310005": "ok",
    "6011111111111117": "ok",
    "4000000000000002": "decline",
    "4000000000009995": "insufficient",
    "4000002500003155": "auth",
    "4000002760003184": "auth",
    "4000000000000341": "charge_fail",
    "4000000000000259": "ok",  # succeeds, then a dispute opens (DISPUTED)
    "4000000000005126": "ok",  # succeeds; a refund of it fails afterwards (REFUND_FAILS)
}
DISPUTED = "4000000000000259"
REFUND_FAILS = "4000000000005126"

SHORTCUTS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_refundFail": "4000000000005126",
}


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:2] == "22":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith("6"):
        return "discover"
    return "unknown"


def check_number(number: str, livemode: bool) -> None:
    """Refuse a number as Stripe does when a card is first tokenised."""
    if not luhn_ok(number):
        raise INCORRECT_NUMBER.error(param="card[number]")
    if livemode and number in BEHAVIOUR:
        raise LIVE_TEST_CARD.error()
    if not livemode and number not in BEHAVIOUR:
        raise TEST_LIVE_CARD.error()


def outcome(number: str, *, setup: bool, off_session: bool) -> Failure | str | None:
    """None for success, ``"action"`` when 3DS is needed, or the Failure."""
    behaviour = BEHAVIOUR.get(number, "ok")
    if behaviour == "auth":
        return AUTH_REQUIRED if off_session else "action"
    if behaviour == "decline":
        return DECLINED
    if setup:
        return None
    if behaviour == "insufficient":
        return INSUFFICIENT
    if behaviour == "charge_fail":
        return DECLINED
    return None
