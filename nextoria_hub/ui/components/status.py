"""Small display pieces shared by the agency pages and the Client Portal."""

from __future__ import annotations

import reflex as rx


def status_badge(label: rx.Var, color: rx.Var) -> rx.Component:
    return rx.badge(
        # High contrast: the soft badge's default text fails WCAG AA on its own tint (axe).
        label,
        color_scheme=color,
        variant="soft",
        size="2",
        high_contrast=True,
        class_name="invoice-status",
    )
