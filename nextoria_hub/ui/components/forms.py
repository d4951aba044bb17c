"""Form pieces: every input has a visible label and its error right below it."""

from __future__ import annotations

import reflex as rx


def field(
    label: str,
    name: str,
    *,
    error: rx.Var | str = "",
    type_: str = "text",
    placeholder: str = "",
    hint: rx.Component | str | None = None,
    **input_props,
) -> rx.Component:
    """A labelled input; ``name`` is both the form key and the input's id."""
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"font_weight": "500", "font_size": "14px"}),
        rx.input(
            id=name,
            name=name,
            type=type_,
            placeholder=placeholder,
            size="3",
            width="100%",
            color_scheme=rx.cond(error != "", "red", "gray") if isinstance(error, rx.Var) else None,
            **input_props,
        ),
        rx.cond(
            error != "",
            rx.text(error, color="var(--red-11)", size="2", role="alert", id=f"{name}-error"),
        )
        if isinstance(error, rx.Var)
        else rx.fragment(),
        rx.cond(hint is not None, rx.text(hint, size="1", color="var(--gray-11)"))
        if hint is not None
        else rx.fragment(),
        spacing="1",
        width="100%",
        align="stretch",
    )


def submit_button(label: str, *, loading: rx.Var | bool = False, **props) -> rx.Component:
    return rx.button(label, type="submit", size="3", width="100%", loading=loading, **props)


def form_error(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
    )
