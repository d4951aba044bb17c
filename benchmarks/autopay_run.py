"""Autopay run: 5,000 due invoices across 100 workspaces (50 each), each workspace connected to
its own sandbox account (test mode) whose client has a saved Visa card and Autopay on.

The sandbox runs in its own process (``python -m stripe_sandbox serve``) with 100 ms added to
every API call and Stripe's test-mode limit of 25 requests/s per account (the sandbox's opt-in
``rate_limit_per_second``: a token bucket per account, a burst of 25 then 25 per second, a 429
``rate_limit`` beyond). Seeding (workspaces, keys, clients, Stripe customers, attached cards,
then the invoices in one bulk insert) happens before, with latency and limit off. The figure is
the wall time of one ``charge_due_invoices`` call, the function the scheduled job runs.

Bound: each invoice needs one Stripe call (create and confirm the PaymentIntent). With
unlimited concurrency, an account with n calls at R requests/s (burst R) cannot start its last
call before max(0, n − R) / R seconds, and that call takes one latency L to answer, so the run
needs at least max over accounts of max(0, n − R) / R + L: (50 − 25) / 25 + 0.1 = 1.1 s here.
The calls the app really made per invoice (from the sandbox's request counts) and the 429s it
met are reported beside it. Afterwards every invoice is checked to be paid exactly once: one
succeeded charge in the sandbox's ledger and one payment row in the database, same amount.
A second run of as many fresh invoices with no latency and no limit (also reported) shows
what the app's own work costs. ``--quick``: 10 workspaces × 10 invoices.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import stripe
from sqlalchemy import insert
from sqlmodel import Session, col, select

from benchmarks.context import BenchContext
from benchmarks.report import Limit, Result

NAME = "Autopay run"
LATENCY_MS = 100
RATE_PER_SECOND = 25
CALLS_PER_INVOICE = 1  # what the bound counts: one PaymentIntent create+confirm


@dataclass
class Tenant:
    workspace_id: int
    client_id: int
    account_id: str
    secret_key: str


def run(ctx: BenchContext) -> list[Result | Limit]:
    workspaces, per_workspace = (10, 10) if ctx.quick else (100, 50)
    ctx.configure_here()
    with _sandbox(ctx) as base:
        os.environ["NEXTORIA_STRIPE_API_BASE"] = base
        from nextoria_hub.settings import get_settings

        get_settings.cache_clear()
        tenants = [_seed_tenant(base, i) for i in range(workspaces)]
        _seed_invoices(tenants, per_workspace, first_number=1)
        control = httpx.Client(base_url=f"{base}/_sandbox", trust_env=False, timeout=60)

        # The measured run: latency and per-account limit on.
        before = _request_counts(control)
        control.post("/chaos", json={"latency_ms": LATENCY_MS, "rate_limit_per_second": 25})
        wall, counts = _charge()
        control.delete("/chaos")
        after = _request_counts(control)
        _verify(control, tenants, per_workspace)
        calls = sum(after[t.account_id][0] - before[t.account_id][0] for t in tenants)
        limited = sum(after[t.account_id][1] - before[t.account_id][1] for t in tenants)

        # The app's own cost: as many fresh invoices, no latency, no limit.
        _seed_invoices(tenants, per_workspace, first_number=per_workspace + 1)
        bare_wall, bare_counts = _charge()
        _verify(control, tenants, 2 * per_workspace)
        control.close()

    total = workspaces * per_workspace
    n = per_workspace * CALLS_PER_INVOICE
    bound = max(0, n - RATE_PER_SECOND) / RATE_PER_SECOND + LATENCY_MS / 1000
    extra = {
        "invoices": f"{total:,} in {workspaces} workspaces",
        "charged": str(counts.charged),
        "Stripe calls per invoice (bound counts 1)": f"{calls / total:.2f}",
        "429s met": str(limited),
        "invoices/s": f"{total / wall:.0f}",
        "paid exactly once (ledger = DB)": "yes",
        "without latency or limit": f"{bare_wall:.2f} s ({bare_counts.charged} charged)",
    }
    return [
        Result(
            benchmark=NAME,
            backend=ctx.backend,
            figure=f"wall time, {total:,} invoices",
            value=wall,
            unit="s",
            floor_label="latency + rate-limit bound",
            floor=bound,
            target="<= 1.2",
            extra=extra,
        ),
        Limit(
            name="Autopay run without latency or rate limit",
            backend=ctx.backend,
            value=bare_wall,
            unit="s",
            note=f"{total:,} invoices; the app's and the sandbox's own work",
        ),
    ]


def _charge() -> tuple[float, Any]:
    from nextoria_hub.clock import utcnow
    from nextoria_hub.payments.autopay import charge_due_invoices

    now = utcnow()
    started = time.perf_counter()
    counts = charge_due_invoices(now)
    wall = time.perf_counter() - started
    if counts.workspaces_failed or counts.failed or counts.unknown:
        raise RuntimeError(f"autopay run did not charge everything: {counts.as_dict()}")
    return wall, counts


# --- the sandbox process ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _sandbox(ctx: BenchContext) -> Iterator[str]:
    """The sandbox in a process of its own, so its work does not share this one's GIL."""
    port = _free_port()
    log = (ctx.work_dir / "sandbox.log").open("w")
    command = [sys.executable, "-m", "stripe_sandbox", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=ctx.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/_sandbox/health", trust_env=False, timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stripe sandbox did not start; see {log.name}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _request_counts(control: httpx.Client) -> dict[str, tuple[int, int]]:
    rows = control.get("/requests").raise_for_status().json()["data"]
    out: dict[str, tuple[int, int]] = Counter()  # type: ignore[assignment]
    for r in rows:
        if not r["livemode"]:
            out[r["account"]] = (r["requests"], r["rate_limited"])
    return out


# --- seeding ----------------------------------------------------------------------------------


def _seed_tenant(base: str, i: int) -> Tenant:
    """A workspace connected (through the service) to a new account, a client with a card."""
    from nextoria_hub.billing.clients import create_client
    from nextoria_hub.db import session_scope
    from nextoria_hub.models import (
        ClientAutopay,
        Role,
        SavedPaymentMethod,
        User,
        Workspace,
    )
    from nextoria_hub.payments import stripe_connection as conn
    from nextoria_hub.payments.checkout import stripe_customer_id
    from nextoria_hub.tenancy import Actor

    keys = httpx.post(
        f"{base}/_sandbox/accounts", json={"name": f"Agency {i}"}, trust_env=False, timeout=30
    ).json()
    secret = keys["test"]["secret_key"]
    with session_scope() as db:
        workspace = Workspace(slug=f"agency-{i}", name=f"Agency {i}")
        db.add(workspace)
        db.flush()
        admin = User(
            workspace_id=workspace.id,  # type: ignore[arg-type]
            email=f"admin@agency-{i}.test",
            name=f"Admin {i}",
            role=Role.admin,
        )
        db.add(admin)
        db.flush()
        actor = Actor.of(admin)
        conn.connect(db, actor, conn.ConnectInput(keys["test"]["publishable_key"], secret))
        client = create_client(
            db, actor, name=f"Client {i}", billing_email=f"ap@client-{i}.test", currency="usd"
        )
        customer = stripe_customer_id(db, secret, client, "test")
        pm = (
            stripe.StripeClient(secret, base_addresses={"api": base})
            .v1.payment_methods.attach("pm_card_visa", {"customer": customer})
            .to_dict()
        )
        card = pm["card"]
        db.add(
            SavedPaymentMethod(
                workspace_id=workspace.id,  # type: ignore[arg-type]
                client_id=client.id,  # type: ignore[arg-type]
                mode="test",
                payment_method_id=pm["id"],
                customer_id=customer,
                brand="Visa",
                last4=card["last4"],
                exp_month=card["exp_month"],
                exp_year=card["exp_year"],
            )
        )
        db.add(
            ClientAutopay(
                workspace_id=workspace.id,  # type: ignore[arg-type]
                client_id=client.id,  # type: ignore[arg-type]
                enabled=True,
            )
        )
        db.flush()
        return Tenant(workspace.id, client.id, keys["account_id"], secret)  # type: ignore[arg-type]


def _seed_invoices(tenants: list[Tenant], per_workspace: int, first_number: int) -> None:
    """Open invoices due today, in one bulk insert (the counter follows the numbers)."""
    from nextoria_hub.clock import utcnow
    from nextoria_hub.db import session_scope
    from nextoria_hub.models import Invoice, InvoiceCounter, InvoiceStatus

    now = utcnow()
    today = now.date()
    rows = [
        {
            "workspace_id": t.workspace_id,
            "client_id": t.client_id,
            "number": f"INV-{n:05d}",
            "status": InvoiceStatus.open,
            "currency": "usd",
            "issue_date": today - timedelta(days=14),
            "due_date": today,
            "subtotal": 10_000 + n,
            "total": 10_000 + n,
            "created_at": now,
            "sent_at": now,
        }
        for t in tenants
        for n in range(first_number, first_number + per_workspace)
    ]
    last = first_number + per_workspace - 1
    with session_scope() as db:
        db.execute(insert(Invoice), rows)
        for t in tenants:
            db.merge(InvoiceCounter(workspace_id=t.workspace_id, last_number=last))


# --- the check ------------------------------------------------------------------------------


def _verify(control: httpx.Client, tenants: list[Tenant], per_workspace: int) -> None:
    """Every invoice paid exactly once: one succeeded charge in the ledger, one payment row."""
    from nextoria_hub.db import get_engine
    from nextoria_hub.models import Invoice, InvoiceStatus, Payment

    problems: list[str] = []
    with Session(get_engine()) as db:
        for t in tenants:
            ledger = control.get(f"/accounts/{t.account_id}/ledger?mode=test").json()["data"]
            charged = Counter(
                int(c["metadata"]["nextoria_invoice_id"])
                for c in ledger
                if c["status"] == "succeeded"
            )
            amounts = {
                int(c["metadata"]["nextoria_invoice_id"]): c["amount"]
                for c in ledger
                if c["status"] == "succeeded"
            }
            invoices = db.exec(select(Invoice).where(Invoice.workspace_id == t.workspace_id)).all()
            payments = Counter(
                db.exec(
                    select(Payment.invoice_id).where(
                        Payment.workspace_id == t.workspace_id,
                        col(Payment.status) == "succeeded",
                    )
                ).all()
            )
            if len(invoices) != per_workspace:
                problems.append(f"workspace {t.workspace_id}: {len(invoices)} invoices")
            for inv in invoices:
                if (
                    inv.status != InvoiceStatus.paid
                    or charged[inv.id] != 1
                    or payments[inv.id] != 1
                    or amounts.get(inv.id) != inv.total
                ):
                    problems.append(
                        f"invoice {inv.id}: {inv.status}, {charged[inv.id]} charges, "
                        f"{payments[inv.id]} payments"
                    )
            if sum(charged.values()) != len(invoices):
                problems.append(f"workspace {t.workspace_id}: extra charges in the ledger")
    if problems:
        raise RuntimeError("not paid exactly once: " + "; ".join(problems[:10]))
