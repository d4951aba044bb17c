"""Settings → Finance (seed step 3) and the audit log."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.billing_extras import reminders_section
from nextoria_hub.ui.components.forms import form_error
from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.states.finance import AuditState
from nextoria_hub.ui.states.finance import FinanceState as F
from nextoria_hub.ui.theme import CARD_STYLE

LABEL = {"font_weight": "500", "font_size": "14px"}


def _section(title: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading(title, size="4"),
            rx.text(description, size="2", color="var(--gray-11)"),
            *children,
            spacing="3",
            width="100%",
        ),
        style=CARD_STYLE,
    )


def _currency() -> rx.Component:
    return _section(
        "Default currency",
        "Used for new clients and invoices.",
        rx.el.label("Default currency", html_for="default_currency", style=LABEL),
        rx.el.select(
            rx.foreach(F.currencies, lambda c: rx.el.option(c["label"], value=c["code"])),
            id="default_currency",
            value=F.currency,
            on_change=F.set_currency,
            style={
                "padding": "8px",
                "border_radius": "8px",
                "border": "1px solid var(--gray-a7)",
                "max_width": "22rem",
            },
        ),
        form_error(F.errors.get("default_currency", "")),
    )


def _method(option: dict) -> rx.Component:
    checked = F.methods.contains(option["key"])
    return rx.hstack(
        rx.checkbox(
            id="method-" + option["key"],
            checked=rx.cond(option["always_on"] != "", True, checked),
            disabled=(option["always_on"] != "")
            | (option["retired"] != "")
            | (F.method_source == "dashboard"),
            on_change=lambda on: F.toggle_method(option["key"], on),
            margin_top="3px",
        ),
        rx.vstack(
            rx.el.label(
                option["label"],
                rx.cond(
                    option["always_on"] != "", rx.badge("Always on", size="1", margin_left="6px")
                ),
                rx.cond(
                    option["retired"] != "",
                    rx.badge("Discontinued", color_scheme="gray", size="1", margin_left="6px"),
                ),
                html_for="method-" + option["key"],
                style=LABEL,
            ),
            rx.text(
                rx.cond(option["retired"] != "", option["retired"], option["note"]),
                size="1",
                color="var(--gray-11)",
            ),
            rx.cond(
                F.method_warnings.contains(option["key"]),
                rx.text(
                    rx.icon("triangle_alert", size=12, display="inline"),
                    " ",
                    F.method_warnings[option["key"]],
                    size="1",
                    color="var(--amber-11)",
                    class_name="method-warning",
                    id="method-warning-" + option["key"],
                ),
            ),
            spacing="0",
        ),
        align="start",
        spacing="3",
    )


def _source_option(value: str, label: str, note: str) -> rx.Component:
    return rx.hstack(
        rx.el.input(
            type="radio",
            id="method-source-" + value,
            name="method_source",
            value=value,
            checked=F.method_source == value,
            on_change=lambda _: F.set_method_source(value),
            style={"margin_top": "4px"},
        ),
        rx.vstack(
            rx.el.label(label, html_for="method-source-" + value, style=LABEL),
            rx.text(note, size="1", color="var(--gray-11)"),
            spacing="0",
        ),
        align="start",
        spacing="3",
    )


def _methods() -> rx.Component:
    return _section(
        "Payment methods",
        "What Checkout offers your clients. Checkout only offers a method for invoices in a currency it supports.",
        rx.vstack(
            _source_option(
                "dashboard",
                "Use what my Stripe Dashboard enables",
                "Enable or disable methods in Stripe Dashboard → Settings → Payment Methods; "
                "Checkout offers those that fit each invoice's currency.",
            ),
            _source_option(
                "choose",
                "Only the methods ticked below",
                "Checkout offers these (where the invoice's currency allows) if your Stripe "
                "Dashboard has them turned on.",
            ),
            spacing="2",
        ),
        rx.vstack(rx.foreach(F.method_options, _method), spacing="3"),
        form_error(F.errors.get("payment_methods", "")),
        rx.foreach(
            F.warnings,
            lambda w: rx.callout(
                w, icon="info", color_scheme="amber", width="100%", class_name="finance-warning"
            ),
        ),
    )


def _receipts() -> rx.Component:
    return _section(
        "Automatic payment receipts",
        "Email clients a receipt when their payment succeeds.",
        rx.hstack(
            rx.switch(id="receipts", checked=F.receipts, on_change=F.set_receipts),
            rx.el.label(rx.cond(F.receipts, "On", "Off"), html_for="receipts", style=LABEL),
            align="center",
        ),
    )


def _partial() -> rx.Component:
    return _section(
        "Partial payments",
        "New invoices let the client pay in parts of at least this amount (in the invoice's "
        "currency; 0: Stripe's minimum). Each invoice can change it while it is a draft.",
        rx.hstack(
            rx.switch(id="partial", checked=F.partial, on_change=F.set_partial),
            rx.el.label(rx.cond(F.partial, "On", "Off"), html_for="partial", style=LABEL),
            align="center",
        ),
        rx.cond(
            F.partial,
            rx.hstack(
                rx.el.label("Minimum part", html_for="partial_minimum", style=LABEL),
                rx.input(
                    id="partial_minimum",
                    value=F.partial_minimum,
                    on_change=F.set_partial_minimum,
                    width="8rem",
                    input_mode="decimal",
                ),
                align="center",
            ),
        ),
        form_error(F.errors.get("partial_minimum", "")),
    )


def _retry_row(day: rx.Var, index: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.el.label(
            "Retry " + (index + 1).to_string(),
            html_for="retry-" + index.to_string(),
            style={**LABEL, "min_width": "5rem"},
        ),
        rx.input(
            id="retry-" + index.to_string(),
            value=day,
            on_change=lambda v: F.set_retry_day(index, v),
            width="6rem",
            type="number",
        ),
        rx.text("days after the first failure", size="2", color="var(--gray-11)"),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            color_scheme="gray",
            aria_label="Remove retry " + (index + 1).to_string(),
            on_click=F.remove_retry(index),
        ),
        align="center",
    )


def _retries() -> rx.Component:
    return _section(
        "Failed payment retry schedule",
        "When an autopay charge fails for a reason that may pass (e.g. insufficient funds), it is retried on these days.",
        rx.vstack(rx.foreach(F.retry_days, _retry_row), spacing="2"),
        rx.button(
            rx.icon("plus", size=14),
            "Add retry",
            variant="soft",
            size="1",
            on_click=F.add_retry,
            disabled=F.retry_days.length() >= 8,
        ),
        form_error(F.errors.get("retry_days", "")),
    )


def _notice() -> rx.Component:
    return _section(
        "Autopay notice",
        "Days before an autopay charge that the client is emailed. 0 turns the notice off.",
        rx.hstack(
            rx.el.label("Notice days", html_for="notice_days", style=LABEL),
            rx.input(
                id="notice_days",
                value=F.notice_days,
                on_change=F.set_notice_days,
                width="6rem",
                type="number",
            ),
            align="center",
        ),
        form_error(F.errors.get("autopay_notice_days", "")),
    )


def finance_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Finance",
                "Settings → Finance: how you get paid",
                rx.button("Save changes", on_click=F.save, id="save-finance"),
            ),
            _currency(),
            _methods(),
            _receipts(),
            _partial(),
            _retries(),
            _notice(),
            rx.button("Save changes", on_click=F.save),
            reminders_section(),
            spacing="4",
            width="100%",
        )
    )


def audit_page() -> rx.Component:
    def row(e: dict) -> rx.Component:
        return rx.table.row(
            rx.table.cell(e["at"], white_space="nowrap"),
            rx.table.cell(e["who"]),
            rx.table.cell(rx.code(e["action"])),
            rx.table.cell(e["detail"]),
        )

    return guarded(
        rx.vstack(
            page_header(
                "Audit log", "Every change to settings, people and payments; secrets appear masked"
            ),
            rx.cond(
                AuditState.entries.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in ("When", "Who", "What", "Change")
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(AuditState.entries, row)),
                        width="100%",
                    ),
                    style=CARD_STYLE,
                    overflow_x="auto",
                ),
                empty_state(
                    "history",
                    "Nothing recorded yet",
                    "Changes to settings and people will be listed here.",
                ),
            ),
            width="100%",
        )
    )
