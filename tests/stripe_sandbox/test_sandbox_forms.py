"""Bracket-notation form decoding, as stripe-python and browsers encode it."""

from urllib.parse import urlencode

from stripe_sandbox.forms import parse_params


def test_nested_indexes_and_appends() -> None:
    raw = urlencode(
        [
            ("metadata[k]", "v"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][quantity]", "2"),
            ("line_items[1][price]", "price_1"),
            ("expand[]", "customer"),
            ("expand[]", "payment_intent"),
            ("payment_method_types[0]", "card"),
            ("amount", "1000"),
        ]
    )
    assert parse_params(raw) == {
        "metadata": {"k": "v"},
        "line_items": [{"price_data": {"currency": "usd"}, "quantity": "2"}, {"price": "price_1"}],
        "expand": ["customer", "payment_intent"],
        "payment_method_types": ["card"],
        "amount": "1000",
    }


def test_blank_values_are_kept_for_unsetting() -> None:
    assert parse_params("metadata[k]=&description=") == {"metadata": {"k": ""}, "description": ""}


def test_list_order_follows_indexes_not_arrival() -> None:
    assert parse_params("items[1][price]=b&items[0][price]=a") == {
        "items": [{"price": "a"}, {"price": "b"}]
    }
