"""Invoices for the agency: list, new draft, detail with timeline and actions."""

from __future__ import annotations

from datetime import date

import reflex as rx

from nextoria_hub.billing import clients as client_svc
from nextoria_hub.billing import invoices as svc
from nextoria_hub.billing.live import invoice_version
from nextoria_hub.billing.locales import format_day, format_moment
from nextoria_hub.billing.money import SUPPORTED_CURRENCIES, currency_label, format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.components.timeline import TimelineEntry, split_stripe_ids
from nextoria_hub.ui.states.live import follow_invoice
from nextoria_hub.ui.states.session import AppState

STATUS_COLORS = {
    "Draft": "gray",
    "Open": "blue",
    "Overdue": "orange",
    "Paid": "green",
    "Void": "gray",
    "Payment failed": "red",
    "Refunded": "purple",
    "Partially refunded": "purple",
    "Processing": "amber",
    "Partially paid": "cyan",
    "Disputed": "red",
    "Dispute lost": "red",
}
CURRENCIES = [{"code": c, "label": currency_label(c)} for c in SUPPORTED_CURRENCIES]


def today() -> date:
    return utcnow().date()


def invoice_row(invoice, client_name: str, processing: bool = False) -> dict[str, str]:  # type: ignore[no-untyped-def]
    status = svc.display_status(invoice, today(), processing=processing)
    return {
        "id": str(invoice.id),
        "number": invoice.number,
        "client": client_name,
        "status": status,
        "color": STATUS_COLORS.get(status, "gray"),
        "total": format_money(invoice.total, invoice.currency),
        "amount_due": format_money(invoice.amount_due, invoice.currency),
        "due": format_day(invoice.due_date),
        "issued": format_day(invoice.issue_date),
    }


class InvoicesState(AppState):
    invoices: list[dict[str, str]] = []
    status_filter: str = "all"
    search: str = ""

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                status = None if self.status_filter == "all" else self.status_filter
                names = {
                    c.id: c.name for c in client_svc.list_clients(db, actor, include_archived=True)
                }
                processing = svc.processing_ids(db, actor.workspace_id)
                self.invoices = [
                    invoice_row(i, names.get(i.client_id, ""), i.id in processing)
                    for i in svc.list_invoices(db, actor, status=status, search=self.search)
                ]
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_status_filter(self, value: str | list[str]):
        self.status_filter = value if isinstance(value, str) else value[0]
        return InvoicesState.load

    @rx.event
    def set_search(self, value: str):
        self.search = value
        return InvoicesState.load


def blank_line() -> dict[str, str]:
    return {"description": "", "quantity": "1", "unit_price": "", "tax_rate": ""}


def line_inputs(lines: list[dict[str, str]]) -> list[svc.LineInput]:
    """The editor's line rows as the invoice services take them."""
    return [
        svc.LineInput(
            description=line.get("description", ""),
            quantity=line.get("quantity", ""),
            unit_price=line.get("unit_price", ""),
            tax_rate=line.get("tax_rate", ""),
        )
        for line in lines
    ]


