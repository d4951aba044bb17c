"""Disputes (card 0259), refunds that fail later (card 5126) and Checkout Session expiry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.fixtures import raw_fixtures
from stripe_sandbox.testing import SandboxServer, WebhookReceiver, submit_checkout

# Refunds of the refund-fail card fail after the settle delay: an hour here, so the control
# decides when; one test uses a server of its own with 0 for the automatic path.


@pytest.fixture(scope="module")
def slow() -> Iterator[SandboxServer]:
    with SandboxServer(retry_initial_delay=0.05, bank_settle_seconds=3600) as server:
        yield server


@pytest.fixture
def sc(slow: SandboxServer) -> stripe.StripeClient:
    keys = slow.create_account("Dispute Co", "https://disputes.example")
    return slow.client(keys["test"]["secret_key"])


def _hook(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})


def _pay(client: stripe.StripeClient, pm: str) -> Any:
    return client.v1.payment_intents.create(
        params={"amount": 7500, "currency": "usd", "payment_method": pm, "confirm": True}
    )


def _types(receiver: WebhookReceiver, ids: set[str]) -> list[str]:
    out = []
    for e in receiver.events():
        obj = e["data"]["object"]
        if ids & {obj.get("id"), obj.get("payment_intent"), obj.get("charge")}:
            out.append(e["type"])
    return out


def _missing(example: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(example, dict) and isinstance(actual, dict):
        out = []
        for key, value in example.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(where)
            elif key != "metadata":
                out.extend(_missing(value, actual[key], where))
        return out
    return []


def _card_pm(client: stripe.StripeClient, number: str) -> str:
    pm = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}}
    )
    return str(pm.id)


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_create_dispute_card_opens_a_dispute(
    sc: stripe.StripeClient, slow: SandboxServer, receiver: WebhookReceiver, outcome: str
) -> None:
    _hook(sc, receiver)
    pi = _pay(sc, "pm_card_createDispute")
    assert pi.status == "succeeded"
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert charge.disputed is True
    disputes = sc.v1.disputes.list(params={"charge": charge.id}).data
    assert len(disputes) == 1
    dispute = sc.v1.disputes.retrieve(disputes[0].id)
    assert dispute.id.startswith("dp_") and dispute.status == "needs_response"
    assert dispute.amount == 7500 and dispute.currency == "usd"
    assert dispute.payment_intent == pi.id and dispute.reason == "fraudulent"
    assert dispute.evidence_details.due_by > time.time()
    assert _missing(raw_fixtures()["dispute"], dispute.to_dict()) == []
    closed = slow.control("POST", f"disputes/{dispute.id}/close", {"outcome": outcome})
    assert closed["status"] == outcome
    assert sc.v1.disputes.retrieve(dispute.id).status == outcome
    ids = {pi.id, charge.id, dispute.id}
    want = [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    if outcome == "won":
        want.append("charge.dispute.funds_reinstated")
    assert receiver.wait_for(lambda _: len(_types(receiver, ids)) >= len(want))
    slow.wait_for_deliveries()
    assert _types(receiver, ids) == want
    with pytest.raises(httpx.HTTPStatusError):
        slow.control("POST", f"disputes/{dispute.id}/close", {"outcome": "won"})


def test_dispute_card_number_and_accepting_through_the_api(sc: stripe.StripeClient) -> None:
    pi = _pay(sc, _card_pm(sc, "4000000000000259"))
    dispute = sc.v1.disputes.list(params={"payment_intent": pi.id}).data[0]
    updated = sc.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "Signed contract"}, "submit": True}
    )
    assert updated.status == "under_review" and updated.evidence_details.has_evidence is True
    accepted = sc.v1.disputes.close(dispute.id)
    assert accepted.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        sc.v1.disputes.close(dispute.id)
    assert _pay(sc, "pm_card_visa").status == "succeeded"
    assert len(sc.v1.disputes.list().data) == 1, "an ordinary card opens no dispute"


def test_refund_fail_card(
    sc: stripe.StripeClient, slow: SandboxServer, receiver: WebhookReceiver
) -> None:
    _hook(sc, receiver)
    pi = _pay(sc, "pm_card_refundFail")
    refund = sc.v1.refunds.create(params={"payment_intent": pi.id})
    assert refund.status == "succeeded", "Stripe shows it succeeded until the bank answers"
    assert _missing(raw_fixtures()["refund"], refund.to_dict()) == []
    assert sc.v1.charges.retrieve(pi.latest_charge).refunded is True
    failed = slow.control("POST", f"refunds/{refund.id}/settle")
    assert failed["status"] == "failed"
    refund = sc.v1.refunds.retrieve(refund.id)
    assert refund.status == "failed" and refund.failure_reason == "expired_or_canceled_card"
    charge = sc.v1.charges.retrieve(pi.latest_charge)
    assert charge.refunded is False and charge.amount_refunded == 0
    ids = {pi.id, refund.id, charge.id}
    want = [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
        "charge.refund.updated",
        "refund.updated",
        "refund.failed",
    ]
    assert receiver.wait_for(lambda _: len(_types(receiver, ids)) >= len(want))
    slow.wait_for_deliveries()
    assert _types(receiver, ids) == want
    with pytest.raises(httpx.HTTPStatusError):
        slow.control("POST", f"refunds/{refund.id}/settle")
    # An ordinary refund has nothing pending.
    plain = sc.v1.refunds.create(params={"payment_intent": _pay(sc, "pm_card_visa").id})
    with pytest.raises(httpx.HTTPStatusError):
        slow.control("POST", f"refunds/{plain.id}/settle")


def test_refund_fail_card_number_fails_on_its_own(receiver: WebhookReceiver) -> None:
    with SandboxServer(retry_initial_delay=0.05, bank_settle_seconds=0) as server:
        keys = server.create_account("Quick")
        client = server.client(keys["test"]["secret_key"])
        _hook(client, receiver)
        pi = _pay(client, _card_pm(client, "4000000000005126"))
        refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 2500})
        assert receiver.wait_for(lambda _: "refund.failed" in _types(receiver, {refund.id}))
        assert client.v1.refunds.retrieve(refund.id).status == "failed"


def _session(client: stripe.StripeClient, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "payment",
        "allowed_payment_method_types": ["card", "us_bank_account"],
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1500,
                    "product_data": {"name": "Hours"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "https://app.example/done",
        **extra,
    }
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def test_expires_at_bounds(sc: stripe.StripeClient) -> None:
    now = int(time.time())
    for bad in (now + 10 * 60, now + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as err:
            _session(sc, expires_at=bad)
        assert err.value.param == "expires_at" and err.value.http_status == 400
    assert _session(sc, expires_at=now + 3600).expires_at == now + 3600
    default = _session(sc)
    assert default.expires_at - default.created == 24 * 3600


def test_expire_endpoint_and_control(
    sc: stripe.StripeClient, slow: SandboxServer, receiver: WebhookReceiver
) -> None:
    _hook(sc, receiver)
    by_api = _session(sc)
    expired = sc.v1.checkout.sessions.expire(by_api.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        sc.v1.checkout.sessions.expire(by_api.id)
    by_clock = _session(sc)
    after = slow.control("POST", f"checkout/sessions/{by_clock.id}/expire_now")
    assert after["status"] == "expired"
    assert sc.v1.checkout.sessions.retrieve(by_clock.id).status == "expired"
    for s in (by_api, by_clock):
        assert receiver.wait_for(
            lambda _, sid=s.id: "checkout.session.expired" in _types(receiver, {sid})
        )
        # paying an expired session is refused on the hosted page (card or bank)
        assert "has expired" in httpx.get(s.url, trust_env=False).text
        refused = submit_checkout(s.url)
        assert refused.status_code == 200 and "has expired" in refused.text
        assert sc.v1.checkout.sessions.retrieve(s.id).payment_intent is None
    slow.wait_for_deliveries()
    assert _types(receiver, {by_api.id}) == ["checkout.session.expired"]
    assert _types(receiver, {by_clock.id}) == ["checkout.session.expired"]
    with pytest.raises(httpx.HTTPStatusError):
        slow.control("POST", f"checkout/sessions/{by_clock.id}/expire_now")


def test_session_expires_on_its_own_at_expires_at(
    sc: stripe.StripeClient, slow: SandboxServer, receiver: WebhookReceiver
) -> None:
    _hook(sc, receiver)
    s = _session(sc)
    # Bring the stored due time forward, as a clock past expires_at would.
    found = slow.sandbox.store.locate(s.id)
    assert found is not None
    scope, stored = found
    with slow.sandbox.store.lock:
        stored["expires_at"] = int(time.time())
    slow.sandbox.settler.schedule(_ctx(slow, scope), stored, due=float(stored["expires_at"]))
    assert receiver.wait_for(lambda _: "checkout.session.expired" in _types(receiver, {s.id}))
    assert sc.v1.checkout.sessions.retrieve(s.id).status == "expired"


def _ctx(server: SandboxServer, scope: Any) -> Any:
    from stripe_sandbox.api import Ctx

    return Ctx(server.sandbox, scope, server.base_url, "req_test")
