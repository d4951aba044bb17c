"""The sandbox refuses what Stripe refuses: parameters are checked against stripe-python's
typed params at every depth, enums are enforced, and ``payment_method_types`` is gone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox import validation
from stripe_sandbox.api import ROUTES
from stripe_sandbox.testing import SandboxServer


def _line_item(**price_data: Any) -> dict[str, Any]:
    return {
        "price_data": {
            "currency": "usd",
            "unit_amount": 500,
            "product_data": {"name": "Audit"},
            **price_data,
        },
        "quantity": 1,
    }


def _session(client: stripe.StripeClient, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://x.example/ok",
        "line_items": [_line_item()],
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def _refused(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    assert exc.value.http_status == 400
    return exc.value


def test_every_route_names_a_stripe_params_type() -> None:
    missing = [
        (r.method, r.path)
        for r in ROUTES
        if validation.params_type(validation.SPECS.get((r.method, r.path), "")) is None
    ]
    assert missing == []
    unresolved = [spec for spec in validation.SPECS.values() if not validation.params_type(spec)]
    assert unresolved == []


def test_unknown_nested_parameter_names_its_full_path(client: stripe.StripeClient) -> None:
    err = _refused(lambda: _session(client, line_items=[_line_item(bogus="1")]))
    assert err.code == "parameter_unknown"
    assert err.param == "line_items[0][price_data][bogus]"
    assert "Received unknown parameter: line_items[0][price_data][bogus]" in str(err.user_message)
    deeper = _refused(
        lambda: _session(
            client,
            line_items=[_line_item(), _line_item(product_data={"name": "n", "colour": "red"})],
        )
    )
    assert deeper.param == "line_items[1][price_data][product_data][colour]"
    nested = _refused(
        lambda: client.v1.customers.update(
            client.v1.customers.create(params={"name": "n"}).id,
            params={"invoice_settings": {"default_pm": "pm_x"}},  # type: ignore[typeddict-unknown-key]
        )
    )
    assert nested.code == "parameter_unknown" and nested.param == "invoice_settings[default_pm]"


def test_several_unknown_parameters_are_all_named(client: stripe.StripeClient) -> None:
    err = _refused(lambda: _session(client, colour="red", payment_intent_data={"tip": "1"}))
    assert err.code == "parameter_unknown"
    assert "Received unknown parameters: colour, payment_intent_data[tip]" in str(err.user_message)


def test_values_outside_an_enum_are_refused(client: stripe.StripeClient) -> None:
    err = _refused(lambda: _session(client, mode="subscribe"))
    assert err.param == "mode" and err.code is None  # Stripe names the param, sends no code
    assert "Invalid mode: must be one of payment, setup, or subscription" in str(err.user_message)
    nested = _refused(lambda: _session(client, line_items=[_line_item(tax_behavior="maybe")]))
    assert nested.param == "line_items[0][price_data][tax_behavior]"
    assert "must be one of exclusive, inclusive, or unspecified" in str(nested.user_message)
    listed = _refused(lambda: _session(client, allowed_payment_method_types=["card", "cheque"]))
    assert listed.param == "allowed_payment_method_types[1]"
    capture = _refused(
        lambda: client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "capture_method": "later"}  # type: ignore[typeddict-item]
        )
    )
    assert capture.param == "capture_method"


def test_wrong_shapes_are_refused(sandbox: SandboxServer, account: dict) -> None:
    def post(path: str, body: str) -> dict[str, Any]:
        resp = httpx.post(
            f"{sandbox.base_url}/v1/{path}",
            content=body,
            headers={
                "Authorization": f"Bearer {account['test']['secret_key']}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            trust_env=False,
        )
        assert resp.status_code == 400
        return dict(resp.json()["error"])

    assert post("customers", "metadata=abc") == {
        "type": "invalid_request_error",
        "message": "Invalid hash",
        "param": "metadata",
    }
    assert post("payment_intents", "amount=1000&currency=usd&expand=customer")["message"] == (
        "Invalid array"
    )
    assert post("customers", "name[0]=a")["param"] == "name"
    assert post("payment_intents", "amount=ten&currency=usd")["code"] == (
        "parameter_invalid_integer"
    )


def test_metadata_and_request_options_stay_free(client: stripe.StripeClient) -> None:
    s = _session(
        client,
        metadata={"any key": "any value", "nextoria_invoice_id": "7"},
        payment_intent_data={"metadata": {"x": "y"}, "description": "Invoice 7"},
        expand=["customer"],
    )
    assert s.metadata["any key"] == "any value"
    pi = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "metadata": {"a": "b"}},
        options={"idempotency_key": "strict-options-1"},
    )
    assert pi.metadata["a"] == "b"
    cleared = client.v1.payment_intents.update(pi.id, params={"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_payment_method_types_on_checkout_is_unknown(client: stripe.StripeClient) -> None:
    err = _refused(lambda: _session(client, payment_method_types=["card"]))
    assert err.code == "parameter_unknown" and err.param == "payment_method_types"


def test_payment_method_types_on_intents_is_no_longer_supported(
    client: stripe.StripeClient,
) -> None:
    code = "payment_method_types_no_longer_supported"
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    si = client.v1.setup_intents.create(params={})
    calls = {
        "payment_intent create": lambda: client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "payment_method_types": ["card"]}  # type: ignore[typeddict-unknown-key]
        ),
        "payment_intent update": lambda: client.v1.payment_intents.update(
            pi.id,
            params={"payment_method_types": ["card"]},  # type: ignore[typeddict-unknown-key]
        ),
        "payment_intent confirm": lambda: client.v1.payment_intents.confirm(
            pi.id,
            params={"payment_method": "pm_card_visa", "payment_method_types": ["card"]},  # type: ignore[typeddict-unknown-key]
        ),
        "setup_intent create": lambda: client.v1.setup_intents.create(
            params={"payment_method_types": ["card"]}  # type: ignore[typeddict-unknown-key]
        ),
        "setup_intent update": lambda: client.v1.setup_intents.update(
            si.id,
            params={"payment_method_types": ["card"]},  # type: ignore[typeddict-unknown-key]
        ),
    }
    codes = {name: (_refused(call).code, _refused(call).param) for name, call in calls.items()}
    assert codes == {name: (code, "payment_method_types") for name in calls}
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_refused_request_leaves_no_idempotency_record(client: stripe.StripeClient) -> None:
    key = {"idempotency_key": "strict-retry-after-fix"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"name": "x", "nmae": "y"}, options=key)  # type: ignore[typeddict-unknown-key]
    assert client.v1.customers.create(params={"name": "x"}, options=key).name == "x"


def test_raw_form_is_checked_the_same_way(sandbox: SandboxServer, account: dict) -> None:
    body = (
        "mode=payment&success_url=https%3A%2F%2Fx.example%2Fok&payment_method_types[]=card"
        "&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=700"
        "&line_items[0][price_data][product_data][name]=Audit"
    )
    resp = httpx.post(
        f"{sandbox.base_url}/v1/checkout/sessions",
        content=body,
        headers={
            "Authorization": f"Bearer {account['test']['secret_key']}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        trust_env=False,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "parameter_unknown"
    assert resp.json()["error"]["param"] == "payment_method_types"


def test_payment_method_types_are_computed(client: stripe.StripeClient) -> None:
    """Dynamic payment methods: what the account enables, narrowed by the request."""

    def types(currency: str, **extra: Any) -> list[str]:
        pi = client.v1.payment_intents.create(
            params={"amount": 1000, "currency": currency, **extra}  # type: ignore[typeddict-item]
        )
        return list(pi.payment_method_types)

    assert types("usd") == ["card", "us_bank_account"]
    assert types("eur") == ["card", "sepa_debit", "ideal"]
    assert types("gbp") == ["card"]
    assert types("eur", allowed_payment_method_types=["sepa_debit", "card"]) == [
        "sepa_debit",
        "card",
    ]
    assert types("usd", allowed_payment_method_types=["card", "sofort"]) == ["card"]
    assert types("eur", excluded_payment_method_types=["ideal"]) == ["card", "sepa_debit"]
    only_sofort = _refused(lambda: types("eur", allowed_payment_method_types=["sofort"]))
    assert only_sofort.param == "allowed_payment_method_types"
    setup = client.v1.setup_intents.create(params={})
    assert list(setup.payment_method_types) == ["card", "us_bank_account", "sepa_debit", "ideal"]
    narrowed = client.v1.setup_intents.update(
        setup.id, params={"allowed_payment_method_types": ["card"]}
    )
    assert list(narrowed.payment_method_types) == ["card"]
    assert list(_session(client).payment_method_types) == ["card", "us_bank_account"]
    card_only = _session(client, allowed_payment_method_types=["card"])
    assert list(card_only.payment_method_types) == ["card"]
    setup_session = client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "eur", "success_url": "https://x.example/ok"}
    )
    assert list(setup_session.payment_method_types) == ["card", "sepa_debit", "ideal"]
