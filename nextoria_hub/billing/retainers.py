"""Retainers: a client's recurring invoice, monthly or quarterly.

- ``billing="hub"``: ``issue_retainer_invoices`` (a job) issues and sends each period's
  invoice exactly once: the ``retainer_period`` row (unique per retainer and period start) is
  inserted in the same transaction as the invoice, so repeated runs, two schedulers or a
  restart can't issue a period twice. Autopay charges it on its due date when it is on.
- ``billing="stripe"``: a Stripe subscription on the client's saved card bills each period;
  ``invoice.paid`` mirrors it as a paid hub invoice and ``customer.subscription.deleted``
  ends the retainer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import get_client
from nextoria_hub.billing.invoices import (
    LineInput,
    _parse_lines,
    add_activity,
    create_invoice,
    send_invoice,
)
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import (
    Client,
    Invoice,
    InvoiceStatus,
    Retainer,
    RetainerPeriod,
    StripeCustomer,
    Workspace,
)
from nextoria_hub.models.ids import require_id
from nextoria_hub.notifications.outbox import email_admins
from nextoria_hub.ownership import get_owned
from nextoria_hub.payments.stripe_objects import NextoriaMetadata, stripe_id
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

log = logging.getLogger(__name__)

INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3}


def _add_months(day: date, months: int, day_of_month: int) -> date:
    month_index = day.year * 12 + (day.month - 1) + months
    return date(month_index // 12, month_index % 12 + 1, day_of_month)


def period_starts(retainer: Retainer, until: date) -> list[date]:
    """Every period start from the first on/after ``start_date`` up to ``until`` (inclusive)."""
    step = INTERVAL_MONTHS[retainer.interval]
    first = date(retainer.start_date.year, retainer.start_date.month, retainer.day_of_month)
    if first < retainer.start_date:
        first = _add_months(first, 1, retainer.day_of_month)
    out = []
    current = first
    while current <= until and (retainer.end_date is None or current <= retainer.end_date):
        out.append(current)
        current = _add_months(current, step, retainer.day_of_month)
    return out


def retainer_lines(retainer: Retainer) -> list[LineInput]:
    return [LineInput(**item) for item in json.loads(retainer.lines_json)]


def create_retainer(
    db: Session,
    actor: Actor,
    client_id: int,
    *,
    lines: list[LineInput],
    interval: str,
    day_of_month: int,
    start_date: date,
    end_date: date | None = None,
    billing: str = "hub",
) -> Retainer:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is not None:
        raise ValidationError("This client is archived: restore it first.", "client_id")
    if interval not in INTERVAL_MONTHS:
        raise ValidationError("Choose monthly or quarterly.", "interval")
    if not 1 <= int(day_of_month) <= 28:
        raise ValidationError("Use a day from 1 to 28 so every month has it.", "day_of_month")
    if end_date is not None and end_date < start_date:
        raise ValidationError("The end date is before the start date.", "end_date")
    if billing not in ("hub", "stripe"):
        raise ValidationError("Billing is either by the hub or by Stripe.", "billing")
    parsed = _parse_lines(lines, client.currency)  # validates; raises ValidationError
    total = sum(line.amount + line.tax_amount for line in parsed)
    if total <= 0:
        raise ValidationError("A retainer needs an amount.", "lines")
    retainer = Retainer(
        workspace_id=actor.workspace_id,
        client_id=require_id(client),
        interval=interval,
        day_of_month=int(day_of_month),
        start_date=start_date,
        end_date=end_date,
        currency=client.currency,
        lines_json=json.dumps([asdict(line) for line in lines]),
        billing=billing,
    )
    db.add(retainer)
    db.flush()
    if billing == "stripe":
        _start_subscription(db, retainer, client, total)
    record_audit(
        db,
        actor,
        "retainer.create",
        f"{client.name}: {interval} on day {day_of_month} ({billing})",
    )
    db.flush()
    return retainer


def _start_subscription(db: Session, retainer: Retainer, client: Client, total: int) -> None:
    from nextoria_hub.payments.autopay import active_method
    from nextoria_hub.payments.stripe_connection import active_secret_key

    mode, secret_key = active_secret_key(db, retainer.workspace_id)
    method = active_method(db, retainer.workspace_id, require_id(client), mode)
    if method is None:
        raise ValidationError(
            "Billing through Stripe needs the client's saved card: ask them to save one first.",
            "billing",
        )
    customer = db.exec(
        select(StripeCustomer).where(
            StripeCustomer.workspace_id == retainer.workspace_id,
            StripeCustomer.client_id == client.id,
            StripeCustomer.mode == mode,
        )
    ).first()
    assert customer is not None  # a saved card implies the customer
    key = f"retainer-{retainer.workspace_id}-{retainer.id}"
    price_id = gateway.create_product_price(
        secret_key,
        name=f"Retainer: {client.name}",
        currency=retainer.currency,
        unit_amount=total,
        interval="month",
        interval_count=INTERVAL_MONTHS[retainer.interval],
        idempotency_key=key,
    )
    sub = gateway.create_subscription(
        secret_key,
        {
            "customer": customer.customer_id,
            "items": [{"price": price_id}],
            "default_payment_method": method.payment_method_id,
            "expand": ["latest_invoice"],
            "metadata": NextoriaMetadata(
                workspace_id=str(retainer.workspace_id),
                retainer_id=str(retainer.id),
                mode=mode,
            ).to_stripe(),
        },
        idempotency_key=f"{key}-subscription",
    )
    retainer.mode = mode
    retainer.stripe_subscription_id = str(sub["id"])
    retainer.stripe_price_ids = price_id
    db.add(retainer)
    db.flush()
    # The first period is charged at once; mirror it now rather than rely on a webhook that
    # may arrive before this transaction commits (it then finds the invoice and changes nothing).
    latest = sub.get("latest_invoice")
    if isinstance(latest, dict) and latest.get("status") == "paid":
        settle_stripe_invoice(db, retainer, latest, secret_key)


def settle_stripe_invoice(
    db: Session, retainer: Retainer, stripe_invoice: dict[str, Any], secret_key: str
) -> bool:
    """Mirror a paid subscription invoice as a hub invoice and record its payment (once)."""
    from nextoria_hub.payments.settlement import settle_payment

    invoice = mirror_stripe_invoice(db, retainer, stripe_invoice)
    pi_id = stripe_id(stripe_invoice.get("payment_intent"))
    pi = (gateway.retrieve_payment_intent_raw(secret_key, pi_id) if pi_id else None) or {
        "id": pi_id or f"stripe_invoice_{stripe_invoice.get('id')}",
        "amount": stripe_invoice.get("amount_paid"),
        "currency": stripe_invoice.get("currency"),
    }
    return settle_payment(
        db,
        workspace_id=retainer.workspace_id,
        invoice_id=require_id(invoice),
        mode=retainer.mode,
        payment_intent=pi,
        source="stripe_invoice",
    )


def list_retainers(db: Session, actor: Actor, client_id: int) -> list[Retainer]:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    return list(
        db.exec(
            select(Retainer)
            .where(Retainer.workspace_id == actor.workspace_id, Retainer.client_id == client.id)
            .order_by(col(Retainer.id))
        )
    )


def end_retainer(db: Session, actor: Actor, retainer_id: int) -> Retainer:
    actor.require_staff()
    retainer = get_owned(db, Retainer, retainer_id, actor)
    if retainer is None:
        raise NotFound("This retainer does not exist.")
    if retainer.status == "ended":
        return retainer
    if retainer.billing == "stripe" and retainer.stripe_subscription_id:
        from nextoria_hub.payments.stripe_connection import secret_key_for

        gateway.cancel_subscription(
            secret_key_for(db, retainer.workspace_id, retainer.mode),
            retainer.stripe_subscription_id,
        )
    retainer.status = "ended"
    retainer.ended_at = utcnow()
    db.add(retainer)
    record_audit(db, actor, "retainer.end", f"retainer {retainer.id}")
    db.flush()
    return retainer


def _job_actor(workspace_id: int) -> Actor:
    return Actor.system(workspace_id, name="Retainer")


def _issue_period(db: Session, retainer: Retainer, period: date) -> int | None:
    """Issue and send one period's invoice; the unique period row makes it happen once."""
    row = RetainerPeriod(
        workspace_id=retainer.workspace_id,
        retainer_id=require_id(retainer),
        period_start=period,
    )
    db.add(row)
    db.flush()  # IntegrityError if another run issued this period
    actor = _job_actor(retainer.workspace_id)
    invoice = create_invoice(
        db,
        actor,
        client_id=retainer.client_id,
        lines=retainer_lines(retainer),
        currency=retainer.currency,
        issue_date=period,
        due_date=period,
        notes=f"Retainer, period starting {period:%d %b %Y}",
    )
    invoice.retainer_id = retainer.id
    db.add(invoice)
    send_invoice(db, actor, require_id(invoice))
    row.invoice_id = invoice.id
    db.add(row)
    db.flush()
    return invoice.id


