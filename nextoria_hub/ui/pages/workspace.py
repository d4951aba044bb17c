"""Settings → Workspace: the address, and Change address."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import form_error
from nextoria_hub.ui.components.inputs import SELECT_STYLE, labelled
from nextoria_hub.ui.components.layout import guarded, page_header
from nextoria_hub.ui.states.locale import LocaleState as L
from nextoria_hub.ui.states.workspace import WorkspaceState as W
from nextoria_hub.ui.theme import CARD_STYLE


def locale_card() -> rx.Component:
    """The workspace's locale: money and dates on its pages, emails and PDFs."""
    return rx.box(
        rx.vstack(
            rx.heading("Locale", size="4"),
            rx.text(
                "How amounts and dates are written for your team and your clients: on the "
                "pages, in emails and on PDF invoices and receipts.",
                size="2",
                color="var(--gray-11)",
            ),
            labelled(
                "Locale",
                rx.el.select(
                    rx.foreach(L.options, lambda o: rx.el.option(o["label"], value=o["code"])),
                    id="locale",
                    value=L.locale,
                    on_change=L.choose_locale,
                    style=SELECT_STYLE,
                ),
                for_id="locale",
            ),
            rx.text(
                "Example: ",
                rx.text.span(L.example, id="locale-example", weight="medium"),
                size="2",
            ),
            spacing="3",
            width="100%",
        ),
        style=CARD_STYLE,
        width="100%",
        id="locale-card",
        on_mount=L.load,
    )


def workspace_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Workspace", "Settings → Workspace: your workspace's address and locale"),
            rx.box(
                rx.vstack(
                    rx.heading("Address", size="4"),
                    rx.text(
                        "Your team and your clients reach the workspace at ",
                        rx.code(
                            W.address, id="workspace-address", style={"word_break": "break-all"}
                        ),
                        size="2",
                    ),
                    rx.el.label(
                        "New address",
                        html_for="new_slug",
                        style={"font_weight": "500", "font_size": "14px"},
                    ),
                    rx.input(
                        id="new_slug",
                        value=W.new_slug,
                        on_change=W.set_new_slug,
                        placeholder="acme-studio",
                        width="100%",
                    ),
                    rx.cond(
                        W.new_address != "",
                        rx.text(
                            "Your workspace will live at ",
                            rx.code(W.new_address, id="new-address-preview"),
                            size="1",
                            color="var(--gray-11)",
                        ),
                    ),
                    rx.text(
                        "The change takes effect at once. The old address sends people (and their "
                        "bookmarks) to the new one for ",
                        W.alias_days.to_string(),
                        " days, and Stripe's webhook is moved to the new address.",
                        size="1",
                        color="var(--gray-11)",
                    ),
                    form_error(W.error),
                    rx.button(
                        "Change address", on_click=W.change, disabled=W.new_slug.strip() == ""
                    ),
                    spacing="3",
                    width="100%",
                ),
                style=CARD_STYLE,
                width="100%",
            ),
            locale_card(),
            spacing="4",
            width="100%",
        )
    )
