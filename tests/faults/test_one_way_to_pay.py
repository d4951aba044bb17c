"""Property: random interleavings of every way an invoice gets paid or closed never collect
money twice (issue 12).

Each example is a fresh workspace on one sandbox account (test and live keys, a saved card,
autopay on) with two invoices due today. Stripe's webhooks are held back and delivered by the
test itself, duplicated and reordered, at random points. After the last step every event is
delivered once more and the run is checked: no invoice collects more than its total without
an overpayment flag, no void invoice and no invoice paid only by other-mode money is Paid,
and the sandbox's ledger equals the database.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from nextoria_hub.billing.invoices import mark_paid_manually, void_invoice
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import Invoice, Overpayment, Payment
from nextoria_hub.payments import autopay
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.payments.payment_paths import expire_closed_sessions
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.inbox import drain_inbox
from tests.payments.conftest import (  # noqa: F401  (fixtures: the API over HTTP)
    Shop,
    api_server,
    make_shop,
    post_event,
    public_port,
)
from tests.payments.test_autopay import at, autopay_invoice, enable, save_card

ACTIONS = ("pay_now", "pay_hosted", "autopay", "void", "mark_paid", "switch_mode", "deliver")
STEPS = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 1), st.integers(0, 2**16)),
    min_size=3,
    max_size=9,
)
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _events(shop: Shop) -> list[tuple[str, dict]]:
    """(mode, event) of every event of this workspace at Stripe, oldest first."""
    out = []
    for mode in ("test", "live"):
        resp = httpx.get(
            f"{shop.sandbox.base_url}/v1/events",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {shop.account[mode]['secret_key']}"},
            trust_env=False,
            timeout=30,
        )
        resp.raise_for_status()
        for event in reversed(resp.json()["data"]):
            obj = event["data"]["object"]
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            if meta.get("nextoria_invoice_id"):
                out.append((mode, event))
    return out


def _deliver(shop: Shop, seed: int, *, everything: bool = False) -> None:
    """Post this workspace's events signed as Stripe does: a random subset, some twice, in a
    random order (or, at the end, all of them once more)."""
    events = _events(shop)
    rng = random.Random(seed)
    batch = events if everything else [e for e in events if rng.random() < 0.7]
    batch += [] if everything else [e for e in batch if rng.random() < 0.3]  # duplicates
    rng.shuffle(batch)
    secrets = dict(conn.webhook_secrets(shop.db, shop.tenant.id))
    for mode, event in batch:
        resp = post_event(shop.port, shop.tenant.workspace.slug, event, secrets[mode])
        assert resp.status_code == 200, resp.text[:300]
    drain_inbox()  # the route only records; a worker applies


def _ledger(shop: Shop) -> list[dict]:
    charges = []
    for mode in ("test", "live"):
        client = shop.sandbox.client(shop.account[mode]["secret_key"])
        for c in client.v1.charges.list({"limit": 100}).auto_paging_iter():
            charge = c.to_dict()
            if charge["status"] == "succeeded":
                charges.append(charge)
    return charges


SEEN: Counter[str] = Counter()  # what the examples reached, printed at the end


def _check(shop: Shop, invoices: list[Invoice]) -> None:
    db = shop.db
    db.expire_all()
    payments = db.exec(
        select(Payment).where(Payment.workspace_id == shop.tenant.id, Payment.kind == "payment")
    ).all()
    overs = {o.payment_id: o for o in db.exec(select(Overpayment))}
    charges = _ledger(shop)
    # ledger = database
    stripe_payments = {p.payment_intent_id for p in payments if p.mode in ("test", "live")}
    assert stripe_payments == {c["payment_intent"] for c in charges}
    collected: dict[int, int] = defaultdict(int)
    flagged: dict[int, int] = defaultdict(int)
    counted: dict[int, int] = defaultdict(int)
    for p in payments:
        collected[p.invoice_id] += p.amount
        over = overs.get(p.id)  # type: ignore[arg-type]
        flagged[p.invoice_id] += over.amount if over else 0
        counted[p.invoice_id] += p.amount - (over.amount if over else 0)
        if over is None and p.mode == "test":
            # counted test money: only ever while the workspace was in test mode
            assert p.source in ("checkout", "autopay")
    SEEN["charges"] += len(charges)
    SEEN["overpayments"] += len(overs)
    for invoice in invoices:
        db.refresh(invoice)
        SEEN[f"invoice {invoice.status}"] += 1
        iid = invoice.id
        # no invoice collects more than its total without an overpayment flag
        assert collected[iid] <= invoice.total + flagged[iid], (invoice.number, collected, flagged)
        assert invoice.amount_paid == counted[iid] <= invoice.total
        if invoice.status == "void":
            assert invoice.amount_paid == 0
        if invoice.status == "paid":
            assert invoice.amount_paid == invoice.total


def test_random_interleavings_never_collect_twice(
    db: Session,
    stripe_sandbox: SandboxServer,
    public_port: int,  # noqa: F811  (the fixture imported above)
) -> None:
    counter = iter(range(1000))

    @PROPERTY
    @given(steps=STEPS)
    def run(steps: list[tuple[str, int, int]]) -> None:
        n = next(counter)
        stripe_account = stripe_sandbox.create_account(f"Property {n}")  # its own ledger
        shop = make_shop(db, stripe_sandbox, stripe_account, public_port, f"prop{n}")
        keys = stripe_account["live"]
        conn.connect(db, shop.admin, conn.ConnectInput(keys["publishable_key"], keys["secret_key"]))
        conn.register_webhook(db, shop.admin, "live")
        db.commit()
        enable(shop)
        save_card(shop)
        due = date.today()
        invoices = [autopay_invoice(shop, due, "120.00"), autopay_invoice(shop, due, "80.00")]
        urls: dict[int, str] = {}
        stripe_sandbox.control("POST", "webhooks/pause")
        try:
            for action, index, seed in steps:
                invoice = invoices[index]
                try:
                    if action == "pay_now":
                        urls[index] = start_checkout(
                            db, shop.portal, invoice.id, base_url=shop.base_url
                        )  # type: ignore[arg-type]
                    elif action == "pay_hosted" and index in urls:
                        submit_checkout(urls[index])
                    elif action == "autopay":
                        autopay.charge_due_invoices(at(due))
                    elif action == "void":
                        void_invoice(db, shop.admin, invoice.id)  # type: ignore[arg-type]
                    elif action == "mark_paid":
                        mark_paid_manually(db, shop.admin, invoice.id, "Cash")  # type: ignore[arg-type]
                    elif action == "switch_mode":
                        mode = conn.active_mode(db, shop.tenant.id)
                        conn.set_mode(db, shop.admin, "live" if mode == "test" else "test")
                    elif action == "deliver":
                        _deliver(shop, seed)
                    db.commit()
                except NextoriaError:
                    db.rollback()
            expire_closed_sessions()
            _deliver(shop, 0, everything=True)
        finally:
            stripe_sandbox.control("POST", "webhooks/release", {"discard": True})
        _check(shop, invoices)

    run()
    print(f"examples reached: {dict(SEEN)}")  # e.g. charges, overpayments, paid/void invoices
    assert SEEN["charges"] > 0, "no example took any money: the property checked nothing"
