"""The invoice page's revision tools: Edit (drafts) and "Void and duplicate as draft" (sent,
unpaid invoices), and the links between an invoice and its revision.

Kept apart from ``InvoiceDetailState``; the page shows the saved invoice below the editor,
and reloads it after a save.
"""

from __future__ import annotations

from datetime import date

import reflex as rx

from nextoria_hub.billing import clients as client_svc
from nextoria_hub.billing import drafts as draft_svc
from nextoria_hub.billing import invoices as svc
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.states.invoices import CURRENCIES, InvoiceDetailState, blank_line, line_inputs
from nextoria_hub.ui.states.session import AppState


class DraftEditState(AppState):
    editing: bool = False
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
    # The revision links: {"id", "number"} of the invoice this one copies, and its copies.
    duplicated_from: dict[str, str] = {}
    replaced_by: list[dict[str, str]] = []

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    @rx.event
    def load(self):
        """Page loader: the revision links; the editor opens at once after a duplicate."""
        self.editing, self.error, self.error_field = False, "", ""
        self.duplicated_from, self.replaced_by = {}, []
        try:
            with self._unit() as (db, actor):
                if not actor.is_staff:
                    return None
                source, copies = draft_svc.related_invoices(db, actor, self._invoice_id())
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        if source is not None:
            self.duplicated_from = {"id": str(source.invoice_id), "number": source.number}
        self.replaced_by = [{"id": str(c.invoice_id), "number": c.number} for c in copies]
        if self.router.url.query_parameters.get("edit") == "1":
            return DraftEditState.start_edit
        return None

    @rx.event
    def start_edit(self):
        self.error, self.error_field = "", ""
        try:
            with self._unit() as (db, actor):
                form = draft_svc.draft_form(db, actor, self._invoice_id())
                clients = client_svc.list_clients(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.client_options = [
            {"id": str(c.id), "label": f"{c.name} ({c.currency.upper()})", "currency": c.currency}
            for c in clients
        ]
        self.client_id, self.currency = str(form.client_id), form.currency
        self.issue_date, self.due_date = form.issue_date.isoformat(), form.due_date.isoformat()
        self.notes = form.notes
        self.lines = [
            {
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "tax_rate": ln.tax_rate,
            }
            for ln in form.lines
        ] or [blank_line()]
        self.editing = True
        return None

    @rx.event
    def cancel_edit(self) -> None:
        self.editing, self.error, self.error_field = False, "", ""

    @rx.event
    def set_client(self, value: str) -> None:
        """As on New invoice: the currency follows the client's (it can be changed after)."""
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
        if 0 <= index < len(lines) and key in lines[index]:
            lines[index][key] = value
            self.lines = lines
            if self.error_field == f"lines.{index}.{key}":  # being corrected
                self.error, self.error_field = "", ""

    @rx.event
    def add_line(self) -> None:
        self.lines = [*self.lines, blank_line()]

    @rx.event
    def remove_line(self, index: int) -> None:
        if len(self.lines) > 1:
            self.lines = [line for i, line in enumerate(self.lines) if i != index]

    @rx.event
    def save_edit(self):
        self.error, self.error_field = "", ""
        try:
            issue = date.fromisoformat(self.issue_date)
            due = date.fromisoformat(self.due_date)
        except ValueError:
            self.error, self.error_field = "Enter dates as YYYY-MM-DD.", "due_date"
            return None
        try:
            with self._unit() as (db, actor):
                if not self.client_id.isdigit():
                    raise ValidationError("Choose a client.", "client_id")
                invoice = svc.update_draft(
                    db,
                    actor,
                    self._invoice_id(),
                    lines=line_inputs(self.lines),
                    currency=self.currency,
                    issue_date=issue,
                    due_date=due,
                    notes=self.notes,
                    client_id=int(self.client_id),
                )
                number = invoice.number
        except (ValidationError, NotFound) as err:
            self.error = err.message
            self.error_field = getattr(err, "field", "") or ""
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.editing = False
        return [rx.toast.success(f"Draft {number} saved."), InvoiceDetailState.load]

    @rx.event
    async def void_and_duplicate(self):
        """Void this invoice (its open Checkout pages expire at Stripe after the commit, so
        off the event loop) and open the new draft in the editor."""
        invoice_id = self._invoice_id()

        def work(db, actor) -> tuple[int, str]:  # type: ignore[no-untyped-def]
            draft = draft_svc.void_and_duplicate(db, actor, invoice_id)
            return draft.id, draft.number  # type: ignore[return-value]

        done = await self._off_loop(work)
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        new_id, number = done.value  # type: ignore[misc]
        return [
            rx.toast.success(f"Voided; {number} is its new draft."),
            rx.redirect(f"/invoices/{new_id}?edit=1"),
        ]
