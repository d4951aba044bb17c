"""Admin and member pages. Later issues fill Clients, Invoices and Payments."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.states.emails import EmailsState
from nextoria_hub.ui.theme import CARD_STYLE


def dashboard() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Dashboard", "Your agency at a glance"),
            rx.grid(
                *[
                    rx.box(
                        rx.text(label, size="2", color="var(--gray-11)"),
                        rx.heading("—", size="7"),
                        rx.text(hint, size="1", color="var(--gray-10)"),
                        style=CARD_STYLE,
                    )
                    for label, hint in (
                        ("Outstanding", "Open invoices"),
                        ("Overdue", "Past their due date"),
                        ("Paid this month", "Through Stripe and manual"),
                    )
                ],
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="4",
                width="100%",
            ),
            empty_state(
                "file-text",
                "No invoices yet",
                "Once you create and send invoices, totals and payments will show here.",
            ),
            spacing="5",
            width="100%",
        )
    )


def clients() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Clients", "The companies you bill"),
            empty_state("users", "No clients yet", "Clients you add will be listed here."),
            width="100%",
        )
    )


def invoices() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Invoices", "Drafts, sent, paid and overdue"),
            empty_state("file-text", "No invoices yet", "Invoices you create will be listed here."),
            width="100%",
        )
    )


def payments() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Payments", "Every payment and failed attempt"),
            empty_state(
                "credit-card", "No payments yet", "Payments from your clients will show here."
            ),
            width="100%",
        )
    )


def _email_row(email: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(email["created"]),
        rx.table.cell(email["to"]),
        rx.table.cell(
            rx.popover.root(
                rx.popover.trigger(rx.link(email["subject"], href="#", underline="hover")),
                rx.popover.content(
                    rx.text(email["body"], white_space="pre-wrap", size="2"), max_width="32rem"
                ),
            )
        ),
        rx.table.cell(rx.badge(email["status"], variant="soft")),
    )


def emails() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Emails", "What Nextoria Hub sent, or will send, on your behalf"),
            rx.cond(
                EmailsState.emails.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("When"),
                                rx.table.column_header_cell("To"),
                                rx.table.column_header_cell("Subject"),
                                rx.table.column_header_cell("Status"),
                            )
                        ),
                        rx.table.body(rx.foreach(EmailsState.emails, _email_row)),
                        width="100%",
                    ),
                    style=CARD_STYLE,
                    overflow_x="auto",
                ),
                empty_state(
                    "mail", "No emails yet", "Invitations and payment emails will show here."
                ),
            ),
            width="100%",
        )
    )
