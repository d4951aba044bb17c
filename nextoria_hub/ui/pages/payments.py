"""Payments (every payment and failed attempt) and the Dashboard."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.billing_extras import aged_receivables_card, export_button
from nextoria_hub.ui.components.inputs import SELECT_STYLE, labelled
from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.states.payments import DashboardState as D
from nextoria_hub.ui.states.payments import PaymentsState as S
from nextoria_hub.ui.theme import CARD_STYLE


def _filter(label: str, id_: str, value: rx.Var, on_change, *options: rx.Component) -> rx.Component:
    return rx.box(
        labelled(
            label,
            rx.el.select(*options, id=id_, value=value, on_change=on_change, style=SELECT_STYLE),
            for_id=id_,
        ),
        min_width="10rem",
    )


def _row(p: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(p["at"], white_space="nowrap"),
        rx.table.cell(
            rx.link(p["number"], href="/invoices/" + p["invoice_id"], weight="medium"),
            white_space="nowrap",
        ),
        rx.table.cell(p["client"]),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    p["status"],
                    color_scheme=rx.match(
                        p["status"],
                        ("succeeded", "green"),
                        ("failed", "red"),
                        ("processing", "amber"),
                        ("refund failed", "orange"),
                        "purple",
                    ),
                    variant="soft",
                ),
                rx.cond(p["failure"] != "", rx.text(p["failure"], size="1", color="var(--red-11)")),
                spacing="1",
            )
        ),
        rx.table.cell(p["amount"]),
        rx.table.cell(p["method"]),
        rx.table.cell(p["mode"]),
    )


def payments_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Payments", "Every payment and failed attempt"),
            rx.hstack(
                _filter(
                    "Client",
                    "filter-client",
                    S.client_filter,
                    S.set_client_filter,
                    rx.el.option("All clients", value="all"),
                    rx.foreach(S.client_options, lambda c: rx.el.option(c["name"], value=c["id"])),
                ),
                _filter(
                    "Status",
                    "filter-status",
                    S.status_filter,
                    S.set_status_filter,
                    *[
                        rx.el.option(label, value=value)
                        for value, label in (
                            ("all", "All"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("refunded", "Refunded"),
                            ("partially_refunded", "Partially refunded"),
                            ("processing", "Processing"),
                            ("refund_failed", "Refund failed"),
                        )
                    ],
                ),
                _filter(
                    "Mode",
                    "filter-mode",
                    S.mode_filter,
                    S.set_mode_filter,
                    *[
                        rx.el.option(label, value=value)
                        for value, label in (
                            ("all", "All"),
                            ("test", "Test"),
                            ("live", "Live"),
                            ("manual", "Manual"),
                        )
                    ],
                ),
                export_button(
                    "payments", client=S.client_filter, status=S.status_filter, mode=S.mode_filter
                ),
                spacing="3",
                flex_wrap="wrap",
            ),
            rx.cond(
                S.payments.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in (
                                        "When",
                                        "Invoice",
                                        "Client",
                                        "Status",
                                        "Amount",
                                        "Method",
                                        "Mode",
                                    )
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(S.payments, _row)),
                        width="100%",
                    ),
                    style=CARD_STYLE,
                    overflow_x="auto",
                ),
                empty_state(
                    "credit-card", "No payments match", "Payments from your clients will show here."
                ),
            ),
            rx.cond(
                S.unmatched.length() > 0,
                rx.box(
                    rx.heading("Stripe events not from Nextoria Hub", size="3"),
                    rx.text(
                        "Payments made by other software on the same Stripe account. Acknowledged, not applied.",
                        size="2",
                        color="var(--gray-11)",
                        margin_bottom="0.5rem",
                    ),
                    rx.foreach(
                        S.unmatched,
                        lambda e: rx.hstack(
                            rx.code(e["type"]),
                            rx.text(e["detail"], size="2"),
                            rx.spacer(),
                            rx.text(e["at"], size="1", color="var(--gray-10)"),
                            width="100%",
                        ),
                    ),
                    style=CARD_STYLE,
                ),
            ),
            spacing="4",
            width="100%",
        )
    )


def _total_card(label: str, key: str) -> rx.Component:
    return rx.box(
        rx.text(label, size="2", color="var(--gray-11)"),
        rx.cond(
            D.totals.length() > 0,
            rx.vstack(rx.foreach(D.totals, lambda t: rx.heading(t[key], size="6")), spacing="1"),
            rx.heading("—", size="6"),
        ),
        style=CARD_STYLE,
        class_name="total-" + key,
    )


def dashboard() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Dashboard",
                "Your agency at a glance",
                rx.link(rx.button(rx.icon("plus", size=16), "New invoice"), href="/invoices/new"),
            ),
            rx.grid(
                _total_card("Outstanding", "outstanding"),
                _total_card("Overdue", "overdue"),
                _total_card("Paid this month", "paid_this_month"),
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="4",
                width="100%",
            ),
            aged_receivables_card(),
            rx.cond(
                D.disputed.length() > 0,
                rx.callout(
                    rx.hstack(
                        rx.text("At risk in open disputes:", weight="medium"),
                        rx.foreach(D.disputed, lambda a: rx.text(a, weight="bold")),
                        rx.link("See the invoices", href="/invoices"),
                        spacing="2",
                        flex_wrap="wrap",
                    ),
                    icon="shield-alert",
                    color_scheme="red",
                    width="100%",
                    id="disputes-at-risk",
                ),
            ),
            rx.cond(
                D.attention.length() > 0,
                rx.box(
                    rx.heading("Needs attention", size="3", margin_bottom="0.5rem"),
                    rx.vstack(
                        rx.foreach(
                            D.attention,
                            lambda a: rx.link(
                                rx.vstack(
                                    rx.text(a["title"], weight="bold", size="2"),
                                    rx.text(a["detail"], size="1", color="var(--gray-11)"),
                                    spacing="0",
                                ),
                                href=a["href"],
                            ),
                        ),
                        spacing="2",
                    ),
                    style=CARD_STYLE,
                    border="1px solid var(--red-6)",
                    class_name="needs-attention",
                ),
            ),
            rx.box(
                rx.heading("Payments over the last 90 days", size="3"),
                rx.cond(
                    D.chart.length() > 0,
                    rx.recharts.bar_chart(
                        rx.recharts.bar(
                            data_key="amount",
                            fill="#3e63dd",
                            name=D.chart_currency,
                            max_bar_size=48,
                        ),
                        rx.recharts.x_axis(data_key="day"),
                        rx.recharts.y_axis(),
                        rx.recharts.graphing_tooltip(),
                        data=D.chart,
                        height=260,
                        width="100%",
                    ),
                    rx.text(
                        "No payments yet. Send an invoice and it shows here once paid.",
                        size="2",
                        color="var(--gray-11)",
                    ),
                ),
                style=CARD_STYLE,
            ),
            spacing="4",
            width="100%",
        )
    )
