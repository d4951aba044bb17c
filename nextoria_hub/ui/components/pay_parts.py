"""The portal invoice's amount picker: the deposit, the balance, or a part (issue 18).

Shown above Pay Now when the invoice asks for a deposit or allows parts; what may be paid
is decided by billing/payment_terms.py, and the page only offers it.
"""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.states.portal import PortalInvoiceState as I


def _row(label: str, value: rx.Var, id_: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, color="var(--gray-11)"),
            rx.spacer(),
            rx.text(value, id=id_, white_space="nowrap"),
            width="100%",
        ),
    )


def paid_so_far() -> rx.Component:
    """'Paid so far' under the total, once a part (or the deposit) was paid."""
    return _row("Paid so far", I.terms["paid"], "paid-so-far")


def deposit_note() -> rx.Component:
    """When the deposit and the rest are due."""
    t = I.terms
    return rx.cond(
        t["deposit_due"] != "",
        rx.callout(
            rx.text(
                "A deposit of ",
                rx.text.strong(t["deposit_due"]),
                " is due now (issued ",
                t["issue"],
                "); the rest, ",
                rx.text.strong(t["rest"]),
                ", is due on ",
                t["due"],
                ".",
            ),
            icon="calendar",
            color_scheme="blue",
            width="100%",
            id="deposit-note",
        ),
        rx.cond(
            t["deposit_paid"] != "",
            rx.text(
                "Deposit received. The balance is due on ",
                t["due"],
                ".",
                size="2",
                color="var(--gray-11)",
                id="deposit-received",
            ),
        ),
    )


def _choice(value: str, label: rx.Var | str, amount: rx.Var | str) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.radio_group.item(value=value, id=f"pay-{value}"),
            rx.text(label),
            rx.spacer(),
            rx.text(amount, weight="medium", white_space="nowrap"),
            align="center",
            width="100%",
        ),
        html_for=f"pay-{value}",
        width="100%",
        style={
            "display": "block",
            "width": "100%",
            "padding": "10px 12px",
            "border": "1px solid var(--gray-6)",
            "border_radius": "8px",
            "cursor": "pointer",
        },
    )


def amount_picker() -> rx.Component:
    """Deposit / full balance / another amount, when there is a choice to make."""
    t = I.terms
    return rx.cond(
        (t["deposit_due"] != "") | (t["parts"] != ""),
        rx.vstack(
            rx.text("How much do you want to pay now?", weight="medium"),
            rx.radio_group.root(
                rx.vstack(
                    rx.cond(
                        t["deposit_due"] != "", _choice("deposit", "Deposit", t["deposit_due"])
                    ),
                    _choice("balance", "Full balance", t["balance"]),
                    rx.cond(t["parts"] != "", _choice("other", "Another amount", "")),
                    spacing="2",
                    width="100%",
                ),
                value=I.pay_choice,
                on_change=I.set_pay_choice,
                width="100%",
                id="pay-choice",
            ),
            rx.cond(
                I.pay_choice == "other",
                rx.vstack(
                    rx.el.label(
                        "Amount to pay",
                        html_for="pay-amount",
                        style={"font_weight": "500", "font_size": "14px"},
                    ),
                    rx.input(
                        id="pay-amount",
                        value=I.pay_amount,
                        on_change=I.set_pay_amount,
                        input_mode="decimal",
                        placeholder="250.00",
                        size="3",
                        width="100%",
                    ),
                    rx.text(
                        "At least ",
                        t["minimum"],
                        ", up to the balance of ",
                        t["balance"],
                        ".",
                        size="1",
                        color="var(--gray-11)",
                    ),
                    spacing="1",
                    width="100%",
                ),
            ),
            spacing="2",
            width="100%",
        ),
    )
