"""The invoice form's parts (client, currency, dates, line items, notes, error), shared by the
New invoice page and the draft editor; ``state`` is the State class the inputs are bound to."""

from __future__ import annotations

from typing import Any

import reflex as rx

from nextoria_hub.ui.components.inputs import SELECT_STYLE, labelled


def _field_error(state: Any, field: str) -> rx.Var:
    return rx.cond(state.error_field == field, state.error, "")


def invoice_fields(state: Any) -> rx.Component:
    return rx.grid(
        labelled(
            "Client",
            rx.el.select(
                rx.foreach(state.client_options, lambda c: rx.el.option(c["label"], value=c["id"])),
                id="client_id",
                value=state.client_id,
                on_change=state.set_client,
                style=SELECT_STYLE,
            ),
            for_id="client_id",
            error=_field_error(state, "client_id"),
        ),
        labelled(
            "Currency",
            rx.el.select(
                rx.foreach(state.currencies, lambda c: rx.el.option(c["label"], value=c["code"])),
                id="currency",
                value=state.currency,
                on_change=state.set_currency,
                style=SELECT_STYLE,
            ),
            for_id="currency",
            error=_field_error(state, "currency"),
        ),
        labelled(
            "Issue date",
            rx.input(
                id="issue_date",
                type="date",
                value=state.issue_date,
                on_change=state.set_issue_date,
            ),
            for_id="issue_date",
            error=_field_error(state, "issue_date"),
        ),
        labelled(
            "Due date",
            rx.input(
                id="due_date", type="date", value=state.due_date, on_change=state.set_due_date
            ),
            for_id="due_date",
            error=_field_error(state, "due_date"),
        ),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="4",
        width="100%",
    )


def _line_editor(state: Any, line: dict, index: rx.Var) -> rx.Component:
    n = (index + 1).to_string()
    return rx.grid(
        rx.input(
            value=line["description"],
            on_change=lambda v: state.set_line(index, "description", v),
            placeholder="Description",
            aria_label="Line " + n + " description",
            grid_column=rx.breakpoints(initial="1 / -1", sm="auto"),
        ),
        rx.input(
            value=line["quantity"],
            on_change=lambda v: state.set_line(index, "quantity", v),
            aria_label="Line " + n + " quantity",
            placeholder="Qty",
        ),
        rx.input(
            value=line["unit_price"],
            on_change=lambda v: state.set_line(index, "unit_price", v),
            aria_label="Line " + n + " unit price",
            placeholder="Unit price",
        ),
        rx.input(
            value=line["tax_rate"],
            on_change=lambda v: state.set_line(index, "tax_rate", v),
            aria_label="Line " + n + " tax rate",
            placeholder="Tax %",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            color_scheme="gray",
            on_click=state.remove_line(index),
            aria_label="Remove line " + n,
        ),
        # On a phone the description takes its own row, the figures the next one.
        columns=rx.breakpoints(
            initial="minmax(3rem, 1fr) minmax(5rem, 1.4fr) minmax(3rem, 1fr) auto",
            sm="minmax(10rem, 3fr) minmax(4rem, 1fr) minmax(6rem, 1.4fr) minmax(4rem, 1fr) auto",
        ),
        spacing="2",
        width="100%",
        align="center",
    )


def line_items(state: Any) -> rx.Component:
    """The lines, each editable, with Add line."""
    return rx.vstack(
        rx.heading("Line items", size="3", margin_top="0.5rem"),
        rx.vstack(
            rx.foreach(state.lines, lambda line, i: _line_editor(state, line, i)),
            spacing=rx.breakpoints(initial="4", sm="2"),
            width="100%",
        ),
        rx.button(
            rx.icon("plus", size=14), "Add line", variant="soft", size="1", on_click=state.add_line
        ),
        spacing="2",
        width="100%",
    )


def form_error(state: Any) -> rx.Component:
    """An error that is not next to a field (the lines, the whole form)."""
    return rx.cond(
        (state.error != "")
        & ~state.error_field.contains("date")
        & (state.error_field != "client_id")
        & (state.error_field != "currency"),
        rx.callout(
            state.error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"
        ),
    )


def notes_field(state: Any) -> rx.Component:
    return labelled(
        "Notes (shown on the invoice)",
        rx.text_area(id="notes", value=state.notes, on_change=state.set_notes),
        for_id="notes",
    )
