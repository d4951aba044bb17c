"""Billing documents and reports on the pages: PDF and CSV links, aged receivables,
the Reminders and late fees section of Finance, late fees on an invoice."""

from __future__ import annotations

import reflex as rx
from reflex.vars.function import FunctionStringVar

from nextoria_hub.ui.components.forms import form_error
from nextoria_hub.ui.states.billing_extras import (
    AgingState,
    ClientRemindersState,
    LateFeesState,
    RemindersState,
)
from nextoria_hub.ui.theme import CARD_STYLE

PAID_STATUSES = (
    "Paid",
    "Partially paid",
    "Partially refunded",
    "Refunded",
    "Disputed",
    "Dispute lost",
)
LABEL = {"font_weight": "500", "font_size": "14px"}


def _is_paid(status: rx.Var) -> rx.Var:
    paid = status == PAID_STATUSES[0]
    for name in PAID_STATUSES[1:]:
        paid = paid | (status == name)
    return paid


def pdf_links(invoice_id: rx.Var, status: rx.Var) -> rx.Component:
    """ "Download PDF", and "Receipt" once paid: plain links to the PDF route."""
    base = "/api/invoices/" + invoice_id.to(str)
    return rx.hstack(
        rx.el.a(
            rx.button(rx.icon("file-down", size=14), "Download PDF", variant="soft", tab_index=-1),
            href=base + "/invoice.pdf",
            id="download-pdf",
            download=True,
            reload_document=True,
        ),
        rx.cond(
            _is_paid(status),
            rx.el.a(
                rx.button(rx.icon("receipt", size=14), "Receipt", variant="soft", tab_index=-1),
                href=base + "/receipt.pdf",
                id="download-receipt",
                download=True,
                reload_document=True,
            ),
        ),
        spacing="2",
    )


def export_button(kind: str, **filters: rx.Var) -> rx.Component:
    """A link to the CSV route carrying the filters on screen (encoded in the browser)."""
    encode = FunctionStringVar.create("encodeURIComponent")
    href: rx.Var = rx.Var.create(f"/api/exports/{kind}.csv?")
    for index, (name, value) in enumerate(filters.items()):
        href = href + ("&" if index else "") + f"{name}=" + encode.call(value).to(str)
    return rx.el.a(
        rx.button(rx.icon("download", size=14), "Export CSV", variant="soft", tab_index=-1),
        href=href,
        id=f"export-{kind}",
        download=True,
        reload_document=True,  # a plain request, not the app's client-side routing
    )


def _aging_row(r: dict) -> rx.Component:
    weight = rx.cond(r["total_row"] != "", "bold", "regular")
    return rx.table.row(
        rx.table.cell(rx.text(r["client"], weight=weight)),
        rx.table.cell(r["currency"]),
        *[
            rx.table.cell(rx.text(r[k], weight=weight))
            for k in ("current", "1_30", "31_60", "61_90", "over_90", "total")
        ],
    )


def aged_receivables_card() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading("Aged receivables", size="3"),
            rx.cond(
                AgingState.aging.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in (
                                    "Client",
                                    "Currency",
                                    "Current",
                                    "1–30 days",
                                    "31–60 days",
                                    "61–90 days",
                                    "90+ days",
                                    "Total",
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(AgingState.aging, _aging_row)),
                    width="100%",
                    size="1",
                ),
                rx.text("Nothing is owed to you right now.", size="2", color="var(--gray-11)"),
            ),
            spacing="3",
            width="100%",
        ),
        style=CARD_STYLE,
        overflow_x="auto",
        id="aged-receivables",
        on_mount=AgingState.load,
    )


def labelled(label: str, control: rx.Component, *, for_id: str, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=for_id, style=LABEL),
        control,
        *([rx.text(hint, size="1", color="var(--gray-11)")] if hint else []),
        spacing="1",
    )


def _number(label: str, name: str, value: rx.Var, hint: str = "") -> rx.Component:
    return labelled(
        label,
        rx.input(id=name, name=name, default_value=value, type="number", min="0", width="6rem"),
        for_id=name,
        hint=hint,
    )


def _switch(id_: str, label: str, checked: rx.Var, on_change) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.hstack(
        rx.switch(id=id_, name=id_, checked=checked, on_change=on_change),
        rx.el.label(label, html_for=id_, style=LABEL),
        align="center",
    )


