"""Autopay: a client's saved card is charged off-session on each open invoice's due date.

- Saving a card: a setup-mode Checkout Session on the client's Stripe customer; the card is
  recorded from the ``checkout.session.completed`` / ``setup_intent.succeeded`` webhooks or,
  if they are late, from the return page (``complete_setup``). Both are idempotent.
- Charging (``charge_due_invoices``, a job): an attempt row is claimed by inserting
  ``(invoice_id, attempt_no)`` (unique) and committed with its idempotency key BEFORE Stripe is
  called, so two workers can never both charge one attempt, and a crash after the call is
  settled on the next run by replaying the same request (Stripe returns the stored answer).
- Failures: soft declines are retried on the workspace's schedule (days after the first
  failure); ``authentication_required`` asks the client to pay in the portal; hard declines
  ask for a new card. After the last retry the invoice shows "Payment failed".
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import get_client, portal_client
from nextoria_hub.billing.finance import enabled_methods, get_finance, retry_schedule
from nextoria_hub.billing.invoices import add_activity, portal_link
from nextoria_hub.billing.locks import lock_invoice as _lock_invoice
from nextoria_hub.billing.money import format_money
from nextoria_hub.billing.payment_methods import methods_for_currency
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine, session_scope
from nextoria_hub.errors import NotFound, StripeNotConnected, ValidationError
from nextoria_hub.models import (
    AutopayAttempt,
    AutopayNotice,
    CheckoutSession,
    Client,
    ClientAutopay,
    Invoice,
    InvoiceStatus,
    Role,
    SavedPaymentMethod,
    StripeCustomer,
    User,
    Workspace,
)
from nextoria_hub.notifications.outbox import email_admins, enqueue_email
from nextoria_hub.payments.checkout import REUSE_MARGIN, stripe_customer_id
from nextoria_hub.payments.payment_paths import checkout_blocks_autopay
from nextoria_hub.payments.settlement import (
    BANK_DEBITS,
    BRANDS,
    bank_reason,
    record_failed_attempt,
    record_processing,
    settle_payment,
)
from nextoria_hub.payments.stripe_connection import active_mode, active_secret_key, secret_key_for
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

log = logging.getLogger(__name__)

PURPOSE = "autopay_setup"
PAUSED_METHOD_REMOVED = "payment method removed"

# Decline codes (and error codes) that no retry can fix: the client must change the card.
HARD_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "incorrect_cvc",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "do_not_honor",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "card_not_supported",
        "currency_not_supported",
        "invalid_account",
        "new_account_information_available",
        "no_action_taken",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "service_not_allowed",
        "stop_payment_order",
        "transaction_not_allowed",
        "test_mode_live_card",
        "payment_method_not_available",
    }
)
AUTH_CODES = frozenset({"authentication_required", "card_velocity_exceeded_authentication"})
# Bank debits that no retry can fix: the client must give another account (or mandate).
# ``insufficient_funds`` is not here: it is retried on the Finance schedule like a soft decline.
BANK_HARD_CODES = frozenset(
    {
        "account_closed",
        "no_account",
        "debit_not_authorized",
        "invalid_account_number",
        "account_frozen",
        "bank_account_restricted",
        "bank_ownership_changed",
        "incorrect_account_holder_name",
        "invalid_currency",
        "branch_does_not_exist",
    }
)

# Test hook: called after Stripe answered and before the outcome is committed (crash tests).
after_stripe_call: Any = None


def classify_failure(code: str, decline_code: str) -> str:
    """``soft`` (retry on the schedule), ``hard`` (new card needed) or ``authentication``."""
    code, decline_code = (code or "").lower(), (decline_code or "").lower()
    if code in AUTH_CODES or decline_code in AUTH_CODES:
        return "authentication"
    if decline_code in HARD_CODES or code in HARD_CODES or code in BANK_HARD_CODES:
        return "hard"
    return "soft"


# --- Views ----------------------------------------------------------------------------------


@dataclass
class SavedMethodView:
    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    mode: str


@dataclass
class NextCharge:
    invoice_id: int
    number: str
    amount: int
    currency: str
    date: date


@dataclass
class AttemptView:
    at: datetime
    number: str
    amount: int
    currency: str
    status: str
    reason: str


@dataclass
class AutopayStatus:
    enabled: bool
    waiting_for_method: bool
    paused_reason: str
    method: SavedMethodView | None
    next_charge: NextCharge | None
    attempts: list[AttemptView] = field(default_factory=list)


@dataclass
class ChargeCounts:
    charged: int = 0
    failed: int = 0
    unknown: int = 0
    resolved: int = 0
    skipped: int = 0
    workspaces_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _view(method: SavedPaymentMethod) -> SavedMethodView:
    return SavedMethodView(
        id=method.id,  # type: ignore[arg-type]
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month,
        exp_year=method.exp_year,
        mode=method.mode,
    )


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


def _status(db: Session, workspace_id: int, client_id: int) -> AutopayStatus:
    mode = active_mode(db, workspace_id)
    row = _autopay_row(db, workspace_id, client_id)
    method = active_method(db, workspace_id, client_id, mode)
    enabled = bool(row and row.enabled)
    paused = row.paused_reason if row and enabled else ""
    next_charge = None
    if enabled and method is not None and not paused:
        invoices = db.exec(
            select(Invoice)
            .where(
                Invoice.workspace_id == workspace_id,
                Invoice.client_id == client_id,
                Invoice.status == InvoiceStatus.open,
                col(Invoice.stripe_invoice_id) == "",
            )
            .order_by(col(Invoice.due_date), col(Invoice.id))
        ).all()
        best: tuple[datetime, Invoice] | None = None
        for invoice in invoices:
            if invoice.amount_due <= 0 or invoice.payment_failed:
                continue
            when = _charge_date(invoice, _attempts_of(db, workspace_id, invoice.id), method)  # type: ignore[arg-type]
            if when is not None and (best is None or when < best[0]):
                best = (when, invoice)
        if best is not None:
            when, invoice = best
            next_charge = NextCharge(
                invoice_id=invoice.id,  # type: ignore[arg-type]
                number=invoice.number,
                amount=invoice.amount_due,
                currency=invoice.currency,
                date=when.date(),
            )
    rows = db.exec(
        select(AutopayAttempt, Invoice)
        .join(Invoice, col(Invoice.id) == col(AutopayAttempt.invoice_id))
        .where(AutopayAttempt.workspace_id == workspace_id, Invoice.client_id == client_id)
        .order_by(col(AutopayAttempt.id).desc())
        .limit(50)
    ).all()
    attempts = [
        AttemptView(
            at=_aware(a.created_at),
            number=inv.number,
            amount=a.amount,
            currency=a.currency,
            status=a.status,
            reason=a.failure_message or a.failure_code,
        )
        for a, inv in rows
    ]
    return AutopayStatus(
        enabled=enabled,
        waiting_for_method=enabled and method is None,
        paused_reason=paused,
        method=_view(method) if method is not None else None,
        next_charge=next_charge,
        attempts=attempts,
    )


# --- Staff ----------------------------------------------------------------------------------


def autopay_status(db: Session, actor: Actor, client_id: int) -> AutopayStatus:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    return _status(db, actor.workspace_id, client.id)  # type: ignore[arg-type]


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


# --- Client portal --------------------------------------------------------------------------


def portal_autopay(db: Session, actor: Actor) -> AutopayStatus:
    client = portal_client(db, actor)
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
    db: Session, workspace_id: int, mode: str, si: dict[str, Any]
) -> SavedPaymentMethod | None:
    """Record the card a succeeded SetupIntent saved (once per SetupIntent).

    It replaces the client's previous card of that mode, becomes the Stripe customer's
    default, and un-pauses Autopay if it was paused for want of a card.
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
        pm = gateway.retrieve_payment_method(secret_key, pm)
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
        gateway.set_default_payment_method(
            secret_key,
            customer_id,
            str(pm["id"]),
            idempotency_key=f"default-pm-{workspace_id}-{method.id}",
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


class TokenBucket:
    """At most ``rate`` Stripe calls in any one second for one workspace.

    A sliding log of the last ``rate`` grants: a call waits until the oldest of them is a
    second old. (A refilling bucket with a burst of ``rate`` let through up to twice ``rate``
    within one second: a full burst, then the refill.)
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.granted: deque[float] = deque()
        self.lock = threading.Lock()

    def take(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                while self.granted and now - self.granted[0] >= 1:
                    self.granted.popleft()
                if len(self.granted) < self.rate:
                    self.granted.append(now)
                    return
                wait = 1 - (now - self.granted[0])
            self.sleep(wait)


RATE_PER_SECOND = {"test": 25, "live": 100}
_buckets: dict[tuple[int, str], TokenBucket] = {}
_buckets_lock = threading.Lock()


def _bucket(workspace_id: int, mode: str) -> TokenBucket:
    with _buckets_lock:
        key = (workspace_id, mode)
        if key not in _buckets:
            _buckets[key] = TokenBucket(RATE_PER_SECOND.get(mode, 25))
        return _buckets[key]


def _params(
    attempt: AutopayAttempt,
    customer_id: str,
    invoice: Invoice,
    workspace_id: int,
    method_type: str = "card",
) -> dict[str, Any]:
    return {
        "amount": attempt.amount,
        "currency": attempt.currency,
        "customer": customer_id,
        "payment_method": attempt.payment_method_id,
        "allowed_payment_method_types": [method_type],
        "description": f"Invoice {invoice.number} (Autopay)",
        "metadata": {
            "nextoria_workspace_id": str(workspace_id),
            "nextoria_invoice_id": str(attempt.invoice_id),
            "nextoria_mode": attempt.mode,
            "nextoria_source": "autopay",
            "nextoria_attempt": str(attempt.attempt_no),
        },
    }


def _method_type(db: Session, workspace_id: int, attempt: AutopayAttempt) -> str:
    """``card``, ``us_bank_account`` or ``sepa_debit``: the saved method this attempt charges."""
    brand = db.exec(
        select(SavedPaymentMethod.brand).where(
            SavedPaymentMethod.workspace_id == workspace_id,
            SavedPaymentMethod.payment_method_id == attempt.payment_method_id,
        )
    ).first()
    return next((key for key, label in BANK_DEBITS.items() if label == brand), "card")


def _due_invoices(db: Session, workspace_id: int, mode: str, now: datetime) -> list[int]:
    """Open invoices of autopay clients that are due for an attempt now."""
    rows = db.exec(
        select(Invoice)
        .join(ClientAutopay, col(ClientAutopay.client_id) == col(Invoice.client_id))
        .where(
            Invoice.workspace_id == workspace_id,
            ClientAutopay.workspace_id == workspace_id,
            col(ClientAutopay.enabled).is_(True),
            ClientAutopay.paused_reason == "",
            Invoice.status == InvoiceStatus.open,
            col(Invoice.payment_failed).is_(False),
            col(Invoice.stripe_invoice_id) == "",
            Invoice.due_date <= now.date(),
        )
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).all()
    out = []
    methods: dict[int, SavedPaymentMethod | None] = {}
    for invoice in rows:
        if invoice.amount_due <= 0:
            continue
        if invoice.client_id not in methods:
            methods[invoice.client_id] = active_method(db, workspace_id, invoice.client_id, mode)
        method = methods[invoice.client_id]
        if method is None:
            continue
        when = _charge_date(invoice, _attempts_of(db, workspace_id, invoice.id), method)  # type: ignore[arg-type]
        if when is not None and when <= now:
            out.append(invoice.id)
    return out  # type: ignore[return-value]


_sqlite_writer = threading.Lock()


@contextmanager
def _write_turn() -> Iterator[None]:
    """On SQLite, this process's writing threads take turns here rather than in SQLite.

    SQLite lets one writer in at a time and a blocked one polls with growing sleeps (up to
    100 ms), so threads contending there waste most of their time asleep; a lock hands over
    at once. (Other processes still wait on SQLite's busy timeout.) PostgreSQL needs no turn.
    """
    if get_engine().dialect.name != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def _claim(workspace_id: int, invoice_id: int, mode: str, now: datetime) -> int | None:
    """Insert and commit the next attempt row; None if another worker has it or it's moot."""
    claimed = _claim_batch(workspace_id, [invoice_id], mode, now)
    return claimed[0] if claimed else None


def _claim_batch(workspace_id: int, invoice_ids: list[int], mode: str, now: datetime) -> list[int]:
    """Claim the next attempt of each invoice in one transaction: the attempt ids, committed.

    One commit for a batch instead of one per invoice (a commit is a disk flush). Nothing is
    sent to Stripe before the commit, so claim-before-charge holds for every attempt.
    """
    with _write_turn(), session_scope() as db:
        methods: dict[int, SavedPaymentMethod | None] = {}
        claimed = []
        for invoice_id in invoice_ids:
            attempt_id = _claim_in(db, workspace_id, invoice_id, mode, now, methods)
            if attempt_id is not None:
                claimed.append(attempt_id)
        return claimed


def _claim_in(
    db: Session,
    workspace_id: int,
    invoice_id: int,
    mode: str,
    now: datetime,
    methods: dict[int, SavedPaymentMethod | None],
) -> int | None:
    if db.get_bind().dialect.name == "postgresql":
        # Another worker holding this invoice is claiming it: skip rather than wait.
        invoice = db.exec(
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.workspace_id == workspace_id)
            .with_for_update(skip_locked=True)
        ).first()
        if invoice is not None:
            db.refresh(invoice)
    else:  # SQLite: a conditional no-op UPDATE takes the database's write lock
        invoice = _lock_invoice(db, workspace_id, invoice_id)
    if invoice is None or invoice.status != InvoiceStatus.open or invoice.amount_due <= 0:
        return None
    if invoice.payment_failed:
        return None
    if checkout_blocks_autopay(db, invoice, now):
        return None  # the client has a payment page open: a later run picks it up
    if invoice.client_id not in methods:
        methods[invoice.client_id] = active_method(db, workspace_id, invoice.client_id, mode)
    method = methods[invoice.client_id]
    if method is None:
        return None
    attempts = _attempts_of(db, workspace_id, invoice_id)
    when = _charge_date(invoice, attempts, method)
    if when is None or when > now:
        return None
    number = (attempts[-1].attempt_no if attempts else 0) + 1
    attempt = AutopayAttempt(
        workspace_id=workspace_id,
        invoice_id=invoice_id,
        attempt_no=number,
        idempotency_key=f"autopay-{invoice_id}-{number}",
        mode=mode,
        payment_method_id=method.payment_method_id,
        amount=invoice.amount_due,
        currency=invoice.currency,
        status="claimed",
        created_at=now,
    )
    try:
        with db.begin_nested():  # a lost race on one invoice must not undo the batch
            db.add(attempt)
    except IntegrityError:
        return None
    return attempt.id


def _customer_of(db: Session, workspace_id: int, invoice: Invoice, mode: str) -> str:
    row = db.exec(
        select(StripeCustomer).where(
            StripeCustomer.workspace_id == workspace_id,
            StripeCustomer.client_id == invoice.client_id,
            StripeCustomer.mode == mode,
        )
    ).first()
    return row.customer_id if row is not None else ""


def _call(workspace_id: int, attempt_id: int) -> tuple[str, dict[str, Any] | None, Any]:
    """Send (or replay) the attempt's request: ("succeeded"|"failed"|"unknown"|"pending", PI, error)."""
    with session_scope() as db:
        attempt = db.get(AutopayAttempt, attempt_id)
        assert attempt is not None and attempt.workspace_id == workspace_id
        if attempt.status not in ("claimed", "unknown"):
            return "skipped", None, None  # abandoned since the claim: never sent
        invoice = db.get(Invoice, attempt.invoice_id)
        assert invoice is not None
        secret_key = secret_key_for(db, workspace_id, attempt.mode)
        customer_id = _customer_of(db, workspace_id, invoice, attempt.mode)
        params = _params(
            attempt, customer_id, invoice, workspace_id, _method_type(db, workspace_id, attempt)
        )
        key = attempt.idempotency_key
    _bucket(workspace_id, attempt.mode).take()
    try:
        pi = gateway.charge_off_session(secret_key, params, idempotency_key=key)
    except gateway.StripeCardError as err:
        pi = None
        if err.payment_intent_id:
            _bucket(workspace_id, attempt.mode).take()
            pi = gateway.retrieve_payment_intent_raw(secret_key, err.payment_intent_id)
        return "failed", pi, err
    except gateway.StripeUnavailable as err:
        return "unknown", None, err
    except gateway.StripeRequestFailed as err:
        if err.http_status == 409:  # the same request is still in flight elsewhere
            return "pending", None, err
        return "failed", None, err
    status = str(pi.get("status") or "")
    if status == "succeeded":
        return "succeeded", pi, None
    if status in ("processing", "requires_capture"):
        return "pending", pi, None
    return "failed", pi, None


def _record_outcome(
    workspace_id: int, attempt_id: int, outcome: str, pi: dict[str, Any] | None, err: Any
) -> str:
    with _write_turn(), session_scope() as db:
        attempt = db.get(AutopayAttempt, attempt_id)
        assert attempt is not None
        if outcome == "succeeded":
            assert pi is not None
            apply_success(db, workspace_id, attempt, pi)
        elif outcome == "failed":
            if pi is None:
                pi = {
                    "id": f"autopay_{attempt.idempotency_key}",
                    "amount": attempt.amount,
                    "currency": attempt.currency,
                    "last_payment_error": {
                        "code": getattr(err, "code", "") or "request_failed",
                        "decline_code": getattr(err, "decline_code", "") or "",
                        "message": getattr(err, "message", "") or "Stripe refused the charge.",
                    },
                }
            elif err is not None and not pi.get("last_payment_error"):
                pi = {
                    **pi,
                    "last_payment_error": {
                        "code": err.code,
                        "decline_code": err.decline_code,
                        "message": err.message,
                    },
                }
            apply_failure(db, workspace_id, attempt, pi)
        elif outcome == "unknown":
            db.refresh(attempt)
            if attempt.status == "claimed":
                attempt.status = "unknown"
                attempt.failure_message = "Stripe did not answer; the outcome is checked next run."
                db.add(attempt)
        elif outcome == "pending" and pi is not None:
            db.refresh(attempt)
            attempt.payment_intent_id = str(pi.get("id") or "")
            db.add(attempt)
            if pi.get("status") == "processing":
                mark_processing(db, workspace_id, attempt.invoice_id, pi)
        db.flush()
        db.refresh(attempt)
        return attempt.status


def apply_success(
    db: Session, workspace_id: int, attempt: AutopayAttempt, pi: dict[str, Any]
) -> None:
    """The attempt's PaymentIntent succeeded: settle the invoice (once) and close the attempt."""
    settle_payment(
        db,
        workspace_id=workspace_id,
        invoice_id=attempt.invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status != "succeeded":
        attempt.status = "succeeded"
        attempt.payment_intent_id = str(pi.get("id") or "")
        attempt.failure_code = attempt.decline_code = attempt.failure_class = ""
        attempt.failure_message = ""
        attempt.next_retry_at = None
        attempt.settled_at = utcnow()
        db.add(attempt)
    db.flush()


def apply_failure(
    db: Session, workspace_id: int, attempt: AutopayAttempt, pi: dict[str, Any]
) -> None:
    """A declined attempt: timeline, classification, next retry (or give up) and emails.

    Idempotent: an attempt already settled (by the job or a webhook) is left as it is.
    """
    record_failed_attempt(
        db,
        workspace_id=workspace_id,
        invoice_id=attempt.invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status in ("succeeded", "failed"):
        return
    invoice = db.get(Invoice, attempt.invoice_id)
    assert invoice is not None
    db.refresh(invoice)
    error = pi.get("last_payment_error") or {}
    code = str(error.get("code") or "")
    decline = str(error.get("decline_code") or "")
    bank = bank_reason(pi)  # a bank debit's reason is on its charge
    if bank is not None:
        code, decline, error = bank[0], "", {**error, "message": bank[1]}
    klass = classify_failure(code, decline)
    attempt.status = "failed"
    attempt.payment_intent_id = attempt.payment_intent_id or str(pi.get("id") or "")
    attempt.failure_code = code[:80]
    attempt.decline_code = decline[:80]
    attempt.failure_class = klass
    attempt.failure_message = str(error.get("message") or "The payment was declined.")
    attempt.settled_at = utcnow()
    attempt.next_retry_at = None
    if invoice.status != InvoiceStatus.open:
        db.add(attempt)
        db.flush()
        return
    workspace = db.get(Workspace, workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    money = format_money(attempt.amount, attempt.currency)
    link = portal_link(workspace.slug, invoice.id)  # type: ignore[arg-type]
    admin_link = get_settings().workspace_url(workspace.slug, f"/invoices/{invoice.id}")
    reason = attempt.failure_message
    outcome = ""
    if klass == "soft":
        # Days after the first failure of this run of soft failures.
        attempts = _attempts_of(db, workspace_id, invoice.id)  # type: ignore[arg-type]
        run: list[AutopayAttempt] = []
        for a in reversed(attempts):
            if a.id == attempt.id or (a.status == "failed" and a.failure_class == "soft"):
                run.append(a)
            else:
                break
        run.reverse()
        first = _aware(run[0].created_at)
        days = retry_schedule(get_finance(db, workspace_id))
        index = len(run) - 1
        if index < len(days):
            attempt.next_retry_at = first + timedelta(days=days[index])
            add_activity(
                db,
                invoice,
                "autopay_retry",
                f"Autopay attempt {attempt.attempt_no} declined ({decline or code}); next try "
                f"{attempt.next_retry_at:%d %b %Y}",
            )
        else:
            outcome = f"All {len(days) + 1} attempts failed; the invoice is marked Payment failed."
    elif klass == "authentication":
        enqueue_email(
            db,
            workspace_id=workspace_id,
            to=client.billing_email,
            kind="autopay_action_required",
            context={
                "workspace_name": workspace.name,
                "client_name": client.contact_name or client.name,
                "amount": money,
                "number": invoice.number,
                "link": link,
            },
        )
        add_activity(
            db,
            invoice,
            "autopay_action_required",
            "Autopay needs the client to authenticate; they were emailed a link to pay",
        )
    else:
        enqueue_email(
            db,
            workspace_id=workspace_id,
            to=client.billing_email,
            kind="autopay_update_method",
            context={
                "workspace_name": workspace.name,
                "client_name": client.contact_name or client.name,
                "amount": money,
                "number": invoice.number,
                "reason": reason,
                "link": link,
                "methods_link": get_settings().workspace_url(
                    workspace.slug, "/portal/payment-methods"
                ),
            },
        )
        outcome = (
            "The bank account can't be debited again; the client was asked for another."
            if bank is not None
            else "The card can't be charged again; the client was asked to update it."
        )
    if outcome:
        if klass == "soft":
            invoice.payment_failed = True
            db.add(invoice)
            add_activity(db, invoice, "autopay_failed", f"Autopay gave up: {outcome}")
        email_admins(
            db,
            workspace_id,
            kind="autopay_failed",
            context={
                "workspace_name": workspace.name,
                "client_name": client.name,
                "amount": money,
                "number": invoice.number,
                "reason": reason,
                "outcome": outcome,
                "link": admin_link,
            },
        )
    db.add(attempt)
    db.flush()


def _resolve_open_attempts(workspace_id: int, counts: ChargeCounts) -> None:
    """Settle attempts left claimed/unknown (crash, timeout) by replaying their request."""
    with session_scope() as db:
        ids = db.exec(
            select(AutopayAttempt.id).where(
                AutopayAttempt.workspace_id == workspace_id,
                col(AutopayAttempt.status).in_(["claimed", "unknown"]),
            )
        ).all()
    for attempt_id in ids:
        with session_scope() as db:
            attempt = db.get(AutopayAttempt, attempt_id)
            invoice = db.get(Invoice, attempt.invoice_id) if attempt is not None else None
            if invoice is None or invoice.status != InvoiceStatus.open:
                # Paid (or voided) meanwhile: never replay, since if the first request never
                # reached Stripe the replay would charge. A charge that did happen arrives by
                # webhook (metadata names the attempt) and settles the attempt there.
                continue
        outcome, pi, err = _call(workspace_id, attempt_id)  # type: ignore[arg-type]
        status = _record_outcome(workspace_id, attempt_id, outcome, pi, err)  # type: ignore[arg-type]
        if status in ("succeeded", "failed"):
            counts.resolved += 1


def _charge_attempt(workspace_id: int, attempt_id: int) -> str:
    """Send one claimed attempt and record its outcome; the attempt's status afterwards."""
    outcome, pi, err = _call(workspace_id, attempt_id)
    if after_stripe_call is not None:
        after_stripe_call(attempt_id, outcome)
    return _record_outcome(workspace_id, attempt_id, outcome, pi, err)


def _charge_workspace(
    workspace_id: int,
    now: datetime,
    counts: ChargeCounts,
    calls: ThreadPoolExecutor | None = None,
) -> None:
    """Charge one workspace's due invoices, a batch of claims at a time.

    A batch's calls run on ``calls`` (concurrently, the workspace's limiter keeping them to its
    rate) or here, one by one, without it. The first error stops the workspace after the
    batch: its claimed attempts are replayed on the next run.
    """
    with session_scope() as db:
        mode = active_mode(db, workspace_id)
        secret_key_for(db, workspace_id, mode)  # StripeNotConnected: skip the workspace
    _resolve_open_attempts(workspace_id, counts)
    with session_scope() as db:
        due = _due_invoices(db, workspace_id, mode, now)
    batch_size = max(1, RATE_PER_SECOND.get(mode, 25))
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        claimed = _claim_batch(workspace_id, batch, mode, now)
        counts.skipped += len(batch) - len(claimed)
        if calls is None:
            statuses = [_charge_attempt(workspace_id, attempt_id) for attempt_id in claimed]
        else:
            futures = [calls.submit(_charge_attempt, workspace_id, a) for a in claimed]
            wait(futures)
            errors = [f.exception() for f in futures if f.exception() is not None]
            if errors:
                _tally(counts, [f.result() for f in futures if f.exception() is None])
                raise errors[0]
            statuses = [f.result() for f in futures]
        _tally(counts, statuses)


def _tally(counts: ChargeCounts, statuses: list[str]) -> None:
    for status in statuses:
        if status == "succeeded":
            counts.charged += 1
        elif status == "failed":
            counts.failed += 1
        elif status == "abandoned":
            counts.skipped += 1
        else:
            counts.unknown += 1


# Workspaces charged at once, and Stripe calls in flight at once across them. Each workspace
# still keeps to its own per-second limit (``_bucket``); these only bound threads and
# database connections.
WORKSPACE_WORKERS = 8
CALL_WORKERS = 32


def charge_due_invoices(now: datetime | None = None) -> ChargeCounts:
    """The Autopay job: charge every due invoice of every workspace once. Safe to run twice.

    Workspaces run concurrently, so one slow or failing workspace does not hold up the others.
    """
    now = now or utcnow()
    with session_scope() as db:
        workspace_ids = sorted(
            set(
                db.exec(
                    select(ClientAutopay.workspace_id).where(col(ClientAutopay.enabled).is_(True))
                ).all()
            )
        )
    total = ChargeCounts()
    if not workspace_ids:
        return total
    per_workspace = {workspace_id: ChargeCounts() for workspace_id in workspace_ids}
    with (
        ThreadPoolExecutor(CALL_WORKERS, thread_name_prefix="autopay-call") as calls,
        ThreadPoolExecutor(
            min(WORKSPACE_WORKERS, len(workspace_ids)), thread_name_prefix="autopay"
        ) as pool,
    ):
        futures = {
            workspace_id: pool.submit(
                _charge_workspace, workspace_id, now, per_workspace[workspace_id], calls
            )
            for workspace_id in workspace_ids
        }
        for workspace_id, future in futures.items():
            try:
                future.result()
            except StripeNotConnected:
                log.info(
                    "autopay: workspace %s has no Stripe keys for its mode; skipped", workspace_id
                )
            except Exception:
                total.workspaces_failed += 1
                log.exception("autopay: workspace %s failed; the others go on", workspace_id)
    for counts in per_workspace.values():
        for name, value in counts.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    return total


# --- Webhooks -------------------------------------------------------------------------------


def attempt_for_pi(
    db: Session, workspace_id: int, invoice_id: int, pi: dict[str, Any]
) -> AutopayAttempt | None:
    """The autopay attempt a PaymentIntent belongs to (by its metadata), if any."""
    raw = str((pi.get("metadata") or {}).get("nextoria_attempt") or "")
    if not raw.isdigit():
        return None
    return db.exec(
        select(AutopayAttempt).where(
            AutopayAttempt.workspace_id == workspace_id,
            AutopayAttempt.invoice_id == invoice_id,
            AutopayAttempt.attempt_no == int(raw),
        )
    ).first()


def mark_processing(db: Session, workspace_id: int, invoice_id: int, pi: dict[str, Any]) -> None:
    """An autopay bank debit is on its way: the invoice shows it, and the attempt stays in
    flight (never replayed or retried) until the bank's answer settles it. Idempotent."""
    attempt = attempt_for_pi(db, workspace_id, invoice_id, pi)
    if attempt is None:
        return
    record_processing(
        db,
        workspace_id=workspace_id,
        invoice_id=invoice_id,
        mode=attempt.mode,
        payment_intent=pi,
        source="autopay",
    )
    db.refresh(attempt)
    if attempt.status in ("claimed", "unknown"):
        attempt.status = "processing"
        attempt.payment_intent_id = str(pi.get("id") or "")
        db.add(attempt)
        db.flush()


# --- Notices --------------------------------------------------------------------------------


def send_autopay_notices(now: datetime | None = None) -> int:
    """Email each autopay invoice's notice ``autopay_notice_days`` before its due date, once."""
    now = now or utcnow()
    today = now.date()
    sent = 0
    with session_scope() as db:
        candidates = db.exec(
            select(Invoice.id, Invoice.workspace_id)
            .join(ClientAutopay, col(ClientAutopay.client_id) == col(Invoice.client_id))
            .where(
                col(ClientAutopay.enabled).is_(True),
                ClientAutopay.paused_reason == "",
                ClientAutopay.workspace_id == Invoice.workspace_id,
                Invoice.status == InvoiceStatus.open,
                col(Invoice.stripe_invoice_id) == "",
                Invoice.due_date >= today,
            )
        ).all()
    for invoice_id, workspace_id in candidates:
        try:
            with session_scope() as db:
                if _notice(db, workspace_id, invoice_id, today):  # type: ignore[arg-type]
                    sent += 1
        except IntegrityError:
            continue  # another run sent it
        except Exception:
            log.exception("autopay notice for invoice %s failed", invoice_id)
    return sent


def _notice(db: Session, workspace_id: int, invoice_id: int, today: date) -> bool:
    days = get_finance(db, workspace_id).autopay_notice_days
    if days <= 0:
        return False
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or invoice.workspace_id != workspace_id or invoice.amount_due <= 0:
        return False
    if not (invoice.due_date - timedelta(days=days) <= today <= invoice.due_date):
        return False
    exists = db.exec(
        select(AutopayNotice.id).where(
            AutopayNotice.workspace_id == workspace_id, AutopayNotice.invoice_id == invoice_id
        )
    ).first()
    if exists is not None:
        return False
    mode = active_mode(db, workspace_id)
    method = active_method(db, workspace_id, invoice.client_id, mode)
    if method is None:
        return False
    db.add(AutopayNotice(workspace_id=workspace_id, invoice_id=invoice_id))
    db.flush()  # the unique invoice_id makes a concurrent second notice fail here
    workspace = db.get(Workspace, workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    enqueue_email(
        db,
        workspace_id=workspace_id,
        to=client.billing_email,
        kind="autopay_notice",
        context={
            "workspace_name": workspace.name,
            "client_name": client.contact_name or client.name,
            "number": invoice.number,
            "amount": format_money(invoice.amount_due, invoice.currency),
            "method": f"{method.brand} •••• {method.last4}",
            "charge_date": invoice.due_date.strftime("%d %b %Y"),
            "link": portal_link(workspace.slug, invoice.id),  # type: ignore[arg-type]
            "methods_link": get_settings().workspace_url(workspace.slug, "/portal/payment-methods"),
        },
    )
    add_activity(db, invoice, "autopay_notice", f"Autopay notice sent to {client.billing_email}")
    return True
