"""Fault tests: Stripe misbehaving (sandbox chaos) and the scheduler killed mid-run.

Every check ends with the same books: the sandbox's ledger against our Payments and invoices.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from nextoria_hub.db import get_engine
from nextoria_hub.models import Invoice, Payment
from nextoria_hub.settings import get_settings
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import (  # noqa: F401  (fixtures shared with the payment tests)
    api_server,
    public_port,
)

# One try of a Stripe call gives up after this long here (production: 20 s), so a hang costs
# seconds, not minutes. Chaos hangs last longer than this.
CLIENT_TIMEOUT = 1.0


@pytest.fixture
def short_stripe_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    monkeypatch.setenv("NEXTORIA_STRIPE_TIMEOUT_SECONDS", str(CLIENT_TIMEOUT))
    get_settings.cache_clear()
    yield CLIENT_TIMEOUT
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def chaos(stripe_sandbox: SandboxServer) -> Iterator[Chaos]:
    """Sandbox chaos that is always switched off again, and webhooks settled, after a test."""
    control = Chaos(stripe_sandbox)
    control.off()
    yield control
    control.off()
    stripe_sandbox.control("POST", "webhooks/release")
    stripe_sandbox.wait_for_deliveries(30)


class Chaos:
    """``POST /_sandbox/chaos`` one mode at a time, seeded so a run is repeatable."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox

    def on(
        self,
        *,
        seed: int,
        failure_mode: str = "500",
        failure_rate: float = 0.0,
        latency_ms: int = 0,
        hang_seconds: float = 0.0,
    ) -> None:
        body: dict[str, Any] = {
            "seed": seed,
            "failure_mode": failure_mode,
            "failure_rate": failure_rate,
            "latency_ms": latency_ms,
        }
        if hang_seconds:
            body["hang_seconds"] = hang_seconds
        self.sandbox.control("POST", "chaos", body)

    def off(self) -> None:
        self.sandbox.control("DELETE", "chaos")


def ledger(sandbox: SandboxServer, account: dict[str, Any]) -> list[dict[str, Any]]:
    return sandbox.control("GET", f"accounts/{account['account_id']}/ledger?mode=test")["data"]


def assert_books_match(
    sandbox: SandboxServer, accounts: list[dict[str, Any]], invoice_ids: list[int]
) -> None:
    """No double charge, no lost payment: the sandbox's ledger is exactly our books.

    At most (here: exactly) one succeeded charge per invoice; each is one succeeded Payment
    of the same PaymentIntent and amount; every invoice is paid in full.
    """
    charges = [c for account in accounts for c in ledger(sandbox, account)]
    succeeded = [c for c in charges if c["status"] == "succeeded"]
    per_invoice = Counter(int(c["metadata"]["nextoria_invoice_id"]) for c in succeeded)
    doubled = {i: n for i, n in per_invoice.items() if n > 1}
    assert doubled == {}, f"charged more than once: {doubled}"
    assert sorted(per_invoice) == sorted(invoice_ids), "an invoice was not charged"
    with Session(get_engine()) as db:
        payments = db.exec(
            select(Payment).where(Payment.kind == "payment", Payment.status == "succeeded")
        ).all()
        ours = sorted((p.invoice_id, p.payment_intent_id, p.amount) for p in payments)
        theirs = sorted(
            (int(c["metadata"]["nextoria_invoice_id"]), c["payment_intent"], c["amount"])
            for c in succeeded
        )
        assert ours == theirs, "our Payments differ from the sandbox's ledger"
        invoices = db.exec(select(Invoice).where(Invoice.id.in_(invoice_ids))).all()  # type: ignore[union-attr]
        unpaid = [(i.id, i.status, i.amount_due) for i in invoices if i.status != "paid"]
        assert unpaid == [] and len(invoices) == len(invoice_ids)
        assert all(i.amount_paid == i.total for i in invoices)


SECRET = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9]{6,}")
REQUEST_ID = re.compile(r"\breq_[A-Za-z0-9]{6,}")
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")


def assert_human(message: str) -> None:
    """A message a person can act on: plain words, says to try again, leaks nothing."""
    assert "try again" in message.lower(), message
    assert_clean(message)


def assert_clean(message: str) -> None:
    """Short plain words: no key, no request id, no stack trace or exception name, no dump."""
    assert message and len(message) < 300, message
    assert not SECRET.search(message), message
    assert not REQUEST_ID.search(message), message
    for noise in ("traceback", 'file "', "{", "idempot", "http_status", "request id"):
        assert noise not in message.lower(), message
    assert not EXCEPTION_NAME.search(message), message
