"""Pay Now: a Stripe Checkout Session for an open invoice, and the return from it."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.billing.finance import checkout_method_params, get_finance
from nextoria_hub.billing.invoices import add_activity, get_invoice
from nextoria_hub.billing.locks import require_locked_invoice
from nextoria_hub.billing.money import format_money
from nextoria_hub.billing.payment_terms import check_part, chosen_amount, deposit_due
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import (
    CheckoutSession,
    Client,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    StripeCustomer,
)
from nextoria_hub.payments.payment_paths import (
    close_replaced_pages,
    expire_after_commit,
    pay_now_problem,
)
from nextoria_hub.payments.settlement import record_processing, settle_payment
from nextoria_hub.payments.stripe_connection import active_secret_key, secret_key_for
from nextoria_hub.tenancy import Actor

REUSE_MARGIN = timedelta(minutes=5)  # don't hand out a session about to expire


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def payable_problem(invoice: Invoice) -> str:
    """Why this invoice can't be paid online now, or ''."""
    if invoice.status == InvoiceStatus.paid or (
        invoice.status == InvoiceStatus.open and invoice.amount_due <= 0
    ):
        return "This invoice is already paid."
    if invoice.status == InvoiceStatus.void:
        return "This invoice was voided and can't be paid."
    if invoice.status == InvoiceStatus.draft:
        return "This invoice hasn't been sent yet."
    return ""


def _customer_row(db: Session, client: Client, mode: str) -> StripeCustomer | None:
    return db.exec(
        select(StripeCustomer).where(
            StripeCustomer.workspace_id == client.workspace_id,
            StripeCustomer.client_id == client.id,
            StripeCustomer.mode == mode,
        )
    ).first()


CUSTOMER_TRIES = 5


def _create_customer(secret_key: str, client: Client, mode: str) -> str:
    metadata = {
        "nextoria_workspace_id": str(client.workspace_id),
        "nextoria_client_id": str(client.id),
    }
    key = gateway.idempotency_key(
        f"customer-{client.workspace_id}-{client.id}-{mode}",
        {"name": client.name, "email": client.billing_email, **metadata},
    )
    for attempt in range(CUSTOMER_TRIES):
        try:
            return gateway.create_customer(
                secret_key,
                name=client.name,
                email=client.billing_email,
                metadata=metadata,
                idempotency_key=key,
            )
        except gateway.StripeGatewayError as err:
            # 409: a simultaneous first click sent this same request and Stripe is still on
            # it; once it finishes, the same key returns the same customer.
            if err.http_status != 409 or attempt == CUSTOMER_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _save_customer(db: Session, client: Client, mode: str, customer_id: str) -> str:
    """Remember the client's customer; if a simultaneous first click saved one first (the
    unique row), use that one instead of failing."""
    try:
        with db.begin_nested():
            db.add(
                StripeCustomer(
                    workspace_id=client.workspace_id,
                    client_id=client.id,  # type: ignore[arg-type]
                    mode=mode,
                    customer_id=customer_id,
                )
            )
    except IntegrityError:
        row = _customer_row(db, client, mode)
        if row is None:
            raise
        return row.customer_id
    return customer_id


def stripe_customer_id(db: Session, secret_key: str, client: Client, mode: str) -> str:
    """The client's Stripe customer in ``mode``: created once (idempotently) and reused."""
    row = _customer_row(db, client, mode)
    if row is not None:
        return row.customer_id
    return _save_customer(db, client, mode, _create_customer(secret_key, client, mode))


