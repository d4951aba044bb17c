"""Invoices: list with filters, a new draft with line items, and the invoice page."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.billing_extras import export_button, late_fees_box, pdf_links
from nextoria_hub.ui.components.draft_editor import draft_editor, revise_actions, revision_links
from nextoria_hub.ui.components.ids import stripe_id
from nextoria_hub.ui.components.inputs import labelled
from nextoria_hub.ui.components.invoice_form import (
    form_error,
    invoice_fields,
    line_items,
    notes_field,
)
from nextoria_hub.ui.components.layout import empty_state, guarded, page_header
from nextoria_hub.ui.components.payment_terms import payment_terms_card
from nextoria_hub.ui.components.status import status_badge
from nextoria_hub.ui.components.timeline import timeline
from nextoria_hub.ui.states.invoices import InvoiceDetailState as D
from nextoria_hub.ui.states.invoices import InvoiceEditorState as E
from nextoria_hub.ui.states.invoices import InvoicesState as S
from nextoria_hub.ui.theme import CARD_STYLE

# Unit price and tax rate are left out on phones, so the amount stays inside the card.
_WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")


def _row(i: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(i["number"], href="/invoices/" + i["id"], weight="medium")),
        rx.table.cell(i["client"]),
        rx.table.cell(status_badge(i["status"], i["color"])),
        rx.table.cell(i["total"], text_align="right"),
        rx.table.cell(i["amount_due"], text_align="right"),
        rx.table.cell(i["due"], white_space="nowrap"),
    )


def invoices_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Invoices",
                "Drafts, sent, paid and overdue",
                rx.link(rx.button(rx.icon("plus", size=16), "New invoice"), href="/invoices/new"),
            ),
            rx.hstack(
                rx.segmented_control.root(
                    *[
                        rx.segmented_control.item(label, value=value)
                        for value, label in (
                            ("all", "All"),
                            ("draft", "Draft"),
                            ("open", "Open"),
                            ("overdue", "Overdue"),
                            ("paid", "Paid"),
                            ("void", "Void"),
                        )
                    ],
                    value=S.status_filter,
                    on_change=S.set_status_filter,
                ),
                rx.input(
                    placeholder="Search number or client",
                    value=S.search,
                    on_change=S.set_search.debounce(300),
                    aria_label="Search invoices",
                    max_width="18rem",
                ),
                export_button("invoices", status=S.status_filter, search=S.search),
                justify="between",
                width="100%",
                flex_wrap="wrap",
                gap="3",
            ),
            rx.cond(
                S.invoices.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in ("Number", "Client", "Status")
                                ],
                                rx.table.column_header_cell("Total", text_align="right"),
                                rx.table.column_header_cell("Due", text_align="right"),
                                rx.table.column_header_cell("Due date"),
                            )
                        ),
                        rx.table.body(rx.foreach(S.invoices, _row)),
                        width="100%",
                    ),
                    style=CARD_STYLE,
                    overflow_x="auto",
                ),
                empty_state(
                    "file-text",
                    "No invoices here",
                    "Create an invoice, then send it to your client.",
                ),
            ),
            spacing="4",
            width="100%",
        )
    )


def new_invoice_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("New invoice", "A draft: nothing is sent until you click Send"),
            rx.box(
                rx.vstack(
                    invoice_fields(E),
                    line_items(E),
                    form_error(E),
                    notes_field(E),
                    rx.hstack(
                        rx.link(
                            rx.button("Cancel", variant="soft", color_scheme="gray"),
                            href="/invoices",
                        ),
                        rx.button("Save draft", on_click=E.save),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                style=CARD_STYLE,
            ),
            width="100%",
        )
    )


def _amount_row(label: str, value: rx.Var, strong: bool = False) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color="var(--gray-11)"),
        rx.spacer(),
        rx.text(value, size="3" if strong else "2", weight="bold" if strong else "regular"),
        width="100%",
    )


def _actions() -> rx.Component:
    status = D.invoice["raw_status"]
    return rx.hstack(
        rx.cond(status == "draft", rx.button(rx.icon("send", size=14), "Send", on_click=D.send)),
        revise_actions(D.invoice["number"], status, D.invoice["processing"]),
        rx.cond(
            (status == "open") & (D.invoice["processing"] == "") & D.is_admin,
            rx.dialog.root(
                rx.dialog.trigger(rx.button("Mark paid manually", variant="soft")),
                rx.dialog.content(
                    rx.dialog.title("Mark " + D.invoice["number"] + " as paid"),
                    rx.dialog.description(
                        "For payments received outside Stripe (bank transfer, cash).", size="2"
                    ),
                    rx.form(
                        rx.vstack(
                            labelled(
                                "Note",
                                rx.input(
                                    id="note",
                                    name="note",
                                    placeholder="e.g. Bank transfer ref 1234",
                                ),
                                for_id="note",
                            ),
                            rx.hstack(
                                rx.dialog.close(
                                    rx.button(
                                        "Cancel", variant="soft", color_scheme="gray", type="button"
                                    )
                                ),
                                rx.button("Mark paid", type="submit"),
                                justify="end",
                                width="100%",
                            ),
                            spacing="3",
                        ),
                        on_submit=D.mark_paid,
                    ),
                ),
                open=D.manual_open,
                on_open_change=D.set_manual_open,
            ),
        ),
        rx.cond(
            (status == "draft") | ((status == "open") & (D.invoice["processing"] == "")),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(rx.button("Void", variant="soft", color_scheme="red")),
                rx.alert_dialog.content(
                    rx.alert_dialog.title("Void " + D.invoice["number"] + "?"),
                    rx.alert_dialog.description(
                        "The client can no longer pay it. The number is not reused."
                    ),
                    rx.hstack(
                        rx.alert_dialog.cancel(
                            rx.button("Keep it", variant="soft", color_scheme="gray")
                        ),
                        rx.alert_dialog.action(
                            rx.button("Void invoice", color_scheme="red", on_click=D.void)
                        ),
                        justify="end",
                        spacing="3",
                        margin_top="1rem",
                    ),
                ),
            ),
        ),
        spacing="2",
        flex_wrap="wrap",
    )


def _payments_table() -> rx.Component:
    return rx.cond(
        D.payments.length() > 0,
        rx.box(
            rx.heading("Payments and attempts", size="3", margin_bottom="0.5rem"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("When", "Status", "Amount", "Method", "Mode", "Reference")
                        ]
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        D.payments,
                        lambda p: rx.table.row(
                            rx.table.cell(p["at"], white_space="nowrap"),
                            rx.table.cell(
                                rx.vstack(
                                    rx.text(p["status"], text_transform="capitalize"),
                                    rx.cond(
                                        p["failure"] != "",
                                        rx.text(p["failure"], size="1", color="var(--red-11)"),
                                    ),
                                    spacing="0",
                                )
                            ),
                            rx.table.cell(p["amount"]),
                            rx.table.cell(p["method"]),
                            rx.table.cell(p["mode"]),
                            rx.table.cell(stripe_id(p["reference"])),
                        ),
                    )
                ),
                width="100%",
            ),
            style=CARD_STYLE,
            overflow_x="auto",
        ),
    )


def _notices() -> rx.Component:
    """Money in flight or coming back: a bank debit processing, the last failure's reason,
    a dispute, a failed refund."""
    inv = D.invoice
    return rx.vstack(
        rx.cond(
            inv["processing"] != "",
            rx.callout(
                inv["processing"],
                icon="landmark",
                color_scheme="amber",
                width="100%",
                id="bank-processing",
            ),
        ),
        rx.cond(
            inv["last_failure"] != "",
            rx.callout(
                "The last payment failed: " + inv["last_failure"],
                icon="circle-x",
                color_scheme="red",
                width="100%",
                id="payment-failure",
            ),
        ),
        rx.cond(
            inv["disputed"] != "",
            rx.callout(
                "Disputed: " + inv["disputed"] + " is at risk until the bank decides. "
                "Answer it with your evidence in the Stripe Dashboard → Disputes.",
                icon="shield-alert",
                color_scheme="red",
                width="100%",
                id="dispute-notice",
            ),
        ),
        rx.foreach(
            D.notes_failed_refunds,
            lambda note: rx.callout(
                note, icon="undo-2", color_scheme="orange", width="100%", class_name="refund-failed"
            ),
        ),
        spacing="2",
        width="100%",
    )


def _overpayment_row(o: dict) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(o["amount"], " (", o["mode"], " mode) · ", o["status"], weight="bold"),
            rx.text(o["reason"], size="2", color="var(--gray-11)"),
            rx.cond(o["error"] != "", rx.text(o["error"], size="1", color="var(--red-11)")),
            spacing="0",
        ),
        rx.spacer(),
        rx.cond(
            (o["status"] == "open") & D.is_admin,
            rx.button(
                "Refund",
                color_scheme="red",
                variant="soft",
                on_click=D.refund_overpayment(o["id"]),
                class_name="refund-overpayment",
            ),
        ),
        width="100%",
        align="center",
    )


def _overpayments() -> rx.Component:
    """Money kept off this invoice (paid twice, after voiding, test money on live…)."""
    return rx.cond(
        D.overpayments.length() > 0,
        rx.box(
            rx.heading("Overpayments", size="3", margin_bottom="0.5rem"),
            rx.vstack(rx.foreach(D.overpayments, _overpayment_row), spacing="3", width="100%"),
            style=CARD_STYLE,
            border="1px solid var(--red-6)",
        ),
    )


def invoice_detail_page() -> rx.Component:
    inv = D.invoice
    body = rx.vstack(
        page_header(
            "Invoice " + inv["number"], inv["client"] + " · " + inv["client_email"], _actions()
        ),
        _notices(),
        revision_links(),
        draft_editor(),
        pdf_links(inv["id"], inv["status"]),
        late_fees_box(),
        rx.grid(
            rx.box(
                rx.vstack(
                    rx.hstack(
                        status_badge(inv["status"], inv["color"]),
                        rx.spacer(),
                        rx.text("Due ", inv["due"], size="2"),
                    ),
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Description"),
                                rx.table.column_header_cell("Qty"),
                                rx.table.column_header_cell("Unit", display=_WIDE_ONLY),
                                rx.table.column_header_cell("Tax", display=_WIDE_ONLY),
                                rx.table.column_header_cell("Amount"),
                            )
                        ),
                        rx.table.body(
                            rx.foreach(
                                D.lines,
                                lambda ln: rx.table.row(
                                    # Long words and URLs wrap anywhere; the figures never do.
                                    rx.table.cell(
                                        ln["description"],
                                        min_width="9rem",
                                        style={"overflow_wrap": "anywhere"},
                                    ),
                                    rx.table.cell(ln["quantity"], white_space="nowrap"),
                                    rx.table.cell(
                                        ln["unit"], white_space="nowrap", display=_WIDE_ONLY
                                    ),
                                    rx.table.cell(
                                        ln["tax"], white_space="nowrap", display=_WIDE_ONLY
                                    ),
                                    rx.table.cell(ln["amount"], white_space="nowrap"),
                                ),
                            )
                        ),
                        width="100%",
                    ),
                    _amount_row("Subtotal", inv["subtotal"]),
                    _amount_row("Tax", inv["tax_total"]),
                    _amount_row("Total", inv["total"], strong=True),
                    _amount_row("Paid", inv["amount_paid"]),
                    rx.cond(
                        inv["amount_refunded"] != "",
                        _amount_row("Refunded", inv["amount_refunded"]),
                    ),
                    rx.cond(
                        inv["charged_back"] != "",
                        _amount_row("Returned (dispute lost)", inv["charged_back"]),
                    ),
                    _amount_row("Amount due", inv["amount_due"], strong=True),
                    rx.cond(
                        inv["notes"] != "",
                        rx.text(
                            inv["notes"], size="2", color="var(--gray-11)", white_space="pre-wrap"
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                style=CARD_STYLE,
                overflow_x="auto",
            ),
            rx.box(
                rx.vstack(rx.heading("Timeline", size="3"), timeline(D.activity), spacing="3"),
                style=CARD_STYLE,
            ),
            columns=rx.breakpoints(initial="1", md="minmax(0, 2fr) minmax(0, 1fr)"),
            spacing="4",
            width="100%",
        ),
        payment_terms_card(),
        _overpayments(),
        _payments_table(),
        spacing="4",
        width="100%",
    )
    return guarded(
        rx.cond(
            D.found,
            body,
            empty_state(
                "file-x",
                "Invoice not found",
                "It may have been removed, or it belongs to another workspace.",
            ),
        )
    )
