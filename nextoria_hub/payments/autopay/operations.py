"""What an operator sees of the Autopay queue (``nextoria autopay status``).

Counts per workspace: invoices due for an attempt now, work items queued for the workers and
held by one, attempts in flight (claimed, unknown or a bank debit processing), invoices
waiting for a soft retry, and invoices Autopay stopped on (last attempt failed with no retry
planned); plus the scheduler's next ``autopay_charge``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from nextoria_hub.models import (
    AutopayAttempt,
    AutopayItem,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    Workspace,
)
from nextoria_hub.payments.autopay.engine import _due_invoices
from nextoria_hub.payments.stripe_connection import active_mode

CHARGE_JOB = "autopay_charge"
IN_FLIGHT = ("claimed", "unknown", "processing")


@dataclass
class QueueStatus:
    workspace: str
    mode: str
    due: int
    queued: int  # work items waiting for a worker
    claimed: int  # work items a worker holds (charging now, or its lease has not run out)
    in_flight: int
    retrying: int
    failed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def autopay_workspaces(db: Session) -> list[int]:
    """Workspaces with at least one client on Autopay: the ones a run looks at."""
    rows = db.exec(
        select(ClientAutopay.workspace_id).where(col(ClientAutopay.enabled).is_(True))
    ).all()
    return sorted(set(rows))


def _latest_attempts(db: Session, workspace_id: int) -> list[AutopayAttempt]:
    """Each open invoice's latest attempt."""
    latest = (
        select(AutopayAttempt.invoice_id, func.max(AutopayAttempt.attempt_no).label("n"))
        .where(AutopayAttempt.workspace_id == workspace_id)
        .group_by(col(AutopayAttempt.invoice_id))
        .subquery()
    )
    return list(
        db.exec(
            select(AutopayAttempt)
            .join(
                latest,
                (col(AutopayAttempt.invoice_id) == latest.c.invoice_id)
                & (col(AutopayAttempt.attempt_no) == latest.c.n),
            )
            .join(Invoice, col(Invoice.id) == col(AutopayAttempt.invoice_id))
            .where(
                AutopayAttempt.workspace_id == workspace_id,
                Invoice.status == InvoiceStatus.open,
            )
        )
    )


def queue_status(db: Session, workspace_id: int, now: datetime) -> QueueStatus:
    """The Autopay queue of one workspace at ``now``."""
    workspace = db.get(Workspace, workspace_id)
    assert workspace is not None
    mode = active_mode(db, workspace_id)
    in_flight = db.exec(
        select(func.count())
        .select_from(AutopayAttempt)
        .where(
            AutopayAttempt.workspace_id == workspace_id,
            col(AutopayAttempt.status).in_(IN_FLIGHT),
        )
    ).one()
    items = dict(
        db.exec(
            select(AutopayItem.status, func.count())
            .where(
                AutopayItem.workspace_id == workspace_id,
                col(AutopayItem.status).in_(("pending", "claimed")),
            )
            .group_by(col(AutopayItem.status))
        ).all()
    )
    latest = [a for a in _latest_attempts(db, workspace_id) if a.status == "failed"]
    retrying = sum(1 for a in latest if a.next_retry_at is not None)
    return QueueStatus(
        workspace=workspace.slug,
        mode=mode,
        due=len(_due_invoices(db, workspace_id, mode, now)),
        queued=int(items.get("pending", 0)),
        claimed=int(items.get("claimed", 0)),
        in_flight=int(in_flight),
        retrying=retrying,
        failed=len(latest) - retrying,
    )


def next_run(db: Session) -> datetime | None:
    """When the scheduler next runs the charge job (from its job store), if it is scheduled."""
    from nextoria_hub.jobs import JOB_TABLE

    if not sa_inspect(db.get_bind()).has_table(JOB_TABLE):
        return None
    value = db.execute(
        text(f"SELECT next_run_time FROM {JOB_TABLE} WHERE id = :id"),
        {"id": CHARGE_JOB},
    ).scalar()
    return datetime.fromtimestamp(float(value), UTC) if value is not None else None
