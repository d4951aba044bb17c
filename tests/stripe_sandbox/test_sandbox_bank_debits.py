"""Bank debits through the API: ACH, SEPA and iDEAL test data, mandates, settlement and events.

A server of this module keeps debits ``processing`` for an hour, so every settlement in these
tests is the explicit ``/_sandbox/intents/{id}/settle`` control (no waiting on a timer);
the automatic timer and its survival across a restart have tests of their own servers.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.fixtures import raw_fixtures
from stripe_sandbox.testing import SandboxServer, WebhookReceiver

ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.10", "user_agent": "pytest"},
    }
}
ACH = [
    ("000123456789", "pm_usBankAccount_success", None),
    ("000111111113", "pm_usBankAccount_accountClosed", "account_closed"),
    ("000111111116", "pm_usBankAccount_noAccount", "no_account"),
    ("000222222227", "pm_usBankAccount_insufficientFunds", "insufficient_funds"),
    ("000333333335", "pm_usBankAccount_debitNotAuthorized", "debit_not_authorized"),
]
SEPA = [
    ("AT321904300235473204", True),
    ("DE89370400440532013000", True),
    ("AT861904300235473202", False),
]


@pytest.fixture(scope="module")
def slow() -> Iterator[SandboxServer]:
    with SandboxServer(retry_initial_delay=0.05, bank_settle_seconds=3600) as server:
        yield server


@pytest.fixture
def sc(slow: SandboxServer) -> stripe.StripeClient:
    keys = slow.create_account("Bank Co", "https://bank.example")
    return slow.client(keys["test"]["secret_key"])


def missing_keys(example: Any, actual: Any, path: str = "") -> list[str]:
    """Keys of Stripe's example object absent from ``actual`` (recursively; null is present)."""
    if isinstance(example, dict) and isinstance(actual, dict):
        out = []
        for key, value in example.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(where)
            elif key != "metadata":
                out.extend(missing_keys(value, actual[key], where))
        return out
    return []


def assert_shape(resource: str, obj: Any) -> None:
    example = raw_fixtures().get(resource)
    assert example, f"fixtures3.json has no {resource} example"
    assert missing_keys(example, obj.to_dict()) == []


def _ach_pm(client: stripe.StripeClient, account: str) -> Any:
    return client.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {
                "routing_number": "110000000",
                "account_number": account,
                "account_holder_type": "individual",
            },
            "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.test"},
        }
    )


def _debit(client: stripe.StripeClient, currency: str, mandate: bool = True, **extra: Any) -> Any:
    """Create and confirm a PaymentIntent, with the customer's online mandate acceptance."""
    params: dict[str, Any] = {"amount": 2500, "currency": currency, "confirm": True, **extra}
    if mandate:
        params["mandate_data"] = ACCEPTANCE
    return client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]


def _settle(server: SandboxServer, pi_id: str) -> dict[str, Any]:
    result: dict[str, Any] = server.control("POST", f"intents/{pi_id}/settle")
    return result


@pytest.mark.parametrize(("account", "shortcut", "code"), ACH)
def test_ach_account_numbers(
    sc: stripe.StripeClient, slow: SandboxServer, account: str, shortcut: str, code: str | None
) -> None:
    pm = _ach_pm(sc, account)
    assert pm.type == "us_bank_account" and pm.us_bank_account.last4 == account[-4:]
    assert pm.us_bank_account.bank_name == "STRIPE TEST BANK"
    assert pm.us_bank_account.routing_number == "110000000"
    assert_shape("payment_method", pm)
    pi = _debit(sc, "usd", payment_method=pm.id, allowed_payment_method_types=["us_bank_account"])
    assert pi.status == "processing" and pi.amount_received == 0
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "pending" and charge.paid is False
    assert charge.payment_method_details.type == "us_bank_account"
    mandate = sc.v1.mandates.retrieve(charge.payment_method_details.us_bank_account.mandate)
    assert mandate.type == "single_use" and mandate.payment_method == pm.id
    settled = _settle(slow, pi.id)
    pi = sc.v1.payment_intents.retrieve(pi.id)
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert settled["status"] == pi.status
    if code is None:
        assert pi.status == "succeeded" and pi.amount_received == 2500
        assert charge.status == "succeeded" and charge.paid is True
    else:
        assert pi.status == "requires_payment_method" and pi.payment_method is None
        assert pi.last_payment_error.code == code
        assert pi.last_payment_error.decline_code == "generic_decline"
        assert pi.last_payment_error.payment_method.id == pm.id
        assert charge.status == "failed" and charge.failure_code == code
        assert charge.failure_message


