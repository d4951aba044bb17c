"""Clients → [Client]: overview, invoices, and Billing (Autopay and retainers)."""

from __future__ import annotations

from datetime import date

import reflex as rx

from nextoria_hub.billing import clients as client_svc
from nextoria_hub.billing import invoices as invoice_svc
from nextoria_hub.billing import retainers as retainer_svc
from nextoria_hub.billing.locales import format_day, format_moment
from nextoria_hub.billing.money import format_money
from nextoria_hub.errors import (
    AccessDenied,
    NotFound,
    NotSignedIn,
    StripeNotConnected,
    ValidationError,
)
from nextoria_hub.payments import autopay
from nextoria_hub.stripe_gateway import StripeGatewayError
from nextoria_hub.ui.states.invoices import invoice_row, today
from nextoria_hub.ui.states.session import AppState


def method_label(method: autopay.SavedMethodView) -> str:
    """ "Visa •••• 4242", "ACH Direct Debit •••• 6789" (brands are stored as shown)."""
    brand = method.brand if method.brand[:1].isupper() else method.brand.title()
    return f"{brand} •••• {method.last4}"


def method_expiry(method: autopay.SavedMethodView) -> str:
    """A card's expiry; '' for a bank account, which has none."""
    return f"{method.exp_month:02d}/{method.exp_year}" if method.exp_month else ""


def status_view(status: autopay.AutopayStatus) -> dict[str, str]:
    method = status.method
    charge = status.next_charge
    return {
        "enabled": "yes" if status.enabled else "",
        "waiting": "yes" if status.waiting_for_method else "",
        "paused_reason": status.paused_reason,
        "method": method_label(method) if method else "",
        "method_expiry": method_expiry(method) if method else "",
        "method_mode": method.mode if method else "",
        "next_charge": (
            f"{charge.number}: {format_money(charge.amount, charge.currency)} on {format_day(charge.date)}"
            if charge
            else ""
        ),
    }


# Autopay attempt badges: a failure must not look like a success at a glance.
ATTEMPT_COLORS = {
    "succeeded": "green",
    "failed": "red",
    "processing": "amber",
    "claimed": "blue",
    "unknown": "amber",
    "abandoned": "gray",
}


def attempts_view(status: autopay.AutopayStatus) -> list[dict[str, str]]:
    return [
        {
            "at": format_moment(a.at),
            "number": a.number,
            "amount": format_money(a.amount, a.currency),
            "status": a.status,
            "color": ATTEMPT_COLORS.get(a.status, "gray"),
            "reason": a.reason,
        }
        for a in status.attempts
    ]


def _blank_line() -> dict[str, str]:
    return {"description": "", "quantity": "1", "unit_price": "", "tax_rate": ""}


