"""The Client Portal: a client's invoices, Pay Now, and the return from Checkout."""

from __future__ import annotations

import asyncio

import reflex as rx

from nextoria_hub.billing import invoices as svc
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.live import invoice_version
from nextoria_hub.billing.money import format_money
from nextoria_hub.errors import (
    AccessDenied,
    NotFound,
    NotSignedIn,
    StripeNotConnected,
    ValidationError,
)
from nextoria_hub.payments import checkout
from nextoria_hub.stripe_gateway import StripeGatewayError
from nextoria_hub.ui.states.invoices import STATUS_COLORS, invoice_row, today
from nextoria_hub.ui.states.live import follow_invoice
from nextoria_hub.ui.states.session import AppState


def portal_row(invoice, processing: bool = False) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What an invoice card in the portal list shows, and nothing more (a client may have
    hundreds: every field is formatted on the server and sent to the browser)."""
    status = svc.display_status(invoice, today(), processing=processing)
    return {
        "id": str(invoice.id),
        "number": invoice.number,
        "status": status,
        "color": STATUS_COLORS.get(status, "gray"),
        # What the client owes on an open invoice; what the invoice was for once it is settled.
        "amount": format_money(
            invoice.amount_due if invoice.status == "open" else invoice.total, invoice.currency
        ),
        "due": invoice.due_date.strftime("%d %b %Y"),
    }


class PortalState(AppState):
    invoices: list[dict[str, str]] = []

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                processing = svc.processing_ids(db, actor.workspace_id)
                self.invoices = [
                    portal_row(i, i.id in processing) for i in svc.list_invoices(db, actor)
                ]
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None


class PortalInvoiceState(AppState):
    found: bool = False
    invoice: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    paying: bool = False
    pay_error: str = ""
    # The return page: processing | bank_processing | paid | canceled
    outcome: str = "processing"
    back_href: str = "/portal"
    # Finance → Automatic payment receipts: the thank-you page only promises one when it is on.
    receipt_by_email: bool = False
    # Following the open invoice (ui/states/live.py): who, which, and the version shown.
    _follow_seq: int = 0
    _follow: list[int] = []
    _follow_version: str = ""

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _show(self, view) -> None:  # type: ignore[no-untyped-def]
        inv = view.invoice
        processing = svc.is_processing(view)
        status = svc.display_status(inv, today(), processing=processing)
        self.invoice = {
            **invoice_row(inv, view.client.name, processing),
            "status": status,
            "color": STATUS_COLORS.get(status, "gray"),
            "payable": "yes"
            if inv.status == "open" and inv.amount_due > 0 and not processing
            else "",
            "processing": svc.BANK_PROCESSING if processing else "",
            "last_failure": svc.last_failure(view),
            "notes": inv.notes,
            "tax_total": format_money(inv.tax_total, inv.currency),
        }
        self.lines = [
            {
                "description": ln.description,
                "quantity": ln.quantity,
                "amount": format_money(ln.amount, inv.currency),
            }
            for ln in view.lines
        ]

    @rx.event
    def load(self):
        self.found, self.pay_error, self.paying = False, "", False
        try:
            with self._unit() as (db, actor):
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
                self._follow = [actor.workspace_id, actor.user_id or 0, self._invoice_id()]
                self._follow_version = invoice_version(db, actor, self._invoice_id())
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.found = True
        return PortalInvoiceState.follow

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

    @rx.event
    def pay_now(self):
        self.pay_error, self.paying = "", True
        yield
        try:
            with self._unit() as (db, actor):
                url = checkout.start_checkout(
                    db, actor, self._invoice_id(), base_url=self.router.url.origin
                )
        except (ValidationError, StripeNotConnected, NotFound, StripeGatewayError) as err:
            self.pay_error, self.paying = err.message, False
            return
        except (NotSignedIn, AccessDenied) as err:
            self.paying = False
            yield self._denied(err)
            return
        yield rx.redirect(url)

    @rx.event(background=True)
    async def watch_return(self):
        """Poll until the payment is recorded (asks Stripe itself if the webhook is late)."""
        async with self:
            session_id = self.router.url.query_parameters.get("session_id", "")
            invoice_id = self._invoice_id()
            self.outcome = "processing"
            self.back_href = f"/portal/invoices/{invoice_id}"
        for attempt in range(40):
            async with self:
                try:
                    with self._unit() as (db, actor):
                        outcome = checkout.checkout_return(db, actor, invoice_id, session_id)
                        if outcome in ("paid", "bank_processing"):
                            self._show(svc.get_invoice_view(db, actor, invoice_id))
                            self.found = True
                            finance = get_finance(db, actor.workspace_id)
                            self.receipt_by_email = finance.receipts_enabled
                except (NotSignedIn, AccessDenied, NotFound):
                    self.outcome = "canceled"
                    return
                except StripeGatewayError:
                    outcome = "processing"
                self.outcome = outcome
            if outcome != "processing":
                return
            await asyncio.sleep(1.0 if attempt < 10 else 3.0)
