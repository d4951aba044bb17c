"""Settings → Finance and the audit log."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.audit import list_audit
from nextoria_hub.billing.finance import (
    FinanceUpdate,
    enabled_methods,
    read_finance,
    retry_schedule,
    update_finance,
)
from nextoria_hub.billing.money import SUPPORTED_CURRENCIES, currency_label
from nextoria_hub.billing.payment_methods import PAYMENT_METHODS
from nextoria_hub.errors import AccessDenied, NotSignedIn, ValidationError
from nextoria_hub.payments.stripe_connection import method_warnings as readiness_warnings
from nextoria_hub.ui.states.session import AppState

CURRENCY_OPTIONS = [{"code": c, "label": currency_label(c)} for c in SUPPORTED_CURRENCIES]
METHOD_OPTIONS = [
    {
        "key": m.key,
        "label": m.label,
        "note": m.note,
        "always_on": "yes" if m.always_on else "",
        "retired": m.retired,
    }
    for m in PAYMENT_METHODS
]


# Sections of the Finance page with a place for their own error (shown there, not twice).
_INLINE_FIELDS = (
    "default_currency",
    "payment_methods",
    "retry_days",
    "autopay_notice_days",
    "partial_minimum",
)


class FinanceState(AppState):
    currency: str = "usd"
    currencies: list[dict[str, str]] = CURRENCY_OPTIONS
    method_options: list[dict[str, str]] = METHOD_OPTIONS
    methods: list[str] = ["card"]
    # "dashboard": use what the Stripe Dashboard enables; "choose": the methods ticked here.
    method_source: str = "choose"
    receipts: bool = True
    retry_days: list[str] = ["1", "3", "5", "7"]
    notice_days: str = "3"
    # New invoices: partial payments allowed, with this minimum (major units).
    partial: bool = False
    partial_minimum: str = "0"
    errors: dict[str, str] = {}
    warnings: list[str] = []
    # Method key → why the Stripe account cannot use it yet (shown next to the method).
    method_warnings: dict[str, str] = {}

    def _show(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.currency = settings.default_currency
        self.methods = enabled_methods(settings)
        self.method_source = "dashboard" if settings.dashboard_methods else "choose"
        self.receipts = settings.receipts_enabled
        self.retry_days = [str(d) for d in retry_schedule(settings)]
        self.notice_days = str(settings.autopay_notice_days)
        self.partial = settings.partial_payments
        self.partial_minimum = settings.partial_minimum

    @rx.event
    def load(self):
        self.errors, self.warnings = {}, []
        try:
            with self._unit() as (db, actor):
                self._show(read_finance(db, actor))
                self.method_warnings = readiness_warnings(db, actor.workspace_id)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_currency(self, value: str) -> None:
        self.currency = value

    @rx.event
    def set_method_source(self, value: str) -> None:
        self.method_source = "dashboard" if value == "dashboard" else "choose"

    @rx.event
    def toggle_method(self, key: str, on: bool) -> None:
        if on and key not in self.methods:
            self.methods = [*self.methods, key]
        elif not on and key != "card":
            self.methods = [m for m in self.methods if m != key]

    @rx.event
    def set_receipts(self, on: bool) -> None:
        self.receipts = on

    @rx.event
    def set_retry_day(self, index: int, value: str) -> None:
        days = list(self.retry_days)
        days[index] = value
        self.retry_days = days

    @rx.event
    def add_retry(self) -> None:
        last = int(self.retry_days[-1]) if self.retry_days and self.retry_days[-1].isdigit() else 0
        self.retry_days = [*self.retry_days, str(min(last + 2, 60))]

    @rx.event
    def remove_retry(self, index: int) -> None:
        self.retry_days = [d for i, d in enumerate(self.retry_days) if i != index]

    @rx.event
    def set_notice_days(self, value: str) -> None:
        self.notice_days = value

    @rx.event
    def set_partial(self, on: bool) -> None:
        self.partial = bool(on)

    @rx.event
    def set_partial_minimum(self, value: str) -> None:
        self.partial_minimum = str(value)[:20]

    @rx.event
    def save(self):
        self.errors, self.warnings = {}, []
        update = FinanceUpdate(
            self.currency,
            self.methods,
            self.receipts,
            self.retry_days,
            self.notice_days,
            dashboard_methods=self.method_source == "dashboard",
            partial_payments=self.partial,
            partial_minimum=self.partial_minimum,
        )
        try:
            with self._unit() as (db, actor):
                settings, warnings = update_finance(db, actor, update)
                self._show(settings)
        except ValidationError as err:
            name = err.field or "form"
            if name not in _INLINE_FIELDS:
                return rx.toast.error("Not saved: " + err.message)
            # The reason is shown once, inline in its section; the toast only says where.
            self.errors = {name: err.message}
            return rx.toast.error("Not saved: see the note in red below.")
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.warnings = warnings
        return rx.toast.success("Finance settings saved.")


class AuditState(AppState):
    entries: list[dict[str, str]] = []

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                self.entries = [
                    {
                        "at": e.at.strftime("%d %b %Y %H:%M"),
                        "who": e.actor_label,
                        "action": e.action,
                        "detail": e.detail,
                    }
                    for e in list_audit(db, actor)
                ]
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None
