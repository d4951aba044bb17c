"""Enrolment and saved methods: turning Autopay on/off, saving a card or bank mandate in a
setup-mode Checkout Session, and removing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import get_client, portal_client
from nextoria_hub.billing.finance import enabled_methods, get_finance
from nextoria_hub.billing.payment_methods import methods_for_currency
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound, StripeNotConnected, ValidationError
from nextoria_hub.models import (
    CheckoutSession,
    Client,
    ClientAutopay,
    Role,
    SavedPaymentMethod,
    User,
    Workspace,
)
from nextoria_hub.notifications.outbox import email_admins, enqueue_email
from nextoria_hub.payments.autopay.records import _autopay_row, _aware, active_method
from nextoria_hub.payments.autopay.status import AutopayStatus, SavedMethodView, _status, _view
from nextoria_hub.payments.checkout import REUSE_MARGIN, stripe_customer_id
from nextoria_hub.payments.settlement import (
    BANK_DEBITS,
    BRANDS,
)
from nextoria_hub.payments.stripe_connection import active_mode, active_secret_key, secret_key_for
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

log = logging.getLogger(__name__)


PURPOSE = "autopay_setup"
# How a caller has Stripe asked: (question's key, the call) → the answer. The webhook worker
# passes ``ask_stripe`` (the call runs with no transaction open, then the work runs again).
StripeAsk = Callable[[str, Callable[[], Any]], Any]


def _ask_now(_key: str, call: Callable[[], Any]) -> Any:
    return call()


PAUSED_METHOD_REMOVED = "payment method removed"


def _portal_contacts(db: Session, client: Client) -> list[str]:
    users = db.exec(
        select(User).where(
            User.workspace_id == client.workspace_id,
            User.client_id == client.id,
            User.role == Role.client,
            col(User.removed_at).is_(None),
        )
    ).all()
    return [u.email for u in users]


def enable_autopay(db: Session, actor: Actor, client_id: int) -> AutopayStatus:
    """Turn Autopay on; the client's billing email and portal contacts are asked for a card."""
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is not None:
        raise ValidationError("This client is archived: restore it first.", "client_id")
    row = _autopay_row(db, actor.workspace_id, client.id)  # type: ignore[arg-type]
    if row is None:
        row = ClientAutopay(workspace_id=actor.workspace_id, client_id=client.id)  # type: ignore[arg-type]
    was_on = row.enabled
    row.enabled = True
    row.enabled_at = row.enabled_at if was_on else utcnow()
    row.paused_reason = ""
    db.add(row)
    db.flush()
    if not was_on:
        workspace = db.get(Workspace, actor.workspace_id)
        assert workspace is not None
        link = get_settings().workspace_url(workspace.slug, "/portal/payment-methods")
        recipients = [client.billing_email]
        for email in _portal_contacts(db, client):
            if email.lower() not in {r.lower() for r in recipients}:
                recipients.append(email)
        for to in recipients:
            enqueue_email(
                db,
                workspace_id=actor.workspace_id,
                to=to,
                kind="autopay_setup",
                context={
                    "workspace_name": workspace.name,
                    "client_name": client.contact_name or client.name,
                    "link": link,
                },
            )
        record_audit(db, actor, "autopay.enable", client.name)
    return _status(db, actor.workspace_id, client.id)  # type: ignore[arg-type]


def disable_autopay(db: Session, actor: Actor, client_id: int) -> AutopayStatus:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    row = _autopay_row(db, actor.workspace_id, client.id)  # type: ignore[arg-type]
    if row is not None and row.enabled:
        row.enabled = False
        row.paused_reason = ""
        db.add(row)
        record_audit(db, actor, "autopay.disable", client.name)
        db.flush()
    return _status(db, actor.workspace_id, client.id)  # type: ignore[arg-type]


def _open_setup_session(db: Session, client: Client, mode: str) -> CheckoutSession | None:
    rows = db.exec(
        select(CheckoutSession)
        .where(
            CheckoutSession.workspace_id == client.workspace_id,
            CheckoutSession.client_id == client.id,
            CheckoutSession.purpose == "setup",
            CheckoutSession.status == "open",
            CheckoutSession.mode == mode,
        )
        .order_by(col(CheckoutSession.id).desc())
    ).all()
    soon = utcnow() + REUSE_MARGIN
    for row in rows:
        if _aware(row.expires_at) > soon:
            return row
    return None


# What Autopay can charge later without the client present: cards, and bank debits under a
# mandate (iDEAL saves as SEPA Direct Debit, which is offered directly).
SAVABLE_METHODS = ("card", "us_bank_account", "sepa_debit")


def setup_method_params(db: Session, client: Client) -> dict[str, list[str]]:
    """What the setup page is told about methods: those Finance allows for the client's
    currency (``payment_method_types`` is refused by the pinned API), or nothing when Finance
    says "Use what my Stripe Dashboard enables"."""
    finance = get_finance(db, client.workspace_id)
    if finance.dashboard_methods:
        return {}
    allowed = methods_for_currency(enabled_methods(finance), client.currency)
    return {"allowed_payment_method_types": [m for m in allowed if m in SAVABLE_METHODS]}


