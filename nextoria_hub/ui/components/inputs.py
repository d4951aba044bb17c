"""Controlled inputs bound to a dict of form values, each with a label and its error."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

LABEL_STYLE = {"font_weight": "500", "font_size": "14px"}
SELECT_STYLE = {
    "padding": "8px",
    "border_radius": "8px",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "width": "100%",
}


def labelled(
    label: str, control: rx.Component, *, for_id: str, error: rx.Var | str = ""
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=for_id, style=LABEL_STYLE),
        control,
        rx.cond(
            error != "",
            rx.text(error, color="var(--red-11)", size="2", role="alert", id=f"{for_id}-error"),
        ),
        spacing="1",
        width="100%",
        align="stretch",
    )


def bound_input(
    label: str,
    key: str,
    values: rx.Var,
    on_change: Callable,
    errors: rx.Var,
    *,
    type_: str = "text",
    placeholder: str = "",
) -> rx.Component:
    """An input showing ``values[key]``; typing calls ``on_change(key, value)``."""
    return labelled(
        label,
        rx.input(
            id=key,
            value=values.get(key, ""),
            on_change=lambda v: on_change(key, v),
            type=type_,
            placeholder=placeholder,
            width="100%",
        ),
        for_id=key,
        error=errors.get(key, ""),
    )


def currency_select(
    label: str, key: str, value: rx.Var, options: rx.Var, on_change
) -> rx.Component:
    return labelled(
        label,
        rx.el.select(
            rx.foreach(options, lambda c: rx.el.option(c["label"], value=c["code"])),
            id=key,
            value=value,
            on_change=on_change,
            style=SELECT_STYLE,
        ),
        for_id=key,
    )
