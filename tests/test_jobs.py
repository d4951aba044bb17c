"""The scheduler: jobs live in the database job store, run when due, and can be switched off."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from nextoria_hub import jobs
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications import delivery_items
from nextoria_hub.settings import PROJECT_ROOT, get_settings
from tests.resend_capture import ResendCapture

REGISTERED = {
    "release_email_claims",
    "reconcile_checkouts",
    "follow_bank_debits",
    "reconcile_ledger",
    "autopay_charge",
    "autopay_notices",
    "retainer_invoices",
    "fetch_missed_events",
    "invoice_reminders",
}


def _stored_jobs() -> list[str]:
    engine = get_engine()
    if not inspect(engine).has_table(jobs.JOB_TABLE):
        return []
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(text(f"SELECT id FROM {jobs.JOB_TABLE}")))


def _clear_job_store() -> None:
    engine = get_engine()
    if inspect(engine).has_table(jobs.JOB_TABLE):
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {jobs.JOB_TABLE}"))


def _scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "APScheduler"]


@pytest.fixture
def job_store(db: Session) -> Iterator[None]:
    """An empty job store, emptied again afterwards; no scheduler left running."""
    _clear_job_store()
    yield
    _clear_job_store()
    assert _scheduler_threads() == []


@pytest.fixture
def scheduler_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEXTORIA_SCHEDULER", "on")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_registry_holds_the_jobs() -> None:
    by_id = {spec.id: spec for spec in jobs.JOBS}
    assert set(by_id) == REGISTERED
    assert (
        by_id["release_email_claims"].func
        == "nextoria_hub.notifications.delivery_items:release_expired_claims"
    )
    assert by_id["release_email_claims"].trigger_args == {"seconds": 30}
    assert (
        by_id["reconcile_checkouts"].func
        == "nextoria_hub.payments.reconciliation:reconcile_open_checkouts"
    )
    assert by_id["reconcile_checkouts"].trigger_args == {"minutes": 5}
    # The job only queues; workers charge the items (payments/autopay/work_items.py).
    assert (
        by_id["autopay_charge"].func == "nextoria_hub.payments.autopay.work_items:enqueue_due_items"
    )
    assert by_id["autopay_notices"].func == "nextoria_hub.payments.autopay:send_autopay_notices"
    for spec in jobs.JOBS:  # every target resolves
        assert callable(jobs.ref_to_obj(spec.func))


def test_jobs_are_stored_in_the_database_once_across_restarts(
    job_store: None, scheduler_on: None
) -> None:
    first = jobs.start_scheduler()
    assert first is not None
    try:
        assert _stored_jobs() == sorted(REGISTERED)
        job = first.get_job("release_email_claims")
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == jobs.MISFIRE_GRACE_SECONDS
        assert job.args == ("nextoria_hub.notifications.delivery_items:release_expired_claims",)
    finally:
        jobs.shutdown(first)

    # A job that left the registry is removed from the store on the next start.
    stale = jobs.build_scheduler()
    stale.start(paused=True)
    stale.add_job(jobs.RUNNER, "interval", args=["nowhere:job"], id="retired", minutes=1)
    jobs.shutdown(stale)
    assert "retired" in _stored_jobs()

    second = jobs.start_scheduler()
    assert second is not None
    try:
        assert _stored_jobs() == sorted(REGISTERED)  # same ids, no duplicates
        assert {j.id for j in second.get_jobs()} == REGISTERED
    finally:
        jobs.shutdown(second)


def test_scheduler_off_starts_nothing(job_store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXTORIA_SCHEDULER", "off")
    get_settings.cache_clear()
    try:
        assert jobs.start_scheduler() is None
        assert _scheduler_threads() == []
        assert _stored_jobs() == []

        async def lifespan() -> None:
            async with jobs.scheduler_lifespan():
                assert _scheduler_threads() == []

        asyncio.run(lifespan())
    finally:
        get_settings.cache_clear()


def test_lifespan_runs_the_scheduler_while_the_app_runs(
    job_store: None, scheduler_on: None
) -> None:
    async def lifespan() -> None:
        async with jobs.scheduler_lifespan():
            assert len(_scheduler_threads()) == 1
            assert _stored_jobs() == sorted(REGISTERED)

    asyncio.run(lifespan())
    assert _scheduler_threads() == []


def test_the_clock_puts_an_interrupted_delivery_back_for_the_workers(
    job_store: None,
    scheduler_on: None,
    db: Session,
    resend_capture: ResendCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEXTORIA_WORKER_LEASE_SECONDS", "0.2")
    get_settings.cache_clear()
    email = OutboxEmail(
        to_address="due@example.test", subject="Due now", text_body="hi\n", kind="test"
    )
    db.add(email)
    db.commit()
    # a worker claims it and dies before sending
    assert delivery_items.claim(get_engine(), utcnow(), 5, "dead-worker") == [email.id]
    assert delivery_items.run_once().claimed == 0  # held by the dead worker's lease

    scheduler = jobs.start_scheduler()
    assert scheduler is not None
    try:
        deadline = time.monotonic() + 15
        while _status(email.id) != "pending":  # the lease ends, then the job releases it
            assert time.monotonic() < deadline, _status(email.id)
            scheduler.modify_job("release_email_claims", next_run_time=utcnow())
            time.sleep(0.1)
    finally:
        jobs.shutdown(scheduler)
    get_settings.cache_clear()

    assert delivery_items.run_once().sent == 1  # a worker does the sending
    assert [r.body["to"] for r in resend_capture.delivered] == [["due@example.test"]]
    assert _status(email.id) == "sent"


def _status(email_id: int | None) -> str:
    with Session(get_engine()) as s:
        row = s.get(OutboxEmail, email_id)
        assert row is not None
        return row.status


def test_a_target_that_is_not_deployed_is_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="nextoria_hub.jobs"):
        assert jobs.run_target("nextoria_hub.not_written_yet:reconcile") is None
    assert "job skipped: nextoria_hub.not_written_yet:reconcile" in caplog.text


_SEEN: list[object] = []


def needs_a_session(db: Session) -> str:
    _SEEN.append(db)
    return "ok"


def test_a_target_with_a_db_parameter_gets_a_session() -> None:
    _SEEN.clear()
    assert jobs.run_target("tests.test_jobs:needs_a_session") == "ok"
    assert len(_SEEN) == 1 and isinstance(_SEEN[0], Session)


def test_the_reflex_app_runs_the_scheduler_in_its_lifespan(
    job_store: None, scheduler_on: None
) -> None:
    from starlette.applications import Starlette

    from nextoria_hub.app import app

    assert jobs.scheduler_lifespan in app.get_lifespan_tasks()

    async def serve() -> None:  # what Reflex's ASGI lifespan does around the server's life
        async with app._run_lifespan_tasks(Starlette()):
            assert len(_scheduler_threads()) == 1
            assert _stored_jobs() == sorted(REGISTERED)

    asyncio.run(serve())
    assert _scheduler_threads() == []


def test_nextoria_scheduler_runs_in_the_foreground_until_sigterm(job_store: None) -> None:
    env = {**os.environ, "NEXTORIA_SCHEDULER": "off", "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from nextoria_hub.cli import app; app()", "scheduler"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while _stored_jobs() != sorted(REGISTERED) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert _stored_jobs() == sorted(REGISTERED)  # runs even with NEXTORIA_SCHEDULER=off
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "scheduler started with jobs" in output
    assert "scheduler stopped" in output


def test_migrations_leave_the_scheduler_job_table_alone(
    job_store: None, scheduler_on: None
) -> None:
    """APScheduler owns ``apscheduler_jobs``; autogenerate must not propose dropping it."""
    from alembic import command
    from nextoria_hub.db import alembic_config

    jobs.shutdown(jobs.start_scheduler())
    assert _stored_jobs() == sorted(REGISTERED)
    cfg = alembic_config()
    cfg.attributes["quiet"] = True
    command.check(cfg)  # raises when the models and the migrations disagree