def offers_bank_accounts(db: Session, actor: Actor) -> bool:
    """Whether the client's setup page offers a bank account (ACH or SEPA) besides cards."""
    client = portal_client(db, actor)
    allowed = setup_method_params(db, client).get("allowed_payment_method_types", ["card"])
    return any(m != "card" for m in allowed)


def start_setup_checkout(db: Session, actor: Actor, *, base_url: str) -> str:
    """The Stripe Checkout URL (setup mode) where the client saves a card for Autopay."""
    client = portal_client(db, actor)
    mode, secret_key = active_secret_key(db, client.workspace_id)
    existing = _open_setup_session(db, client, mode)
    if existing is not None:
        return existing.url
    customer_id = stripe_customer_id(db, secret_key, client, mode)
    count = db.exec(
        select(func.count())
        .select_from(CheckoutSession)
        .where(
            CheckoutSession.workspace_id == client.workspace_id,
            CheckoutSession.client_id == client.id,
            CheckoutSession.purpose == "setup",
        )
    ).one()
    metadata = {
        "nextoria_workspace_id": str(client.workspace_id),
        "nextoria_client_id": str(client.id),
        "nextoria_mode": mode,
        "nextoria_purpose": PURPOSE,
    }
    base = base_url.rstrip("/")
    session = gateway.create_checkout_session(
        secret_key,
        {
            "mode": "setup",
            "customer": customer_id,
            "currency": client.currency,
            **setup_method_params(db, client),
            "client_reference_id": f"client-{client.id}",
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
            "success_url": f"{base}/portal/payment-methods?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base}/portal/payment-methods",
        },
        idempotency_key=f"setup-{client.workspace_id}-{client.id}-{mode}-{count + 1}",
    )
    expires = session.get("expires_at")
    db.add(
        CheckoutSession(
            workspace_id=client.workspace_id,
            invoice_id=None,
            client_id=client.id,  # type: ignore[arg-type]
            mode=mode,
            purpose="setup",
            session_id=str(session["id"]),
            url=str(session["url"]),
            status="open",
            amount=0,
            currency="",
            expires_at=(
                datetime.fromtimestamp(int(expires), UTC)
                if expires
                else utcnow() + timedelta(hours=24)
            ),
        )
    )
    db.flush()
    return str(session["url"])


def complete_setup(db: Session, actor: Actor, session_id: str) -> bool:
    """The return page's fallback: ask Stripe about the session and save its card. Idempotent."""
    client = portal_client(db, actor)
    row = db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == client.workspace_id,
            CheckoutSession.client_id == client.id,
            CheckoutSession.purpose == "setup",
            CheckoutSession.session_id == (session_id or "").strip(),
        )
    ).first()
    if row is None:
        return False
    secret_key = secret_key_for(db, client.workspace_id, row.mode)
    session = gateway.retrieve_setup_session(secret_key, row.session_id)
    if session is None or session.get("status") != "complete":
        return False
    si = session.get("setup_intent")
    if not isinstance(si, dict):
        return False
    return save_method_from_setup_intent(db, client.workspace_id, row.mode, si) is not None


