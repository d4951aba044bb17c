"""Signed Stripe events for the benchmarks, taken from the sandbox as Stripe would send them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header computed as Stripe computes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def list_events(api_base: str, secret_key: str, event_type: str) -> list[dict[str, Any]]:
    """Every event of ``event_type`` on the account of ``secret_key``, oldest first."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100, "type": event_type}
    with httpx.Client(
        base_url=api_base,
        headers={"Authorization": f"Bearer {secret_key}"},
        trust_env=False,
        timeout=60,
    ) as client:
        while True:
            page = client.get("/v1/events", params=params)
            page.raise_for_status()
            body = page.json()
            events += body["data"]
            if not body.get("has_more") or not body["data"]:
                break
            params["starting_after"] = body["data"][-1]["id"]
    events.reverse()  # Stripe lists newest first
    return events


def body_of(event: dict[str, Any]) -> bytes:
    """The bytes Stripe posts for an event (pretty-printed JSON, as Stripe does)."""
    return json.dumps(event, indent=2).encode()


def one_payment_event(api_base: str) -> dict[str, Any]:
    """A ``payment_intent.succeeded`` event from a fresh sandbox account (card payment)."""
    with httpx.Client(base_url=api_base, trust_env=False, timeout=30) as client:
        keys = client.post("/_sandbox/accounts", json={"name": "Bench Studio"}).json()
        sk = keys["test"]["secret_key"]
        auth = {"Authorization": f"Bearer {sk}"}
        resp = client.post(
            "/v1/payment_intents",
            headers=auth,
            data={
                "amount": "300000",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": "true",
                "description": "Invoice INV-0001",
                "metadata[nextoria_workspace_id]": "1",
                "metadata[nextoria_invoice_id]": "1",
                "metadata[nextoria_mode]": "test",
                "metadata[nextoria_source]": "checkout",
            },
        )
        resp.raise_for_status()
    (event,) = list_events(api_base, sk, "payment_intent.succeeded")
    return event
