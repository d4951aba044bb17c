"""Catch payments whose webhooks never arrived: ask Stripe about old open Checkout sessions."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError
from nextoria_hub.models import (
    CheckoutSession,
    Invoice,
    Payment,
    ReconciliationFlag,
    StripeKeys,
    Workspace,
)
from nextoria_hub.payments.checkout import apply_session_state
from nextoria_hub.payments.payment_paths import expire_closed_sessions
from nextoria_hub.payments.stripe_connection import secret_key_for

log = logging.getLogger(__name__)


def reconcile_open_checkouts(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Settle paid sessions and expire dead ones; returns how many payments were settled.

    One transaction per session, so one bad session or workspace never blocks the rest.
    """
    expire_closed_sessions()  # sessions closed here whose expiry at Stripe is still to do
    cutoff = utcnow() - older_than
    with session_scope() as db:
        candidates = [
            (row.id, row.workspace_id, row.mode)
            for row in db.exec(
                select(CheckoutSession)
                .where(
                    CheckoutSession.status == "open",
                    CheckoutSession.purpose == "payment",
                    CheckoutSession.created_at <= cutoff,
                )
                .order_by(col(CheckoutSession.id))
            )
        ]
    settled = 0
    broken: set[tuple[int, str]] = set()
    for row_id, workspace_id, mode in candidates:
        if (workspace_id, mode) in broken:
            continue
        try:
            with session_scope() as db:
                row = db.get(CheckoutSession, row_id)
                if row is None or row.status != "open":
                    continue
                secret_key = secret_key_for(db, workspace_id, mode)
                db.commit()  # only read so far: no transaction open while Stripe answers
                session = gateway.retrieve_checkout_session(secret_key, row.session_id)
                if session is None:
                    row.status = "expired"
                    db.add(row)
                    continue
                if apply_session_state(db, row, session) == "settled":
                    settled += 1
        except (gateway.StripeKeyRejected, gateway.StripePermissionMissing, NextoriaError) as err:
            # The workspace's key is gone or refused: skip its sessions, keep going.
            log.warning(
                "reconciliation skipped workspace %s (%s mode): %s", workspace_id, mode, err.message
            )
            broken.add((workspace_id, mode))
    return settled


# --- The ledger at Stripe against ours ------------------------------------------------------

LEDGER_DAYS = 30


@dataclass(frozen=True)
class FlagView:
    workspace: str
    kind: str
    subject: str
    invoice: str
    mode: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _connected(workspace_id: int | None) -> list[tuple[int, str, str]]:
    """(workspace id, mode, secret key) of every connected mode. Use the keys at once."""
    with session_scope() as db:
        query = select(StripeKeys)
        if workspace_id is not None:
            query = query.where(StripeKeys.workspace_id == workspace_id)
        rows = db.exec(query.order_by(col(StripeKeys.workspace_id), col(StripeKeys.mode))).all()
        return [(r.workspace_id, r.mode, secret_key_for(db, r.workspace_id, r.mode)) for r in rows]


def _ours(charge: dict[str, Any], workspace_id: int) -> str:
    """The Nextoria invoice id a charge names for this workspace, or ''."""
    meta = charge.get("metadata") or {}
    if str(meta.get("nextoria_workspace_id") or "") != str(workspace_id):
        return ""
    raw = str(meta.get("nextoria_invoice_id") or "")
    return raw if raw.isdigit() else ""


def _findings(
    db: Session, workspace_id: int, mode: str, charges: list[dict[str, Any]], since: datetime
) -> list[tuple[str, str, int | None, str]]:
    """(kind, subject, invoice id, detail) of every disagreement in one workspace and mode."""
    kept = [
        c
        for c in charges
        if c.get("status") == "succeeded"
        and _ours(c, workspace_id)
        and int(c.get("amount_refunded") or 0) < int(c.get("amount") or 0)
    ]
    out: list[tuple[str, str, int | None, str]] = []
    per_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in kept:
        per_invoice[_ours(c, workspace_id)].append(c)
    for invoice_id, group in per_invoice.items():
        if len(group) > 1 and _more_than_asked(db, int(invoice_id), group):
            ids = ", ".join(sorted(str(c["id"]) for c in group))
            out.append(
                (
                    "double_charge",
                    f"invoice-{invoice_id}",
                    int(invoice_id),
                    f"{len(group)} succeeded charges, not refunded: {ids}",
                )
            )
    payments = db.exec(
        select(Payment).where(
            Payment.workspace_id == workspace_id,
            Payment.kind == "payment",
            Payment.mode == mode,
        )
    ).all()
    known_pis = {p.payment_intent_id for p in payments}
    for c in kept:
        pi = str(c.get("payment_intent") or "")
        if pi not in known_pis:
            invoice_id = int(_ours(c, workspace_id))
            out.append(
                (
                    "charge_without_payment",
                    str(c["id"]),
                    invoice_id if db.get(Invoice, invoice_id) is not None else None,
                    f"charge {c['id']} ({pi}) for invoice {invoice_id} has no payment recorded",
                )
            )
    charged_pis = {str(c.get("payment_intent") or "") for c in charges if c.get("paid")}
    for p in payments:
        if p.status == "processing":  # a bank debit: its charge is pending, not paid, yet
            continue
        if _aware(p.created_at) >= since and p.payment_intent_id not in charged_pis:
            out.append(
                (
                    "payment_without_charge",
                    p.payment_intent_id,
                    p.invoice_id,
                    f"payment {p.payment_intent_id} is recorded but Stripe has no charge for it",
                )
            )
    return out


