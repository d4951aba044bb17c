"""Fixtures: one sandbox server per test session, a fresh account per test, a webhook receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe

from stripe_sandbox.testing import SandboxServer, WebhookReceiver


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(retry_initial_delay=0.05, retry_max_delay=0.4, max_attempts=5) as server:
        yield server


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    """A server of its own, for tests that change server-wide settings (chaos, pause)."""
    with SandboxServer(retry_initial_delay=0.05, retry_max_delay=0.4, max_attempts=5) as server:
        yield server


@pytest.fixture
def account(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.create_account("Acme Studio", "https://acme.example")


@pytest.fixture
def client(sandbox: SandboxServer, account: dict[str, Any]) -> stripe.StripeClient:
    return sandbox.client(account["test"]["secret_key"])


@pytest.fixture
def live_client(sandbox: SandboxServer, account: dict[str, Any]) -> stripe.StripeClient:
    return sandbox.client(account["live"]["secret_key"])


@pytest.fixture
def client_for(sandbox: SandboxServer) -> Callable[[str], stripe.StripeClient]:
    """Build an official client for any key against the shared sandbox."""
    return sandbox.client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r