def line_items(db: Session, invoice: Invoice, amount: int | None = None) -> list[dict[str, Any]]:
    """One item per invoice line with its tax folded in; one item for a remaining balance,
    a deposit or a part (``amount``, when it is less than the amount due).

    Either way the items add up to what this page charges, in the invoice's currency.
    """
    due = invoice.amount_due
    if amount is not None and amount != due:
        what = "deposit" if amount == deposit_due(invoice) else "part payment"
        return [_item(invoice.currency, amount, f"Invoice {invoice.number} ({what})")]
    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    items = []
    if invoice.amount_paid == 0 and sum(li.amount + li.tax_amount for li in lines) == due:
        for line in lines:
            amount = line.amount + line.tax_amount
            if amount <= 0:
                continue
            quantity = _whole_quantity(line.quantity, amount)
            name = (
                line.description
                if quantity or line.quantity == "1"
                else f"{line.description} × {line.quantity}"
            )
            if line.tax_rate_bp:
                name += f" (incl. {line.tax_rate_bp / 100:g}% tax)"
            quantity = quantity or 1
            items.append(_item(invoice.currency, amount // quantity, name[:250], quantity))
    if not items or _items_total(items) != due:
        label = f"Invoice {invoice.number}" + (" (balance)" if invoice.amount_paid else "")
        items = [_item(invoice.currency, due, label)]
    return items


def _whole_quantity(quantity: str, amount: int) -> int:
    """The line's quantity when Checkout can show it as is: a whole number that divides the
    line's amount (tax included) exactly; 0 otherwise (the line is then sent as one item)."""
    if not quantity.isdigit() or int(quantity) < 1 or amount % int(quantity):
        return 0
    return int(quantity)


def _items_total(items: list[dict[str, Any]]) -> int:
    return sum(i["price_data"]["unit_amount"] * i["quantity"] for i in items)


def _item(currency: str, amount: int, name: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "price_data": {
            "currency": currency,
            "unit_amount": amount,
            "product_data": {"name": name},
        },
    }


def _open_session(db: Session, invoice: Invoice, mode: str, amount: int) -> CheckoutSession | None:
    rows = db.exec(
        select(CheckoutSession)
        .where(
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.invoice_id == invoice.id,
            CheckoutSession.purpose == "payment",
            CheckoutSession.status == "open",
            CheckoutSession.mode == mode,
            CheckoutSession.amount == amount,
            CheckoutSession.currency == invoice.currency,
        )
        .order_by(col(CheckoutSession.id).desc())
    ).all()
    soon = utcnow() + REUSE_MARGIN
    for row in rows:
        if _aware(row.expires_at) > soon:
            return row
    return None


CREATING_HOLD = timedelta(minutes=10)  # how long a reserved row blocks autopay at most


def start_checkout(
    db: Session, actor: Actor, invoice_id: int, *, base_url: str, amount: int | None = None
) -> str:
    """The Stripe Checkout URL to pay ``amount`` of this invoice (None: what Pay Now offers
    first, the deposit or the balance; a part is checked by ``payment_terms.check_part``).
    An open session for the same amount is reused; open ones for other amounts are closed.

    Refuses while another payment of the invoice is under way. The session's row is
    reserved (``creating``) and committed under the invoice lock before Stripe is called,
    so the autopay job sees it; Stripe is called with no transaction open (this commits the
    caller's unit of work), and a row closed meanwhile (paid, voided) is expired at once.
    """
    invoice = get_invoice(db, actor, invoice_id)
    for locked in (False, True):  # a read-only look first: a reused page takes no lock
        if locked:
            invoice = require_locked_invoice(db, invoice.workspace_id, invoice.id)  # type: ignore[arg-type]
        problem = payable_problem(invoice) or pay_now_problem(db, invoice)
        if problem:
            raise ValidationError(problem, "invoice")
        charge = check_part(invoice, amount)
        mode, secret_key = active_secret_key(db, invoice.workspace_id)  # StripeNotConnected
        existing = _open_session(db, invoice, mode, charge)
        if existing is not None:
            if locked:
                db.commit()
            return existing.url
    client = db.get(Client, invoice.client_id)
    assert client is not None
    customer = _customer_row(db, client, mode)
    customer_id = customer.customer_id if customer is not None else ""
    amount = charge
    close_replaced_pages(db, invoice, mode, amount)
    row = CheckoutSession(
        workspace_id=invoice.workspace_id,
        invoice_id=invoice.id,
        client_id=invoice.client_id,
        mode=mode,
        purpose="payment",
        session_id=f"creating-{secrets.token_hex(12)}",
        url="",
        status="creating",
        amount=amount,
        currency=invoice.currency,
        expires_at=utcnow() + CREATING_HOLD,
    )
    db.add(row)
    metadata = {
        "nextoria_workspace_id": str(invoice.workspace_id),
        "nextoria_invoice_id": str(invoice.id),
        "nextoria_mode": mode,
    }
    base = base_url.rstrip("/")
    methods = checkout_method_params(get_finance(db, invoice.workspace_id), invoice.currency)
    items = line_items(db, invoice, amount)
    number = invoice.number
    db.commit()  # the reservation, and no transaction open while Stripe works
    try:
        if not customer_id:
            customer_id = _save_customer(
                db, client, mode, _create_customer(secret_key, client, mode)
            )
            db.commit()
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": customer_id,
            "line_items": items,
            **methods,
            "client_reference_id": f"invoice-{invoice.id}",
            "metadata": metadata,
            "payment_intent_data": {
                "metadata": {**metadata, "nextoria_source": "checkout"},
                "description": f"Invoice {number}",
            },
            "success_url": f"{base}/portal/invoices/{invoice.id}/return?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base}/portal/invoices/{invoice.id}",
        }
        session = gateway.create_checkout_session(
            secret_key,
            params,
            idempotency_key=gateway.idempotency_key(
                f"checkout-{invoice.workspace_id}-{invoice.id}-{amount}-{row.id}", params
            ),
        )
    except BaseException:
        db.rollback()
        _release(db, row.id)  # type: ignore[arg-type]
        raise
    return _record_session(db, actor, row.id, session)  # type: ignore[arg-type]


def _release(db: Session, row_id: int) -> None:
    """Stripe did not create the session: the reserved row stops blocking anything."""
    reserved = db.get(CheckoutSession, row_id)
    if reserved is not None:
        db.refresh(reserved)
        if reserved.status in ("creating", "expiring"):
            reserved.status = "expired"
            reserved.close_reason = "Stripe did not create the payment page"
            db.add(reserved)
    db.commit()


def _record_session(db: Session, actor: Actor, row_id: int, session: dict[str, Any]) -> str:
    row = db.get(CheckoutSession, row_id)
    assert row is not None
    invoice = require_locked_invoice(db, row.workspace_id, row.invoice_id)  # type: ignore[arg-type]
    db.refresh(row)
    expires = session.get("expires_at")
    row.session_id = str(session["id"])
    row.url = str(session["url"])
    row.expires_at = (
        datetime.fromtimestamp(int(expires), UTC) if expires else utcnow() + timedelta(hours=24)
    )
    if row.status != "creating":
        # Closed while Stripe made it (paid another way, voided, mode switched): expire it
        # at Stripe as soon as this commits, and say why it can't be paid.
        row.status = "expiring"
        db.add(row)
        expire_after_commit(db, row.workspace_id)
        db.commit()
        raise ValidationError(
            payable_problem(invoice)
            or pay_now_problem(db, invoice)
            or "This invoice can't be paid right now; please reload the page.",
            "invoice",
        )
    row.status = "open"
    db.add(row)
    add_activity(
        db,
        invoice,
        "checkout_started",
        f"{actor.name} opened Stripe Checkout for {format_money(row.amount, row.currency)} "
        f"({row.mode} mode; {row.session_id})",
    )
    db.flush()
    return row.url


def checkout_return(db: Session, actor: Actor, invoice_id: int, session_id: str) -> str:
    """Back from Checkout: ``paid``, ``processing``, ``bank_processing`` (a bank debit on
    its way: days, not seconds) or ``canceled``."""
    invoice = get_invoice(db, actor, invoice_id)
    row = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == invoice.workspace_id,
            CheckoutSession.session_id == (session_id or "").strip(),
        )
    ).first()
    if row is None or row.invoice_id != invoice.id:
        return "canceled"
    if _recorded(db, row) or invoice.status == InvoiceStatus.paid:
        return "paid"
    secret_key = secret_key_for(db, invoice.workspace_id, row.mode)
    db.commit()  # nothing written yet: no transaction stays open while Stripe answers
    session = gateway.retrieve_checkout_session(secret_key, row.session_id)
    if session is None:
        return "canceled"
    outcome = apply_session_state(db, row, session)
    return {"settled": "paid", "expired": "canceled", "bank_debit": "bank_processing"}.get(
        outcome, "processing"
    )


