"""Clients → [Client Name]: Overview and Billing (Enable Autopay, retainers)."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.billing_extras import client_reminders_card
from nextoria_hub.ui.components.inputs import SELECT_STYLE, labelled
from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.components.status import status_badge
from nextoria_hub.ui.states.client_detail import ClientDetailState as S
from nextoria_hub.ui.theme import CARD_STYLE


def _card(title: str, *children: rx.Component) -> rx.Component:
    return rx.box(
        rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"),
        style=CARD_STYLE,
    )


def _overview() -> rx.Component:
    c = S.client
    return rx.vstack(
        _card(
            "Details",
            rx.text("Billing email: ", rx.text.strong(c["email"]), size="2"),
            rx.text("Contact: ", c["contact"], size="2"),
            rx.text("Currency: ", c["currency"], size="2"),
        ),
        _card(
            "Invoices",
            rx.cond(
                S.invoices.length() > 0,
                rx.vstack(
                    rx.foreach(
                        S.invoices,
                        lambda i: rx.hstack(
                            rx.link(i["number"], href="/invoices/" + i["id"]),
                            status_badge(i["status"], i["color"]),
                            rx.spacer(),
                            rx.text(i["total"], size="2"),
                            width="100%",
                        ),
                    ),
                    width="100%",
                ),
                rx.text("No invoices yet.", size="2", color="var(--gray-11)"),
            ),
        ),
        spacing="4",
        width="100%",
    )


def _autopay_card() -> rx.Component:
    a = S.autopay
    return _card(
        "Autopay",
        rx.text(
            "The client's saved card is charged automatically on each invoice's due date; failed "
            "charges are retried on your Finance retry schedule.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.hstack(
            rx.badge(
                rx.cond(a["enabled"] != "", "Autopay on", "Autopay off"),
                color_scheme=rx.cond(a["enabled"] != "", "green", "gray"),
                size="2",
                id="autopay-badge",
            ),
            rx.cond(
                a["enabled"] != "",
                rx.button(
                    "Disable Autopay",
                    variant="soft",
                    color_scheme="gray",
                    on_click=S.disable_autopay,
                ),
                rx.button("Enable Autopay", on_click=S.enable_autopay),
            ),
            align="center",
            spacing="3",
        ),
        rx.cond(
            (a["enabled"] != "") & (a["waiting"] != ""),
            rx.callout(
                "Waiting for the client to save a card in the Client Portal (we emailed them a link).",
                icon="clock",
                color_scheme="amber",
                width="100%",
                id="autopay-waiting",
            ),
        ),
        rx.cond(
            a["paused_reason"] != "",
            rx.callout(
                "Paused: " + a["paused_reason"], icon="pause", color_scheme="amber", width="100%"
            ),
        ),
        rx.cond(
            a["method"] != "",
            rx.text(
                "Saved method: ",
                rx.text.strong(a["method"], id="autopay-method"),
                rx.cond(a["method_expiry"] != "", " · expires " + a["method_expiry"], ""),
                " · ",
                a["method_mode"],
                " mode",
                size="2",
            ),
        ),
        rx.cond(
            a["next_charge"] != "",
            rx.text("Next charge: ", rx.text.strong(a["next_charge"]), size="2", id="next-charge"),
        ),
        rx.cond(
            S.attempts.length() > 0,
            rx.vstack(
                rx.text("Autopay attempts", weight="medium", size="2"),
                rx.foreach(
                    S.attempts,
                    lambda t: rx.hstack(
                        rx.text(t["at"], size="1", color="var(--gray-10)", min_width="9rem"),
                        rx.text(t["number"], size="2"),
                        rx.text(t["amount"], size="2"),
                        rx.badge(
                            t["status"],
                            color_scheme=t["color"],
                            variant="soft",
                            class_name="attempt-status",
                        ),
                        rx.text(t["reason"], size="1", color="var(--gray-11)"),
                        flex_wrap="wrap",
                    ),
                ),
                width="100%",
                class_name="autopay-attempts",
            ),
        ),
    )


def _retainer_line(line: dict, index: rx.Var) -> rx.Component:
    n = (index + 1).to_string()
    return rx.grid(
        rx.input(
            value=line["description"],
            on_change=lambda v: S.set_r_line(index, "description", v),
            placeholder="Description",
            aria_label="Retainer line " + n + " description",
        ),
        rx.input(
            value=line["quantity"],
            on_change=lambda v: S.set_r_line(index, "quantity", v),
            aria_label="Retainer line " + n + " quantity",
        ),
        rx.input(
            value=line["unit_price"],
            on_change=lambda v: S.set_r_line(index, "unit_price", v),
            placeholder="Unit price",
            aria_label="Retainer line " + n + " unit price",
        ),
        columns="3fr 1fr 1.5fr",
        spacing="2",
        width="100%",
    )


def _retainer_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("repeat", size=14), "New retainer", variant="soft")),
        rx.dialog.content(
            rx.dialog.title("New retainer"),
            rx.vstack(
                rx.foreach(S.r_lines, _retainer_line),
                rx.button("Add line", size="1", variant="ghost", on_click=S.add_r_line),
                rx.grid(
                    labelled(
                        "Interval",
                        rx.el.select(
                            rx.el.option("Monthly", value="monthly"),
                            rx.el.option("Quarterly", value="quarterly"),
                            id="r_interval",
                            value=S.r_interval,
                            on_change=lambda v: S.set_r_field("interval", v),
                            style=SELECT_STYLE,
                        ),
                        for_id="r_interval",
                    ),
                    labelled(
                        "Day of month",
                        rx.input(
                            id="r_day",
                            value=S.r_day,
                            on_change=lambda v: S.set_r_field("day", v),
                            type="number",
                        ),
                        for_id="r_day",
                    ),
                    labelled(
                        "Start date",
                        rx.input(
                            id="r_start",
                            type="date",
                            value=S.r_start,
                            on_change=lambda v: S.set_r_field("start", v),
                        ),
                        for_id="r_start",
                    ),
                    labelled(
                        "End date (optional)",
                        rx.input(
                            id="r_end",
                            type="date",
                            value=S.r_end,
                            on_change=lambda v: S.set_r_field("end", v),
                        ),
                        for_id="r_end",
                    ),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                labelled(
                    "Billing",
                    rx.el.select(
                        rx.el.option("Invoiced by Nextoria Hub (charged by Autopay)", value="hub"),
                        rx.el.option("Billed through a Stripe subscription", value="stripe"),
                        id="r_billing",
                        value=S.r_billing,
                        on_change=lambda v: S.set_r_field("billing", v),
                        style=SELECT_STYLE,
                    ),
                    for_id="r_billing",
                ),
                rx.cond(
                    S.r_error != "",
                    rx.callout(
                        S.r_error,
                        icon="triangle_alert",
                        color_scheme="red",
                        role="alert",
                        width="100%",
                    ),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Create retainer", on_click=S.create_retainer),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
            ),
        ),
        open=S.retainer_open,
        on_open_change=S.set_retainer_open,
    )


def _retainers_card() -> rx.Component:
    return _card(
        "Retainers",
        rx.text(
            "Recurring invoices: each period's invoice is issued once, sent, and charged by Autopay when it is on.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.foreach(
            S.retainers,
            lambda r: rx.hstack(
                rx.vstack(
                    rx.text(r["summary"], size="2", weight="medium"),
                    rx.text(r["billing"], size="1", color="var(--gray-11)"),
                    spacing="0",
                ),
                rx.spacer(),
                rx.badge(r["status"], variant="soft"),
                rx.cond(
                    r["status"] == "active",
                    rx.button(
                        "End",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.end_retainer(r["id"]),
                    ),
                ),
                width="100%",
                align="center",
            ),
        ),
        _retainer_dialog(),
    )


def client_detail_page() -> rx.Component:
    body = rx.vstack(
        page_header(
            S.client["name"],
            S.client["email"],
            rx.link(
                rx.button(rx.icon("plus", size=14), "New invoice"),
                href="/invoices/new?client=" + S.client["id"],
            ),
        ),
        rx.segmented_control.root(
            rx.segmented_control.item("Overview", value="overview"),
            rx.segmented_control.item("Billing", value="billing"),
            value=S.tab,
            on_change=S.set_tab,
        ),
        rx.cond(
            S.tab == "billing",
            rx.vstack(
                _autopay_card(),
                _retainers_card(),
                client_reminders_card(),
                spacing="4",
                width="100%",
            ),
            _overview(),
        ),
        spacing="4",
        width="100%",
    )
    return guarded(
        rx.cond(
            S.found,
            body,
            empty_state("user-x", "Client not found", "It may belong to another workspace."),
        )
    )
