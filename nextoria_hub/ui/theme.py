"""One theme for every page."""

import reflex as rx

THEME = rx.theme(
    appearance="light", accent_color="indigo", gray_color="slate", radius="large", scaling="100%"
)

PAGE_BG = "var(--gray-2)"
CARD_STYLE = {
    "background": "var(--color-panel-solid)",
    "border": "1px solid var(--gray-a5)",
    "border_radius": "var(--radius-4)",
    "padding": "1.5rem",
    "width": "100%",
}
STYLESHEETS: list[str] = []
