"""``nextoria worker`` SIGKILLed at random points while it applies a full inbox, restarted
each time, then left to finish: every event is applied exactly once, every invoice is paid
once, and our Payments are the sandbox's ledger, charge for charge.

Stripe answers slowly (sandbox latency) so the kills land between a claim, the Stripe calls
the handlers ask for, and the commit of the effect. Claims carry a short lease, so a killed
worker's events go back to the queue for the next one. The seed makes the kill points
repeatable.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlmodel import Session, select

from nextoria_hub.db import get_engine
from nextoria_hub.models import InboxEvent, OutboxEmail, StripeEvent
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.settings import PROJECT_ROOT, get_settings
from stripe_sandbox.testing import SandboxServer
from tests.inbox import drain_inbox
from tests.payments.conftest import Shop, make_shop
from tests.resilience.conftest import Chaos, assert_books_match

SEED = 11
WORKSPACES = ("acme", "globex")
INVOICES_PER_WORKSPACE = 8
KILLS = 4
LATENCY_MS = 300
LEASE_SECONDS = 2


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEXTORIA_WORKER_LEASE_SECONDS", str(LEASE_SECONDS))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def paid_unapplied(
    db: Session, stripe_sandbox: SandboxServer, public_port: int, chaos: Chaos
) -> tuple[list[Shop], list[int]]:
    """Invoices paid through Checkout whose webhooks reached the inbox, none applied yet."""
    shops, invoices = [], []
    for slug in WORKSPACES:
        account = stripe_sandbox.create_account(slug.title())
        shop = make_shop(db, stripe_sandbox, account, public_port, slug)
        for _ in range(INVOICES_PER_WORKSPACE):
            invoice = shop.invoice()
            url = start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
            db.commit()
            shop.pay(url)
            invoices.append(invoice.id)
        shops.append(shop)
    assert stripe_sandbox.wait_for_deliveries(60)  # recorded by the route, nothing applied
    return shops, invoices  # type: ignore[return-value]


class Worker:
    """One ``nextoria worker`` process, its output in a file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.log: IO[str] = log_path.open("w")
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "NEXTORIA_SCHEDULER": "off",
            "NEXTORIA_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from nextoria_hub.cli import app; app()", "worker"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.log.close()
        return code


def _statuses() -> Counter[str]:
    with Session(get_engine()) as db:
        return Counter(db.exec(select(InboxEvent.status)).all())


def test_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    paid_unapplied: tuple[list[Shop], list[int]], chaos: Chaos, short_lease: None, tmp_path: Path
) -> None:
    shops, invoices = paid_unapplied
    total = sum(_statuses().values())
    assert _statuses() == {"pending": total} and total >= 2 * len(invoices)
    rng = random.Random(SEED)
    chaos.on(seed=SEED, latency_ms=LATENCY_MS)
    deadline = time.monotonic() + 240  # a bound, not a goal
    kills = []
    for k in range(KILLS):
        before = _statuses()["applied"]
        worker = Worker(tmp_path / f"worker-{k}.log")
        try:
            # wait until this worker has applied a few and holds a claim, then a random moment
            target = before + rng.randint(1, 3)
            while not (_statuses()["applied"] >= target and _statuses()["applying"]):
                assert worker.proc.poll() is None, worker.output()[-3000:]
                assert time.monotonic() < deadline, f"no progress: {_statuses()}"
                if _statuses()["applied"] == total:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0, LATENCY_MS / 1000))
        finally:
            worker.kill()
        kills.append(dict(_statuses()))
        if _statuses()["applied"] == total:
            break
    print("inbox after each kill:", kills)
    assert len(kills) >= 2 and any(k.get("applying") for k in kills), kills

    # Left alone, a worker takes over the expired claims and applies the rest.
    worker = Worker(tmp_path / "worker-final.log")
    try:
        while _statuses()["applied"] < total:
            assert worker.proc.poll() is None, worker.output()[-3000:]
            assert time.monotonic() < deadline, f"not finished: {_statuses()}"
            assert not _statuses()["failed"], _statuses()
            time.sleep(0.05)
    finally:
        code = worker.stop()
    assert code == 0, worker.output()[-3000:]
    chaos.off()
    assert drain_inbox().claimed == 0
    assert _statuses() == {"applied": total}
    with Session(get_engine()) as db:
        recorded = Counter(db.exec(select(StripeEvent.event_id)).all())
        assert len(recorded) == total and set(recorded.values()) == {1}
        receipts = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt")).all()
        assert len(receipts) == len(invoices)  # one receipt per invoice: nothing applied twice
    assert_books_match(shops[0].sandbox, [s.account for s in shops], invoices)
