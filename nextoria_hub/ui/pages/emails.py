"""The Emails page: the outbox of this workspace, for admins."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.states.emails import EmailsState
from nextoria_hub.ui.theme import CARD_STYLE


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
        rx.table.cell(rx.badge(email["status"], variant="soft", white_space="nowrap")),
    )


def emails() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Emails", "What Nextoria Hub sent, or will send, on your behalf"),
            rx.cond(
                EmailsState.delivery_note != "",
                rx.callout(
                    EmailsState.delivery_note,
                    icon="mail-x",
                    color_scheme="amber",
                    width="100%",
                    id="delivery-note",
                ),
            ),
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
