"""Clients: the companies an agency bills."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import field, form_error
from nextoria_hub.ui.components.inputs import bound_input, currency_select
from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.states.clients import ClientsState as S
from nextoria_hub.ui.theme import CARD_STYLE


def _client_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id != "", "Edit client", "New client")),
            rx.vstack(
                bound_input("Company name", "name", S.form, S.set_form_field, S.errors),
                bound_input(
                    "Billing email",
                    "billing_email",
                    S.form,
                    S.set_form_field,
                    S.errors,
                    type_="email",
                ),
                bound_input("Contact name", "contact_name", S.form, S.set_form_field, S.errors),
                currency_select(
                    "Currency",
                    "currency",
                    S.form.get("currency", "usd"),
                    S.currencies,
                    lambda v: S.set_form_field("currency", v),
                ),
                form_error(S.errors.get("form", "")),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Save client", on_click=S.save),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
            ),
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def _invite_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Invite to the Client Portal"),
            rx.dialog.description(
                "They get an email with a link to choose a password and see their invoices.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    field(
                        "Contact email",
                        "email",
                        type_="email",
                        default_value=S.invite_email,
                        key="invite-email-" + S.invite_for,
                    ),
                    field(
                        "Contact name (optional)",
                        "name",
                        default_value=S.invite_name,
                        key="invite-name-" + S.invite_for,
                    ),
                    form_error(S.invite_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Send invitation", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=S.send_invite,
            ),
        ),
        open=S.invite_for != "",
        on_open_change=S.close_invite,
    )


def _row(c: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(c["name"], href="/clients/" + c["id"], weight="medium"),
                rx.cond(c["archived"] != "", rx.badge("Archived", color_scheme="gray", size="1")),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(c["email"], size="2"),
                rx.text(c["contact"], size="1", color="var(--gray-11)"),
                spacing="0",
            )
        ),
        rx.table.cell(c["currency"]),
        rx.table.cell(
            rx.hstack(
                rx.button("Edit", size="1", variant="soft", on_click=S.open_edit(c)),
                rx.button("Invite", size="1", variant="soft", on_click=S.open_invite(c["id"])),
                rx.cond(
                    c["archived"] != "",
                    rx.button(
                        "Restore",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.archive(c["id"], False),
                    ),
                    rx.button(
                        "Archive",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.archive(c["id"], True),
                    ),
                ),
                spacing="2",
            )
        ),
    )


def clients_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Clients",
                "The companies you bill",
                rx.button(rx.icon("plus", size=16), "New client", on_click=S.open_new),
            ),
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=14)),
                    placeholder="Search by name or email",
                    value=S.search,
                    on_change=S.set_search.debounce(300),
                    aria_label="Search clients",
                    width="100%",
                    max_width="24rem",
                ),
                rx.hstack(
                    rx.switch(
                        id="show-archived", checked=S.show_archived, on_change=S.set_show_archived
                    ),
                    rx.el.label(
                        "Show archived", html_for="show-archived", style={"font_size": "14px"}
                    ),
                    align="center",
                ),
                justify="between",
                width="100%",
                flex_wrap="wrap",
                gap="3",
            ),
            rx.cond(
                S.clients.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in ("Client", "Billing contact", "Currency", "")
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(S.clients, _row)),
                        width="100%",
                    ),
                    style=CARD_STYLE,
                    overflow_x="auto",
                ),
                empty_state(
                    "users",
                    "No clients yet",
                    "Add the companies you bill; you can invite their contacts to the Client Portal.",
                ),
            ),
            _client_dialog(),
            _invite_dialog(),
            spacing="4",
            width="100%",
        )
    )