def reminders_section() -> rx.Component:
    R = RemindersState
    return rx.box(
        rx.form(
            rx.vstack(
                rx.heading("Reminders and late fees", size="4"),
                rx.text(
                    "Email clients before and after an invoice's due date. Never for "
                    "invoices on Autopay (they get the pre-charge notice), paid, processing, "
                    "disputed or void ones. Turn reminders off for one client on its page.",
                    size="2",
                    color="var(--gray-11)",
                ),
                _switch("reminders-on", "Send reminders", R.enabled, R.set_enabled),
                rx.hstack(
                    _number("Days before the due date", "days_before", R.days_before, "0: none"),
                    rx.box(
                        _switch("on-due", "On the due date", R.on_due_date, R.set_on_due_date),
                        padding_top="1.6rem",
                    ),
                    _number("Days after", "days_after", R.days_after, "0: none"),
                    _number("Then every (days)", "repeat_every", R.repeat_every),
                    _number("At most (after)", "max_after", R.max_after),
                    spacing="4",
                    flex_wrap="wrap",
                ),
                rx.divider(),
                rx.heading("Late fee", size="3"),
                rx.radio_group.root(
                    rx.hstack(
                        rx.radio_group.item("No late fee", value="none"),
                        rx.radio_group.item("A percentage", value="percent"),
                        rx.radio_group.item("A fixed amount", value="fixed"),
                        spacing="4",
                    ),
                    value=R.fee_kind,
                    on_change=R.set_fee_kind,
                    id="late-fee-kind",
                    name="late-fee-kind",
                ),
                rx.cond(
                    R.fee_kind != "none",
                    rx.vstack(
                        rx.hstack(
                            rx.cond(
                                R.fee_kind == "percent",
                                labelled(
                                    "Percent of the invoice total",
                                    rx.input(
                                        id="fee_percent",
                                        name="fee_percent",
                                        default_value=R.fee_percent,
                                        placeholder="1.5",
                                        width="6rem",
                                    ),
                                    for_id="fee_percent",
                                    hint="Of the total before fees: never compounding.",
                                ),
                                rx.fragment(),
                            ),
                            _number("After (days overdue)", "fee_after", R.fee_after),
                            _number("At most (fees)", "fee_max", R.fee_max),
                            spacing="4",
                            flex_wrap="wrap",
                        ),
                        rx.cond(R.fee_kind == "fixed", fixed_fee_per_currency()),
                        _switch(
                            "fee-monthly",
                            "Again every 30 days overdue (up to the maximum)",
                            R.fee_monthly,
                            R.set_fee_monthly,
                        ),
                        spacing="3",
                    ),
                ),
                form_error(R.error),
                rx.button("Save reminders", type="submit", id="save-reminders"),
                spacing="3",
                width="100%",
            ),
            on_submit=R.save,
        ),
        style=CARD_STYLE,
        id="reminders",
        on_mount=R.load,
    )


def fixed_fee_per_currency() -> rx.Component:
    """The fixed late fee, one amount per currency; a currency left empty gets no fee."""
    R = RemindersState
    return rx.vstack(
        rx.text(
            "Amount per currency, charged on invoices in that currency. Leave a currency "
            "empty for no fixed fee on its invoices.",
            size="1",
            color="var(--gray-11)",
        ),
        rx.flex(
            rx.foreach(
                R.fee_fixed,
                lambda row: rx.hstack(
                    rx.el.label(
                        row["label"],
                        html_for="fee_fixed_" + row["code"],
                        style={**LABEL, "width": "3rem"},
                    ),
                    rx.input(
                        id="fee_fixed_" + row["code"],
                        name="fee_fixed_" + row["code"],
                        default_value=row["amount"],
                        placeholder="none",
                        width="7rem",
                    ),
                    align="center",
                    spacing="2",
                ),
            ),
            gap="0.75rem 1.5rem",
            flex_wrap="wrap",
            id="fee-fixed-amounts",
        ),
        rx.el.select(
            rx.el.option("Add a currency…", value=""),
            rx.foreach(R.fee_currency_choices, lambda c: rx.el.option(c.upper(), value=c)),
            id="fee-add-currency",
            value="",
            on_change=R.add_fee_currency,
            style={"padding": "6px", "border_radius": "8px", "width": "12rem"},
        ),
        spacing="2",
        width="100%",
    )


def late_fees_box() -> rx.Component:
    """The late fees on an invoice, for the admin to waive (shown only when there are some)."""
    return rx.box(
        rx.cond(
            LateFeesState.fees.length() > 0,
            rx.box(
                rx.vstack(
                    rx.heading("Late fees", size="3"),
                    rx.foreach(
                        LateFeesState.fees,
                        lambda f: rx.hstack(
                            rx.text("Late fee ", f["amount"], " · added ", f["added"], size="2"),
                            rx.spacer(),
                            rx.button(
                                "Waive",
                                size="1",
                                variant="soft",
                                color_scheme="gray",
                                on_click=LateFeesState.waive(f["id"]),
                            ),
                            width="100%",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                style=CARD_STYLE,
            ),
        ),
        id="late-fees",
        on_mount=LateFeesState.load,
        width="100%",
    )


def client_reminders_card() -> rx.Component:
    """On a client's page: payment reminders for this client on or off (admins switch)."""
    return rx.box(
        rx.vstack(
            rx.heading("Payment reminders", size="3"),
            rx.text(
                "Reminders follow Settings → Finance → Reminders. Turn them off for this "
                "client alone.",
                size="2",
                color="var(--gray-11)",
            ),
            _switch(
                "client-reminders",
                "Send this client reminders",
                ClientRemindersState.reminders_on,
                ClientRemindersState.set_reminders,
            ),
            spacing="3",
        ),
        style=CARD_STYLE,
        id="client-reminders-card",
        on_mount=ClientRemindersState.load,
    )
