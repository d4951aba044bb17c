"""The Payments page and the Dashboard."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import clients as client_svc
from nextoria_hub.billing import invoices as invoice_svc
from nextoria_hub.billing.locales import format_moment
from nextoria_hub.billing.money import format_money, from_minor
from nextoria_hub.errors import AccessDenied, NotSignedIn
from nextoria_hub.payments import queries
from nextoria_hub.ui.states.invoices import today
from nextoria_hub.ui.states.session import AppState


class PaymentsState(AppState):
    payments: list[dict[str, str]] = []
    client_options: list[dict[str, str]] = []
    unmatched: list[dict[str, str]] = []
    client_filter: str = "all"
    status_filter: str = "all"
    mode_filter: str = "all"

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                clients = client_svc.list_clients(db, actor, include_archived=True)
                names = {c.id: c.name for c in clients}
                self.client_options = [{"id": str(c.id), "name": c.name} for c in clients]
                rows = queries.list_payments(
                    db,
                    actor,
                    client_id=int(self.client_filter) if self.client_filter.isdigit() else None,
                    status=None if self.status_filter == "all" else self.status_filter,
                    mode=None if self.mode_filter == "all" else self.mode_filter,
                )
                numbers = queries.invoice_numbers(db, actor, rows)
                self.payments = [
                    {
                        "at": format_moment(p.created_at),
                        "number": numbers.get(p.invoice_id, ""),
                        "client": names.get(p.client_id, ""),
                        "invoice_id": str(p.invoice_id),
                        "status": p.status.replace("_", " "),
                        "amount": format_money(p.amount, p.currency),
                        "method": p.method_detail or p.method_type or p.source,
                        "mode": p.mode,
                        "failure": p.failure_message,
                        "reference": p.payment_intent_id,
                    }
                    for p in rows
                ]
                self.unmatched = (
                    [
                        {
                            "type": e.type,
                            "id": e.event_id,
                            "mode": e.mode,
                            "detail": e.detail,
                            "at": format_moment(e.received_at),
                        }
                        for e in queries.unmatched_events(db, actor)
                    ]
                    if actor.is_admin
                    else []
                )
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_client_filter(self, value: str):
        self.client_filter = value
        return PaymentsState.load

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value
        return PaymentsState.load

    @rx.event
    def set_mode_filter(self, value: str):
        self.mode_filter = value
        return PaymentsState.load


class DashboardState(AppState):
    totals: list[dict[str, str]] = []
    disputed: list[str] = []  # amount at risk in open disputes, one per currency
    chart: list[dict] = []
    chart_currency: str = ""
    # Money kept off invoices until refunded, and what reconciliation found at Stripe.
    attention: list[dict[str, str]] = []

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                totals = invoice_svc.dashboard_totals(db, actor, today())
                days = invoice_svc.payments_by_day(db, actor, 90)
                self.attention = _attention(db, actor)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.totals = [
            {
                "currency": t["currency"].upper(),
                "outstanding": format_money(t["outstanding"], t["currency"]),
                "overdue": format_money(t["overdue"], t["currency"]),
                "paid_this_month": format_money(t["paid_this_month"], t["currency"]),
            }
            for t in totals
        ]
        self.disputed = [
            format_money(t["disputed"], t["currency"]) for t in totals if t["disputed"]
        ]
        # The chart shows the currency with the most payments; amounts in major units.
        by_currency: dict[str, int] = {}
        for d in days:
            by_currency[d["currency"]] = by_currency.get(d["currency"], 0) + 1
        self.chart_currency = max(by_currency, key=lambda c: by_currency[c]) if by_currency else ""
        self.chart = [
            {"day": d["day"][5:], "amount": float(from_minor(d["amount"], d["currency"]))}
            for d in days
            if d["currency"] == self.chart_currency
        ]
        return None


def _attention(db, actor) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Unresolved overpayments and reconciliation flags, each linking to its invoice."""
    from nextoria_hub.payments.overpayments import list_overpayments
    from nextoria_hub.payments.reconciliation import open_flags

    rows = [
        {
            "title": f"Overpayment of {o.amount} on {o.number} ({o.mode} mode)",
            "detail": o.reason,
            "href": f"/invoices/{o.invoice_id}",
        }
        for o in list_overpayments(db, actor, unresolved=True)
    ]
    rows += [
        {
            "title": f"Reconciliation: {f.kind.replace('_', ' ')}"
            + (f" on {f.invoice}" if f.invoice else ""),
            "detail": f.detail,
            "href": "/payments",
        }
        for f in open_flags(db, actor.workspace_id)
    ]
    return rows
