"""On the invoice page: Edit (a draft), "Void and duplicate as draft" (a sent, unpaid
invoice), and the links between an invoice and its revision."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.invoice_form import (
    form_error,
    invoice_fields,
    line_items,
    notes_field,
)
from nextoria_hub.ui.states.drafts import DraftEditState as R
from nextoria_hub.ui.theme import CARD_STYLE


def revise_actions(number: rx.Var, status: rx.Var, processing: rx.Var) -> rx.Component:
    """The page header's revision buttons; the void rules themselves are the service's."""
    return rx.fragment(
        rx.cond(
            (status == "draft") & ~R.editing,
            rx.button(
                rx.icon("pencil", size=14),
                "Edit",
                variant="soft",
                on_click=R.start_edit,
                id="edit-draft",
            ),
        ),
        rx.cond(
            (status == "open") & (processing == ""),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(
                    rx.button(
                        rx.icon("copy", size=14),
                        "Void and duplicate as draft",
                        variant="soft",
                        id="void-and-duplicate",
                    )
                ),
                rx.alert_dialog.content(
                    rx.alert_dialog.title("Revise " + number + "?"),
                    rx.alert_dialog.description(
                        number + " is voided (the client can no longer pay it, and any "
                        "payment page open on it is closed) and copied into a new draft "
                        "for you to edit and send."
                    ),
                    rx.hstack(
                        rx.alert_dialog.cancel(
                            rx.button("Keep it", variant="soft", color_scheme="gray")
                        ),
                        rx.alert_dialog.action(
                            rx.button(
                                "Void and duplicate",
                                on_click=R.void_and_duplicate,
                                id="confirm-void-and-duplicate",
                            )
                        ),
                        justify="end",
                        spacing="3",
                        margin_top="1rem",
                    ),
                ),
            ),
        ),
    )


def revision_links() -> rx.Component:
    """ "Duplicated from INV-0003" / "Replaced by INV-0007", each a link."""
    return rx.fragment(
        rx.cond(
            R.duplicated_from.contains("id"),
            rx.callout(
                rx.text(
                    "Duplicated from ",
                    rx.link(
                        R.duplicated_from["number"], href="/invoices/" + R.duplicated_from["id"]
                    ),
                    " (voided).",
                ),
                icon="copy",
                color_scheme="gray",
                width="100%",
                id="duplicated-from",
            ),
        ),
        rx.foreach(
            R.replaced_by,
            lambda r: rx.callout(
                rx.text(
                    "Replaced by ",
                    rx.link(r["number"], href="/invoices/" + r["id"]),
                    ": this invoice was voided and copied into a new draft.",
                ),
                icon="file-symlink",
                color_scheme="gray",
                width="100%",
                class_name="replaced-by",
            ),
        ),
    )


def draft_editor() -> rx.Component:
    """The draft's form, shown while editing; the saved draft stays visible below it."""
    return rx.cond(
        R.editing,
        rx.box(
            rx.vstack(
                rx.heading("Edit draft", size="4"),
                invoice_fields(R),
                line_items(R),
                form_error(R),
                notes_field(R),
                rx.hstack(
                    rx.button(
                        "Cancel",
                        variant="soft",
                        color_scheme="gray",
                        on_click=R.cancel_edit,
                        id="cancel-edit",
                    ),
                    rx.button("Save draft", on_click=R.save_edit, id="save-draft"),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            style=CARD_STYLE,
            border="1px solid var(--accent-7)",
            width="100%",
            id="draft-editor",
        ),
    )
