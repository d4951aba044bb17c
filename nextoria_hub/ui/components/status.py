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


def timeline(items: rx.Var) -> rx.Component:
    """Oldest first: each item has ``at``, ``kind`` and ``detail``."""
    return rx.vstack(
        rx.foreach(
            items,
            lambda a: rx.hstack(
                rx.box(
                    width="8px",
                    height="8px",
                    border_radius="50%",
                    background="var(--accent-9)",
                    margin_top="7px",
                    flex_shrink="0",
                ),
                rx.vstack(
                    rx.hstack(
                        rx.text(a["kind"], weight="medium", size="2", text_transform="capitalize"),
                        rx.text(a["at"], size="1", color="var(--gray-10)"),
                        spacing="2",
                        align="baseline",
                    ),
                    rx.cond(
                        a["detail"] != "",
                        # Stripe ids are long words: break them rather than widen the page.
                        rx.text(
                            a["detail"], size="2", color="var(--gray-11)", overflow_wrap="anywhere"
                        ),
                    ),
                    spacing="0",
                ),
                align="start",
                spacing="3",
            ),
        ),
        spacing="3",
        class_name="timeline",
    )