class InvoiceEditorState(AppState):
    client_options: list[dict[str, str]] = []
    currencies: list[dict[str, str]] = CURRENCIES
    client_id: str = ""
    currency: str = ""
    issue_date: str = ""
    due_date: str = ""
    notes: str = ""
    lines: list[dict[str, str]] = [blank_line()]
    error: str = ""
    error_field: str = ""

    @rx.event
    def load(self):
        self.error, self.error_field = "", ""
        self.lines = [blank_line()]
        self.notes = ""
        self.issue_date = today().isoformat()
        self.due_date = date.fromordinal(today().toordinal() + 14).isoformat()
        wanted = self.router.url.query_parameters.get("client", "")
        try:
            with self._unit() as (db, actor):
                clients = client_svc.list_clients(db, actor)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.client_options = [
            {"id": str(c.id), "label": f"{c.name} ({c.currency.upper()})", "currency": c.currency}
            for c in clients
        ]
        chosen = next((c for c in self.client_options if c["id"] == wanted), None) or (
            self.client_options[0] if self.client_options else None
        )
        self.client_id = chosen["id"] if chosen else ""
        self.currency = chosen["currency"] if chosen else ""
        return None

    @rx.event
    def set_client(self, value: str) -> None:
        self.client_id = value
        match = next((c for c in self.client_options if c["id"] == value), None)
        if match:
            self.currency = match["currency"]

    @rx.event
    def set_currency(self, value: str) -> None:
        self.currency = value

    @rx.event
    def set_issue_date(self, value: str) -> None:
        self.issue_date = value

    @rx.event
    def set_due_date(self, value: str) -> None:
        self.due_date = value

    @rx.event
    def set_notes(self, value: str) -> None:
        self.notes = value

    @rx.event
    def set_line(self, index: int, key: str, value: str) -> None:
        lines = [dict(line) for line in self.lines]
        lines[index][key] = value
        self.lines = lines

    @rx.event
    def add_line(self) -> None:
        self.lines = [*self.lines, blank_line()]

    @rx.event
    def remove_line(self, index: int) -> None:
        if len(self.lines) > 1:
            self.lines = [line for i, line in enumerate(self.lines) if i != index]

    @rx.event
    def save(self):
        self.error, self.error_field = "", ""
        try:
            issue = date.fromisoformat(self.issue_date) if self.issue_date else None
            due = date.fromisoformat(self.due_date) if self.due_date else None
        except ValueError:
            self.error, self.error_field = "Enter dates as YYYY-MM-DD.", "due_date"
            return None
        lines = line_inputs(self.lines)
        try:
            with self._unit() as (db, actor):
                if not self.client_id:
                    raise ValidationError(
                        "Choose a client (add one under Clients first).", "client_id"
                    )
                invoice = svc.create_invoice(
                    db,
                    actor,
                    client_id=int(self.client_id),
                    lines=lines,
                    currency=self.currency or None,
                    issue_date=issue,
                    due_date=due,
                    notes=self.notes,
                )
                invoice_id, number = invoice.id, invoice.number
        except (ValidationError, NotFound) as err:
            self.error = err.message
            self.error_field = getattr(err, "field", "") or ""
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return [
            rx.toast.success(f"Draft {number} created."),
            rx.redirect(f"/invoices/{invoice_id}"),
        ]


