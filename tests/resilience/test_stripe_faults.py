"""Stripe misbehaving (sandbox chaos: 500s, 429s, hangs past the client's timeout, latency)
while clients start Checkout, Autopay charges and reconciliation runs.

After the faults stop and the jobs and webhooks settle: no invoice is charged twice, every
charge Stripe made is a Payment on a paid invoice, and what a person was told in the
meantime is plain, says to try again and leaks nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing.clients import update_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.db import get_engine
from nextoria_hub.models import AutopayAttempt, CheckoutSession
from nextoria_hub.payments import autopay
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.reconciliation import reconcile_open_checkouts
from nextoria_hub.settings import get_settings
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import Shop, make_shop
from tests.payments.test_autopay import autopay_invoice, enable, save_card
from tests.resilience.conftest import Chaos, assert_books_match, assert_clean, assert_human


@dataclass(frozen=True)
class Phase:
    """One kind of trouble at a time (the sandbox has one failure mode at a time)."""

    name: str
    failure_mode: str = "500"
    failure_rate: float = 0.0
    latency_ms: int = 0
    hang_seconds: float = 0.0

    def on(self, chaos: Chaos, seed: int, failure_rate: float | None = None) -> None:
        chaos.on(
            seed=seed,
            failure_mode=self.failure_mode,
            failure_rate=self.failure_rate if failure_rate is None else failure_rate,
            latency_ms=self.latency_ms,
            hang_seconds=self.hang_seconds,
        )


# The client gives up on one try after CLIENT_TIMEOUT (1 s) and retries twice.
PHASES = [
    Phase("500s", "500", 0.5),
    Phase("429s", "429", 0.4),
    Phase("hangs", "hang", 0.3, hang_seconds=5.0),
    Phase("latency", latency_ms=250),
    Phase("answers after the client gave up", latency_ms=1300),
]
FAILING = [p for p in PHASES if p.failure_rate]


@pytest.fixture
def shop(
    db: Session,
    stripe_sandbox: SandboxServer,
    stripe_account: dict,
    public_port: int,
    short_stripe_timeout: float,
) -> Shop:
    return make_shop(db, stripe_sandbox, stripe_account, public_port)


def test_every_stripe_call_has_a_finite_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """stripe-python's default is 80 s a try, three tries: minutes of a frozen Pay Now."""
    monkeypatch.delenv("NEXTORIA_STRIPE_TIMEOUT_SECONDS", raising=False)
    get_settings.cache_clear()
    assert gateway.timeout_seconds() == 20
    monkeypatch.setenv("NEXTORIA_STRIPE_TIMEOUT_SECONDS", "2.5")
    get_settings.cache_clear()
    assert gateway.timeout_seconds() == 2.5
    for raw in ("0", "-1", "soon", "600"):
        monkeypatch.setenv("NEXTORIA_STRIPE_TIMEOUT_SECONDS", raw)
        get_settings.cache_clear()
        with pytest.raises(ValidationError, match="stripe_timeout_seconds"):
            get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()


def pay_now(shop: Shop, invoice_id: int) -> tuple[str, str]:
    """The portal's Pay Now in one unit of work: (Checkout URL, '') or ('', the toast shown).

    Only the errors ``PortalInvoiceState.pay_now`` turns into a toast are caught: anything
    else would be an unhandled error in the UI, and fails the test.
    """
    with Session(get_engine(), expire_on_commit=False) as db:
        try:
            url = start_checkout(db, shop.portal, invoice_id, base_url=shop.base_url)
        except gateway.StripeGatewayError as err:
            db.rollback()
            return "", err.message
        db.commit()
        return url, ""


def _try_again(shop: Shop, invoice_id: int, within: float) -> tuple[str, str]:
    """Pay Now again, a second later each time if needed: a request that hung at Stripe
    still holds its idempotency key until Stripe gives up on it ("try again in a minute")."""
    deadline = time.monotonic() + within
    while True:
        url, message = pay_now(shop, invoice_id)
        if url or time.monotonic() > deadline:
            return url, message
        assert_human(message)
        time.sleep(1.0)


def test_pay_now_under_stripe_faults(shop: Shop, chaos: Chaos) -> None:
    per_phase = 4
    invoices = [
        shop.invoice(LineInput(f"Design sprint {i}", "1", f"{100 + i}.00", "20")).id
        for i in range(per_phase * len(PHASES))
    ]
    assert all(i is not None for i in invoices)
    toasts: dict[str, list[str]] = {}
    for number, phase in enumerate(PHASES):
        batch: list[int] = invoices[number * per_phase : (number + 1) * per_phase]  # type: ignore[assignment]
        shown = toasts.setdefault(phase.name, [])
        if phase.failure_rate:  # every call failing: the person certainly sees the message
            phase.on(chaos, seed=number, failure_rate=1.0)
            url, message = pay_now(shop, batch[0])
            assert url == "" and message, phase.name
            shown.append(message)
        phase.on(chaos, seed=100 + number)
        failed = []
        for invoice_id in batch:
            url, message = pay_now(shop, invoice_id)
            if url:
                shop.pay(url)  # the client pays while Stripe is still in trouble
            else:
                shown.append(message)
                failed.append(invoice_id)
        chaos.off()
        for invoice_id in failed:  # the person tries again, as the message says
            url, message = _try_again(shop, invoice_id, within=phase.hang_seconds + 5)
            assert url, f"{phase.name}: still failing after the faults stopped: {message}"
            shop.pay(url)
    for phase in FAILING:
        assert toasts[phase.name], f"{phase.name}: no one was ever told anything"
    for message in (m for shown in toasts.values() for m in shown):
        assert_human(message)

    # Webhooks that Stripe gave up on during the faults are caught by the reconciliation job.
    shop.settle_webhooks(30)
    reconcile_open_checkouts(older_than=timedelta(0))
    assert_books_match(shop.sandbox, [shop.account], invoices)  # type: ignore[arg-type]
    shop.db.expire_all()
    sessions = shop.db.exec(select(CheckoutSession).where(CheckoutSession.purpose == "payment"))
    per_invoice: dict[int, int] = {}
    for row in sessions:
        per_invoice[row.invoice_id] = per_invoice.get(row.invoice_id, 0) + 1  # type: ignore[index]
    assert sorted(per_invoice) == sorted(invoices)  # type: ignore[type-var]