@pytest.mark.parametrize(("account", "shortcut", "code"), ACH)
def test_ach_payment_method_shortcuts(
    sc: stripe.StripeClient, slow: SandboxServer, account: str, shortcut: str, code: str | None
) -> None:
    pi = _debit(
        sc, "usd", payment_method=shortcut, allowed_payment_method_types=["us_bank_account"]
    )
    assert pi.status == "processing"
    pm = sc.v1.payment_methods.retrieve(pi.payment_method)
    assert (
        pm.id.startswith("pm_") and pm.id != shortcut and pm.us_bank_account.last4 == account[-4:]
    )
    _settle(slow, pi.id)
    pi = sc.v1.payment_intents.retrieve(pi.id)
    if code is None:
        assert pi.status == "succeeded"
    else:
        assert pi.status == "requires_payment_method" and pi.last_payment_error.code == code


def test_ach_refusals(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as bad_routing:
        sc.v1.payment_methods.create(
            params={
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": "110000001",
                    "account_number": "000123456789",
                },
            }
        )
    assert bad_routing.value.param == "us_bank_account[routing_number]"
    with pytest.raises(stripe.InvalidRequestError) as euro:
        _debit(
            sc,
            "eur",
            payment_method="pm_usBankAccount_success",
            allowed_payment_method_types=["us_bank_account"],
        )
    # ACH is USD only: in EUR nothing of the allowed list is left
    assert euro.value.param == "allowed_payment_method_types"
    assert "EUR" in str(euro.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as not_allowed:
        _debit(
            sc,
            "usd",
            payment_method="pm_usBankAccount_success",
            allowed_payment_method_types=["card"],
        )
    assert not_allowed.value.code == "payment_intent_incompatible_payment_method"
    pm = _ach_pm(sc, "000123456789")
    with pytest.raises(stripe.InvalidRequestError) as no_mandate:
        sc.v1.payment_intents.create(
            params={
                "amount": 2500,
                "currency": "usd",
                "payment_method": pm.id,
                "allowed_payment_method_types": ["us_bank_account"],
                "confirm": True,
            }
        )
    assert "mandate" in str(no_mandate.value.user_message)
    left = sc.v1.payment_intents.list().data[0]
    assert left.status == "requires_confirmation", "Stripe keeps the PaymentIntent it refused"


@pytest.mark.parametrize(("iban", "ok"), SEPA)
def test_sepa_ibans_and_mandate(
    sc: stripe.StripeClient, slow: SandboxServer, iban: str, ok: bool
) -> None:
    pi = _debit(
        sc,
        "eur",
        payment_method_data={
            "type": "sepa_debit",
            "sepa_debit": {"iban": iban},
            "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.test"},
        },
        allowed_payment_method_types=["sepa_debit"],
    )
    assert pi.status == "processing"
    pm = sc.v1.payment_methods.retrieve(pi.payment_method)
    assert pm.type == "sepa_debit" and pm.sepa_debit.last4 == iban[-4:]
    assert pm.sepa_debit.country == iban[:2]
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    mandate_id = charge.payment_method_details.sepa_debit.mandate
    assert mandate_id.startswith("mandate_")
    mandate = sc.v1.mandates.retrieve(mandate_id)
    assert mandate.status == "active" and mandate.payment_method == pm.id
    assert mandate.payment_method_details.type == "sepa_debit"
    assert mandate.payment_method_details.sepa_debit.reference
    assert mandate.customer_acceptance.online.ip_address == "203.0.113.10"
    assert_shape("mandate", mandate)
    assert_shape("charge", charge)
    _settle(slow, pi.id)
    pi = sc.v1.payment_intents.retrieve(pi.id)
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    if ok:
        assert pi.status == "succeeded" and charge.status == "succeeded"
    else:
        assert pi.status == "requires_payment_method"
        assert pi.last_payment_error.code == "payment_intent_payment_attempt_failed"
        assert charge.status == "failed" and charge.failure_code == "incorrect_account_holder_name"


