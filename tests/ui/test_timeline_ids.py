"""The timeline's detail text is cut around the Stripe ids it names (issue 17), and nothing
else: words with underscores stay text, and the parts put together give the text back."""

from __future__ import annotations

import pytest

from nextoria_hub.ui.components.timeline import DetailPart, split_stripe_ids

PI, CH = "pi_3NmieQ2eZvKYlo2C1BXH41", "ch_3NmieQ2eZvKYlo2C0abcd1"
CS = "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456789abcdefGHIJKL"


def test_the_ids_of_a_paid_entry_become_their_own_parts() -> None:
    detail = f"$1,440.00 received by Visa •••• 4242 (checkout, test mode; {PI}, {CH}, {CS})"
    assert split_stripe_ids(detail) == [
        DetailPart(text="$1,440.00 received by Visa •••• 4242 (checkout, test mode; "),
        DetailPart(stripe_id=PI),
        DetailPart(text=", "),
        DetailPart(stripe_id=CH),
        DetailPart(text=", "),
        DetailPart(stripe_id=CS),
        DetailPart(text=")"),
    ]


@pytest.mark.parametrize(
    "stripe_id",
    [
        "re_1QbQfL2eZvKYlo2Ck",
        "dp_1QbQfL2eZvKYlo2Ck",
        "cs_live_b1QbQfL2eZvKYlo2Ck",
        "py_1QbQfL2eZvKYlo2Ck",
        "mandate_1QbQfL2eZvKYlo2Ck",
    ],
)
def test_refund_dispute_live_session_and_bank_ids_are_found(stripe_id: str) -> None:
    parts = split_stripe_ids(f"Dispute lost: $50.00 returned ({stripe_id})")
    assert [p.stripe_id for p in parts if p.stripe_id] == [stripe_id]


@pytest.mark.parametrize(
    "detail",
    [
        "$10.00 payment failed: Your card was declined. [generic_decline] (checkout, test mode; )",
        "Sent to ap@initech.test by Ada Admin ($1,440.00)",
        "Autopay gave up: card_declined after insufficient_funds",
        "See https://files.example.com/pi_folder/final-v7.pdf",
        "",
    ],
)
def test_text_without_ids_stays_one_part(detail: str) -> None:
    parts = split_stripe_ids(detail)
    assert all(not p.stripe_id for p in parts)
    assert "".join(p.text for p in parts) == detail


def test_the_parts_put_together_give_the_text_back() -> None:
    detail = f"{PI} first, then text, then {CS}"
    parts = split_stripe_ids(detail)
    assert "".join(p.text or p.stripe_id for p in parts) == detail
    assert parts[0] == DetailPart(stripe_id=PI) and parts[-1] == DetailPart(stripe_id=CS)
