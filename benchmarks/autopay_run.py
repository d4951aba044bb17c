"""Autopay run: 5,000 due invoices across 100 workspaces (50 each), each workspace connected to
its own sandbox account (test mode) whose client has a saved Visa card and Autopay on.

The sandbox runs in its own process (``python -m stripe_sandbox serve``) with 100 ms added to
every API call and Stripe's test-mode limit of 25 requests/s per account (the sandbox's opt-in
``rate_limit_per_second``: a token bucket per account, a burst of 25 then 25 per second, a 429
``rate_limit`` beyond). Seeding happens before, with latency and limit off.

**Floor** (same run, same sandbox process, same latency and limit): a bare
``httpx.AsyncClient`` makes exactly the Stripe calls Autopay makes (create and confirm one
off-session PaymentIntent per invoice, same parameters and idempotency keys of its own) for
as many invoices of the same accounts, with unlimited concurrency, each account's calls
paced to its limit (a burst of 25, then one every 40 ms; a 429 that still comes is retried
after 40 ms). Its wall time is what the sandbox, the latency and the limit allow.

**Autopay run**: the ``autopay_charge`` job (``enqueue_due_items``, here in the benchmark
process) queues the invoices; one ``nextoria worker --concurrency 8`` process charges them.
The wall time runs from the job's start until every item is done. **App CPU per charged
invoice** is the worker process's CPU time (user + system, from ``/proc``, counted from when
it is up and idle until the queue is empty) plus the job's, divided by the invoices; the
sandbox process's CPU over the same run is reported beside it. Target: wall ≤ 1.3× the
floor; app CPU ≤ 5 ms per invoice.

**Two workers** (latency the limit): the same accounts with 1,000 ms latency and no rate
limit, each worker process allowed 16 Stripe calls in flight (``NEXTORIA_AUTOPAY_CALLS``),
``--concurrency 2``, sharing the limiter through Redis; 400 fresh invoices charged by one
worker, then 400 more by two. Target: two workers' throughput ≥ 1.6× one's (the figure is
two workers' invoices/s, the floor one worker's).

After every run every invoice is checked to be paid exactly once: one succeeded charge in
the sandbox's ledger and one payment row in the database, same amount (the floor's charges
carry no invoice and are left out). ``--quick``: 10 workspaces × 10 invoices, 100 for the
two-worker runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import stripe
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from benchmarks.context import BenchContext
from benchmarks.report import Result

NAME = "Autopay run"
LATENCY_MS = 100
RATE_PER_SECOND = 25
WORKER_THREADS = 8
SCALE_LATENCY_MS = 1000
SCALE_CALLS = 16
SCALE_THREADS = 2
REDIS_URL = os.environ.get("NEXTORIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Tenant:
    workspace_id: int
    client_id: int
    account_id: str
    secret_key: str
    customer_id: str = ""
    payment_method_id: str = ""


def run(ctx: BenchContext) -> list[Result]:
    workspaces, per_workspace = (10, 10) if ctx.quick else (100, 50)
    scale_per_workspace = 1 if ctx.quick else 4
    ctx.configure_here()
    with _sandbox(ctx) as (base, sandbox_pid):
        os.environ["NEXTORIA_STRIPE_API_BASE"] = base
        from nextoria_hub.settings import get_settings

        get_settings.cache_clear()
        tenants = [_seed_tenant(base, i) for i in range(workspaces)]
        control = httpx.Client(base_url=f"{base}/_sandbox", trust_env=False, timeout=60)
        total = workspaces * per_workspace
        numbered = 0

        # The floor: the same calls from a bare async client, latency and limit on.
        ids = _seed_invoices(tenants, per_workspace, first_number=numbered + 1)
        numbered += per_workspace
        control.post("/chaos", json={"latency_ms": LATENCY_MS, "rate_limit_per_second": 25})
        floor_wall, floor_429 = asyncio.run(_floor(base, tenants, ids))
        control.delete("/chaos")
        _mark_paid_elsewhere(ids)  # the floor paid nothing of ours: these stay out of the run

        # The Autopay run: the job queues, one worker process charges.
        _seed_invoices(tenants, per_workspace, first_number=numbered + 1)
        numbered += per_workspace
        control.post("/chaos", json={"latency_ms": LATENCY_MS, "rate_limit_per_second": 25})
        before = _request_counts(control)
        run1 = _worker_run(ctx, base, sandbox_pid, workers=1, threads=WORKER_THREADS)
        after = _request_counts(control)
        control.delete("/chaos")
        _verify(control, tenants, per_workspace)
        calls = sum(after[t.account_id][0] - before[t.account_id][0] for t in tenants)
        limited = sum(after[t.account_id][1] - before[t.account_id][1] for t in tenants)

        # One worker, then two, when latency (not CPU) is the limit.
        control.post("/chaos", json={"latency_ms": SCALE_LATENCY_MS})
        scale_extra = {"NEXTORIA_AUTOPAY_CALLS": str(SCALE_CALLS), "NEXTORIA_REDIS_URL": REDIS_URL}
        _seed_invoices(tenants, scale_per_workspace, first_number=numbered + 1)
        numbered += scale_per_workspace
        one = _worker_run(ctx, base, sandbox_pid, 1, SCALE_THREADS, scale_extra)
        _verify(control, tenants, per_workspace + scale_per_workspace)
        _seed_invoices(tenants, scale_per_workspace, first_number=numbered + 1)
        numbered += scale_per_workspace
        two = _worker_run(ctx, base, sandbox_pid, 2, SCALE_THREADS, scale_extra)
        control.delete("/chaos")
        _verify(control, tenants, per_workspace + 2 * scale_per_workspace)
        control.close()

    scale_n = workspaces * scale_per_workspace
    app_ms = 1000 * run1.app_cpu / total
    common = {
        "invoices": f"{total:,} in {workspaces} workspaces",
        "paid exactly once (ledger = DB)": "yes, after every run",
    }
    return [
        Result(
            benchmark=NAME,
            backend=ctx.backend,
            figure=f"wall time, {total:,} invoices, 1 worker",
            value=run1.wall,
            unit="s",
            floor_label="bare async client, same calls",
            floor=floor_wall,
            target="<= 1.3",
            extra={
                **common,
                "Stripe calls per invoice": f"{calls / total:.2f}",
                "429s met (app / floor)": f"{limited} / {floor_429}",
                "invoices/s": f"{total / run1.wall:.0f}",
                "sandbox CPU per call": f"{1000 * run1.sandbox_cpu / max(calls, 1):.1f} ms",
            },
        ),
        Result(
            benchmark=NAME,
            backend=ctx.backend,
            figure="app CPU per charged invoice",
            value=app_ms,
            unit="ms",
            floor_label="target",
            floor=5.0,
            target="<= 1.0",
            extra={
                "worker process CPU": f"{run1.worker_cpu:.2f} s",
                "job (queueing) CPU": f"{run1.job_cpu:.2f} s",
                "sandbox CPU over the run": f"{run1.sandbox_cpu:.2f} s "
                f"({1000 * run1.sandbox_cpu / total:.1f} ms per invoice)",
            },
        ),
        Result(
            benchmark=NAME,
            backend=ctx.backend,
            figure=f"two workers' throughput, {scale_n} invoices, latency 1 s",
            value=scale_n / two.wall,
            unit="invoices/s",
            floor_label="one worker",
            floor=scale_n / one.wall,
            target=">= 1.6",
            extra={
                "one worker": f"{one.wall:.1f} s, app CPU {one.app_cpu:.2f} s",
                "two workers": f"{two.wall:.1f} s, app CPU {two.app_cpu:.2f} s",
                "calls in flight per worker": str(SCALE_CALLS),
            },
        ),
    ]


# --- the floor --------------------------------------------------------------------------------


def _form(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding (``a[b][0]=c``), as stripe-python sends it."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            out += _form(value, name)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out.append((f"{name}[{i}]", str(v)))
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        else:
            out.append((name, str(value)))
    return out


async def _floor(
    base: str, tenants: list[Tenant], ids: dict[int, list[tuple[int, int]]]
) -> tuple[float, int]:
    """Create and confirm one PaymentIntent per invoice, all at once; (wall, 429s met).

    Each account's calls are paced to its limit (a burst of ``RATE_PER_SECOND``, then one
    every 1/``RATE_PER_SECOND`` s) so the floor spends nothing on refusals; a 429 that still
    comes is retried after 40 ms.
    """
    limited = 0
    started = time.perf_counter()

    async def charge(
        client: httpx.AsyncClient, t: Tenant, invoice_id: int, amount: int, index: int
    ) -> None:
        nonlocal limited
        slot = started + max(0, index - RATE_PER_SECOND + 1) / RATE_PER_SECOND
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        body = urlencode(
            _form(
                {
                    "amount": amount,
                    "currency": "usd",
                    "customer": t.customer_id,
                    "payment_method": t.payment_method_id,
                    "allowed_payment_method_types": ["card"],
                    "description": f"Invoice {invoice_id} (floor)",
                    "metadata": {"nextoria_workspace_id": str(t.workspace_id), "bench": "floor"},
                    "confirm": True,
                    "off_session": True,
                    "expand": ["latest_charge"],
                }
            )
        ).encode()
        headers = {
            "Authorization": f"Bearer {t.secret_key}",
            "Idempotency-Key": f"floor-{invoice_id}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        while True:
            r = await client.post("/v1/payment_intents", content=body, headers=headers)
            if r.status_code != 429:
                r.raise_for_status()
                assert r.json()["status"] == "succeeded", r.text
                return
            limited += 1
            await asyncio.sleep(0.04)

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        base_url=base, trust_env=False, timeout=120, limits=limits
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                charge(client, t, i, a, index)
                for t in tenants
                for index, (i, a) in enumerate(ids[t.workspace_id])
            )
        )
        return time.perf_counter() - started, limited


def _mark_paid_elsewhere(ids: dict[int, list[tuple[int, int]]]) -> None:
    """The floor's invoices are voided so the Autopay run does not see them."""
    from sqlalchemy import update

    from nextoria_hub.db import get_engine
    from nextoria_hub.models import Invoice, InvoiceStatus

    every = [i for rows in ids.values() for i, _ in rows]
    with get_engine().begin() as conn:
        conn.execute(
            update(Invoice).where(col(Invoice.id).in_(every)).values(status=InvoiceStatus.void)
        )


