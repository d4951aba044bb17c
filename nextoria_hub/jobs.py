"""Scheduled jobs: one registry, an APScheduler 3 scheduler whose job store is the database.

Where the scheduler runs:

- Embedded default (``make run``, one process): the Reflex app starts it in a lifespan task
  (``scheduler_lifespan``) and stops it on exit.
- Several web workers: every worker runs the lifespan tasks, so set ``NEXTORIA_SCHEDULER=off``
  on the web workers and run exactly one ``nextoria scheduler`` process for the jobs.

Every job is safe to run twice (two schedulers, or a crash and restart): the services it calls
claim their rows atomically. Jobs are stored by a textual reference (``module:function``), so
the job store can pickle them and a target that does not exist yet only logs and skips.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import ref_to_obj

from nextoria_hub.db import engine_for
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 300
RUNNER = "nextoria_hub.jobs:run_target"


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: ``func`` is a ``module:function`` reference, ``trigger`` APScheduler's."""

    id: str
    func: str
    trigger: str = "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)


# Add new jobs here, and only here.
JOBS: list[JobSpec] = [
    JobSpec(  # workers send the outbox; the clock puts interrupted deliveries back in line
        "release_email_claims",
        "nextoria_hub.notifications.delivery_items:release_expired_claims",
        trigger_args={"seconds": 30},
    ),
    JobSpec(
        "reconcile_checkouts",
        "nextoria_hub.payments.reconciliation:reconcile_open_checkouts",
        trigger_args={"minutes": 5},
    ),
    JobSpec(
        "follow_bank_debits",
        "nextoria_hub.payments.bank_debits:follow_processing_debits",
        trigger_args={"minutes": 30},
    ),
    JobSpec(
        "reconcile_ledger",
        "nextoria_hub.payments.reconciliation:reconcile_ledger",
        trigger_args={"hours": 1},
    ),
    JobSpec(
        "autopay_charge",
        "nextoria_hub.payments.autopay.work_items:enqueue_due_items",
        trigger_args={"minutes": 5},
    ),
    JobSpec(
        "autopay_notices",
        "nextoria_hub.payments.autopay:send_autopay_notices",
        trigger_args={"hours": 1},
    ),
    JobSpec(
        "fetch_missed_events",
        "nextoria_hub.payments.inbox_recovery:fetch_missed_events",
        trigger_args={"hours": 1},
    ),
    JobSpec(
        "retainer_invoices",
        "nextoria_hub.billing.retainers:issue_retainer_invoices",
        trigger_args={"hours": 1},
    ),
    JobSpec(
        "invoice_reminders",
        "nextoria_hub.billing.reminders:send_due_reminders",
        trigger_args={"hours": 1},
    ),
]


def run_target(target: str) -> Any:
    """What every stored job calls: import ``target`` by name and run it, logging the run.

    A target that cannot be imported (a module not deployed yet) is skipped with a log line.
    A target with a ``db`` parameter gets a session in its own unit of work.
    """
    try:
        func = ref_to_obj(target)
    except (ImportError, LookupError) as err:
        log.warning("job skipped: %s is not available (%s)", target, err)
        return None
    started = time.monotonic()
    params = inspect.signature(func).parameters
    if "db" in params and params["db"].default is inspect.Parameter.empty:
        from nextoria_hub.db import session_scope

        with session_scope() as db:
            result = func(db=db)
    else:
        result = func()
    if hasattr(result, "as_dict"):
        result = result.as_dict()
    log.info("job %s done in %.2fs: %s", target, time.monotonic() - started, result)
    return result


def build_scheduler() -> BackgroundScheduler:
    settings = get_settings()
    store = SQLAlchemyJobStore(
        engine=engine_for(settings.effective_database_url), tablename=JOB_TABLE
    )
    return BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        timezone=UTC,
    )


def sync_jobs(scheduler: BackgroundScheduler, jobs: list[JobSpec] | None = None) -> None:
    """Make the job store hold exactly the registry's jobs (by id; no duplicates)."""
    jobs = JOBS if jobs is None else jobs
    wanted = {spec.id for spec in jobs}
    for spec in jobs:
        scheduler.add_job(
            RUNNER,
            spec.trigger,
            args=[spec.func],
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            max_instances=1,
            **spec.trigger_args,
        )
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing job %s: no longer in the registry", job.id)
            job.remove()


def start_scheduler(
    force: bool = False, run_now: tuple[str, ...] = ()
) -> BackgroundScheduler | None:
    """Start the jobs in background threads; None when ``NEXTORIA_SCHEDULER=off`` (unless forced).

    ``run_now`` names jobs to run once at start (then on their schedule): an operator catching
    up after an outage, or a test that must not wait for an interval.
    """
    if get_settings().scheduler == "off" and not force:
        log.info("scheduler not started: NEXTORIA_SCHEDULER=off")
        return None
    unknown = sorted(set(run_now) - {spec.id for spec in JOBS})
    if unknown:
        raise ValueError(f"no such job: {', '.join(unknown)}")
    scheduler = build_scheduler()
    scheduler.start()
    sync_jobs(scheduler)
    for job_id in run_now:
        scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
    log.info("scheduler started with jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    return scheduler


def shutdown(scheduler: BackgroundScheduler | None, wait: bool = True) -> None:
    """Stop the scheduler, by default after the jobs that are running finish."""
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=wait)
        log.info("scheduler stopped")


@asynccontextmanager
async def scheduler_lifespan() -> AsyncIterator[None]:
    """Reflex lifespan task: the scheduler runs while the app process runs."""
    scheduler = await asyncio.to_thread(start_scheduler)
    try:
        yield
    finally:
        await asyncio.to_thread(shutdown, scheduler)


def run_forever(stop: threading.Event | None = None, run_now: tuple[str, ...] = ()) -> None:
    """``nextoria scheduler``: run the jobs in the foreground until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    scheduler = start_scheduler(force=True, run_now=run_now)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        shutdown(scheduler)
