"""Settings → Finance: default currency, payment methods, receipts, retries, autopay notice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from sqlmodel import Session

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.money import validate_currency
from nextoria_hub.billing.payment_methods import BY_KEY, methods_for_currency
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import FinanceSettings
from nextoria_hub.tenancy import Actor

MAX_RETRIES = 8
MAX_RETRY_DAY = 60
MAX_NOTICE_DAYS = 30


def get_finance(db: Session, workspace_id: int) -> FinanceSettings:
    """The workspace's finance settings, created with defaults on first use."""
    settings = db.get(FinanceSettings, workspace_id)
    if settings is None:
        settings = FinanceSettings(workspace_id=workspace_id)
        db.add(settings)
        db.flush()
    return settings


def read_finance(db: Session, actor: Actor) -> FinanceSettings:
    """The finance settings, for the admins who may change them."""
    actor.require_admin()
    return get_finance(db, actor.workspace_id)


def enabled_methods(settings: FinanceSettings) -> list[str]:
    return [m for m in settings.payment_methods.split(",") if m]


def checkout_method_params(settings: FinanceSettings, currency: str) -> dict[str, list[str]]:
    """What a Checkout Session for ``currency`` is told about payment methods.

    The pinned API refuses ``payment_method_types``. With "Use what my Stripe Dashboard
    enables" nothing is sent, and Stripe offers what the Dashboard turns on (dynamic payment
    methods); otherwise the Finance choices that fit the currency are the allowed list.
    """
    if settings.dashboard_methods:
        return {}
    return {
        "allowed_payment_method_types": methods_for_currency(enabled_methods(settings), currency)
    }


def retry_schedule(settings: FinanceSettings) -> list[int]:
    return [int(d) for d in settings.retry_days.split(",") if d]


def parse_retry_days(values: list[str] | list[int]) -> list[int]:
    """Days after the first failure: 1–8 entries, each 1–60, strictly increasing."""
    days: list[int] = []
    for raw in values:
        text = str(raw).strip()
        if not text:
            continue
        try:
            days.append(int(text))
        except ValueError:
            raise ValidationError(
                f"“{text}” is not a whole number of days.", "retry_days"
            ) from None
    if not 1 <= len(days) <= MAX_RETRIES:
        raise ValidationError(f"Give between 1 and {MAX_RETRIES} retry days.", "retry_days")
    for day in days:
        if not 1 <= day <= MAX_RETRY_DAY:
            raise ValidationError(
                f"Each retry must be 1 to {MAX_RETRY_DAY} days after the first failure.",
                "retry_days",
            )
    if any(b <= a for a, b in pairwise(days)):
        raise ValidationError(
            "Retry days must be in increasing order, each later than the one before.", "retry_days"
        )
    return days


@dataclass(frozen=True)
class FinanceUpdate:
    default_currency: str
    payment_methods: list[str]
    receipts_enabled: bool
    retry_days: list[str] | list[int]
    autopay_notice_days: int | str
    dashboard_methods: bool = False  # "Use what my Stripe Dashboard enables"
    # New invoices' partial payments and their minimum (major units); None keeps them.
    partial_payments: bool | None = None
    partial_minimum: str | None = None


def method_warnings(methods: list[str], currency: str) -> list[str]:
    """Plain explanations of enabled methods that can't apply to the default currency."""
    notes = []
    for key in methods:
        option = BY_KEY[key]
        if option.currencies is not None and currency not in option.currencies:
            allowed = "/".join(sorted(c.upper() for c in option.currencies))
            notes.append(
                f"{option.label} only works for {allowed} invoices, and your default currency is "
                f"{currency.upper()}: Checkout will offer it only on {allowed} invoices."
            )
    return notes


def update_finance(
    db: Session, actor: Actor, update: FinanceUpdate
) -> tuple[FinanceSettings, list[str]]:
    """Validate and save; returns the settings and warnings to show (contradictions explained)."""
    actor.require_admin()
    currency = validate_currency(update.default_currency, field="default_currency")
    methods = ["card"]
    for key in update.payment_methods:
        option = BY_KEY.get(key)
        if option is None:
            raise ValidationError(f"Unknown payment method “{key}”.", "payment_methods")
        if option.retired:
            raise ValidationError(
                f"{option.label} can't be enabled: {option.retired}", "payment_methods"
            )
        if key not in methods:
            methods.append(key)
    days = parse_retry_days(update.retry_days)
    try:
        notice = int(str(update.autopay_notice_days).strip())
    except ValueError:
        raise ValidationError(
            "Enter a whole number of days (0 turns the notice off).", "autopay_notice_days"
        ) from None
    if not 0 <= notice <= MAX_NOTICE_DAYS:
        raise ValidationError(
            f"Use 0 to {MAX_NOTICE_DAYS} days (0 turns the notice off).", "autopay_notice_days"
        )

    minimum = (
        None if update.partial_minimum is None else parse_minimum_setting(update.partial_minimum)
    )

    settings = get_finance(db, actor.workspace_id)
    before = _describe(settings)
    if update.partial_payments is not None:
        settings.partial_payments = bool(update.partial_payments)
    if minimum is not None:
        settings.partial_minimum = minimum
    settings.default_currency = currency
    settings.payment_methods = ",".join(methods)
    settings.dashboard_methods = bool(update.dashboard_methods)
    settings.receipts_enabled = bool(update.receipts_enabled)
    settings.retry_days = ",".join(str(d) for d in days)
    settings.autopay_notice_days = notice
    settings.updated_at = utcnow()
    db.add(settings)
    after = _describe(settings)
    if before != after:
        record_audit(db, actor, "finance.update", f"{before} → {after}")
    warnings = [] if settings.dashboard_methods else method_warnings(methods, currency)
    return settings, warnings


def parse_minimum_setting(typed: str) -> str:
    """The default minimum part as stored: a non-negative decimal, "0" when empty."""
    text = (typed or "").strip().replace(",", "") or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value > 100_000_000 or len(text) > 20:
        raise ValidationError("Enter a minimum like 100.00 (0: any amount).", "partial_minimum")
    return format(value.normalize(), "f")


def _describe(s: FinanceSettings) -> str:
    return (
        f"currency={s.default_currency}; "
        f"methods={'Stripe Dashboard' if s.dashboard_methods else s.payment_methods}; "
        f"receipts={'on' if s.receipts_enabled else 'off'}; "
        f"retries={s.retry_days}; notice={s.autopay_notice_days}d; "
        f"parts={'min ' + s.partial_minimum if s.partial_payments else 'off'}"
    )
