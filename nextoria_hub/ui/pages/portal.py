"""The Client Portal: what a client of the agency sees."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.layout import empty_state, guarded, page_header


def portal_invoices() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Invoices", "Your invoices from this agency"),
            empty_state(
                "file-text", "No invoices yet", "Invoices sent to you will show here, ready to pay."
            ),
            width="100%",
        ),
        portal=True,
    )


def portal_payment_methods() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Payment methods", "Cards saved for Autopay"),
            empty_state(
                "credit-card",
                "No saved payment methods",
                "Cards you save for Autopay will show here.",
            ),
            width="100%",
        ),
        portal=True,
    )
