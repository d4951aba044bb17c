"""``nextoria worker`` SIGKILLed at random points while it delivers a full outbox, restarted
each time, then left to finish: every email is sent exactly once.

Resend (the local capture, which keeps idempotency keys as Resend does) answers slowly, so
the kills land between a claim, a send and the record of ``sent``. A killed worker's claims
run out (short lease), the scheduler's job puts them back (called here as the job would),
and the next worker sends them; an email that was sent but not recorded is sent again with
the same key and the same body, which Resend answers without sending. Half the emails are
stored as template + context only, so they are rendered by the worker at delivery.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlmodel import Session, select

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications import outbox
from nextoria_hub.notifications.delivery_items import release_expired
from tests.resend_capture import ResendCapture
from tests.resilience.test_worker_kill import Worker, short_lease  # noqa: F401  (a fixture)

SEED = 15
EMAILS = 40
KILLS = 4
SEND_SECONDS = 0.15


def _statuses() -> Counter[str]:
    with Session(get_engine()) as db:
        return Counter(db.exec(select(OutboxEmail.status)).all())


def _queue(db: Session) -> list[int]:
    mails = []
    for i in range(EMAILS):
        if i % 2:
            with outbox.rendering_deferred():  # as a settling transaction queues it
                mail = outbox.enqueue_email(
                    db,
                    workspace_id=None,
                    to=f"ap{i}@initech.test",
                    kind="payment_failed",
                    context={
                        "workspace_name": "Acme",
                        "client_name": "Initech",
                        "amount": f"${i}.00",
                        "number": f"INV-{i:04d}",
                        "reason": "declined",
                        "link": "http://acme.localhost/portal",
                    },
                )
        else:
            mail = OutboxEmail(
                to_address=f"client{i}@example.test",
                subject=f"Invoice INV-{i:04d} is due",
                text_body=f"Hello {i},\nplease pay.\n",
                kind="invoice_due",
            )
            db.add(mail)
        mails.append(mail)
    db.commit()  # the deferred ones get their ids with the rest
    return [m.id for m in mails]  # type: ignore[misc]


@pytest.mark.usefixtures("short_lease")
def test_worker_killed_mid_delivery_sends_every_email_once(
    db: Session, resend_capture: ResendCapture, tmp_path: Path
) -> None:
    ids = _queue(db)
    assert _statuses() == {"pending": EMAILS} and None not in ids
    resend_capture.delay = SEND_SECONDS
    rng = random.Random(SEED)
    deadline = time.monotonic() + 180  # a bound, not a goal
    kills = []
    for k in range(KILLS):
        before = _statuses()["sent"]
        worker = Worker(tmp_path / f"worker-{k}.log")
        try:
            # wait until this worker has sent a few and holds a claim, then a random moment
            target = before + rng.randint(1, 4)
            while not (_statuses()["sent"] >= target and _statuses()["sending"]):
                assert worker.proc.poll() is None, worker.output()[-3000:]
                assert time.monotonic() < deadline, f"no progress: {_statuses()}"
                if _statuses()["sent"] == EMAILS:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0, SEND_SECONDS))
        finally:
            worker.kill()
        kills.append(dict(_statuses()))
        if _statuses()["sent"] == EMAILS:
            break
        # the scheduler's job, once the dead worker's lease has run out
        while _statuses()["sending"]:
            assert time.monotonic() < deadline, f"claims never released: {_statuses()}"
            release_expired(get_engine(), utcnow())
            time.sleep(0.1)
    print("outbox after each kill:", kills)
    assert len(kills) >= 2 and any(k.get("sending") for k in kills), kills

    worker = Worker(tmp_path / "worker-final.log")
    try:
        while _statuses()["sent"] < EMAILS:
            assert worker.proc.poll() is None, worker.output()[-3000:]
            assert time.monotonic() < deadline, f"not finished: {_statuses()}"
            assert not _statuses()["failed"], _statuses()
            time.sleep(0.05)
    finally:
        code = worker.stop()
    assert code == 0, worker.output()[-3000:]

    assert _statuses() == {"sent": EMAILS}
    sent = Counter(r.headers["idempotency-key"] for r in resend_capture.delivered)
    assert sent == {f"nextoria-email-{i}": 1 for i in ids}  # each email left once
    bodies: dict[str, list[object]] = defaultdict(list)
    for request in resend_capture.requests:
        bodies[request.headers["idempotency-key"]].append(request.body)
    repeats = {key: b for key, b in bodies.items() if len(b) > 1}
    print(f"{len(repeats)} email(s) sent again after a kill, answered by the idempotency key")
    assert len(repeats) <= KILLS  # only an email in flight at a kill is tried twice
    assert all(b == [b[0]] * len(b) for b in repeats.values())  # with the very same body
    with Session(get_engine()) as s:
        rendered = s.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_failed")).all()
    assert rendered and all(m.subject and "INV-" in m.text_body for m in rendered)
