"""States for billing documents and reports: aged receivables, reminders, late fees.

Kept apart from the pages' own states so the additions stay separate from their handlers.
PDFs and CSV files are not made here: the pages link to the Starlette routes in
``api/documents.py``, which check the session like the pages do.
"""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import reminders as rem
from nextoria_hub.billing.exports import AGING_BUCKETS, aged_receivables
from nextoria_hub.billing.locales import format_day
from nextoria_hub.billing.money import SUPPORTED_CURRENCIES, format_money, typed_amount
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.states.invoices import InvoiceDetailState, today
from nextoria_hub.ui.states.session import AppState


class AgingState(AppState):
    """The dashboard's aged-receivables table, one row per client and currency."""

    aging: list[dict[str, str]] = []

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                rows = aged_receivables(db, actor, today())
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.aging = [
            {
                "client": r.client,
                "currency": r.currency.upper(),
                "total_row": "yes" if r.client_id is None else "",
                **{b: format_money(r.buckets[b], r.currency) for b in AGING_BUCKETS},
                "total": format_money(r.total, r.currency),
            }
            for r in rows
        ]
        return None


def _int(form: dict, key: str) -> int:
    raw = str(form.get(key, "")).strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 4:
        raise ValidationError("Enter a whole number of days.", key)
    return int(raw)


class RemindersState(AppState):
    """Settings → Finance → Reminders and late fees."""

    enabled: bool = False
    days_before: str = "3"
    on_due_date: bool = True
    days_after: str = "2"
    repeat_every: str = "7"
    max_after: str = "3"
    fee_kind: str = "none"
    fee_percent: str = ""
    # The fixed fee per currency: rows of code and amount as typed (inputs fee_fixed_<code>).
    fee_fixed: list[dict[str, str]] = []
    fee_currency_choices: list[str] = []
    _in_use: list[str] = []  # the workspace's currencies, shown even without a fee
    fee_after: str = "30"
    fee_monthly: bool = False
    fee_max: str = "1"
    error: str = ""

    def _show(self, s) -> None:  # type: ignore[no-untyped-def]
        self.enabled, self.on_due_date = s.enabled, s.on_due_date
        self.days_before, self.days_after = str(s.days_before), str(s.days_after)
        self.repeat_every, self.max_after = str(s.repeat_every), str(s.max_after)
        self.fee_kind = s.late_fee_kind
        self.fee_percent = f"{s.late_fee_percent_bp / 100:g}" if s.late_fee_percent_bp else ""
        saved = rem.fixed_fees(s)
        shown = [*self._in_use, *sorted(c for c in saved if c not in self._in_use)]
        self.fee_fixed = [
            {
                "code": c,
                "label": c.upper(),
                "amount": typed_amount(saved[c], c) if c in saved else "",
            }
            for c in shown
        ]
        self._offer_currencies()
        self.fee_after, self.fee_max = str(s.late_fee_after_days), str(s.late_fee_max)
        self.fee_monthly = s.late_fee_monthly

    def _offer_currencies(self) -> None:
        shown = {row["code"] for row in self.fee_fixed}
        self.fee_currency_choices = [c for c in SUPPORTED_CURRENCIES if c not in shown]

    @rx.event
    def load(self):
        self.error = ""
        try:
            with self._unit() as (db, actor):
                self._in_use = rem.currencies_in_use(db, actor)
                self._show(rem.read_reminder_settings(db, actor))
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_enabled(self, value: bool) -> None:
        self.enabled = value

    @rx.event
    def set_on_due_date(self, value: bool) -> None:
        self.on_due_date = value

    @rx.event
    def set_fee_kind(self, value: str) -> None:
        self.fee_kind = value if value in rem.LATE_FEE_KINDS else "none"

    @rx.event
    def set_fee_monthly(self, value: bool) -> None:
        self.fee_monthly = value

    @rx.event
    def add_fee_currency(self, code: str) -> None:
        """Another currency row for the fixed fee (typed amounts stay in the inputs)."""
        if code in self.fee_currency_choices:
            self.fee_fixed = [*self.fee_fixed, {"code": code, "label": code.upper(), "amount": ""}]
            self._offer_currencies()

    @rx.event
    def save(self, form: dict):
        self.error = ""
        try:
            update = rem.ReminderUpdate(
                enabled=self.enabled,
                days_before=_int(form, "days_before"),
                on_due_date=self.on_due_date,
                days_after=_int(form, "days_after"),
                repeat_every=_int(form, "repeat_every"),
                max_after=_int(form, "max_after"),
                late_fee_kind=self.fee_kind,
                late_fee_percent=str(form.get("fee_percent", "")),
                late_fee_fixed={
                    row["code"]: str(form.get(f"fee_fixed_{row['code']}", ""))
                    for row in self.fee_fixed
                },
                late_fee_after_days=_int(form, "fee_after"),
                late_fee_monthly=self.fee_monthly,
                late_fee_max=_int(form, "fee_max"),
            )
            with self._unit() as (db, actor):
                self._show(rem.update_reminder_settings(db, actor, update))
        except ValidationError as err:
            self.error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Reminders and late fees saved.")


class LateFeesState(AppState):
    """The late fees on the open invoice page, each with a one-click waiver."""

    fees: list[dict[str, str]] = []

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _read(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.fees = [
            {
                "id": str(f.id),
                "amount": format_money(f.amount, f.currency),
                "added": format_day(f.applied_at),
            }
            for f in rem.active_late_fees(db, actor, self._invoice_id())
        ]

    @rx.event
    def load(self):
        self.fees = []
        try:
            with self._unit() as (db, actor):
                if actor.is_staff:
                    self._read(db, actor)
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def waive(self, fee_id: str):
        try:
            with self._unit() as (db, actor):
                rem.waive_late_fee(
                    db, actor, self._invoice_id(), int(fee_id) if str(fee_id).isdigit() else 0
                )
                self._read(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return [InvoiceDetailState.load, rx.toast.success("Late fee waived.")]


class ClientRemindersState(AppState):
    """Reminders on or off for the client whose page is open."""

    reminders_on: bool = True

    def _client_id(self) -> int:
        raw = str(self.router.page.params.get("client_id", ""))
        return int(raw) if raw.isdigit() else 0

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                if actor.is_staff:
                    self.reminders_on = rem.reminders_on_for_client(db, actor, self._client_id())
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_reminders(self, value: bool):
        try:
            with self._unit() as (db, actor):
                self.reminders_on = rem.set_client_reminders(
                    db, actor, self._client_id(), bool(value)
                )
        except NotFound as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Reminders on." if value else "Reminders off for this client.")
