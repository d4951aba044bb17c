"""Stripe ids shown short, with the whole id on hover and a copy button."""

from __future__ import annotations

import reflex as rx


def stripe_id(value: rx.Var) -> rx.Component:
    """``pi_3Nmie…BXH41``: the prefix and both ends (enough to recognise), full on copy."""
    short = rx.cond(
        value.length() > 18,
        value[:10] + "…" + value[-5:],
        value,
    )
    return rx.cond(
        value != "",
        rx.hstack(
            rx.code(short, size="1", title=value, white_space="nowrap"),
            rx.icon_button(
                rx.icon("copy", size=12),
                size="1",
                variant="ghost",
                aria_label="Copy " + value,
                on_click=[rx.set_clipboard(value), rx.toast.info("Copied " + value)],
            ),
            spacing="1",
            align="center",
        ),
    )