def issue_retainer_invoices(now: datetime | None = None) -> int:
    """The retainer job: issue every due period of every active hub retainer, once."""
    today = (now or utcnow()).astimezone(UTC).date()
    issued = 0
    with session_scope() as db:
        retainers = db.exec(
            select(Retainer).where(Retainer.status == "active", Retainer.billing == "hub")
        ).all()
    for retainer in retainers:
        with session_scope() as db:
            done = set(
                db.exec(
                    select(col(RetainerPeriod.period_start)).where(
                        RetainerPeriod.retainer_id == retainer.id
                    )
                ).all()
            )
        for period in period_starts(retainer, today):
            if period in done:
                continue
            try:
                with session_scope() as db:
                    if _issue_period(db, retainer, period) is not None:
                        issued += 1
            except IntegrityError:
                continue  # issued by a concurrent run
            except Exception:
                log.exception("retainer %s: could not issue %s", retainer.id, period)
    return issued


# --- Stripe-billed retainers (webhooks) -----------------------------------------------------


def retainer_for_subscription(db: Session, workspace_id: int, sub_id: str) -> Retainer | None:
    if not sub_id:
        return None
    return db.exec(
        select(Retainer).where(
            Retainer.workspace_id == workspace_id, Retainer.stripe_subscription_id == sub_id
        )
    ).first()