def test_pay_now_after_a_lost_answer_and_an_edited_client(shop: Shop, chaos: Chaos) -> None:
    """Stripe created the customer but every try timed out; then the admin fixed the client's
    email. The next Pay Now is a different request: it must not reuse the lost one's key
    (Stripe refuses a key reused with other parameters, for 24 hours)."""
    invoice = shop.invoice()
    # Each try gives up after 1 s; the first lands after 4 s, when the retries already failed.
    chaos.on(seed=7, latency_ms=4000)
    url, message = pay_now(shop, invoice.id)  # type: ignore[arg-type]
    assert url == "" and "try again" in message
    chaos.off()
    deadline = time.monotonic() + 10  # the lost request lands at Stripe meanwhile
    while not shop.stripe.v1.customers.list().data and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(shop.stripe.v1.customers.list().data) == 1
    update_client(
        shop.db,
        shop.admin,
        shop.client.id,  # type: ignore[arg-type]
        name=shop.client.name,
        billing_email="accounts@initech.test",
        contact_name="",
        currency="usd",
    )
    shop.db.commit()
    url, message = pay_now(shop, invoice.id)  # type: ignore[arg-type]
    assert url, message
    shop.pay(url)
    shop.settle_webhooks(30)
    assert_books_match(shop.sandbox, [shop.account], [invoice.id])  # type: ignore[list-item]


def test_autopay_under_stripe_faults(shop: Shop, chaos: Chaos) -> None:
    enable(shop)
    save_card(shop)
    today = datetime.now(UTC).date()
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=9)
    per_phase = 4
    invoices: list[int] = []
    for number, phase in enumerate(PHASES):
        batch = [
            autopay_invoice(shop, today, f"{200 + number * per_phase + i}.00").id
            for i in range(per_phase)
        ]
        invoices += batch  # type: ignore[arg-type]
        phase.on(chaos, seed=200 + number)
        for _ in range(2):  # the job runs while Stripe is in trouble
            counts = autopay.charge_due_invoices(now)
            assert counts.workspaces_failed == 0, phase.name
            assert counts.failed == 0, f"{phase.name}: a Stripe fault was taken for a decline"
        chaos.off()
        status = autopay.autopay_status(shop.db, shop.admin, shop.client.id)  # type: ignore[arg-type]
        for attempt in status.attempts:  # what the admin sees meanwhile
            if attempt.reason:
                assert_clean(attempt.reason)
        _charge_until_settled(now, batch)
    shop.settle_webhooks(30)
    assert_books_match(shop.sandbox, [shop.account], invoices)
    with Session(get_engine()) as db:
        attempts = db.exec(select(AutopayAttempt)).all()
        assert sorted(a.invoice_id for a in attempts) == sorted(invoices)  # one per invoice
        assert {a.status for a in attempts} == {"succeeded"}


def _charge_until_settled(now: datetime, invoice_ids: list[int], runs: int = 6) -> None:
    """Run the job (as the scheduler would, every few minutes) until no attempt is open."""
    for _ in range(runs):
        autopay.charge_due_invoices(now)
        with Session(get_engine()) as db:
            open_attempts = db.exec(
                select(AutopayAttempt.id).where(
                    col(AutopayAttempt.status).in_(["claimed", "unknown"])
                )
            ).all()
            done = db.exec(
                select(AutopayAttempt.invoice_id).where(
                    AutopayAttempt.status == "succeeded",
                    col(AutopayAttempt.invoice_id).in_(invoice_ids),
                )
            ).all()
        if not open_attempts and len(done) == len(invoice_ids):
            return
    pytest.fail(f"autopay did not settle in {runs} runs: {len(open_attempts)} attempts open")


def test_reconciliation_under_stripe_faults(shop: Shop, chaos: Chaos) -> None:
    per_phase = 3
    invoices = [
        shop.invoice(LineInput(f"Audit {i}", "1", f"{300 + i}.00")).id
        for i in range(per_phase * len(PHASES))
    ]
    urls = {}
    for invoice_id in invoices:
        url, message = pay_now(shop, invoice_id)  # type: ignore[arg-type]
        assert url, message
        urls[invoice_id] = url
    shop.sandbox.control("POST", "webhooks/pause")  # every webhook is lost for now
    for url in urls.values():
        shop.pay(url)
    for number, phase in enumerate(PHASES):
        phase.on(chaos, seed=300 + number)
        reconcile_open_checkouts(older_than=timedelta(0))  # never raises: the job goes on
        chaos.off()
    reconcile_open_checkouts(older_than=timedelta(0))
    assert_books_match(shop.sandbox, [shop.account], invoices)  # type: ignore[arg-type]
    # The webhooks arrive after all: they change nothing.
    shop.sandbox.control("POST", "webhooks/release")
    shop.settle_webhooks(30)
    assert_books_match(shop.sandbox, [shop.account], invoices)  # type: ignore[arg-type]
