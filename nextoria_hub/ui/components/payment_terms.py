"""The Payment terms card of the admin invoice page (its own state: payment_terms.py)."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import form_error
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
                rx.radio_group.item(value="none", id="deposit-none"),
                rx.el.label("None", html_for="deposit-none"),
                rx.radio_group.item(value="percent", id="deposit-percent"),
                rx.el.label("Percentage", html_for="deposit-percent"),
                rx.radio_group.item(value="fixed", id="deposit-fixed"),
                rx.el.label("Fixed amount", html_for="deposit-fixed"),
                gap="2",
                align="center",
                wrap="wrap",
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
    """What the client may pay and when; editable while the invoice is a draft."""
    v = T.view
    return rx.box(
        rx.vstack(
            rx.heading("Payment terms", size="3"),
            rx.text(v["describe"], size="2", id="terms-summary"),
            _figure("Deposit (due on issue)", v["deposit"], "terms-deposit-amount"),
            _figure("Deposit still due", v["deposit_due"], "terms-deposit-due"),
            _figure("Paid so far", v["paid"], "terms-paid"),
            rx.cond(v["paid"] != "", _figure("Balance", v["balance"], "terms-balance")),
            rx.cond(T.editable, _editor()),
            spacing="2",
            width="100%",
        ),
        style=CARD_STYLE,
        on_mount=T.load,
        display=rx.cond(T.found, "block", "none"),
        id="payment-terms",
    )
