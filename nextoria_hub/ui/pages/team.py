"""Settings → Team: members, roles, invitations."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import field, form_error
from nextoria_hub.ui.components.layout import guarded, page_header
from nextoria_hub.ui.states.team import TeamState
from nextoria_hub.ui.theme import CARD_STYLE


def _invite_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("user-plus", size=16), "Invite people")),
        rx.dialog.content(
            rx.dialog.title("Invite someone"),
            rx.dialog.description(
                "They get an email with a link to choose their password.", size="2"
            ),
            rx.form(
                rx.vstack(
                    field("Email", "email", type_="email"),
                    field("Name (optional)", "name"),
                    rx.vstack(
                        rx.el.label(
                            "Role",
                            html_for="role",
                            style={"font_weight": "500", "font_size": "14px"},
                        ),
                        rx.el.select(
                            rx.el.option("Member", value="member"),
                            rx.el.option("Admin", value="admin"),
                            id="role",
                            name="role",
                            default_value="member",
                            style={
                                "padding": "8px",
                                "border_radius": "8px",
                                "border": "1px solid var(--gray-a7)",
                            },
                        ),
                        spacing="1",
                        width="100%",
                    ),
                    form_error(TeamState.invite_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Send invitation", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="4",
                ),
                on_submit=TeamState.send_invite,
            ),
        ),
        open=TeamState.invite_open,
        on_open_change=TeamState.set_invite_open,
    )


def _member_row(member: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(member["name"], weight="medium"),
                rx.text(member["email"], size="1", color="var(--gray-11)"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.badge(
                member["role"], color_scheme=rx.cond(member["role"] == "admin", "indigo", "gray")
            )
        ),
        rx.table.cell(
            rx.cond(
                TeamState.is_admin & (member["only_admin"] != ""),
                rx.text(
                    "The only admin: make someone else admin first",
                    size="1",
                    color="var(--gray-11)",
                    class_name="only-admin-note",
                ),
            ),
            rx.cond(
                TeamState.is_admin & (member["only_admin"] == ""),
                rx.hstack(
                    rx.cond(
                        member["role"] == "admin",
                        rx.button(
                            "Make member",
                            size="1",
                            variant="soft",
                            on_click=TeamState.change_role(member["id"], "member"),
                        ),
                        rx.button(
                            "Make admin",
                            size="1",
                            variant="soft",
                            on_click=TeamState.change_role(member["id"], "admin"),
                        ),
                    ),
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button("Remove", size="1", variant="soft", color_scheme="red")
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Remove ", member["name"], "?"),
                            rx.alert_dialog.description(
                                "They are signed out and can no longer sign in here."
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(
                                    rx.button("Cancel", variant="soft", color_scheme="gray")
                                ),
                                rx.alert_dialog.action(
                                    rx.button(
                                        "Remove",
                                        color_scheme="red",
                                        on_click=TeamState.remove(member["id"]),
                                    )
                                ),
                                justify="end",
                                spacing="3",
                                margin_top="1rem",
                            ),
                        ),
                    ),
                    spacing="2",
                ),
            ),
        ),
    )


def _contact_row(contact: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(contact["name"], weight="medium"),
                rx.text(contact["email"], size="1", color="var(--gray-11)"),
                spacing="0",
            )
        ),
        rx.table.cell(contact["client"]),
        rx.table.cell(
            rx.cond(
                TeamState.is_admin,
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(
                        rx.button("Remove", size="1", variant="soft", color_scheme="red")
                    ),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Remove ", contact["name"], "?"),
                        rx.alert_dialog.description(
                            "They are signed out of the Client Portal at once and can no "
                            "longer sign in."
                        ),
                        rx.hstack(
                            rx.alert_dialog.cancel(
                                rx.button("Cancel", variant="soft", color_scheme="gray")
                            ),
                            rx.alert_dialog.action(
                                rx.button(
                                    "Remove",
                                    color_scheme="red",
                                    on_click=TeamState.remove_contact(contact["id"]),
                                )
                            ),
                            justify="end",
                            spacing="3",
                            margin_top="1rem",
                        ),
                    ),
                ),
            )
        ),
    )


def _contacts_card() -> rx.Component:
    return rx.cond(
        TeamState.contacts.length() > 0,
        rx.box(
            rx.heading("Client contacts", size="3", margin_bottom="0.5rem"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Person"),
                        rx.table.column_header_cell("Client"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(TeamState.contacts, _contact_row)),
                width="100%",
                id="client-contacts",
            ),
            style=CARD_STYLE,
            overflow_x="auto",
        ),
    )


def team_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Team",
                "Admins manage settings and people; members work with clients and invoices",
                rx.cond(TeamState.is_admin, _invite_dialog()),
            ),
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Person"),
                            rx.table.column_header_cell("Role"),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(rx.foreach(TeamState.members, _member_row)),
                    width="100%",
                ),
                style=CARD_STYLE,
                overflow_x="auto",
            ),
            rx.cond(
                TeamState.invitations.length() > 0,
                rx.box(
                    rx.heading("Pending invitations", size="3", margin_bottom="0.5rem"),
                    rx.foreach(
                        TeamState.invitations,
                        lambda i: rx.hstack(
                            rx.text(i["email"]),
                            rx.badge(i["role"]),
                            rx.spacer(),
                            rx.text("expires ", i["expires"], size="1", color="var(--gray-11)"),
                            width="100%",
                        ),
                    ),
                    style=CARD_STYLE,
                ),
            ),
            _contacts_card(),
            spacing="5",
            width="100%",
        )
    )
