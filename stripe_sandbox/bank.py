"""Stripe's bank-debit test data (ACH, SEPA, iDEAL) and what each number does when debited.

ACH and SEPA are delayed-notification methods: a confirmed debit is ``processing`` and the
bank answers later. The numbers and codes follow Stripe's testing pages (ACH Direct Debit
"Test account numbers", SEPA Direct Debit "Test IBANs"); what a failure carries follows what
Stripe's test mode answers: ACH failures name the reason in ``last_payment_error.code`` and the
charge's ``failure_code``; the failing SEPA IBAN fails the PaymentIntent with
``payment_intent_payment_attempt_failed`` and names the bank's reason on the charge.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import invalid

# Which types each bank method accepts: ACH is USD only, SEPA Direct Debit and iDEAL EUR only.
CURRENCIES: dict[str, str] = {"us_bank_account": "usd", "sepa_debit": "eur", "ideal": "eur"}
DELAYED = {"us_bank_account", "sepa_debit"}  # processing first, settled later
MANDATED = {"us_bank_account", "sepa_debit"}  # a debit needs the customer's mandate

ACH_ROUTING = "110000000"
ACH_BANK_NAME = "STRIPE TEST BANK"


@dataclass(frozen=True)
class BankFailure:
    """How a debit fails once the bank answers."""

    pi_code: str  # last_payment_error.code
    charge_code: str  # charge.failure_code
    message: str  # charge.failure_message
    pi_message: str

    def as_last_error(self) -> dict[str, object]:
        return {
            "type": "invalid_request_error",
            "code": self.pi_code,
            "decline_code": "generic_decline",
            "message": self.pi_message,
            "doc_url": f"https://stripe.com/docs/error-codes/{self.pi_code.replace('_', '-')}",
        }


def _ach(code: str, message: str) -> BankFailure:
    return BankFailure(code, code, message, message)


ACH_FAILURES: dict[str, BankFailure] = {
    "account_closed": _ach("account_closed", "The customer's bank account has been closed."),
    "no_account": _ach("no_account", "The customer's bank account could not be located."),
    "insufficient_funds": _ach(
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    "debit_not_authorized": _ach(
        "debit_not_authorized",
        "The customer has notified their bank that this payment was unauthorized.",
    ),
}
ATTEMPT_FAILED = (
    "The latest payment attempt of this PaymentIntent has failed or been canceled, and the "
    "attached payment method has been removed. You can try confirming again with a new "
    "payment method."
)
SEPA_FAILED = BankFailure(
    "payment_intent_payment_attempt_failed",
    "incorrect_account_holder_name",
    "The customer's bank account details could not be matched to the account holder's name.",
    ATTEMPT_FAILED,
)

# account number -> failure key (None: the debit succeeds)
ACH_ACCOUNTS: dict[str, str | None] = {
    "000123456789": None,
    "000111111113": "account_closed",
    "000111111116": "no_account",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
}
ACH_SHORTCUTS: dict[str, str] = {
    "pm_usBankAccount_success": "000123456789",
    "pm_usBankAccount_accountClosed": "000111111113",
    "pm_usBankAccount_noAccount": "000111111116",
    "pm_usBankAccount_insufficientFunds": "000222222227",
    "pm_usBankAccount_debitNotAuthorized": "000333333335",
}
# IBAN -> failure key ("failed") or None
SEPA_IBANS: dict[str, str | None] = {
    "AT611904300234573201": None,
    "AT321904300235473204": None,
    "DE89370400440532013000": None,
    "AT861904300235473202": "failed",
}
IDEAL_BANKS = ["abn_amro", "asn_bank", "ing", "knab", "rabobank", "regiobank", "sns_bank"]
IDEAL_BICS = {
    "abn_amro": "ABNANL2A",
    "asn_bank": "ASNBNL21",
    "ing": "INGBNL2A",
    "knab": "KNABNL2H",
    "rabobank": "RABONL2U",
    "regiobank": "RBRBNL21",
    "sns_bank": "SNSBNL2A",
}


def aba_ok(routing: str) -> bool:
    """The ABA routing number checksum (3-7-1 weights)."""
    if len(routing) != 9 or not routing.isdigit():
        return False
    d = [int(c) for c in routing]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """The ISO 13616 mod-97 check."""
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved if ch.isalnum())
    return len(digits) >= len(moved) and int(digits) % 97 == 1


def normalise_iban(raw: str) -> str:
    return "".join(raw.split()).upper()


def check_ach(routing: str, account: str) -> None:
    """Refuse bank details as Stripe does when the PaymentMethod is created."""
    if not aba_ok(routing):
        raise invalid(
            "Invalid routing number: the routing number is not valid.",
            param="us_bank_account[routing_number]",
        )
    if not account.isdigit() or not 4 <= len(account) <= 17:
        raise invalid(
            "Invalid account number: account numbers have 4 to 17 digits.",
            param="us_bank_account[account_number]",
        )


def check_iban(iban: str) -> None:
    if not iban_ok(iban):
        raise invalid("The provided IBAN is invalid.", param="sepa_debit[iban]")


def failure_of(pm_type: str, key: str | None) -> BankFailure | None:
    """The failure a stored behaviour key stands for (None: the debit succeeds)."""
    if key is None:
        return None
    if pm_type == "us_bank_account":
        return ACH_FAILURES[key]
    return SEPA_FAILED


def check_currency(pm_type: str, currency: str, param: str = "payment_method") -> None:
    wanted = CURRENCIES.get(pm_type)
    if wanted and currency != wanted:
        raise invalid(
            f"The currency provided ({currency}) is invalid. Payments with {pm_type} support "
            f"the following currencies: {wanted}.",
            param=param,
            code="payment_intent_invalid_parameter",
        )