class ClientDetailState(AppState):
    found: bool = False
    client: dict[str, str] = {}
    invoices: list[dict[str, str]] = []
    tab: str = "overview"
    autopay: dict[str, str] = {}
    attempts: list[dict[str, str]] = []
    retainers: list[dict[str, str]] = []
    # The retainer form
    retainer_open: bool = False
    r_lines: list[dict[str, str]] = [_blank_line()]
    r_interval: str = "monthly"
    r_day: str = "1"
    r_start: str = ""
    r_end: str = ""
    r_billing: str = "hub"
    r_error: str = ""

    def _client_id(self) -> int:
        raw = str(self.router.page.params.get("client_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _refresh(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        client = client_svc.get_client(db, actor, self._client_id())
        self.client = {
            "id": str(client.id),
            "name": client.name,
            "email": client.billing_email,
            "contact": client.contact_name,
            "currency": client.currency.upper(),
            "archived": "yes" if client.archived_at else "",
        }
        self.invoices = [
            invoice_row(i, client.name)
            for i in invoice_svc.list_invoices(db, actor, client_id=client.id)
        ]
        status = autopay.autopay_status(db, actor, client.id)  # type: ignore[arg-type]
        self.autopay = status_view(status)
        self.attempts = attempts_view(status)
        self.retainers = [
            {
                "id": str(r.id),
                "summary": f"{r.interval.title()} on day {r.day_of_month}, from {r.start_date:%d %b %Y}"
                + (f" to {r.end_date:%d %b %Y}" if r.end_date else ""),
                "billing": "Billed through Stripe"
                if r.billing == "stripe"
                else "Invoiced by Nextoria Hub",
                "status": r.status,
            }
            for r in retainer_svc.list_retainers(db, actor, client.id)  # type: ignore[arg-type]
        ]

    @rx.event
    def load(self):
        self.found = False
        self.tab = self.router.url.query_parameters.get("tab", "overview")
        try:
            with self._unit() as (db, actor):
                self._refresh(db, actor)
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.found = True
        return None

    @rx.event
    def set_tab(self, value: str | list[str]) -> None:
        self.tab = value if isinstance(value, str) else value[0]

    async def _act(self, action, message: str):  # type: ignore[no-untyped-def]
        """Run ``action`` (it may call Stripe) and refresh the page, off the event loop."""
        done = await self._off_loop(lambda db, actor: (action(db, actor), self._refresh(db, actor)))
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        return rx.toast.success(message)

    @rx.event
    async def enable_autopay(self):
        cid = self._client_id()
        return await self._act(
            lambda db, actor: autopay.enable_autopay(db, actor, cid),
            "Autopay enabled. The client was emailed a link to save a card.",
        )

    @rx.event
    async def disable_autopay(self):
        cid = self._client_id()
        return await self._act(
            lambda db, actor: autopay.disable_autopay(db, actor, cid), "Autopay disabled."
        )

    @rx.event
    def set_retainer_open(self, value: bool) -> None:
        self.retainer_open = value
        self.r_error = ""
        if value:
            self.r_lines = [_blank_line()]
            self.r_start = today().isoformat()
            self.r_end = ""

    @rx.event
    def set_r_line(self, index: int, key: str, value: str) -> None:
        lines = [dict(line) for line in self.r_lines]
        lines[index][key] = value
        self.r_lines = lines

    @rx.event
    def add_r_line(self) -> None:
        self.r_lines = [*self.r_lines, _blank_line()]

    @rx.event
    def set_r_field(self, name: str, value: str) -> None:
        setattr(self, f"r_{name}", value)

    @rx.event
    def create_retainer(self):
        self.r_error = ""
        cid = self._client_id()
        try:
            start = date.fromisoformat(self.r_start)
            end = date.fromisoformat(self.r_end) if self.r_end else None
            day = int(self.r_day)
        except ValueError:
            self.r_error = "Enter dates as YYYY-MM-DD and the day of month as a number (1–28)."
            return None
        lines = [
            invoice_svc.LineInput(
                line.get("description", ""),
                line.get("quantity", ""),
                line.get("unit_price", ""),
                line.get("tax_rate", ""),
            )
            for line in self.r_lines
        ]
        try:
            with self._unit() as (db, actor):
                retainer_svc.create_retainer(
                    db,
                    actor,
                    cid,
                    lines=lines,
                    interval=self.r_interval,
                    day_of_month=day,
                    start_date=start,
                    end_date=end,
                    billing=self.r_billing,
                )
                self._refresh(db, actor)
        except (ValidationError, NotFound, StripeNotConnected, StripeGatewayError) as err:
            self.r_error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.retainer_open = False
        return rx.toast.success("Retainer created.")

    @rx.event
    async def end_retainer(self, retainer_id: str):
        return await self._act(
            lambda db, actor: retainer_svc.end_retainer(db, actor, int(retainer_id)),
            "Retainer ended.",
        )


class PaymentMethodsState(AppState):
    methods: list[dict[str, str]] = []
    autopay: dict[str, str] = {}
    banks: bool = False  # the setup page offers a bank account too
    busy: bool = False
    error: str = ""

    def _refresh(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.methods = [
            {
                "id": str(m.id),
                "label": method_label(m),
                "expiry": method_expiry(m),
                "mode": m.mode,
            }
            for m in autopay.list_payment_methods(db, actor)
        ]
        self.autopay = status_view(autopay.portal_autopay(db, actor))
        self.banks = autopay.offers_bank_accounts(db, actor)

    @rx.event
    async def load(self):
        self.error, self.busy = "", False
        session_id = self.router.url.query_parameters.get("session_id", "")

        def work(db, actor) -> None:  # type: ignore[no-untyped-def]
            if session_id:  # back from the setup page: asks Stripe, so off the event loop
                autopay.complete_setup(db, actor, session_id)
            self._refresh(db, actor)

        done = await self._off_loop(work)
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        self.error = done.message
        if session_id and self.methods:
            return rx.toast.success("Saved for Autopay.")
        return None

    @rx.event(background=True)
    async def save_card(self):
        """Create the setup Checkout Session off the event loop (Stripe may be slow)."""
        async with self:
            if self.busy:
                return
            self.error, self.busy = "", True
            origin = self.router.url.origin
        done = await self._off_loop(
            lambda db, actor: autopay.start_setup_checkout(db, actor, base_url=origin)
        )
        async with self:
            if done.ok:
                event = rx.redirect(str(done.value))
            elif done.denied:
                self.busy, event = False, self._denied(done.error)  # type: ignore[arg-type]
            else:
                self.error, self.busy, event = done.message, False, None
        if event is not None:
            yield event

    @rx.event
    async def remove(self, method_id: str):
        """Detach the method at Stripe and forget it, off the event loop."""
        mid = int(method_id) if method_id.isdigit() else 0

        def work(db, actor) -> None:  # type: ignore[no-untyped-def]
            autopay.remove_payment_method(db, actor, mid)
            self._refresh(db, actor)

        done = await self._off_loop(work)
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        return rx.toast.success("Card removed. Autopay is paused until you save another card.")