def save_method_from_setup_intent(
    db: Session, workspace_id: int, mode: str, si: dict[str, Any], ask: StripeAsk = _ask_now
) -> SavedPaymentMethod | None:
    """Record the card a succeeded SetupIntent saved (once per SetupIntent).

    It replaces the client's previous card of that mode, becomes the Stripe customer's
    default, and un-pauses Autopay if it was paused for want of a card. Stripe is asked
    through ``ask``: from a webhook, outside the event's transaction.
    """
    metadata = si.get("metadata") or {}
    if metadata.get("nextoria_purpose") != PURPOSE or si.get("status") != "succeeded":
        return None
    if str(metadata.get("nextoria_workspace_id")) != str(workspace_id):
        return None
    if metadata.get("nextoria_mode") and metadata.get("nextoria_mode") != mode:
        return None
    raw_client = str(metadata.get("nextoria_client_id") or "")
    client = db.get(Client, int(raw_client)) if raw_client.isdigit() else None
    if client is None or client.workspace_id != workspace_id:
        return None
    # Serialise concurrent webhook + return page for this client.
    row = _autopay_row(db, workspace_id, client.id)  # type: ignore[arg-type]
    if row is None:
        row = ClientAutopay(workspace_id=workspace_id, client_id=client.id)  # type: ignore[arg-type]
        db.add(row)
        try:
            with db.begin_nested():
                db.flush()
        except IntegrityError:
            row = _autopay_row(db, workspace_id, client.id)  # type: ignore[arg-type]
            assert row is not None
    db.execute(
        ClientAutopay.__table__.update()  # type: ignore[attr-defined]
        .where(ClientAutopay.__table__.c.id == row.id)  # type: ignore[attr-defined]
        .values(enabled=ClientAutopay.__table__.c.enabled)  # type: ignore[attr-defined]
    )
    existing = db.exec(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.workspace_id == workspace_id,
            SavedPaymentMethod.setup_intent_id == str(si.get("id")),
        )
    ).first()
    if existing is not None:
        return existing
    secret_key = secret_key_for(db, workspace_id, mode)
    pm = si.get("payment_method")
    if isinstance(pm, str) and pm:
        pm_id = pm
        pm = ask(f"pm:{pm_id}", lambda: gateway.retrieve_payment_method(secret_key, pm_id))
    if not isinstance(pm, dict) or not pm.get("id"):
        return None
    card = pm.get("card") or {}
    bank_label = BANK_DEBITS.get(str(pm.get("type") or ""))
    if bank_label:  # a US bank account or a SEPA mandate: no brand, no expiry
        card = {"brand": bank_label, "last4": (pm.get(pm["type"]) or {}).get("last4")}
    customer_id = str(si.get("customer") or pm.get("customer") or "")
    if isinstance(si.get("customer"), dict):
        customer_id = str(si["customer"].get("id"))
    now = utcnow()
    for old in db.exec(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.workspace_id == workspace_id,
            SavedPaymentMethod.client_id == client.id,
            SavedPaymentMethod.mode == mode,
            col(SavedPaymentMethod.removed_at).is_(None),
        )
    ):
        old.removed_at = now
        db.add(old)
    method = SavedPaymentMethod(
        workspace_id=workspace_id,
        client_id=client.id,  # type: ignore[arg-type]
        mode=mode,
        payment_method_id=str(pm["id"]),
        customer_id=customer_id,
        setup_intent_id=str(si.get("id")),
        brand=bank_label
        or BRANDS.get(str(card.get("brand") or ""), str(card.get("brand") or "Card").title()),
        last4=str(card.get("last4") or "")[:4],
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )
    db.add(method)
    if row.enabled and row.paused_reason:
        row.paused_reason = ""
        db.add(row)
    for session_row in db.exec(
        select(CheckoutSession).where(
            CheckoutSession.workspace_id == workspace_id,
            CheckoutSession.client_id == client.id,
            CheckoutSession.purpose == "setup",
            CheckoutSession.status == "open",
        )
    ):
        session_row.status = "complete"
        session_row.settled_at = now
        db.add(session_row)
    db.flush()
    if customer_id:
        pm_id = str(pm["id"])
        ask(  # keyed by the SetupIntent: the same on every run of the work
            f"default-pm:{si.get('id')}",
            lambda: gateway.set_default_payment_method(
                secret_key,
                customer_id,
                pm_id,
                idempotency_key=f"default-pm-{workspace_id}-{si.get('id')}",
            ),
        )
    record_audit(
        db,
        None,
        "autopay.method_saved",
        f"{client.name}: {method.brand} •••• {method.last4} ({mode})",
        workspace_id=workspace_id,
    )
    return method


def list_payment_methods(db: Session, actor: Actor) -> list[SavedMethodView]:
    client = portal_client(db, actor)
    mode = active_mode(db, client.workspace_id)
    method = active_method(db, client.workspace_id, client.id, mode)  # type: ignore[arg-type]
    return [_view(method)] if method is not None else []


def remove_payment_method(db: Session, actor: Actor, method_id: int) -> None:
    """Remove the client's card; Autopay (if on) pauses and the admins are told."""
    client = portal_client(db, actor)
    method = db.get(SavedPaymentMethod, method_id)
    if (
        method is None
        or method.workspace_id != client.workspace_id
        or method.client_id != client.id
        or method.removed_at is not None
    ):
        raise NotFound("This payment method does not exist.")
    method.removed_at = utcnow()
    db.add(method)
    try:
        gateway.detach_payment_method(
            secret_key_for(db, client.workspace_id, method.mode), method.payment_method_id
        )
    except (StripeNotConnected, gateway.StripeGatewayError) as err:
        log.warning("could not detach %s: %s", method.payment_method_id, err.message)
    row = _autopay_row(db, client.workspace_id, client.id)  # type: ignore[arg-type]
    if row is not None and row.enabled:
        row.paused_reason = PAUSED_METHOD_REMOVED
        db.add(row)
        workspace = db.get(Workspace, client.workspace_id)
        assert workspace is not None
        link = get_settings().workspace_url(workspace.slug, f"/clients/{client.id}")
        email_admins(
            db,
            client.workspace_id,
            kind="autopay_paused",
            context={
                "workspace_name": workspace.name,
                "client_name": client.name,
                "reason": PAUSED_METHOD_REMOVED,
                "link": link,
            },
        )
    record_audit(
        db,
        actor,
        "autopay.method_removed",
        f"{client.name}: {method.brand} •••• {method.last4}",
    )
    db.flush()


# --- Charging -------------------------------------------------------------------------------