def test_sepa_refusals(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sc.v1.payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": "AT861904300235473203"}}
        )
    assert bad.value.param == "sepa_debit[iban]"
    with pytest.raises(stripe.InvalidRequestError):
        _debit(
            sc,
            "usd",
            payment_method_data={
                "type": "sepa_debit",
                "sepa_debit": {"iban": "DE89370400440532013000"},
            },
            allowed_payment_method_types=["sepa_debit"],
        )
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sc.v1.mandates.retrieve("mandate_nope")
    assert missing.value.code == "resource_missing"


def test_setup_intent_saves_sepa_mandate_for_off_session_debits(
    sc: stripe.StripeClient, slow: SandboxServer
) -> None:
    cus = sc.v1.customers.create(params={"name": "Jenny"})
    si = sc.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "allowed_payment_method_types": ["sepa_debit"],
            "payment_method_data": {
                "type": "sepa_debit",
                "sepa_debit": {"iban": "DE89370400440532013000"},
                "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.test"},
            },
            "mandate_data": ACCEPTANCE,
            "confirm": True,
        }
    )
    assert si.status == "succeeded" and si.mandate.startswith("mandate_")
    mandate = sc.v1.mandates.retrieve(si.mandate)
    assert mandate.type == "multi_use" and mandate.payment_method == si.payment_method
    pm = sc.v1.payment_methods.retrieve(si.payment_method)
    assert pm.customer == cus.id
    pi = sc.v1.payment_intents.create(
        params={
            "amount": 4000,
            "currency": "eur",
            "customer": cus.id,
            "payment_method": pm.id,
            "allowed_payment_method_types": ["sepa_debit"],
            "off_session": True,
            "confirm": True,
        }
    )
    assert pi.status == "processing"
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.sepa_debit.mandate == si.mandate
    _settle(slow, pi.id)
    assert sc.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert sc.v1.mandates.retrieve(si.mandate).status == "active"


def test_setup_intent_with_ach_shortcut(sc: stripe.StripeClient) -> None:
    cus = sc.v1.customers.create(params={"name": "Sam"})
    si = sc.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method": "pm_usBankAccount_success",
        }
    )
    assert si.status == "requires_confirmation"
    si = sc.v1.setup_intents.confirm(si.id, params={"mandate_data": ACCEPTANCE})
    assert si.status == "succeeded" and si.mandate
    assert sc.v1.payment_methods.retrieve(si.payment_method).customer == cus.id


def _hook(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})


def _types(receiver: WebhookReceiver, pi_id: str) -> list[str]:
    out = []
    for e in receiver.events():
        obj = e["data"]["object"]
        if pi_id in {obj.get("id"), obj.get("payment_intent")}:
            out.append(e["type"])
    return out


@pytest.mark.parametrize(
    ("shortcut", "tail"),
    [
        ("pm_usBankAccount_success", ["charge.succeeded", "payment_intent.succeeded"]),
        ("pm_usBankAccount_insufficientFunds", ["charge.failed", "payment_intent.payment_failed"]),
    ],
)
def test_event_sequence(
    sc: stripe.StripeClient,
    slow: SandboxServer,
    receiver: WebhookReceiver,
    shortcut: str,
    tail: list[str],
) -> None:
    _hook(sc, receiver)
    pi = _debit(
        sc, "usd", payment_method=shortcut, allowed_payment_method_types=["us_bank_account"]
    )
    head = ["payment_intent.created", "payment_intent.processing", "charge.pending"]
    assert receiver.wait_for(lambda _: len(_types(receiver, pi.id)) >= 3)
    _settle(slow, pi.id)
    assert receiver.wait_for(lambda _: len(_types(receiver, pi.id)) >= 5)
    slow.wait_for_deliveries()
    assert _types(receiver, pi.id) == head + tail


def test_settle_control_refuses_what_is_not_processing(
    sc: stripe.StripeClient, slow: SandboxServer
) -> None:
    pi = sc.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(httpx.HTTPStatusError) as err:
        _settle(slow, pi.id)
    assert err.value.response.status_code == 400


