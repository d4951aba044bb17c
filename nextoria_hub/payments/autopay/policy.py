"""The retry and dunning policy: when an invoice is next charged, and what follows a decline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nextoria_hub.models import (
    AutopayAttempt,
    Invoice,
    SavedPaymentMethod,
)
from nextoria_hub.payments.autopay.records import _aware


def _charge_date(
    invoice: Invoice, attempts: list[AutopayAttempt], method: SavedPaymentMethod | None
) -> datetime | None:
    """When this invoice is next due for an autopay attempt, or None (no attempt planned)."""
    due = datetime.combine(invoice.due_date, datetime.min.time(), UTC)
    if not attempts:
        return due
    last = attempts[-1]
    if last.status in ("claimed", "unknown", "processing"):
        return None  # being settled first (a bank debit: until the bank answers)
    if last.status == "succeeded":
        return None
    if last.next_retry_at is not None:
        return _aware(last.next_retry_at)
    # No retry planned (hard, authentication or exhausted): only a new card restarts it.
    if method is not None and method.payment_method_id != last.payment_method_id:
        return max(due, _aware(method.created_at))
    return None


@dataclass(frozen=True)
class Past:
    """One attempt of the invoice as the policy sees it (oldest first in a history)."""

    status: str
    failure_class: str
    at: datetime
    current: bool = False  # the attempt just declined


@dataclass(frozen=True)
class NextStep:
    """What follows a decline: ``retry`` at ``retry_at``, ``give_up`` after ``tries`` soft
    declines, ``ask_authentication`` (the client pays in the portal) or ``ask_new_method``."""

    action: str
    retry_at: datetime | None = None
    tries: int = 0


def next_step(history: Sequence[Past], decline_class: str, schedule: Sequence[int]) -> NextStep:
    """The step after the ``current`` attempt of ``history`` declined with ``decline_class``.

    Soft declines are retried ``schedule[i]`` days after the first failure of the trailing run
    of soft failures (so a new card restarts the count); after the last day Autopay gives up.
    Pure: the caller writes the result (retry date, emails, Payment failed).
    """
    if decline_class == "authentication":
        return NextStep("ask_authentication")
    if decline_class != "soft":
        return NextStep("ask_new_method")
    run: list[Past] = []
    for past in reversed(history):
        if past.current or (past.status == "failed" and past.failure_class == "soft"):
            run.append(past)
        else:
            break
    run.reverse()
    index = len(run) - 1
    if run and index < len(schedule):
        return NextStep("retry", retry_at=_aware(run[0].at) + timedelta(days=schedule[index]))
    return NextStep("give_up", tries=len(schedule) + 1)
