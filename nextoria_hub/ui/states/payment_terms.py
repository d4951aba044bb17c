"""The invoice page's Payment terms card: parts and a deposit, set on drafts."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import invoices as svc
from nextoria_hub.billing.money import from_minor
from nextoria_hub.billing.payment_terms import TermsInput, set_payment_terms, terms_view
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.states.session import AppState


class PaymentTermsState(AppState):
    found: bool = False
    editable: bool = False  # a draft: the terms can still change
    view: dict[str, str] = {}
    allow_partial: bool = False
    minimum: str = ""
    deposit_kind: str = "none"  # none | percent | fixed (radio values)
    deposit: str = ""
    error: str = ""

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _show(self, invoice) -> None:  # type: ignore[no-untyped-def]
        self.found, self.editable = True, invoice.status == "draft"
        self.view = terms_view(invoice)
        self.allow_partial = invoice.allow_partial
        self.minimum = (
            format(from_minor(invoice.partial_minimum, invoice.currency), "f")
            if invoice.partial_minimum
            else ""
        )
        self.deposit_kind = invoice.deposit_kind or "none"
        self.deposit = (
            f"{invoice.deposit_value / 100:g}"
            if invoice.deposit_kind == "percent"
            else format(from_minor(invoice.deposit_value, invoice.currency), "f")
            if invoice.deposit_kind == "fixed"
            else ""
        )

    @rx.event
    def load(self):
        self.found, self.error = False, ""
        try:
            with self._unit() as (db, actor):
                actor.require_staff()
                self._show(svc.get_invoice(db, actor, self._invoice_id()))
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_allow_partial(self, on: bool) -> None:
        self.allow_partial = bool(on)

    @rx.event
    def set_minimum(self, value: str) -> None:
        self.minimum = str(value)[:20]

    @rx.event
    def set_deposit_kind(self, value: str) -> None:
        self.deposit_kind = value if value in ("percent", "fixed") else "none"

    @rx.event
    def set_deposit(self, value: str) -> None:
        self.deposit = str(value)[:20]

    @rx.event
    def save_terms(self):
        self.error = ""
        terms = TermsInput(
            allow_partial=self.allow_partial,
            minimum=self.minimum,
            deposit_kind="" if self.deposit_kind == "none" else self.deposit_kind,
            deposit=self.deposit,
        )
        try:
            with self._unit() as (db, actor):
                self._show(set_payment_terms(db, actor, self._invoice_id(), terms))
        except (ValidationError, NotFound) as err:
            self.error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Payment terms saved.")