def test_ideal_redirect_authorize_and_fail(sc: stripe.StripeClient) -> None:
    made = []
    for outcome in ("complete", "fail"):
        pi = _debit(
            sc,
            "eur",
            payment_method_data={"type": "ideal", "ideal": {"bank": "ing"}},
            allowed_payment_method_types=["ideal"],
            return_url="https://app.example/back",
            mandate=False,
        )
        assert pi.status == "requires_action" and pi.next_action.type == "redirect_to_url"
        url = pi.next_action.redirect_to_url.url
        page = httpx.get(url, trust_env=False)
        assert "iDEAL" in page.text and "Authorize test payment" in page.text
        back = httpx.post(url, data={"outcome": outcome}, trust_env=False)
        assert back.status_code == 303
        assert back.headers["location"].startswith(
            f"https://app.example/back?payment_intent={pi.id}"
        )
        made.append(sc.v1.payment_intents.retrieve(pi.id))
    ok, failed = made
    assert ok.status == "succeeded"
    charge = sc.v1.charges.retrieve(ok.latest_charge)
    assert charge.payment_method_details.type == "ideal"
    assert charge.payment_method_details.ideal.bank == "ing"
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"


def test_zero_seconds_settles_at_once(receiver: WebhookReceiver) -> None:
    with SandboxServer(retry_initial_delay=0.05, bank_settle_seconds=0) as server:
        keys = server.create_account("Quick")
        client = server.client(keys["test"]["secret_key"])
        _hook(client, receiver)
        pi = _debit(
            client,
            "usd",
            payment_method="pm_usBankAccount_success",
            allowed_payment_method_types=["us_bank_account"],
        )
        assert pi.status == "processing"
        assert receiver.wait_for(lambda _: "payment_intent.succeeded" in _types(receiver, pi.id))
        assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_pending_settlement_survives_a_restart(tmp_path: Path, receiver: WebhookReceiver) -> None:
    db = str(tmp_path / "sandbox.db")
    with SandboxServer(db, retry_initial_delay=0.05, bank_settle_seconds=3600) as first:
        keys = first.create_account("Durable")
        client = first.client(keys["test"]["secret_key"])
        _hook(client, receiver)
        pi = _debit(
            client,
            "usd",
            payment_method="pm_usBankAccount_noAccount",
            allowed_payment_method_types=["us_bank_account"],
        )
        assert pi.status == "processing"
        first.wait_for_deliveries()
    # The due time is stored with the PaymentIntent. Move it into the past, as if the
    # sandbox had been down past it; the next server must settle it on its own.
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute("SELECT data FROM objects WHERE id = ?", (pi.id,)).fetchone()
        stored = json.loads(raw)
        assert stored["_sb"]["settle_at"] > time.time()
        stored["_sb"]["settle_at"] = time.time() - 1
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (json.dumps(stored), pi.id))
    with SandboxServer(db, retry_initial_delay=0.05, bank_settle_seconds=3600) as second:
        assert receiver.wait_for(
            lambda _: "payment_intent.payment_failed" in _types(receiver, pi.id)
        )
        client = second.client(keys["test"]["secret_key"])
        done = client.v1.payment_intents.retrieve(pi.id)
        assert done.status == "requires_payment_method"
        assert done.last_payment_error.code == "no_account"


def test_serve_takes_bank_settle_seconds() -> None:
    from stripe_sandbox.cli import build_parser

    assert build_parser().parse_args(["serve"]).bank_settle_seconds == 5.0
    args = build_parser().parse_args(["serve", "--bank-settle-seconds", "0"])
    assert args.bank_settle_seconds == 0.0


def test_canceling_a_processing_debit_stops_its_settlement(
    sc: stripe.StripeClient, slow: SandboxServer
) -> None:
    pi = _debit(
        sc,
        "usd",
        payment_method="pm_usBankAccount_success",
        allowed_payment_method_types=["us_bank_account"],
    )
    assert sc.v1.payment_intents.cancel(pi.id).status == "canceled"
    with pytest.raises(httpx.HTTPStatusError) as err:
        _settle(slow, pi.id)
    assert err.value.response.status_code == 400
    assert sc.v1.payment_intents.retrieve(pi.id).status == "canceled"
