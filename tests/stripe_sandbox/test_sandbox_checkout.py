"""Checkout Sessions through the API, and the hosted page's form driven over plain HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def _session(client: stripe.StripeClient, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 12500,
                    "product_data": {"name": "Retainer — May"},
                },
                "quantity": 2,
            }
        ],
        "allowed_payment_method_types": ["card"],
        "metadata": {"invoice": "inv-7"},
        "payment_intent_data": {"metadata": {"tenant": "acme", "invoice": "inv-7"}},
        "client_reference_id": "ref-9",
        "success_url": "https://app.example/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example/cancel",
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def _submit(url: str, number: str, **fields: str) -> httpx.Response:
    data = {"cardnumber": number, "expiry": "12 / 34", "cvc": "123", "name": "Ada", **fields}
    return httpx.post(url, data=data, trust_env=False, follow_redirects=False)


def test_create_payment_session(client: stripe.StripeClient, sandbox: SandboxServer) -> None:
    s = _session(client)
    assert s.id.startswith("cs_test_") and s.object == "checkout.session"
    assert s.url == f"{sandbox.base_url}/c/pay/{s.id}"
    assert s.status == "open" and s.payment_status == "unpaid"
    assert s.amount_total == 25000 and s.currency == "eur"
    assert s.client_reference_id == "ref-9" and s.metadata["invoice"] == "inv-7"
    assert s.payment_intent is None
    assert 24 * 3600 - 60 <= s.expires_at - int(time.time()) <= 24 * 3600
    items = client.v1.checkout.sessions.line_items.list(s.id)
    assert items.data[0].quantity == 2 and items.data[0].description == "Retainer — May"
    assert client.v1.checkout.sessions.retrieve(s.id).id == s.id
    assert s.id in [x.id for x in client.v1.checkout.sessions.list().data]


def test_url_uses_the_address_the_request_came_to(sandbox: SandboxServer, account: dict) -> None:
    resp = httpx.post(
        f"http://localhost:{sandbox.port}/v1/checkout/sessions",
        data={"mode": "setup", "success_url": "https://x.example/ok", "currency": "usd"},
        headers={"Authorization": f"Bearer {account['test']['secret_key']}"},
        trust_env=False,
    )
    assert resp.status_code == 200
    assert resp.json()["url"].startswith(f"http://localhost:{sandbox.port}/c/pay/cs_test_")


def test_validation(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": "https://x"})
    assert exc.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _session(client, expires_at=int(time.time()) + 60)
    assert exc.value.param == "expires_at"


def test_expire_and_page_message(client: stripe.StripeClient) -> None:
    s = _session(client)
    expired = client.v1.checkout.sessions.expire(s.id)
    assert expired.status == "expired"
    page = httpx.get(s.url, trust_env=False)
    assert "expired" in page.text
    assert _submit(s.url, "4242424242424242").status_code == 200
    assert client.v1.checkout.sessions.retrieve(s.id).status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(s.id)
    types = [e.type for e in client.v1.events.list().data]
    assert "checkout.session.expired" in types


def test_pay_over_http_completes_with_metadata(client: stripe.StripeClient) -> None:
    s = _session(client)
    page = httpx.get(s.url, trust_env=False).text
    assert "Acme Studio" in page and "€250.00" in page and "Card number" in page
    resp = _submit(s.url, "4242 4242 4242 4242")
    assert resp.status_code == 303
    assert resp.headers["location"] == f"https://app.example/done?session_id={s.id}"
    done = client.v1.checkout.sessions.retrieve(s.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete" and done.payment_status == "paid"
    pi = done.payment_intent
    assert pi.status == "succeeded" and pi.amount == 25000 and pi.currency == "eur"
    assert pi.metadata.to_dict() == {"tenant": "acme", "invoice": "inv-7"}
    types = [e.type for e in client.v1.events.list().data]
    assert {"checkout.session.completed", "payment_intent.succeeded", "charge.succeeded"} <= set(
        types
    )
    completed = client.v1.events.list(params={"type": "checkout.session.completed"}).data[0]
    assert completed.data.object.payment_intent == pi.id
    assert completed.data.object.client_reference_id == "ref-9"
    assert "already complete" in httpx.get(s.url, trust_env=False).text


def test_decline_keeps_session_open(client: stripe.StripeClient) -> None:
    s = _session(client, customer=client.v1.customers.create(params={"name": "C"}).id)
    resp = _submit(s.url, "4000000000000002")
    assert resp.status_code == 200 and "Your card was declined." in resp.text
    resp = _submit(s.url, "4000000000009995")
    assert "Your card has insufficient funds." in resp.text
    again = client.v1.checkout.sessions.retrieve(s.id)
    assert again.status == "open" and again.payment_intent is None
    failed = client.v1.events.list(params={"type": "payment_intent.payment_failed"}).data
    assert len(failed) == 2 and failed[0].data.object.metadata["tenant"] == "acme"
    assert _submit(s.url, "4242424242424242").status_code == 303
    assert client.v1.checkout.sessions.retrieve(s.id).status == "complete"


def test_setup_mode_creates_customer_and_saves_card(client: stripe.StripeClient) -> None:
    s = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "allowed_payment_method_types": ["card"],
            "setup_intent_data": {"metadata": {"purpose": "autopay"}},
            "success_url": "https://app.example/saved/{CHECKOUT_SESSION_ID}",
        }
    )
    assert s.payment_status == "no_payment_required" and s.amount_total is None
    assert "Save card" in httpx.get(s.url, trust_env=False).text
    declined = _submit(s.url, "4000000000000002")
    assert "Your card was declined." in declined.text
    assert "incomplete" in _submit(s.url, "4242424242424242", expiry="1").text
    resp = _submit(s.url, "5555555555554444")
    assert resp.headers["location"] == f"https://app.example/saved/{s.id}"
    done = client.v1.checkout.sessions.retrieve(s.id, params={"expand": ["setup_intent"]})
    assert done.status == "complete" and done.customer.startswith("cus_")
    si = done.setup_intent
    assert si.status == "succeeded" and si.metadata["purpose"] == "autopay"
    pms = client.v1.payment_methods.list(params={"customer": done.customer, "type": "card"})
    assert [p.card.brand for p in pms.data] == ["mastercard"]
    types = [e.type for e in client.v1.events.list().data]
    assert "setup_intent.succeeded" in types and "checkout.session.completed" in types


def test_3155_authentication_over_http(client: stripe.StripeClient) -> None:
    s = _session(client)
    resp = _submit(s.url, "4000002500003155")
    assert resp.status_code == 303 and resp.headers["location"].endswith("/authenticate")
    auth_url = s.url + "/authenticate"
    assert "Complete authentication" in httpx.get(auth_url, trust_env=False).text
    failed = httpx.post(auth_url, data={"outcome": "fail"}, trust_env=False)
    assert "unable to authenticate" in failed.text
    assert client.v1.checkout.sessions.retrieve(s.id).status == "open"
    assert _submit(s.url, "4000002500003155").status_code == 303
    ok = httpx.post(auth_url, data={"outcome": "complete"}, trust_env=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith(s.id)
    assert client.v1.checkout.sessions.retrieve(s.id).status == "complete"


def test_live_session_refuses_test_card(live_client: stripe.StripeClient) -> None:
    s = _session(live_client)
    assert s.id.startswith("cs_live_") and s.livemode is True
    resp = _submit(s.url, "4242424242424242")
    assert "live mode, but used a known test card" in resp.text


def test_setup_mode_3155_needs_authentication(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "3ds"})
    s = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "customer": cus.id,
            "success_url": "https://app.example/ok",
        }
    )
    resp = _submit(s.url, "4000002500003155")
    assert resp.status_code == 303 and resp.headers["location"].endswith("/authenticate")
    ok = httpx.post(s.url + "/authenticate", data={"outcome": "complete"}, trust_env=False)
    assert ok.headers["location"] == "https://app.example/ok"
    pms = client.v1.payment_methods.list(params={"customer": cus.id}).data
    assert [p.card.last4 for p in pms] == ["3155"]


def test_unknown_session_page_is_404(sandbox: SandboxServer) -> None:
    resp = httpx.get(f"{sandbox.base_url}/c/pay/cs_test_missing", trust_env=False)
    assert resp.status_code == 404 and "does not exist" in resp.text