class InvoiceDetailState(AppState):
    found: bool = False
    invoice: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    activity: list[TimelineEntry] = []
    payments: list[dict[str, str]] = []
    notes_failed_refunds: list[str] = []
    overpayments: list[dict[str, str]] = []
    manual_open: bool = False
    # Following the open invoice (ui/states/live.py): who, which, and the version shown.
    _follow_seq: int = 0
    _follow: list[int] = []
    _follow_version: str = ""

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _show(self, view) -> None:  # type: ignore[no-untyped-def]
        inv, client = view.invoice, view.client
        processing = svc.is_processing(view)
        self.invoice = {
            **invoice_row(inv, client.name, processing),
            "processing": svc.BANK_PROCESSING if processing else "",
            "last_failure": svc.last_failure(view),
            "disputed": format_money(inv.amount_disputed, inv.currency)
            if inv.amount_disputed
            else "",
            "charged_back": format_money(inv.amount_charged_back, inv.currency)
            if inv.amount_charged_back
            else "",
            "client_id": str(client.id),
            "client_email": client.billing_email,
            "subtotal": format_money(inv.subtotal, inv.currency),
            "tax_total": format_money(inv.tax_total, inv.currency),
            "amount_paid": format_money(inv.amount_paid, inv.currency),
            "amount_refunded": format_money(inv.amount_refunded, inv.currency)
            if inv.amount_refunded
            else "",
            "currency": inv.currency.upper(),
            "notes": inv.notes,
            "raw_status": inv.status,
        }
        self.lines = [
            {
                "description": ln.description,
                "quantity": ln.quantity,
                "unit": format_money(ln.unit_amount, inv.currency),
                "tax": f"{ln.tax_rate_bp / 100:g}%" if ln.tax_rate_bp else "",
                "amount": format_money(ln.amount, inv.currency),
            }
            for ln in view.lines
        ]
        self.activity = [
            TimelineEntry(
                at=format_moment(a.at),
                kind=a.kind.replace("_", " "),
                parts=split_stripe_ids(a.detail),
            )
            for a in view.activity
        ]
        self.notes_failed_refunds = [
            p.failure_message for p in view.payments if p.status == "refund_failed"
        ]
        self.payments = [
            {
                "at": format_moment(p.created_at),
                "status": p.status.replace("_", " "),
                "amount": format_money(p.amount, p.currency),
                "method": p.method_detail or p.method_type or p.source,
                "mode": p.mode,
                "reference": p.payment_intent_id,
                "failure": p.failure_message,
            }
            for p in view.payments
        ]

    def _show_overpayments(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        from nextoria_hub.payments.overpayments import list_overpayments

        self.overpayments = [
            {
                "id": str(o.id),
                "amount": o.amount,
                "mode": o.mode,
                "reason": o.reason,
                "status": o.status,
                "error": o.refund_error,
            }
            for o in list_overpayments(db, actor, invoice_id=self._invoice_id())
        ]

    @rx.event
    def load(self):
        self.found = False
        self.invoice, self.lines, self.activity, self.payments = {}, [], [], []
        try:
            with self._unit() as (db, actor):
                if not actor.is_staff:
                    # The staff view (timeline, payment details) is not for clients, even of
                    # their own invoice: the page's guard hides it, this keeps it off the wire.
                    return rx.redirect(f"/portal/invoices/{self._invoice_id()}")
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
                self._show_overpayments(db, actor)
                self._start_following(db, actor)
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.found = True
        return InvoiceDetailState.follow

    def _start_following(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self._follow = [actor.workspace_id, actor.user_id or 0, self._invoice_id()]
        self._follow_version = invoice_version(db, actor, self._invoice_id())

    def _reload_invoice(self) -> None:
        """A payment, refund or failure landed while the page was open: show it."""
        try:
            with self._unit() as (db, actor):
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
        except (NotFound, NotSignedIn, AccessDenied):
            return

    @rx.event(background=True)
    async def follow(self):
        await follow_invoice(self)

    def _act(self, action, message: str):  # type: ignore[no-untyped-def]
        try:
            with self._unit() as (db, actor):
                actor.require_staff()
                action(db, actor, self._invoice_id())
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
                self._show_overpayments(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success(message)

    @rx.event
    def send(self):
        return self._act(
            lambda db, actor, i: svc.send_invoice(db, actor, i), "Invoice sent to the client."
        )

    @rx.event
    def void(self):
        return self._act(lambda db, actor, i: svc.void_invoice(db, actor, i), "Invoice voided.")

    @rx.event
    def set_manual_open(self, value: bool) -> None:
        self.manual_open = value

    @rx.event
    def mark_paid(self, form: dict):
        note = form.get("note") or ""
        self.manual_open = False
        return self._act(
            lambda db, actor, i: svc.mark_paid_manually(db, actor, i, note),
            "Invoice marked as paid.",
        )

    @rx.event
    def refund_overpayment(self, overpayment_id: str):
        """One click: refund money kept off this invoice; it lands through the webhook."""
        from nextoria_hub.payments.overpayments import refund_overpayment

        if not str(overpayment_id).isdigit():
            return rx.toast.error("Unknown overpayment.")
        try:
            with self._unit() as (_db, actor):
                pass  # who is asking (a session, in this workspace)
            refund_overpayment(actor, int(overpayment_id))
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return [rx.toast.success("Refund sent to Stripe."), InvoiceDetailState.load]