# --- worker runs ------------------------------------------------------------------------------


@dataclass
class WorkerRun:
    wall: float
    worker_cpu: float
    job_cpu: float
    sandbox_cpu: float

    @property
    def app_cpu(self) -> float:
        return self.worker_cpu + self.job_cpu


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _worker_run(
    ctx: BenchContext,
    base: str,
    sandbox_pid: int,
    workers: int,
    threads: int,
    extra_env: dict[str, str] | None = None,
) -> WorkerRun:
    """Start the worker processes, let them idle, run the job, wait for an empty queue."""
    from nextoria_hub.clock import utcnow
    from nextoria_hub.payments.autopay.work_items import enqueue_due_items

    env = ctx.env(
        NEXTORIA_STRIPE_API_BASE=base, NEXTORIA_WORKER_LEASE_SECONDS="300", **(extra_env or {})
    )
    logs = [
        (ctx.work_dir / f"worker-{time.monotonic_ns()}-{k}.log").open("w") for k in range(workers)
    ]
    command = [sys.executable, "-c", "from nextoria_hub.cli import app; app()"]
    procs = [
        subprocess.Popen(
            [*command, "worker", "--concurrency", str(threads)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        for proc in procs:
            _wait_for_heartbeat(proc)
        time.sleep(1.0)  # past the start-up work, idle
        worker_before = [_cpu(p.pid) for p in procs]
        sandbox_before = _cpu(sandbox_pid)
        started = time.perf_counter()
        job_before = time.process_time()
        queued = enqueue_due_items(utcnow())
        job_cpu = time.process_time() - job_before
        _wait_until_done(procs, queued["queued"])
        wall = time.perf_counter() - started
        worker_cpu = sum(_cpu(p.pid) - b for p, b in zip(procs, worker_before, strict=True))
        sandbox_cpu = _cpu(sandbox_pid) - sandbox_before
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
    return WorkerRun(wall, worker_cpu, job_cpu, sandbox_cpu)


def _wait_for_heartbeat(proc: subprocess.Popen[bytes]) -> None:
    from nextoria_hub.db import get_engine
    from nextoria_hub.models import WorkerHeartbeat

    deadline = time.monotonic() + 60
    while True:
        with Session(get_engine()) as db:
            beats = db.exec(select(WorkerHeartbeat.id)).all()
        if any(b.split(":")[1] == str(proc.pid) for b in beats):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("worker did not start")
        time.sleep(0.1)


def _wait_until_done(procs: list[subprocess.Popen[bytes]], queued: int) -> None:
    from nextoria_hub.db import get_engine
    from nextoria_hub.models import AutopayItem

    deadline = time.monotonic() + 1800
    while True:
        with Session(get_engine()) as db:
            left = db.exec(
                select(func.count()).select_from(AutopayItem).where(AutopayItem.status != "done")
            ).one()
        if not left:
            return
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise RuntimeError(f"workers stopped with {left} of {queued} items left")
        time.sleep(0.05)


# --- the sandbox process ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _sandbox(ctx: BenchContext) -> Iterator[tuple[str, int]]:
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
        yield base, proc.pid
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
        return Tenant(
            workspace.id,  # type: ignore[arg-type]
            client.id,  # type: ignore[arg-type]
            keys["account_id"],
            secret,
            customer,
            pm["id"],
        )


def _seed_invoices(
    tenants: list[Tenant], per_workspace: int, first_number: int
) -> dict[int, list[tuple[int, int]]]:
    """Open invoices due today, in one bulk insert (the counter follows the numbers):
    {workspace: [(invoice id, amount)]}."""
    from nextoria_hub.clock import utcnow
    from nextoria_hub.db import session_scope
    from nextoria_hub.models import Invoice, InvoiceCounter, InvoiceStatus

    now = utcnow()
    today = now.date()
    numbers = [f"INV-{n:05d}" for n in range(first_number, first_number + per_workspace)]
    rows = [
        {
            "workspace_id": t.workspace_id,
            "client_id": t.client_id,
            "number": number,
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
        for n, number in enumerate(numbers, start=first_number)
    ]
    last = first_number + per_workspace - 1
    with session_scope() as db:
        db.execute(insert(Invoice), rows)
        for t in tenants:
            db.merge(InvoiceCounter(workspace_id=t.workspace_id, last_number=last))
        db.flush()
        out: dict[int, list[tuple[int, int]]] = {t.workspace_id: [] for t in tenants}
        for workspace_id, invoice_id, total in db.exec(
            select(Invoice.workspace_id, Invoice.id, Invoice.total).where(
                col(Invoice.number).in_(numbers)
            )
        ):
            out[workspace_id].append((invoice_id, total))  # type: ignore[arg-type]
    return out


# --- the check ------------------------------------------------------------------------------


def _verify(control: httpx.Client, tenants: list[Tenant], per_workspace: int) -> None:
    """Every invoice paid exactly once: one succeeded charge in the ledger, one payment row."""
    from nextoria_hub.db import get_engine
    from nextoria_hub.models import Invoice, InvoiceStatus, Payment

    problems: list[str] = []
    with Session(get_engine()) as db:
        for t in tenants:
            ledger = control.get(f"/accounts/{t.account_id}/ledger?mode=test").json()["data"]
            ours = [
                c
                for c in ledger
                if c["status"] == "succeeded" and "nextoria_invoice_id" in c["metadata"]
            ]
            charged = Counter(int(c["metadata"]["nextoria_invoice_id"]) for c in ours)
            amounts = {int(c["metadata"]["nextoria_invoice_id"]): c["amount"] for c in ours}
            invoices = db.exec(
                select(Invoice).where(
                    Invoice.workspace_id == t.workspace_id, Invoice.status != InvoiceStatus.void
                )
            ).all()
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
