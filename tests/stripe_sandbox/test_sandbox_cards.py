"""Each test card on-session and off-session, payment methods, setup intents, live refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe


def _card(number: str) -> dict[str, Any]:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    }


def _customer_with(client: stripe.StripeClient, pm_id: str) -> tuple[str, str]:
    cus = client.v1.customers.create(params={"name": "Card holder"})
    pm = client.v1.payment_methods.attach(pm_id, params={"customer": cus.id})
    return cus.id, pm.id


def _pay(client: stripe.StripeClient, pm: str, **extra: Any) -> stripe.PaymentIntent:
    params = {"amount": 2000, "currency": "usd", "payment_method": pm, "confirm": True, **extra}
    return client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "brand"), [("4242424242424242", "visa"), ("5555555555554444", "mastercard")]
)
def test_good_cards_succeed(client: stripe.StripeClient, number: str, brand: str) -> None:
    pm = client.v1.payment_methods.create(params=_card(number))  # type: ignore[arg-type]
    assert pm.card.brand == brand and pm.card.last4 == number[-4:]
    assert pm.card.exp_month == 12 and pm.card.exp_year == 2034
    pi = _pay(client, pm.id)
    assert pi.status == "succeeded" and pi.amount_received == 2000
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.paid and charge.status == "succeeded" and charge.payment_intent == pi.id
    assert charge.payment_method_details.card.brand == brand


def test_shortcuts_materialise_a_new_pm_each_use(client: stripe.StripeClient) -> None:
    first = _pay(client, "pm_card_visa")
    second = _pay(client, "pm_card_mastercard")
    third = _pay(client, "pm_card_visa")
    assert first.payment_method.startswith("pm_") and first.payment_method != "pm_card_visa"
    assert len({first.payment_method, second.payment_method, third.payment_method}) == 3
    assert client.v1.payment_methods.retrieve(second.payment_method).card.brand == "mastercard"


@pytest.mark.parametrize(
    ("pm", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "insufficient funds"),
        ("pm_card_chargeCustomerFail", "generic_decline", "Your card was declined."),
    ],
)
def test_declines_are_402_card_errors(
    client: stripe.StripeClient, pm: str, decline_code: str, message: str
) -> None:
    with pytest.raises(stripe.CardError) as exc:
        _pay(client, pm)
    err = exc.value
    assert err.http_status == 402 and err.code == "card_declined"
    body = err.json_body["error"]
    assert body["type"] == "card_error" and body["decline_code"] == decline_code
    assert message in body["message"]
    pi = body["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    assert pi["last_payment_error"]["decline_code"] == decline_code
    failed = client.v1.events.list(params={"type": "payment_intent.payment_failed"}).data[0]
    assert failed.data.object.id == pi["id"]
    assert failed.data.object.last_payment_error.code == "card_declined"
    assert client.v1.charges.retrieve(body["charge"]).status == "failed"


def test_card_numbers_behave_like_shortcuts(client: stripe.StripeClient) -> None:
    declined = client.v1.payment_methods.create(params=_card("4000000000000002"))  # type: ignore[arg-type]
    with pytest.raises(stripe.CardError) as exc:
        _pay(client, declined.id)
    assert exc.value.json_body["error"]["decline_code"] == "generic_decline"
    poor = client.v1.payment_methods.create(params=_card("4000000000009995"))  # type: ignore[arg-type]
    with pytest.raises(stripe.CardError) as exc:
        _pay(client, poor.id)
    assert exc.value.json_body["error"]["decline_code"] == "insufficient_funds"


def test_0341_attaches_but_never_charges(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create(params=_card("4000000000000341"))  # type: ignore[arg-type]
    cus_id, pm_id = _customer_with(client, pm.id)
    listed = client.v1.payment_methods.list(params={"customer": cus_id, "type": "card"})
    assert [p.id for p in listed.data] == [pm_id]
    with pytest.raises(stripe.CardError) as exc:
        _pay(client, pm_id, customer=cus_id, off_session=True)
    assert exc.value.json_body["error"]["decline_code"] == "generic_decline"


def test_3155_on_session_requires_action_then_authenticates(
    client: stripe.StripeClient, sandbox: Any
) -> None:
    pm = client.v1.payment_methods.create(params=_card("4000002500003155"))  # type: ignore[arg-type]
    pi = _pay(client, pm.id)
    assert pi.status == "requires_action"
    assert pi.next_action.type == "use_stripe_sdk"
    done = sandbox.control("POST", f"intents/{pi.id}/authenticate", {"outcome": "complete"})
    assert done["status"] == "succeeded"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_3155_authentication_failure(client: stripe.StripeClient, sandbox: Any) -> None:
    pi = _pay(client, "pm_card_authenticationRequired", return_url="https://shop.example/back")
    assert pi.status == "requires_action" and pi.next_action.type == "redirect_to_url"
    assert pi.next_action.redirect_to_url.url.startswith(sandbox.base_url)
    failed = sandbox.control("POST", f"intents/{pi.id}/authenticate", {"outcome": "fail"})
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"


def test_3155_off_session_is_402_and_leaves_pi_requires_payment_method(
    client: stripe.StripeClient,
) -> None:
    pm = client.v1.payment_methods.create(params=_card("4000002500003155"))  # type: ignore[arg-type]
    cus_id, pm_id = _customer_with(client, pm.id)
    with pytest.raises(stripe.CardError) as exc:
        _pay(client, pm_id, customer=cus_id, off_session=True)
    err = exc.value
    assert err.http_status == 402 and err.code == "authentication_required"
    body = err.json_body["error"]
    assert body["decline_code"] == "authentication_required"
    assert body["payment_intent"]["status"] == "requires_payment_method"
    pi = client.v1.payment_intents.retrieve(body["payment_intent"]["id"])
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "authentication_required"


def test_live_keys_refuse_test_cards(live_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        live_client.v1.payment_methods.create(params=_card("4242424242424242"))  # type: ignore[arg-type]
    assert exc.value.code == "card_declined"
    assert exc.value.user_message == (
        "Your card was declined. Your request was in live mode, but used a known test card."
    )
    with pytest.raises(stripe.CardError) as exc:
        _pay(live_client, "pm_card_visa")
    assert "live mode" in str(exc.value.user_message)


def test_incorrect_number(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params=_card("4242424242424241"))  # type: ignore[arg-type]
    assert exc.value.code == "incorrect_number"


def test_attach_detach_and_default_pm(client: stripe.StripeClient) -> None:
    cus_id, pm_id = _customer_with(client, "pm_card_visa")
    cus = client.v1.customers.update(
        cus_id, params={"invoice_settings": {"default_payment_method": pm_id}}
    )
    assert cus.invoice_settings.default_payment_method == pm_id
    detached = client.v1.payment_methods.detach(pm_id)
    assert detached.customer is None
    assert client.v1.customers.retrieve(cus_id).invoice_settings.default_payment_method is None
    assert client.v1.payment_methods.list(params={"customer": cus_id}).data == []


def test_setup_intent_attaches_on_success(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "Saver"})
    si = client.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "allowed_payment_method_types": ["card"],
            "metadata": {"a": "b"},
        }
    )
    assert si.status == "requires_payment_method"
    si = client.v1.setup_intents.confirm(si.id, params={"payment_method": "pm_card_visa"})
    assert si.status == "succeeded" and si.metadata["a"] == "b"
    assert client.v1.payment_methods.retrieve(si.payment_method).customer == cus.id
    types = [e.type for e in client.v1.events.list().data]
    assert "setup_intent.succeeded" in types
    with pytest.raises(stripe.CardError) as exc:
        client.v1.setup_intents.create(
            params={"customer": cus.id, "payment_method": "pm_card_chargeDeclined", "confirm": True}
        )
    assert exc.value.json_body["error"]["setup_intent"]["status"] == "requires_payment_method"


def test_cancel_and_confirm_states(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 900, "currency": "eur"})
    assert pi.status == "requires_payment_method"
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert pi.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    other = client.v1.payment_intents.create(params={"amount": 900, "currency": "eur"})
    assert client.v1.payment_intents.cancel(other.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 10, "currency": "usd"})
    assert exc.value.code == "amount_too_small"


def test_redirect_authentication_page_returns_to_return_url(client: stripe.StripeClient) -> None:
    pi = _pay(client, "pm_card_authenticationRequired", return_url="https://shop.example/back?x=1")
    url = pi.next_action.redirect_to_url.url
    page = httpx.get(url, trust_env=False)
    assert "Complete authentication" in page.text
    done = httpx.post(url, data={"outcome": "complete"}, trust_env=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith(
        f"https://shop.example/back?x=1&payment_intent={pi.id}&payment_intent_client_secret="
    )
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
