"""The Payment terms card of the admin invoice page (its own state: payment_terms.py)."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import form_error
from nextoria_hub.ui.states.invoices import InvoiceDetailState as D
from nextoria_hub.ui.states.payment_terms import PaymentTermsState as T
from nextoria_hub.ui.theme import CARD_STYLE

LABEL = {"font_weight": "500", "font_size": "14px"}


def _figure(label: str, value: rx.Var, id_: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, size="2", color="var(--gray-11)"),
            rx.spacer(),
            rx.text(value, size="2", white_space="nowrap", id=id_),
            width="100%",
        ),
    )


def _kind(value: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.radio_group.item(value=value, id=f"deposit-{value}"),
        rx.el.label(label, html_for=f"deposit-{value}"),
        spacing="2",
        align="center",
    )


def _editor() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.switch(id="terms-partial", checked=T.allow_partial, on_change=T.set_allow_partial),
            rx.el.label("Allow partial payments", html_for="terms-partial", style=LABEL),
            align="center",
        ),
        rx.cond(
            T.allow_partial,
            rx.hstack(
                rx.el.label("Minimum part", html_for="terms-minimum", style=LABEL),
                rx.input(
                    id="terms-minimum",
                    value=T.minimum,
                    on_change=T.set_minimum,
                    placeholder="Stripe's minimum",
                    input_mode="decimal",
                    width="9rem",
                ),
                align="center",
                wrap="wrap",
            ),
        ),
        rx.el.label("Deposit due on issue", style=LABEL),
        rx.radio_group.root(
            rx.flex(
                _kind("none", "None"),
                _kind("percent", "Percentage"),
                _kind("fixed", "Fixed amount"),
                align="center",
                wrap="wrap",
                style={"column_gap": "1.5rem", "row_gap": "0.5rem"},
            ),
            value=T.deposit_kind,
            on_change=T.set_deposit_kind,
        ),
        rx.cond(
            T.deposit_kind != "none",
            rx.hstack(
                rx.input(
                    id="terms-deposit",
                    value=T.deposit,
                    on_change=T.set_deposit,
                    aria_label="Deposit",
                    placeholder=rx.cond(T.deposit_kind == "percent", "30", "500.00"),
                    input_mode="decimal",
                    width="9rem",
                ),
                rx.text(rx.cond(T.deposit_kind == "percent", "% of the total", "")),
                align="center",
            ),
        ),
        form_error(T.error),
        rx.button("Save terms", on_click=T.save_terms, id="save-terms", variant="soft"),
        spacing="3",
        width="100%",
        align="start",
    )


def payment_terms_card() -> rx.Component:
    """What the client may pay and when; editable while the invoice is a draft. (What was
    paid and the balance are in the invoice card above.)"""
    v = T.view
    return rx.box(
        rx.vstack(
            rx.heading("Payment terms", size="3"),
            rx.text(v["describe"], size="2", id="terms-summary"),
            _figure("Deposit (due on issue)", v["deposit"], "terms-deposit-amount"),
            # Editable while a draft; the invoice's own state says at once when it was sent.
            rx.cond(T.editable & (D.invoice["raw_status"] == "draft"), _editor()),
            spacing="2",
            width="100%",
        ),
        style=CARD_STYLE,
        on_mount=T.load,
        display=rx.cond(T.found, "block", "none"),
        id="payment-terms",
    )
