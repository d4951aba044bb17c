"""Delivering the outbox through Resend (a local capture server plays Resend)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlmodel import Session, select
from typer.testing import CliRunner

from nextoria_hub.cli import app
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications.delivery import MAX_ATTEMPTS, deliver_pending, release_expired
from nextoria_hub.notifications.delivery_items import claim, lease, new_token
from nextoria_hub.settings import Settings, get_settings
from tests.conftest import RESEND_TEST_KEY
from tests.factories import quick_workspace
from tests.resend_capture import ResendCapture


def _queue(db: Session, n: int = 1, workspace_id: int | None = None) -> list[int]:
    emails = [
        OutboxEmail(
            workspace_id=workspace_id,
            to_address=f"client{i}@example.test",
            subject=f"Invoice INV-{i:04d} is due",
            text_body=f"Hello {i},\nplease pay.\n",
            html_body=f"<p>Hello {i},</p><p>please pay.</p>",
            kind="invoice_due",
        )
        for i in range(n)
    ]
    db.add_all(emails)
    db.commit()
    return [e.id for e in emails]  # type: ignore[misc]


def _row(email_id: int) -> OutboxEmail:
    with Session(get_engine()) as s:
        row = s.get(OutboxEmail, email_id)
        assert row is not None
        return row


def test_resend_settings_use_resends_own_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESEND_API_KEY", raising=False)
    monkeypatch.delenv("RESEND_API_URL", raising=False)
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert plain.email_mode == "outbox"
    assert plain.resend_api_url == "https://api.resend.com"
    monkeypatch.setenv("RESEND_API_KEY", RESEND_TEST_KEY)
    monkeypatch.setenv("RESEND_API_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("NEXTORIA_RESEND_API_KEY", "ignored")
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    assert configured.email_mode == "resend"
    assert configured.resend_api_key == RESEND_TEST_KEY
    assert configured.resend_api_url == "http://127.0.0.1:9/"
    assert RESEND_TEST_KEY not in repr(configured)


def test_sends_through_resend_with_an_idempotency_key(
    db: Session, resend_capture: ResendCapture
) -> None:
    ws = quick_workspace(db).workspace
    [email_id] = _queue(db, workspace_id=ws.id)

    counts = deliver_pending()

    assert (counts.claimed, counts.sent, counts.retrying, counts.logged) == (1, 1, 0, 0)
    [req] = resend_capture.requests
    assert (req.method, req.path) == ("POST", "/emails")
    assert req.headers["authorization"] == f"Bearer {RESEND_TEST_KEY}"
    assert req.headers["idempotency-key"] == f"nextoria-email-{email_id}"
    assert req.body == {
        "from": get_settings().email_from,
        "to": ["client0@example.test"],
        "subject": "Invoice INV-0000 is due",
        "text": "Hello 0,\nplease pay.\n",
        "html": "<p>Hello 0,</p><p>please pay.</p>",
    }
    row = _row(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None
    # Nothing left to do: a second pass sends nothing more.
    assert deliver_pending().claimed == 0
    assert len(resend_capture.requests) == 1


def test_a_failed_send_is_retried_after_the_backoff(
    db: Session, resend_capture: ResendCapture
) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        [email_id] = _queue(db)
        resend_capture.fail(1)
        started = utcnow()

        first = deliver_pending()

        assert (first.claimed, first.sent, first.retrying) == (1, 0, 1)
        row = _row(email_id)
        assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
        assert "500" in row.last_error
        assert RESEND_TEST_KEY not in row.last_error
        assert timedelta(seconds=59) < row.next_attempt_at - started < timedelta(seconds=65)

        # Not due yet: nothing is sent.
        assert deliver_pending().claimed == 0
        assert len(resend_capture.requests) == 1

        traveller.shift(timedelta(seconds=61))
        second = deliver_pending()

    assert (second.claimed, second.sent) == (1, 1)
    row = _row(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    keys = [r.headers["idempotency-key"] for r in resend_capture.requests]
    assert keys == [f"nextoria-email-{email_id}"] * 2  # the retry reuses the key


def test_gives_up_after_eight_attempts_with_growing_waits(
    db: Session, resend_capture: ResendCapture
) -> None:
    resend_capture.fail(100)
    waits = []
    with time_machine.travel(utcnow(), tick=True) as traveller:
        [email_id] = _queue(db)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            before = utcnow()
            counts = deliver_pending()
            assert counts.claimed == 1, attempt
            row = _row(email_id)
            assert row.attempts == attempt
            if attempt < MAX_ATTEMPTS:
                assert row.status == "pending"
                waits.append(row.next_attempt_at - before)
                traveller.shift(row.next_attempt_at - utcnow() + timedelta(seconds=1))
        assert counts.failed == 1
        traveller.shift(timedelta(days=2))
        assert deliver_pending().claimed == 0  # failed is final

    row = _row(email_id)
    assert (row.status, row.attempts, row.sent_at) == ("failed", MAX_ATTEMPTS, None)
    assert "capture told to fail" in row.last_error
    assert RESEND_TEST_KEY not in row.last_error and "***" in row.last_error
    minutes = [round(w.total_seconds() / 60) for w in waits[:4]]
    assert minutes == [1, 5, 15, 60]
    assert waits == sorted(waits)
    assert len(resend_capture.requests) == MAX_ATTEMPTS


def test_concurrent_claims_never_overlap(db: Session) -> None:
    ids = set(_queue(db, 40))
    results: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claimer(slot: int) -> None:
        barrier.wait()
        while batch := claim(get_engine(), utcnow(), 3, new_token()):
            results[slot].extend(batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not set(results[0]) & set(results[1])
    assert set(results[0]) | set(results[1]) == ids
    assert len(results[0]) + len(results[1]) == len(ids)


def test_two_deliverers_at_once_send_each_email_once(
    db: Session, resend_capture: ResendCapture
) -> None:
    ids = _queue(db, 24)
    resend_capture.delay = 0.01
    sent = [0, 0]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def deliverer(slot: int) -> None:
        try:
            barrier.wait()
            while (counts := deliver_pending(limit=4)).claimed:
                sent[slot] += counts.sent
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=deliverer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors
    assert not any(t.is_alive() for t in threads)
    assert sum(sent) == len(ids)
    keys = [r.headers["idempotency-key"] for r in resend_capture.requests]
    assert sorted(keys) == sorted(f"nextoria-email-{i}" for i in ids)  # each exactly once
    with Session(get_engine()) as s:
        statuses = {e.status for e in s.exec(select(OutboxEmail))}
    assert statuses == {"sent"}


def test_a_claim_whose_deliverer_died_is_released_when_its_lease_expires(
    db: Session, resend_capture: ResendCapture
) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        [email_id] = _queue(db)
        assert claim(get_engine(), utcnow(), 10, new_token()) == [
            email_id
        ]  # …and then it "crashed"
        assert _row(email_id).status == "sending"

        idle = deliver_pending()
        assert (idle.claimed, idle.released) == (0, 0)
        assert resend_capture.requests == []

        traveller.shift(lease() + timedelta(seconds=1))
        counts = deliver_pending()

    assert (counts.released, counts.claimed, counts.sent) == (1, 1, 1)
    row = _row(email_id)
    assert (row.status, row.attempts) == ("sent", 2)  # the interrupted claim counted
    [req] = resend_capture.requests
    assert req.headers["idempotency-key"] == f"nextoria-email-{email_id}"


def test_an_email_that_keeps_killing_its_deliverer_ends_as_failed(
    db: Session, resend_capture: ResendCapture
) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        [email_id] = _queue(db)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # A deliverer claims it and dies; the lease expires.
            assert claim(get_engine(), utcnow(), 10, new_token()) == [email_id]
            traveller.shift(lease() + timedelta(seconds=1))
            if attempt < MAX_ATTEMPTS:
                assert release_expired(get_engine(), utcnow()) == 1
                assert (_row(email_id).status, _row(email_id).attempts) == ("pending", attempt)
        counts = deliver_pending()

    assert (counts.released, counts.claimed) == (1, 0)
    row = _row(email_id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "interrupted" in row.last_error
    assert resend_capture.requests == []


def test_without_a_key_emails_stay_in_the_outbox_as_logged(
    db: Session,
    resend_capture: ResendCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("RESEND_API_KEY")  # RESEND_API_URL still points at the capture server
    get_settings.cache_clear()
    assert get_settings().email_mode == "outbox"
    [email_id] = _queue(db)

    with caplog.at_level(logging.INFO, logger="nextoria_hub.notifications.delivery_items"):
        counts = deliver_pending()

    assert (counts.claimed, counts.logged, counts.sent) == (1, 1, 0)
    row = _row(email_id)
    assert (row.status, row.sent_at) == ("logged", None)
    assert resend_capture.requests == []
    assert "Invoice INV-0000 is due" in caplog.text
    assert "client0@example.test" in caplog.text
    assert deliver_pending().claimed == 0  # logged once, not again


def test_cli_email_deliver_prints_counts(db: Session, resend_capture: ResendCapture) -> None:
    _queue(db, 2)
    resend_capture.fail(1)

    result = CliRunner().invoke(app, ["email", "deliver"])

    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 1, failed 0, logged 0" in result.output
    assert len(resend_capture.delivered) == 1
