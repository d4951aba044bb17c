"""Small shared reads of Autopay rows (settings per client, saved methods, attempts)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from nextoria_hub.models import (
    AutopayAttempt,
    ClientAutopay,
    SavedPaymentMethod,
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _autopay_row(db: Session, workspace_id: int, client_id: int) -> ClientAutopay | None:
    return db.exec(
        select(ClientAutopay).where(
            ClientAutopay.workspace_id == workspace_id, ClientAutopay.client_id == client_id
        )
    ).first()


def active_method(
    db: Session, workspace_id: int, client_id: int, mode: str
) -> SavedPaymentMethod | None:
    return db.exec(
        select(SavedPaymentMethod)
        .where(
            SavedPaymentMethod.workspace_id == workspace_id,
            SavedPaymentMethod.client_id == client_id,
            SavedPaymentMethod.mode == mode,
            col(SavedPaymentMethod.removed_at).is_(None),
        )
        .order_by(col(SavedPaymentMethod.id).desc())
    ).first()


def _attempts_of(db: Session, workspace_id: int, invoice_id: int) -> list[AutopayAttempt]:
    return list(
        db.exec(
            select(AutopayAttempt)
            .where(
                AutopayAttempt.workspace_id == workspace_id,
                AutopayAttempt.invoice_id == invoice_id,
            )
            .order_by(col(AutopayAttempt.attempt_no))
        )
    )
