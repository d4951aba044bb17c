"""The Client Portal: what a client of the agency sees."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import profile as profile_svc
from nextoria_hub.ui.components.billing_extras import LABEL, pdf_links
from nextoria_hub.ui.components.forms import field, form_error, submit_button
from nextoria_hub.ui.components.layout import brand_accent, empty_state, guarded, page_header
from nextoria_hub.ui.components.pay_parts import amount_picker, deposit_note, paid_so_far
from nextoria_hub.ui.components.status import status_badge
from nextoria_hub.ui.states.client_detail import PaymentMethodsState as P
from nextoria_hub.ui.states.portal import PortalInvoiceState as I
from nextoria_hub.ui.states.portal import PortalProfileState as Pr
from nextoria_hub.ui.states.portal import PortalState as S
from nextoria_hub.ui.theme import CARD_STYLE

# The portal home's cards (10 open + 25 history on the first screen) are plain elements
# styled by classes of assets/portal.css: no per-element Emotion style to serialise and
# hash on every render, so the list renders in a fraction of the stacks' time.


def _number_and_due(i: dict) -> list[rx.Component]:
    return [
        rx.text(i["number"], weight="bold", as_="div"),
        rx.text("Due ", i["due"], size="1", as_="div", class_name="nx-muted"),
    ]


def _amount_and_status(i: dict) -> rx.Component:
    return rx.el.div(
        rx.text(i["amount"], weight="medium", as_="div"),
        status_badge(i["status"], i["color"]),
        class_name="nx-end",
    )


def _invoice_card(i: dict) -> rx.Component:
    return rx.link(
        rx.el.div(rx.el.div(*_number_and_due(i)), _amount_and_status(i), class_name="nx-row"),
        href="/portal/invoices/" + i["id"],
        underline="none",
        class_name="portal-invoice nx-card nx-plain",
    )


def _open_card(i: dict) -> rx.Component:
    """An invoice the client must act on, with its own Pay Now (none while a debit is processing)."""
    return rx.el.div(
        rx.link(
            *_number_and_due(i),
            href="/portal/invoices/" + i["id"],
            underline="none",
            class_name="portal-invoice nx-plain",
        ),
        _amount_and_status(i),
        rx.cond(
            i["pay"] != "",
            rx.button(
                rx.icon("lock", size=14),
                "Pay Now",
                # The agency's accent when it set one (checked for white text on it).
                background=brand_accent(),
                loading=S.paying_id == i["id"],
                on_click=S.pay(i["id"]),
                aria_label="Pay Now " + i["number"],
                class_name="pay-now",
            ),
        ),
        class_name="portal-open nx-card nx-open",
    )


def _skeleton() -> rx.Component:
    """Until the first event after hydrate lands: the shape of the page, not an empty list."""
    return rx.vstack(
        *[rx.skeleton(rx.box(height="4.5rem", width="100%"), loading=True) for _ in range(3)],
        spacing="3",
        width="100%",
        id="portal-skeleton",
        aria_busy="true",
    )


def _open_section() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("To pay", size="4", as_="h2"),
            rx.spacer(),
            rx.foreach(S.open_totals, lambda t: rx.text(t, weight="bold", class_name="open-total")),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            S.open_rows.length() > 0,
            rx.vstack(rx.foreach(S.open_rows, _open_card), spacing="3", width="100%"),
            rx.text("Nothing to pay right now.", color="var(--gray-11)", size="2"),
        ),
        rx.cond(
            S.pay_error != "",
            rx.callout(
                S.pay_error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"
            ),
        ),
        width="100%",
        spacing="3",
        id="portal-open",
    )


def _history_filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                name="search",
                placeholder="Invoice number",
                aria_label="Search by invoice number",
                default_value=S.search,
                max_length=64,
                flex="1",
                min_width="8rem",
            ),
            rx.el.select(
                rx.el.option("All statuses", value=""),
                rx.el.option("Open", value="open"),
                rx.el.option("Overdue", value="overdue"),
                rx.el.option("Paid", value="paid"),
                rx.el.option("Void", value="void"),
                name="status",
                aria_label="Status",
                class_name="portal-select",
            ),
            rx.el.select(
                rx.el.option("All years", value=""),
                rx.foreach(S.years, lambda y: rx.el.option(y, value=y)),
                name="year",
                aria_label="Year",
                class_name="portal-select",
            ),
            rx.button("Search", type="submit", variant="soft"),
            width="100%",
            wrap="wrap",
            spacing="2",
        ),
        on_submit=S.filter_history,
        width="100%",
    )


def _pager(page: rx.Var, pages: rx.Var, go, label: str) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.cond(
        pages > 1,
        rx.hstack(
            rx.button(
                "Previous",
                variant="soft",
                disabled=page <= 1,
                on_click=go(page - 1),
                aria_label=f"Previous page of {label}",
            ),
            rx.text("Page ", page, " of ", pages, size="2", color="var(--gray-11)"),
            rx.button(
                "Next",
                variant="soft",
                disabled=page >= pages,
                on_click=go(page + 1),
                aria_label=f"Next page of {label}",
            ),
            align="center",
            spacing="3",
        ),
    )


def _history_section() -> rx.Component:
    return rx.vstack(
        rx.heading("All invoices", size="4", as_="h2"),
        _history_filters(),
        rx.cond(
            S.history.length() > 0,
            rx.vstack(rx.foreach(S.history, _invoice_card), spacing="2", width="100%"),
            rx.text("No invoices match.", color="var(--gray-11)", size="2"),
        ),
        _pager(S.page, S.pages, S.to_page, "invoices"),
        width="100%",
        spacing="3",
        id="portal-history",
    )


def _payment_row(p: dict) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(p["amount"], weight="medium"),
            rx.text(
                p["paid_on"],
                " · ",
                p["number"],
                " · ",
                p["method"],
                size="1",
                color="var(--gray-11)",
            ),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        rx.el.a(
            rx.icon("receipt", size=14),
            "Receipt",
            # this payment's own receipt (an invoice paid in parts has one per part)
            href="/api/invoices/" + p["invoice_id"] + "/receipt.pdf?payment=" + p["id"],
            download=True,
            reload_document=True,  # a plain request, not the app's client-side routing
            aria_label="Receipt for " + p["number"],
            class_name="portal-receipt",
            style={"display": "inline-flex", "gap": "0.35rem", "align_items": "center"},
        ),
        width="100%",
        align="center",
        style={**CARD_STYLE, "padding": "0.75rem 1rem"},
    )


def _payments_section() -> rx.Component:
    return rx.vstack(
        rx.heading("Payments", size="4", as_="h2"),
        rx.cond(
            S.payments.length() > 0,
            rx.vstack(rx.foreach(S.payments, _payment_row), spacing="2", width="100%"),
            rx.text("No payments yet.", color="var(--gray-11)", size="2"),
        ),
        _pager(S.payments_page, S.payments_pages, S.to_payments_page, "payments"),
        width="100%",
        spacing="3",
        id="portal-payments",
    )


def portal_invoices() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Invoices", "Your invoices from this agency"),
            # The first delta brings what to pay; once it is on screen, the page asks for
            # the history and payments (an empty element whose mount sends the event).
            rx.cond(
                S.loaded & ~S.history_loaded,
                rx.el.span(on_mount=S.show_history, hidden=True, id="portal-history-trigger"),
            ),
            rx.cond(
                S.loaded & (S.history_loaded | (S.open_rows.length() > 0)),
                rx.cond(
                    (S.open_rows.length() > 0)
                    | (S.history.length() > 0)
                    | (S.status != "")
                    | (S.search != "")
                    | (S.year != ""),
                    rx.vstack(
                        _open_section(),
                        rx.cond(
                            S.history_loaded,
                            rx.fragment(_history_section(), _payments_section()),
                            _skeleton(),
                        ),
                        spacing="6",
                        width="100%",
                    ),
                    empty_state(
                        "file-text",
                        "No invoices yet",
                        "Invoices sent to you will show here, ready to pay.",
                    ),
                ),
                _skeleton(),
            ),
            width="100%",
        ),
        portal=True,
    )


def _invoice_body() -> rx.Component:
    inv = I.invoice
    return rx.vstack(
        page_header(
            "Invoice " + inv["number"],
            "Due " + inv["due"],
            status_badge(inv["status"], inv["color"]),
        ),
        pdf_links(inv["id"], inv["status"]),
        rx.box(
            rx.vstack(
                rx.foreach(
                    I.lines,
                    lambda ln: rx.hstack(
                        # The description takes what is left and wraps (URLs too); the
                        # quantity and amount keep their width, so they stay in the card.
                        rx.text(
                            ln["description"],
                            flex="1",
                            min_width="0",
                            style={"overflow_wrap": "anywhere"},
                        ),
                        rx.text(
                            "× ",
                            ln["quantity"],
                            color="var(--gray-11)",
                            size="2",
                            white_space="nowrap",
                        ),
                        rx.text(ln["amount"], white_space="nowrap", flex_shrink="0"),
                        width="100%",
                        align="start",
                    ),
                ),
                rx.divider(),
                rx.hstack(
                    rx.text("Tax", color="var(--gray-11)"),
                    rx.spacer(),
                    rx.text(inv["tax_total"]),
                    width="100%",
                ),
                rx.hstack(
                    rx.text("Total", weight="bold"),
                    rx.spacer(),
                    rx.text(inv["total"], weight="bold"),
                    width="100%",
                ),
                paid_so_far(),
                rx.hstack(
                    rx.text("Amount due", weight="bold"),
                    rx.spacer(),
                    rx.text(inv["amount_due"], weight="bold", id="amount-due"),
                    width="100%",
                ),
                rx.cond(inv["payable"] != "", deposit_note()),
                rx.cond(
                    inv["notes"] != "",
                    rx.text(inv["notes"], size="2", color="var(--gray-11)", white_space="pre-wrap"),
                ),
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
                    (inv["last_failure"] != "") & (inv["processing"] == ""),
                    rx.callout(
                        "Your last payment did not go through: " + inv["last_failure"],
                        icon="circle-x",
                        color_scheme="red",
                        width="100%",
                        id="payment-failure",
                    ),
                ),
                rx.cond(
                    inv["payable"] != "",
                    rx.vstack(
                        amount_picker(),
                        rx.button(
                            rx.icon("lock", size=14),
                            "Pay Now",
                            size="3",
                            width="100%",
                            background=brand_accent(),
                            loading=I.paying,
                            on_click=I.pay_now,
                        ),
                        rx.text(
                            "You'll pay securely on Stripe's checkout page.",
                            size="1",
                            color="var(--gray-11)",
                        ),
                        align="center",
                        width="100%",
                    ),
                ),
                rx.cond(
                    I.pay_error != "",
                    rx.callout(
                        I.pay_error,
                        icon="triangle_alert",
                        color_scheme="red",
                        role="alert",
                        width="100%",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            style=CARD_STYLE,
            max_width="40rem",
        ),
        width="100%",
    )


def portal_invoice() -> rx.Component:
    return guarded(
        rx.cond(
            I.found,
            _invoice_body(),
            empty_state(
                "file-x", "Invoice not found", "Check the link, or go back to your invoices."
            ),
        ),
        portal=True,
    )


def portal_return() -> rx.Component:
    return guarded(
        rx.center(
            rx.box(
                rx.match(
                    I.outcome,
                    (
                        "paid",
                        rx.vstack(
                            rx.icon("circle-check", size=40, color="var(--green-9)"),
                            rx.heading("Payment received — thank you", size="5"),
                            rx.text(
                                "Invoice ",
                                I.invoice["number"],
                                rx.cond(
                                    I.terms["paid"] != "",
                                    rx.cond(
                                        I.invoice["payable"] != "",
                                        " is partly paid: the balance is "
                                        + I.terms["balance"]
                                        + ", due on "
                                        + I.terms["due"]
                                        + ".",
                                        " is paid.",
                                    ),
                                    " is paid.",
                                ),
                                rx.cond(
                                    I.receipt_by_email, " A receipt is on its way by email.", ""
                                ),
                                color="var(--gray-11)",
                                id="paid-message",
                            ),
                            rx.link("Back to your invoices", href="/portal"),
                            align="center",
                            spacing="3",
                        ),
                    ),
                    (
                        "bank_processing",
                        rx.vstack(
                            rx.icon("landmark", size=40, color="var(--amber-9)"),
                            rx.heading("Bank payment processing", size="5"),
                            rx.text(
                                "Your bank payment for invoice ",
                                I.invoice["number"],
                                " is on its way — this usually takes up to 4 business days. "
                                "We'll email you a receipt once your bank confirms it.",
                                color="var(--gray-11)",
                            ),
                            rx.link("Back to your invoices", href="/portal"),
                            align="center",
                            spacing="3",
                        ),
                    ),
                    (
                        "canceled",
                        rx.vstack(
                            rx.icon("circle-x", size=40, color="var(--gray-9)"),
                            rx.heading("Payment not completed", size="5"),
                            rx.text(
                                "Nothing was charged. You can try again from the invoice.",
                                color="var(--gray-11)",
                            ),
                            rx.link(
                                "Back to the invoice",
                                href=I.back_href,
                            ),
                            align="center",
                            spacing="3",
                        ),
                    ),
                    rx.vstack(
                        rx.spinner(size="3"),
                        rx.heading("Processing…", size="5"),
                        rx.text(
                            "We're confirming your payment with Stripe. This page updates by itself.",
                            color="var(--gray-11)",
                        ),
                        align="center",
                        spacing="3",
                    ),
                ),
                style=CARD_STYLE,
                max_width="30rem",
                text_align="center",
                id="payment-outcome",
            ),
            width="100%",
            padding_top="3rem",
        ),
        portal=True,
    )


def _method_row(m: dict) -> rx.Component:
    return rx.hstack(
        rx.icon("credit-card", size=18),
        rx.vstack(
            rx.text(m["label"], weight="medium", id="saved-card"),
            rx.cond(
                m["expiry"] != "",
                rx.text("Expires ", m["expiry"], size="1", color="var(--gray-11)"),
                rx.text("Bank account (debit mandate)", size="1", color="var(--gray-11)"),
            ),
            spacing="0",
        ),
        rx.spacer(),
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button("Remove", size="1", variant="soft", color_scheme="red")
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Remove this card?"),
                rx.alert_dialog.description(
                    "Autopay pauses until you save another card; the agency is told."
                ),
                rx.hstack(
                    rx.alert_dialog.cancel(
                        rx.button("Keep it", variant="soft", color_scheme="gray")
                    ),
                    rx.alert_dialog.action(
                        rx.button("Remove card", color_scheme="red", on_click=P.remove(m["id"]))
                    ),
                    justify="end",
                    spacing="3",
                    margin_top="1rem",
                ),
            ),
        ),
        width="100%",
        align="center",
        style={**CARD_STYLE, "padding": "1rem 1.25rem"},
    )


def portal_payment_methods() -> rx.Component:
    a = P.autopay
    return guarded(
        rx.vstack(
            page_header(
                "Payment methods",
                rx.cond(
                    P.banks,
                    "The card or bank account used for Autopay",
                    "The card used for Autopay",
                ),
            ),
            rx.cond(
                a["enabled"] != "",
                rx.callout(
                    rx.cond(
                        a["method"] != "",
                        "Autopay is on: invoices are charged to this card on their due date.",
                        "Your agency turned on Autopay: save a card to have invoices paid on their due date.",
                    ),
                    icon="repeat",
                    width="100%",
                    id="autopay-callout",
                ),
            ),
            rx.cond(
                a["paused_reason"] != "",
                rx.callout(
                    "Autopay is paused: " + a["paused_reason"],
                    icon="pause",
                    color_scheme="amber",
                    width="100%",
                ),
            ),
            rx.cond(
                P.methods.length() > 0,
                rx.vstack(rx.foreach(P.methods, _method_row), spacing="3", width="100%"),
                empty_state(
                    "credit-card",
                    "No saved card",
                    "Save a card to pay invoices automatically with Autopay.",
                ),
            ),
            rx.button(
                rx.icon("plus", size=14),
                rx.cond(
                    P.banks,
                    rx.cond(P.methods.length() > 0, "Replace it", "Save a card or bank account"),
                    rx.cond(P.methods.length() > 0, "Replace card", "Save a card"),
                ),
                loading=P.busy,
                on_click=P.save_card,
            ),
            rx.text(
                "Cards are saved securely by Stripe; Nextoria Hub never sees the number.",
                size="1",
                color="var(--gray-11)",
            ),
            rx.cond(
                P.error != "",
                rx.callout(
                    P.error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"
                ),
            ),
            spacing="4",
            width="100%",
            max_width="40rem",
        ),
        portal=True,
    )


def _profile_field(label: str, name: str, **props) -> rx.Component:  # type: ignore[no-untyped-def]
    return field(
        label,
        name,
        error=Pr.errors.get(name, ""),
        default_value=Pr.values[name],
        **props,
    )


def _tax_type_select() -> rx.Component:
    return rx.vstack(
        rx.el.label("Tax ID type", html_for="tax_id_type", style=LABEL),
        rx.el.select(
            rx.el.option("None", value=""),
            *[
                rx.el.option(label, value=code)
                for code, (label, _shape) in profile_svc.TAX_ID_TYPES.items()
            ],
            id="tax_id_type",
            name="tax_id_type",
            default_value=Pr.values["tax_id_type"],
            class_name="portal-select",
            style={"height": "40px", "width": "100%"},
        ),
        rx.cond(
            Pr.errors.get("tax_id_type", "") != "",
            rx.text(
                Pr.errors.get("tax_id_type", ""), color="var(--red-11)", size="2", role="alert"
            ),
        ),
        spacing="1",
        width="100%",
        align="stretch",
    )


def _profile_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Billing details", size="4", as_="h2"),
            _profile_field("Name on invoices", "billing_name", max_length=160),
            _profile_field("Address", "line1", max_length=200, auto_complete="address-line1"),
            _profile_field(
                "Address line 2", "line2", max_length=200, auto_complete="address-line2"
            ),
            rx.flex(
                rx.box(_profile_field("City", "city", max_length=100), flex="2", min_width="10rem"),
                rx.box(
                    _profile_field("Postal code", "postal_code", max_length=20),
                    flex="1",
                    min_width="7rem",
                ),
                gap="3",
                wrap="wrap",
                width="100%",
            ),
            rx.flex(
                rx.box(
                    _profile_field("State or region", "state", max_length=100),
                    flex="2",
                    min_width="10rem",
                ),
                rx.box(
                    _profile_field("Country code", "country", max_length=2, placeholder="US"),
                    flex="1",
                    min_width="7rem",
                ),
                gap="3",
                wrap="wrap",
                width="100%",
            ),
            _tax_type_select(),
            _profile_field("Tax ID", "tax_id", max_length=40),
            rx.heading("Emails", size="4", as_="h2", margin_top="0.5rem"),
            rx.checkbox(
                "Email me a receipt for each payment",
                checked=Pr.email_receipts,
                on_change=Pr.set_email_receipts,
            ),
            rx.checkbox(
                "Remind me before and after an invoice is due",
                checked=Pr.email_reminders,
                on_change=Pr.set_email_reminders,
            ),
            form_error(Pr.errors.get("form", "")),
            rx.cond(
                Pr.stripe_error != "",
                rx.callout(
                    "Saved here; Stripe has not taken it yet: " + Pr.stripe_error,
                    icon="triangle_alert",
                    color_scheme="amber",
                    width="100%",
                ),
            ),
            submit_button("Save", loading=Pr.saving),
            spacing="3",
            width="100%",
        ),
        on_submit=Pr.save,
        width="100%",
        style={**CARD_STYLE, "max_width": "40rem"},
        id="profile-form",
    )


def portal_profile() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Profile", "Your billing details and email preferences"),
            rx.cond(Pr.loaded, _profile_form(), _skeleton()),
            width="100%",
        ),
        portal=True,
    )
