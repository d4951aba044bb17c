"""Events API and webhook delivery: signatures, filtering, retries, localhost, controls."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe
from stripe._api_version import _ApiVersion

from stripe_sandbox.testing import SandboxServer
from stripe_sandbox.testing import WebhookReceiver as Receiver


def _endpoint(client: stripe.StripeClient, url: str, events: list[str]) -> Any:
    return client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": events})  # type: ignore[arg-type]


def _pay(client: stripe.StripeClient, **extra: Any) -> Any:
    params = {"amount": 1234, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    return client.v1.payment_intents.create(params={**params, **extra})  # type: ignore[arg-type]


def test_endpoint_crud_secret_only_on_create(client: stripe.StripeClient) -> None:
    ep = _endpoint(client, "https://example.com/hook", ["charge.refunded"])
    assert ep.secret.startswith("whsec_") and ep.status == "enabled"
    got = client.v1.webhook_endpoints.retrieve(ep.id)
    assert "secret" not in got and got.enabled_events == ["charge.refunded"]
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [ep.id]
    upd = client.v1.webhook_endpoints.update(
        ep.id, params={"disabled": True, "enabled_events": ["*"], "url": "https://x.example/h"}
    )
    assert (
        upd.status == "disabled" and upd.enabled_events == ["*"] and upd.url.startswith("https://x")
    )
    assert client.v1.webhook_endpoints.delete(ep.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(ep.id)


def test_delivery_is_signed_and_filtered(
    client: stripe.StripeClient, receiver: Receiver, sandbox: SandboxServer
) -> None:
    ep = _endpoint(client, receiver.url, ["payment_intent.succeeded"])
    pi = _pay(client, metadata={"order": "42"})
    assert receiver.wait_for(lambda evs: len(evs) >= 1)
    sandbox.wait_for_deliveries()
    assert len(receiver.requests) == 1, "only the subscribed type is delivered"
    req = receiver.requests[0]
    event = stripe.Webhook.construct_event(
        req["body"], req["headers"]["Stripe-Signature"], ep.secret
    )
    assert event.type == "payment_intent.succeeded"
    assert event.id.startswith("evt_") and event.object == "event" and event.livemode is False
    assert event.api_version == _ApiVersion.CURRENT
    assert event.data.object.id == pi.id and event.data.object.metadata["order"] == "42"
    assert event.request.id.startswith("req_") and isinstance(event.created, int)
    assert event.pending_webhooks == 1
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(req["body"], req["headers"]["Stripe-Signature"], "whsec_x")
    stored = client.v1.events.retrieve(event.id)
    assert stored.pending_webhooks == 0


def test_star_disabled_and_other_accounts(
    client: stripe.StripeClient, receiver: Receiver, sandbox: SandboxServer
) -> None:
    other = sandbox.client(sandbox.create_account("Other")["test"]["secret_key"])
    _endpoint(other, receiver.url, ["*"])
    ep = _endpoint(client, receiver.url, ["*"])
    client.v1.webhook_endpoints.update(ep.id, params={"disabled": True})
    _pay(client)
    sandbox.wait_for_deliveries()
    assert receiver.requests == []
    client.v1.webhook_endpoints.update(ep.id, params={"disabled": False})
    _pay(client)
    assert receiver.wait_for(lambda evs: "payment_intent.succeeded" in {e["type"] for e in evs})
    sandbox.wait_for_deliveries()
    types = {e["type"] for e in receiver.events()}
    assert {"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"} <= types


def test_failed_delivery_is_retried_and_recorded(
    client: stripe.StripeClient, receiver: Receiver, sandbox: SandboxServer
) -> None:
    receiver.fail_first = 2
    ep = _endpoint(client, receiver.url, ["payment_intent.succeeded"])
    _pay(client)
    assert receiver.wait_for(lambda evs: len(evs) >= 3, timeout=15)
    sandbox.wait_for_deliveries()
    events = receiver.events()
    assert len(events) == 3 and len({e["id"] for e in events}) == 1
    attempts = sandbox.control("GET", f"webhooks/attempts?endpoint={ep.id}")["data"]
    assert [(a["attempt"], a["status"], a["ok"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert attempts[1]["at"] > attempts[0]["at"]


def test_connection_errors_are_retried_then_given_up(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    ep = _endpoint(client, "http://127.0.0.1:9/nothing-listens", ["customer.created"])
    client.v1.customers.create(params={"name": "n"})
    deadline = time.monotonic() + 15
    attempts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        attempts = sandbox.control("GET", f"webhooks/attempts?endpoint={ep.id}")["data"]
        if len(attempts) >= 5:
            break
        time.sleep(0.05)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5]
    assert all(a["error"] and not a["ok"] for a in attempts)
    sandbox.wait_for_deliveries()
    time.sleep(0.5)
    assert len(sandbox.control("GET", f"webhooks/attempts?endpoint={ep.id}")["data"]) == 5


def test_localhost_subdomain_gets_original_host(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    url = f"http://tenant-a.localhost:{receiver.port}/api/stripe/webhook"
    ep = _endpoint(client, url, ["customer.created"])
    client.v1.customers.create(params={"name": "hosted"})
    assert receiver.wait_for(lambda evs: len(evs) == 1)
    req = receiver.requests[0]
    assert req["headers"]["Host"] == f"tenant-a.localhost:{receiver.port}"
    assert req["path"] == "/api/stripe/webhook"
    stripe.Webhook.construct_event(req["body"], req["headers"]["Stripe-Signature"], ep.secret)


def test_events_list_filters(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "f"})
    _pay(client)
    created = [e.type for e in client.v1.events.list(params={"type": "customer.created"}).data]
    assert created == ["customer.created"]
    both = client.v1.events.list(params={"types": ["customer.created", "charge.succeeded"]}).data
    assert sorted(e.type for e in both) == ["charge.succeeded", "customer.created"]
    wildcard = {e.type for e in client.v1.events.list(params={"type": "payment_intent.*"}).data}
    assert wildcard == {"payment_intent.created", "payment_intent.succeeded"}
    future = client.v1.events.list(params={"created": {"gt": int(time.time()) + 100}}).data
    assert future == []
    evt = client.v1.events.retrieve(both[-1].id)
    assert evt.object == "event" and evt.id == both[-1].id
    assert (
        client.v1.events.list(params={"type": "customer.created"}).data[0].data.object.id == cus.id
    )


def test_redeliver_and_ordered_deliveries(fresh_sandbox: SandboxServer, receiver: Receiver) -> None:
    client = fresh_sandbox.client(fresh_sandbox.create_account("Ord")["test"]["secret_key"])
    _endpoint(client, receiver.url, ["customer.created"])
    fresh_sandbox.control("POST", "webhooks/pause")
    first = client.v1.customers.create(params={"name": "first"})
    second = client.v1.customers.create(params={"name": "second"})
    fresh_sandbox.wait_for_deliveries()
    time.sleep(0.2)
    assert receiver.requests == [], "held back while paused"
    assert fresh_sandbox.control("GET", "webhooks")["held"] == 2
    events = client.v1.events.list(params={"type": "customer.created"}).data
    by_customer = {e.data.object.id: e.id for e in events}
    order = [by_customer[second.id], by_customer[first.id]]
    fresh_sandbox.control("POST", "events/deliver", {"events": order, "twice": True})
    assert receiver.wait_for(lambda evs: len(evs) == 4)
    assert [e["id"] for e in receiver.events()] == [order[0], order[0], order[1], order[1]]
    released = fresh_sandbox.control("POST", "webhooks/release", {})
    assert released["released"] == 2 and released["paused"] is False
    assert receiver.wait_for(lambda evs: len(evs) == 6)
    assert [e["id"] for e in receiver.events()[4:]] == [order[1], order[0]]
    fresh_sandbox.control("POST", f"events/{order[0]}/redeliver", {})
    assert receiver.wait_for(lambda evs: len(evs) == 7)
    assert receiver.events()[6]["id"] == order[0]


def test_release_can_discard(fresh_sandbox: SandboxServer, receiver: Receiver) -> None:
    client = fresh_sandbox.client(fresh_sandbox.create_account("D")["test"]["secret_key"])
    _endpoint(client, receiver.url, ["*"])
    fresh_sandbox.control("POST", "webhooks/pause")
    client.v1.customers.create(params={"name": "dropped"})
    assert fresh_sandbox.control("POST", "webhooks/release", {"discard": True})["released"] == 1
    client.v1.customers.create(params={"name": "kept"})
    assert receiver.wait_for(lambda evs: len(evs) == 1)
    fresh_sandbox.wait_for_deliveries()
    assert receiver.events()[0]["data"]["object"]["name"] == "kept"


def test_redeliver_to_one_endpoint(
    client: stripe.StripeClient, sandbox: SandboxServer, receiver: Receiver
) -> None:
    quiet = _endpoint(client, receiver.url + "?quiet=1", ["invoice.paid"])
    client.v1.customers.create(params={"name": "r"})
    evt = client.v1.events.list(params={"type": "customer.created"}).data[0]
    sandbox.wait_for_deliveries()
    assert receiver.requests == []
    out = sandbox.control("POST", f"events/{evt.id}/redeliver", {"endpoint": quiet.id})
    assert out["queued"] == [quiet.id]
    assert receiver.wait_for(lambda evs: len(evs) == 1)
    req = receiver.requests[0]
    assert req["path"] == "/hook?quiet=1"
    got = stripe.Webhook.construct_event(
        req["body"], req["headers"]["Stripe-Signature"], quiet.secret
    )
    assert got.id == evt.id


def test_slow_receiver_does_not_hold_up_other_endpoints(
    client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    with Receiver() as slow, Receiver() as fast:
        slow.delay = 2.0
        _endpoint(client, slow.url, ["customer.created"])
        _endpoint(client, fast.url, ["customer.created"])
        client.v1.customers.create(params={"name": "one"})
        client.v1.customers.create(params={"name": "two"})
        assert fast.wait_for(lambda evs: len(evs) == 2, timeout=1.5)
        assert len(slow.requests) == 1, "the slow endpoint still works on its first event"
        names = [e["data"]["object"]["name"] for e in fast.events()]
        assert names == ["one", "two"]
        assert slow.wait_for(lambda evs: len(evs) == 2, timeout=10)
        assert [e["data"]["object"]["name"] for e in slow.events()] == ["one", "two"]
