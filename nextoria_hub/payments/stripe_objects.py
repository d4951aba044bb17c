"""Reading Stripe's objects the one way: ids, payment methods and our metadata keys.

Stripe answers with a reference either as an id or, when expanded, as the object itself;
payment methods arrive as a PaymentMethod or as a charge's ``payment_method_details``; and
every object we create carries ``nextoria_*`` metadata that webhooks read back. Each of those
is decoded here so no handler writes its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "jcb": "JCB",
    "diners": "Diners Club",
    "unionpay": "UnionPay",
}
# Bank debits: confirmed as ``processing``, settled (or failed) days later by the bank.
BANK_DEBITS = {"us_bank_account": "ACH Direct Debit", "sepa_debit": "SEPA Direct Debit"}
DELAYED_METHODS = frozenset(BANK_DEBITS)


def stripe_id(value: Any) -> str:
    """The id of a reference Stripe may send as an id or as the expanded object ("" if none)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def brand_name(brand: str) -> str:
    """Stripe's card brand code as people read it ("visa" → "Visa"); shown names stay."""
    if brand in CARD_BRANDS:
        return CARD_BRANDS[brand]
    if brand[:1].isupper():
        return brand
    return (brand or "card").title()


def card_label(brand: str, last4: str) -> str:
    """ "Visa •••• 4242", "ACH Direct Debit •••• 6789": how a saved or used method is shown."""
    return f"{brand_name(brand)} •••• {last4}"


@dataclass(frozen=True)
class PaymentMethodInfo:
    """What we keep and show of a payment method (no number, no secret: Stripe keeps those)."""

    kind: str  # Stripe's type: "card", "us_bank_account", "sepa_debit", …
    brand: str  # as shown: "Visa", "ACH Direct Debit"
    last4: str
    exp_month: int = 0
    exp_year: int = 0

    @property
    def label(self) -> str:
        return card_label(self.brand, self.last4)

    @classmethod
    def from_stripe(cls, details: dict[str, Any]) -> PaymentMethodInfo | None:
        """From a PaymentMethod or a charge's ``payment_method_details``; None if it names no
        card or bank account with its last four digits."""
        kind = str(details.get("type") or "")
        if kind in BANK_DEBITS:
            bank = details.get(kind)
            if isinstance(bank, dict) and bank.get("last4"):
                return cls(kind, BANK_DEBITS[kind], str(bank["last4"])[:4])
            return None
        card = details.get("card")
        if not isinstance(card, dict) or not card.get("last4"):
            return None
        return cls(
            kind or "card",
            brand_name(str(card.get("brand") or "")),
            str(card["last4"])[:4],
            int(card.get("exp_month") or 0),
            int(card.get("exp_year") or 0),
        )


@dataclass(frozen=True)
class NextoriaMetadata:
    """The ``nextoria_*`` metadata keys we write on Stripe objects and read back from events.

    Values are kept as Stripe stores them (strings; "" when absent) so a reader can quote a
    malformed one; the typed accessors below parse them.
    """

    workspace_id: str = ""
    invoice_id: str = ""
    client_id: str = ""
    retainer_id: str = ""
    overpayment_id: str = ""
    mode: str = ""
    source: str = ""
    attempt: str = ""
    purpose: str = ""

    PREFIX = "nextoria_"

    @classmethod
    def of(cls, obj: dict[str, Any] | None) -> NextoriaMetadata:
        """Our keys in a Stripe object's ``metadata``."""
        return cls.read((obj or {}).get("metadata"))

    @classmethod
    def read(cls, metadata: Any) -> NextoriaMetadata:
        """Our keys in a ``metadata`` mapping (anything else reads as empty)."""
        if not isinstance(metadata, dict):
            return cls()
        values = {f.name: metadata.get(cls.PREFIX + f.name) for f in fields(cls)}
        return cls(**{k: str(v) for k, v in values.items() if v})

    def to_stripe(self) -> dict[str, str]:
        """The metadata to send: the keys that are set."""
        return {
            self.PREFIX + f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name)
        }

    def names_workspace(self, workspace_id: int) -> bool:
        """The object says it belongs to this workspace."""
        return self.workspace_id == str(workspace_id)

    def names_other_workspace(self, workspace_id: int) -> bool:
        """The object says it belongs to another workspace (saying nothing is not other)."""
        return bool(self.workspace_id) and not self.names_workspace(workspace_id)

    @property
    def invoice(self) -> int | None:
        return int(self.invoice_id) if self.invoice_id.isdigit() else None

    @property
    def client(self) -> int | None:
        return int(self.client_id) if self.client_id.isdigit() else None

    @property
    def attempt_no(self) -> int | None:
        return int(self.attempt) if self.attempt.isdigit() else None

    @property
    def payment_source(self) -> str:
        """How the money was asked for: "autopay" or (by default) "checkout"."""
        return self.source if self.source in ("checkout", "autopay") else "checkout"
