"""The audit log: who changed what. Callers pass values already masked."""

from __future__ import annotations

from sqlmodel import Session, col, select

from nextoria_hub.models import AuditEntry
from nextoria_hub.tenancy import Actor


def record_audit(
    db: Session, actor: Actor | None, action: str, detail: str, *, workspace_id: int | None = None
) -> None:
    ws_id = actor.workspace_id if actor else workspace_id
    if ws_id is None:
        raise ValueError("an audit entry belongs to a workspace: pass an actor or workspace_id")
    db.add(
        AuditEntry(
            workspace_id=ws_id,
            actor_id=actor.user_id if actor else None,
            actor_label=actor.email if actor else "system",
            action=action,
            detail=detail,
        )
    )


def list_audit(db: Session, actor: Actor, limit: int = 200) -> list[AuditEntry]:
    actor.require_admin()
    return list(
        db.exec(
            select(AuditEntry)
            .where(AuditEntry.workspace_id == actor.workspace_id)
            .order_by(col(AuditEntry.id).desc())
            .limit(limit)
        )
    )
