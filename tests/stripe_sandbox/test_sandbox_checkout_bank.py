"""Bank debits on the hosted Checkout page (payment and setup mode), driven over plain HTTP.

Debits stay ``processing`` until the settle control (the module's server waits an hour), so
each event sequence is checked in full, in the order one endpoint received it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.testing import (
    SandboxServer,
    WebhookReceiver,
    submit_checkout,
    submit_checkout_bank,
)

ACH_OK = {
    "ach_name": "Jenny Rosen",
    "routing_number": "110000000",
    "account_number": "000123456789",
}


@pytest.fixture(scope="module")
def slow() -> Iterator[SandboxServer]:
    with SandboxServer(retry_initial_delay=0.05, bank_settle_seconds=3600) as server:
        yield server


@pytest.fixture
def sc(slow: SandboxServer) -> stripe.StripeClient:
    keys = slow.create_account("Bank Co", "https://bank.example")
    return slow.client(keys["test"]["secret_key"])


def _session(
    client: stripe.StripeClient, currency: str, methods: list[str], mode: str = "payment"
) -> Any:
    params: dict[str, Any] = {
        "mode": mode,
        "allowed_payment_method_types": methods,
        "success_url": "https://app.example/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example/cancel",
    }
    if mode == "payment":
        params["line_items"] = [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": 9900,
                    "product_data": {"name": "Invoice INV-7"},
                },
                "quantity": 1,
            }
        ]
        params["customer_email"] = "jenny@example.test"
    else:
        params["currency"] = currency
        params["customer"] = client.v1.customers.create(params={"name": "Jenny"}).id
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def _events(receiver: WebhookReceiver, ids: set[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for e in receiver.events():
        obj = e["data"]["object"]
        if ids & {obj.get("id"), obj.get("payment_intent")}:
            out.append((e["type"], obj))
    return out


def test_page_offers_the_sessions_methods(sc: stripe.StripeClient) -> None:
    usd = _session(sc, "usd", ["card", "us_bank_account"])
    text = httpx.get(usd.url, trust_env=False).text
    assert "Card number" in text and "Routing number" in text and "Account number" in text
    assert "Apple Pay and Google Pay are cards" in text
    assert "Pay with US bank account" in text and "IBAN" not in text
    eur = _session(sc, "eur", ["sepa_debit", "ideal"])
    text = httpx.get(eur.url, trust_env=False).text
    assert "IBAN" in text and "Pay with SEPA Direct Debit" in text and "Pay with iDEAL" in text
    assert "Card number" not in text and "Apple Pay" not in text
    assert "Routing number" not in text
    # a card posted to a session without card is refused, and the session stays open
    refused = submit_checkout(eur.url)
    assert refused.status_code == 200 and "does not accept card" in refused.text
    assert sc.v1.checkout.sessions.retrieve(eur.id).status == "open"


@pytest.mark.parametrize(
    ("fields", "ok", "code"),
    [
        (ACH_OK, True, None),
        ({**ACH_OK, "account_number": "000111111113"}, False, "account_closed"),
        ({**ACH_OK, "account_number": "000111111116"}, False, "no_account"),
        ({**ACH_OK, "account_number": "000222222227"}, False, "insufficient_funds"),
        ({**ACH_OK, "account_number": "000333333335"}, False, "debit_not_authorized"),
    ],
)
def test_ach_on_the_hosted_page(
    sc: stripe.StripeClient,
    slow: SandboxServer,
    receiver: WebhookReceiver,
    fields: dict[str, str],
    ok: bool,
    code: str | None,
) -> None:
    sc.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
    s = _session(sc, "usd", ["card", "us_bank_account"])
    resp = submit_checkout_bank(s.url, "us_bank_account", fields)
    assert resp.status_code == 303
    assert resp.headers["location"] == f"https://app.example/done?session_id={s.id}"
    done = sc.v1.checkout.sessions.retrieve(s.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete" and done.payment_status == "unpaid"
    pi = done.payment_intent
    assert pi.status == "processing"
    pm = sc.v1.payment_methods.retrieve(pi.payment_method)
    assert pm.billing_details.name == "Jenny Rosen"
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    mandate = sc.v1.mandates.retrieve(charge.payment_method_details.us_bank_account.mandate)
    assert mandate.customer_acceptance.type == "online"
    ids = {s.id, pi.id}
    assert receiver.wait_for(lambda _: len(_events(receiver, ids)) >= 4)
    slow.control("POST", f"intents/{pi.id}/settle")
    assert receiver.wait_for(lambda _: len(_events(receiver, ids)) >= 7)
    slow.wait_for_deliveries()
    seen = _events(receiver, ids)
    types = [t for t, _ in seen]
    head = [
        "payment_intent.created",
        "payment_intent.processing",
        "charge.pending",
        "checkout.session.completed",
    ]
    if ok:
        tail = [
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.async_payment_succeeded",
        ]
    else:
        tail = [
            "charge.failed",
            "payment_intent.payment_failed",
            "checkout.session.async_payment_failed",
        ]
    assert types == head + tail
    assert seen[3][1]["payment_status"] == "unpaid"
    assert seen[-1][1]["payment_status"] == ("paid" if ok else "unpaid")
    after = sc.v1.payment_intents.retrieve(pi.id)
    if ok:
        assert after.status == "succeeded"
        assert sc.v1.checkout.sessions.retrieve(s.id).payment_status == "paid"
    else:
        assert after.status == "requires_payment_method" and after.last_payment_error.code == code


@pytest.mark.parametrize(
    ("iban", "ok"),
    [
        ("AT321904300235473204", True),
        ("DE89370400440532013000", True),
        ("AT861904300235473202", False),
    ],
)
def test_sepa_on_the_hosted_page(
    sc: stripe.StripeClient, slow: SandboxServer, iban: str, ok: bool
) -> None:
    s = _session(sc, "eur", ["card", "sepa_debit"])
    resp = submit_checkout_bank(
        s.url, "sepa_debit", {"sepa_name": "Jenny Rosen", "iban": iban[:4] + " " + iban[4:]}
    )
    assert resp.status_code == 303
    done = sc.v1.checkout.sessions.retrieve(s.id)
    assert done.status == "complete" and done.payment_status == "unpaid"
    pi = sc.v1.payment_intents.retrieve(done.payment_intent)
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert sc.v1.mandates.retrieve(charge.payment_method_details.sepa_debit.mandate).status == (
        "active"
    )
    slow.control("POST", f"intents/{pi.id}/settle")
    assert sc.v1.payment_intents.retrieve(pi.id).status == (
        "succeeded" if ok else "requires_payment_method"
    )
    assert sc.v1.checkout.sessions.retrieve(s.id).payment_status == ("paid" if ok else "unpaid")


def test_bank_form_errors_keep_the_session_open(sc: stripe.StripeClient) -> None:
    s = _session(sc, "eur", ["sepa_debit"])
    bad = submit_checkout_bank(s.url, "sepa_debit", {"sepa_name": "Jenny", "iban": "AT00 1234"})
    assert bad.status_code == 200 and "IBAN is invalid" in bad.text
    nameless = submit_checkout_bank(s.url, "sepa_debit", {"iban": "DE89370400440532013000"})
    assert "account holder" in nameless.text
    assert sc.v1.checkout.sessions.retrieve(s.id).status == "open"


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_ideal_bank_page(sc: stripe.StripeClient, outcome: str) -> None:
    s = _session(sc, "eur", ["card", "ideal"])
    resp = submit_checkout_bank(s.url, "ideal", {"ideal_bank": "rabobank"})
    assert resp.status_code == 303 and resp.headers["location"] == f"/c/pay/{s.id}/authenticate"
    auth_url = f"{s.url}/authenticate"
    page = httpx.get(auth_url, trust_env=False)
    assert "iDEAL test bank" in page.text and "Fail test payment" in page.text
    back = httpx.post(auth_url, data={"outcome": outcome}, trust_env=False)
    done = sc.v1.checkout.sessions.retrieve(s.id)
    if outcome == "complete":
        assert back.status_code == 303 and done.status == "complete"
        assert done.payment_status == "paid"
        pi = sc.v1.payment_intents.retrieve(done.payment_intent)
        assert pi.status == "succeeded"
        pm = sc.v1.payment_methods.retrieve(pi.payment_method)
        assert pm.type == "ideal" and pm.ideal.bank == "rabobank"
    else:
        assert back.status_code == 200 and "unable to authenticate" in back.text
        assert done.status == "open"


def test_setup_mode_saves_bank_accounts(sc: stripe.StripeClient) -> None:
    ach = _session(sc, "usd", ["card", "us_bank_account"], mode="setup")
    assert submit_checkout_bank(ach.url, "us_bank_account", ACH_OK).status_code == 303
    done = sc.v1.checkout.sessions.retrieve(ach.id, params={"expand": ["setup_intent"]})
    si = done.setup_intent
    assert done.status == "complete" and si.status == "succeeded"
    pm = sc.v1.payment_methods.retrieve(si.payment_method)
    assert pm.type == "us_bank_account" and pm.customer == done.customer
    assert sc.v1.mandates.retrieve(si.mandate).type == "multi_use"

    sepa = _session(sc, "eur", ["sepa_debit", "ideal"], mode="setup")
    text = httpx.get(sepa.url, trust_env=False).text
    assert "Save SEPA Direct Debit" in text and "Save iDEAL" in text
    resp = submit_checkout_bank(
        sepa.url, "sepa_debit", {"sepa_name": "Jenny Rosen", "iban": "DE89370400440532013000"}
    )
    assert resp.status_code == 303
    si = sc.v1.setup_intents.retrieve(sc.v1.checkout.sessions.retrieve(sepa.id).setup_intent)
    assert si.status == "succeeded"
    assert sc.v1.mandates.retrieve(si.mandate).payment_method_details.type == "sepa_debit"

    ideal = _session(sc, "eur", ["ideal"], mode="setup")
    assert submit_checkout_bank(ideal.url, "ideal", {"ideal_bank": "ing"}).status_code == 303
    back = httpx.post(f"{ideal.url}/authenticate", data={"outcome": "complete"}, trust_env=False)
    assert back.status_code == 303
    si = sc.v1.setup_intents.retrieve(sc.v1.checkout.sessions.retrieve(ideal.id).setup_intent)
    saved = sc.v1.payment_methods.retrieve(si.payment_method)
    assert si.status == "succeeded" and saved.type == "sepa_debit"
    assert saved.sepa_debit.generated_from.setup_attempt
    assert sc.v1.mandates.retrieve(si.mandate).payment_method == saved.id