def subscription_of(stripe_invoice: dict[str, Any]) -> str:
    sub = stripe_invoice.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    if not sub:
        parent = stripe_invoice.get("parent") or {}
        details = parent.get("subscription_details") or {}
        sub = details.get("subscription")
    return str(sub or "")


def mirror_stripe_invoice(
    db: Session, retainer: Retainer, stripe_invoice: dict[str, Any]
) -> Invoice:
    """The hub invoice of a Stripe subscription invoice: created once per period."""
    stripe_id = str(stripe_invoice.get("id"))
    found = db.exec(
        select(Invoice).where(
            Invoice.workspace_id == retainer.workspace_id, Invoice.stripe_invoice_id == stripe_id
        )
    ).first()
    if found is not None:
        return found
    start = stripe_invoice.get("period_start") or stripe_invoice.get("created")
    period = datetime.fromtimestamp(int(start), UTC).date() if start else utcnow().date()
    row = db.exec(
        select(RetainerPeriod).where(
            RetainerPeriod.retainer_id == retainer.id, RetainerPeriod.period_start == period
        )
    ).first()
    if row is not None and row.invoice_id is not None:
        invoice = db.get(Invoice, row.invoice_id)
        assert invoice is not None
        return invoice
    actor = _job_actor(retainer.workspace_id)
    with db.begin_nested():
        if row is None:
            row = RetainerPeriod(
                workspace_id=retainer.workspace_id,
                retainer_id=require_id(retainer),
                period_start=period,
            )
            db.add(row)
            db.flush()
    invoice = create_invoice(
        db,
        actor,
        client_id=retainer.client_id,
        lines=retainer_lines(retainer),
        currency=retainer.currency,
        issue_date=period,
        due_date=period,
        notes=f"Retainer billed by Stripe ({stripe_id})",
    )
    invoice.retainer_id = retainer.id
    invoice.stripe_invoice_id = stripe_id
    invoice.status = InvoiceStatus.open
    invoice.sent_at = utcnow()
    db.add(invoice)
    add_activity(
        db, invoice, "sent", f"Billed through Stripe subscription {subscription_of(stripe_invoice)}"
    )
    row.invoice_id = invoice.id
    db.add(row)
    db.flush()
    return invoice


def subscription_ended(db: Session, retainer: Retainer, reason: str) -> bool:
    """The subscription is gone: end the retainer and tell the admins (once)."""
    if retainer.status == "ended":
        return False
    retainer.status = "ended"
    retainer.ended_at = utcnow()
    db.add(retainer)
    workspace = db.get(Workspace, retainer.workspace_id)
    client = db.get(Client, retainer.client_id)
    assert workspace is not None and client is not None
    email_admins(
        db,
        retainer.workspace_id,
        kind="retainer_ended",
        context={
            "workspace_name": workspace.name,
            "client_name": client.name,
            "reason": reason,
            "link": get_settings().workspace_url(workspace.slug, f"/clients/{client.id}"),
        },
    )
    record_audit(
        db,
        None,
        "retainer.ended",
        f"{client.name}: {reason}",
        workspace_id=retainer.workspace_id,
    )
    db.flush()
    return True