def _recorded(db: Session, row: CheckoutSession) -> bool:
    query = select(Payment.id).where(
        Payment.workspace_id == row.workspace_id,
        Payment.kind == "payment",
        Payment.status != "processing",
        Payment.invoice_id == row.invoice_id,
    )
    if row.payment_intent_id:
        query = query.where(Payment.payment_intent_id == row.payment_intent_id)
    else:
        query = query.where(Payment.checkout_session_id == row.session_id)
    return db.exec(query).first() is not None


def apply_session_state(db: Session, row: CheckoutSession, session: dict[str, Any]) -> str:
    """Follow up on a session Stripe told us about: ``settled``, ``bank_debit`` (complete,
    the bank debit processing), ``expired`` or ``open``."""
    metadata = session.get("metadata") or {}
    if str(metadata.get("nextoria_invoice_id", "")) != str(row.invoice_id):
        return "open"
    status = session.get("status")
    if status == "complete" and session.get("payment_status") == "paid":
        pi = session.get("payment_intent")
        if isinstance(pi, str) and pi:
            pi = gateway.retrieve_payment_intent(secret_key_for(db, row.workspace_id, row.mode), pi)
        if not isinstance(pi, dict):
            return "open"
        source = str((pi.get("metadata") or {}).get("nextoria_source") or "checkout")
        settle_payment(
            db,
            workspace_id=row.workspace_id,
            invoice_id=row.invoice_id,  # type: ignore[arg-type]
            mode=row.mode,
            payment_intent=pi,
            source=source if source in ("checkout", "autopay") else "checkout",
            checkout_session_id=row.session_id,
        )
        return "settled"
    if status == "complete" and session.get("payment_status") == "unpaid":
        pi = session.get("payment_intent")
        if isinstance(pi, dict) and pi.get("status") == "processing":
            source = str((pi.get("metadata") or {}).get("nextoria_source") or "checkout")
            record_processing(
                db,
                workspace_id=row.workspace_id,
                invoice_id=row.invoice_id,  # type: ignore[arg-type]
                mode=row.mode,
                payment_intent=pi,
                source=source if source in ("checkout", "autopay") else "checkout",
                checkout_session_id=row.session_id,
            )
            return "bank_debit"
    if status == "expired":
        if row.status == "open":
            row.status = "expired"
            db.add(row)
            db.flush()
        return "expired"
    return "open"


def start_chosen_checkout(
    db: Session,
    actor: Actor,
    invoice_id: int,
    *,
    base_url: str,
    choice: str,
    typed: str = "",
) -> str:
    """Pay Now with the amount the client picked on the invoice page (deposit, balance or
    a typed part); the terms' rules decide (``payment_terms.chosen_amount``)."""
    invoice = get_invoice(db, actor, invoice_id)
    problem = payable_problem(invoice)
    if problem:
        raise ValidationError(problem, "invoice")
    amount = chosen_amount(invoice, choice, typed)
    return start_checkout(db, actor, invoice_id, base_url=base_url, amount=amount)
