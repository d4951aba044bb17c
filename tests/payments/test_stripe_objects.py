"""Stripe references, payment methods and our metadata keys, each read one way."""

from nextoria_hub.payments.stripe_objects import (
    NextoriaMetadata,
    PaymentMethodInfo,
    card_label,
    stripe_id,
)


def test_stripe_id_reads_an_id_or_an_expanded_object() -> None:
    assert stripe_id("pi_1") == "pi_1"
    assert stripe_id({"id": "pi_2", "object": "payment_intent"}) == "pi_2"
    assert stripe_id(None) == stripe_id({}) == stripe_id("") == ""


def test_card_label_shows_brand_names_as_people_read_them() -> None:
    assert card_label("visa", "4242") == "Visa •••• 4242"
    assert card_label("amex", "0005") == "American Express •••• 0005"
    assert card_label("ACH Direct Debit", "6789") == "ACH Direct Debit •••• 6789"
    assert card_label("", "1111") == "Card •••• 1111"


def test_payment_method_info_from_a_card_a_bank_account_and_nothing() -> None:
    card = PaymentMethodInfo.from_stripe(
        {
            "type": "card",
            "card": {"brand": "mastercard", "last4": "4444", "exp_month": 4, "exp_year": 2031},
        }
    )
    assert card == PaymentMethodInfo("card", "Mastercard", "4444", 4, 2031)
    assert card.label == "Mastercard •••• 4444"
    bank = PaymentMethodInfo.from_stripe({"type": "sepa_debit", "sepa_debit": {"last4": "3000"}})
    assert bank == PaymentMethodInfo("sepa_debit", "SEPA Direct Debit", "3000")
    assert PaymentMethodInfo.from_stripe({"type": "card", "card": {}}) is None
    assert PaymentMethodInfo.from_stripe({"type": "us_bank_account"}) is None


def test_metadata_round_trips_and_writes_only_the_keys_that_are_set() -> None:
    written = NextoriaMetadata(workspace_id="7", invoice_id="42", mode="test").to_stripe()
    assert written == {
        "nextoria_workspace_id": "7",
        "nextoria_invoice_id": "42",
        "nextoria_mode": "test",
    }
    read = NextoriaMetadata.of({"id": "pi_1", "metadata": {**written, "other": "x"}})
    assert read == NextoriaMetadata(workspace_id="7", invoice_id="42", mode="test")
    assert read.invoice == 42 and read.payment_source == "checkout"


def test_metadata_reads_junk_as_absent_or_unparsed() -> None:
    assert NextoriaMetadata.of({"metadata": ["not", "a", "dict"]}) == NextoriaMetadata()
    assert NextoriaMetadata.of(None) == NextoriaMetadata()
    odd = NextoriaMetadata.read(
        {"nextoria_invoice_id": "12abc", "nextoria_attempt": "x", "nextoria_source": "cash"}
    )
    assert odd.invoice_id == "12abc" and odd.invoice is None and odd.attempt_no is None
    assert odd.payment_source == "checkout"


def test_a_workspace_is_other_only_when_the_metadata_names_one() -> None:
    assert NextoriaMetadata(workspace_id="8").names_other_workspace(7)
    assert not NextoriaMetadata(workspace_id="7").names_other_workspace(7)
    assert not NextoriaMetadata().names_other_workspace(7)