def _more_than_asked(db: Session, invoice_id: int, charges: list[dict[str, Any]]) -> bool:
    """Several charges on one invoice are a double charge unless they are its parts: kept
    money (in its currency) no more than its total. An unknown invoice: always flagged."""
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or any(str(c.get("currency")) != invoice.currency for c in charges):
        return True
    kept = sum(int(c.get("amount") or 0) - int(c.get("amount_refunded") or 0) for c in charges)
    return kept > invoice.total


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reconcile_ledger(workspace_id: int | None = None, days: int = LEDGER_DAYS) -> int:
    """List recent charges per workspace and mode at Stripe and flag what disagrees with our
    payments: doubles, charges with no payment, payments with no charge. Open flags found
    no more are resolved. Stripe is called with no transaction open. Returns open flags."""
    now = utcnow()
    since = now - timedelta(days=days)
    for ws, mode, secret_key in _connected(workspace_id):
        try:
            # a day more at Stripe: a payment recorded just after the window's start
            charges = gateway.list_recent_charges(
                secret_key, int((since - timedelta(days=1)).timestamp())
            )
        except (gateway.StripeGatewayError, NextoriaError) as err:
            log.warning("ledger check skipped workspace %s (%s): %s", ws, mode, err.message)
            continue
        with session_scope() as db:
            found = _findings(db, ws, mode, charges, since)
            _store(db, ws, mode, found, now)
    with session_scope() as db:
        query = select(func.count()).select_from(ReconciliationFlag)
        query = query.where(col(ReconciliationFlag.resolved_at).is_(None))
        if workspace_id is not None:
            query = query.where(ReconciliationFlag.workspace_id == workspace_id)
        return int(db.exec(query).one())


def _store(
    db: Session,
    workspace_id: int,
    mode: str,
    found: list[tuple[str, str, int | None, str]],
    now: datetime,
) -> None:
    existing = {
        (f.kind, f.subject): f
        for f in db.exec(
            select(ReconciliationFlag).where(
                ReconciliationFlag.workspace_id == workspace_id, ReconciliationFlag.mode == mode
            )
        )
    }
    seen = set()
    for kind, subject, invoice_id, detail in found:
        seen.add((kind, subject))
        flag = existing.get((kind, subject))
        if flag is None:
            db.add(
                ReconciliationFlag(
                    workspace_id=workspace_id,
                    kind=kind,
                    subject=subject[:255],
                    invoice_id=invoice_id,
                    mode=mode,
                    detail=detail,
                    found_at=now,
                )
            )
        else:
            flag.detail, flag.resolved_at = detail, None
            db.add(flag)
    for key, flag in existing.items():
        if key not in seen and flag.resolved_at is None:
            flag.resolved_at = now
            db.add(flag)


def open_flags(db: Session, workspace_id: int | None = None) -> list[FlagView]:
    """Unresolved reconciliation flags, newest first, for the dashboard and the CLI."""
    query = (
        select(ReconciliationFlag, Workspace.slug)
        .join(Workspace, col(Workspace.id) == col(ReconciliationFlag.workspace_id))
        .where(col(ReconciliationFlag.resolved_at).is_(None))
    )
    if workspace_id is not None:
        query = query.where(ReconciliationFlag.workspace_id == workspace_id)
    out = []
    for flag, slug in db.exec(query.order_by(col(ReconciliationFlag.id).desc())):
        number = ""
        if flag.invoice_id is not None:
            invoice = db.get(Invoice, flag.invoice_id)
            number = invoice.number if invoice is not None else ""
        out.append(FlagView(slug, flag.kind, flag.subject, number, flag.mode, flag.detail))
    return out


def reconcile_all() -> dict[str, int]:
    """Both reconciliation jobs at once (``nextoria reconcile``): settle late Checkout
    payments (closing sessions still to expire) and check Stripe's ledger against ours."""
    settled = reconcile_open_checkouts()
    flags = reconcile_ledger()
    return {"settled": settled, "open_flags": flags}
