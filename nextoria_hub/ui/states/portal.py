"""The Client Portal: a client's invoices, Pay Now, and the return from Checkout."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import invoices as svc
from nextoria_hub.billing import portal as home_svc
from nextoria_hub.billing import profile as profile_svc
from nextoria_hub.billing.live import invoice_version
from nextoria_hub.billing.locales import format_day
from nextoria_hub.billing.money import format_money
from nextoria_hub.billing.payment_terms import PAY_CHOICES, terms_view
from nextoria_hub.db import session_scope
from nextoria_hub.errors import (
    AccessDenied,
    NextoriaError,
    NotFound,
    NotSignedIn,
    ValidationError,
)
from nextoria_hub.payments import checkout, return_watch
from nextoria_hub.stripe_gateway import StripeGatewayError
from nextoria_hub.tenancy import resolve_actor
from nextoria_hub.ui.states.invoices import STATUS_COLORS, invoice_row, today
from nextoria_hub.ui.states.live import follow_invoice
from nextoria_hub.ui.states.session import AppState


def portal_row(invoice, processing: bool = False) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What an invoice card in the portal list shows, and nothing more (a client may have
    hundreds: every field is formatted on the server and sent to the browser)."""
    status = svc.display_status(invoice, today(), processing=processing)
    return {
        "id": str(invoice.id),
        "number": invoice.number,
        "status": status,
        "color": STATUS_COLORS.get(status, "gray"),
        # What the client owes on an open invoice; what the invoice was for once it is settled.
        "amount": format_money(
            invoice.amount_due if invoice.status == "open" else invoice.total, invoice.currency
        ),
        "due": format_day(invoice.due_date),
    }


def home_row(row: home_svc.PortalRow) -> dict[str, str]:
    """A typed portal row as the browser gets it: short keys, strings only."""
    return {
        "id": str(row.id),
        "number": row.number,
        "status": row.status,
        "color": STATUS_COLORS.get(row.status, "gray"),
        "amount": row.amount,
        "due": row.due,
        "pay": "1" if row.payable else "",
    }


def home_vars(home: home_svc.PortalHome, payments: home_svc.PaymentHistory) -> dict[str, object]:
    """Every var the portal home sets from one load: what its first websocket delta carries."""
    return {
        "open_rows": [home_row(r) for r in home.open_rows],
        "open_totals": home.open_totals,
        "history": [home_row(r) for r in home.history],
        "page": home.page,
        "pages": home.pages,
        "matches": home.matches,
        "years": [str(y) for y in home.years],
        "payments": [
            {
                "id": str(p.id),
                "invoice_id": str(p.invoice_id),
                "number": p.number,
                "amount": p.amount,
                "paid_on": p.paid_on,
                "method": p.method,
                "status": p.status,
            }
            for p in payments.rows
        ],
        "payments_page": payments.page,
        "payments_pages": payments.pages,
    }


class PortalState(AppState):
    """The portal home: open invoices first, then a page of history and of payments."""

    loaded: bool = False  # what to pay is shown (the first delta)
    history_loaded: bool = False  # the history and payments are (``show_history``)
    open_rows: list[dict[str, str]] = []
    open_totals: list[str] = []
    history: list[dict[str, str]] = []
    page: int = 1
    pages: int = 1
    matches: int = 0
    years: list[str] = []
    search: str = ""
    status: str = ""
    year: str = ""
    payments: list[dict[str, str]] = []
    payments_page: int = 1
    payments_pages: int = 1
    paying_id: str = ""
    pay_error: str = ""

    def _refresh(self, page: int, payments_page: int):  # type: ignore[no-untyped-def]
        try:
            with self._unit() as (db, actor):
                self._fill(db, actor, page, payments_page)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        except ValidationError:
            self.status = ""
        return None

    def _fill(self, db, actor, page: int, payments_page: int) -> None:  # type: ignore[no-untyped-def]
        home = home_svc.portal_home(
            db,
            actor,
            today(),
            page=page,
            search=self.search,
            status=self.status,
            year=int(self.year) if self.year.isdigit() else None,
        )
        payments = home_svc.payment_history(db, actor, page=payments_page)
        for name, value in home_vars(home, payments).items():
            setattr(self, name, value)
        self.loaded = self.history_loaded = True

    @rx.event
    def load(self):
        """The page's only loader: who is looking and what the client must act on.

        Access (what ``guard("client")`` decides) and the open invoices come from one unit
        of work and reach the browser as the first delta after hydrate: the page renders
        once, with the Pay Now buttons, instead of a skeleton frame first and the list one
        event later. The history page and payments are asked for by the page once that is
        on screen (``show_history``), so their render never holds up the open invoices."""
        self.search, self.status, self.year, self.pay_error, self.paying_id = "", "", "", "", ""
        self.history_loaded = False
        with session_scope() as db:
            try:
                actor = self._resolve(db)
            except NextoriaError:  # as guard: treated as nobody signed in
                actor = None
            refused = self._admit(actor, "client")
            if self.access != "ok" or actor is None:
                return refused
            home = home_svc.portal_home(db, actor, today(), with_history=False)
            self.open_rows = [home_row(r) for r in home.open_rows]
            self.open_totals = home.open_totals
            self.loaded = True
        return None

    @rx.event
    def show_history(self):
        """The first page of history and of payments, once the open invoices are shown."""
        return self._refresh(1, 1)

    @rx.event
    def filter_history(self, form: dict):  # type: ignore[type-arg]
        """Search by number, filter by status and year: back to the first page."""
        self.search = str(form.get("search", ""))[:64]
        status = str(form.get("status", ""))
        self.status = status if status in home_svc.HISTORY_STATUSES else ""
        year = str(form.get("year", ""))
        self.year = year if year.isdigit() and len(year) == 4 else ""
        return self._refresh(1, self.payments_page)

    @rx.event
    def to_page(self, page: int):
        return self._refresh(max(int(page), 1), self.payments_page)

    @rx.event
    def to_payments_page(self, page: int):
        return self._refresh(self.page, max(int(page), 1))

    @rx.event(background=True)
    async def pay(self, invoice_id: str):
        """Pay Now on an open invoice of the home: Checkout, created off the event loop."""
        async with self:
            if self.paying_id or not str(invoice_id).isdigit():
                return
            self.pay_error, self.paying_id = "", str(invoice_id)
            origin = self.router.url.origin
        wanted = int(invoice_id)
        done = await self._off_loop(
            lambda db, actor: checkout.start_checkout(db, actor, wanted, base_url=origin)
        )
        async with self:
            if done.ok:
                event = rx.redirect(str(done.value))
            elif done.denied:
                self.paying_id, event = "", self._denied(done.error)  # type: ignore[arg-type]
            else:
                self.paying_id, self.pay_error, event = "", done.message, None
        if event is not None:
            yield event


class PortalInvoiceState(AppState):
    found: bool = False
    invoice: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    paying: bool = False
    pay_error: str = ""
    # Payment terms (billing/payment_terms.py): the deposit, the balance, the parts allowed,
    # and what the client picked: deposit | balance | other (``pay_amount`` typed).
    terms: dict[str, str] = {}
    pay_choice: str = "balance"
    pay_amount: str = ""
    # The return page: processing | bank_processing | paid | canceled
    outcome: str = "processing"
    back_href: str = "/portal"
    # Finance → Automatic payment receipts: the thank-you page only promises one when it is on.
    receipt_by_email: bool = False
    # Following the open invoice (ui/states/live.py): who, which, and the version shown.
    _follow_seq: int = 0
    _follow: list[int] = []
    _follow_version: str = ""

    def _invoice_id(self) -> int:
        raw = str(self.router.page.params.get("invoice_id", ""))
        return int(raw) if raw.isdigit() else 0

    def _show(self, view) -> None:  # type: ignore[no-untyped-def]
        inv = view.invoice
        processing = svc.is_processing(view)
        status = svc.display_status(inv, today(), processing=processing)
        self.invoice = {
            **invoice_row(inv, view.client.name, processing),
            "status": status,
            "color": STATUS_COLORS.get(status, "gray"),
            "payable": "yes"
            if inv.status == "open" and inv.amount_due > 0 and not processing
            else "",
            "processing": svc.BANK_PROCESSING if processing else "",
            "last_failure": svc.last_failure(view),
            "notes": inv.notes,
            "tax_total": format_money(inv.tax_total, inv.currency),
        }
        self.lines = [
            {
                "description": ln.description,
                "quantity": ln.quantity,
                "amount": format_money(ln.amount, inv.currency),
            }
            for ln in view.lines
        ]
        terms = terms_view(inv)
        if self.terms.get("choice") != terms["choice"] or (
            self.pay_choice == "deposit" and not terms["deposit_due"]
        ):
            self.pay_choice = terms["choice"]  # the deposit first, then the balance
        self.terms = terms

    @rx.event
    def load(self):
        self.found, self.pay_error, self.paying = False, "", False
        self.terms, self.pay_amount = {}, ""  # another invoice: its own first choice
        try:
            with self._unit() as (db, actor):
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
                self._follow = [actor.workspace_id, actor.user_id or 0, self._invoice_id()]
                self._follow_version = invoice_version(db, actor, self._invoice_id())
        except NotFound:
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.found = True
        return PortalInvoiceState.follow

    def _reload_invoice(self) -> None:
        """A payment, refund or failure landed while the page was open: show it."""
        try:
            with self._unit() as (db, actor):
                self._show(svc.get_invoice_view(db, actor, self._invoice_id()))
        except (NotFound, NotSignedIn, AccessDenied):
            return

    @rx.event(background=True)
    async def follow(self):
        await follow_invoice(self)

    @rx.event
    def set_pay_choice(self, value: str) -> None:
        self.pay_choice = value if value in PAY_CHOICES else "balance"
        self.pay_error = ""

    @rx.event
    def set_pay_amount(self, value: str) -> None:
        self.pay_amount, self.pay_error = str(value)[:20], ""

    @rx.event(background=True)
    async def pay_now(self):
        """Create the Checkout Session off the event loop (Stripe may be slow), for the
        amount picked (the terms decide what is allowed)."""
        async with self:
            if self.paying:
                return
            self.pay_error, self.paying = "", True
            invoice_id, origin = self._invoice_id(), self.router.url.origin
            choice, typed = self.pay_choice, self.pay_amount
        done = await self._off_loop(
            lambda db, actor: checkout.start_chosen_checkout(
                db, actor, invoice_id, base_url=origin, choice=choice, typed=typed
            )
        )
        async with self:
            if done.ok:
                event = rx.redirect(str(done.value))
            elif done.denied:
                self.paying, event = False, self._denied(done.error)  # type: ignore[arg-type]
            else:
                self.paying, self.pay_error, event = False, done.message, None
        if event is not None:
            yield event

    @rx.event(background=True)
    async def watch_return(self):
        """Wait until the payment is recorded (asks Stripe itself if the webhook is late).

        One poll per Checkout return, shared by the tabs showing it, with backoff and a cap
        (``payments.return_watch``); each try runs off the event loop.
        """
        async with self:
            session_id = self.router.url.query_parameters.get("session_id", "")
            invoice_id = self._invoice_id()
            self.outcome = "processing"
            self.back_href = f"/portal/invoices/{invoice_id}"
        who = await self._off_loop(lambda _db, actor: (actor.workspace_id, actor.user_id))
        if not who.ok:
            async with self:
                self.outcome = "canceled"
            return

        host, token = self._host(), self._session_token()
        try:
            outcome = await return_watch.wait_for_outcome(
                (*who.value, invoice_id, session_id),  # type: ignore[misc]
                lambda: _check_return(host, token, invoice_id, session_id),
            )
        except (NotSignedIn, AccessDenied, NotFound):
            outcome = "canceled"
        except StripeGatewayError:
            outcome = "processing"
        if outcome in ("paid", "bank_processing"):

            def paid_view(db, actor):  # type: ignore[no-untyped-def]
                view = svc.get_invoice_view(db, actor, invoice_id)
                return view, profile_svc.receipt_is_emailed(
                    db, actor.workspace_id, view.invoice.client_id
                )

            shown = await self._off_loop(paid_view)
            async with self:
                if shown.ok:
                    view, receipts = shown.value  # type: ignore[misc]
                    self._show(view)
                    self.found, self.receipt_by_email = True, receipts
        async with self:
            self.outcome = outcome


def _check_return(host: str, token: str, invoice_id: int, session_id: str) -> str:
    """One try of the return page's wait: its own unit of work (called in a thread)."""
    with session_scope() as db:
        _ws, actor = resolve_actor(db, host, token)
        if actor is None:
            raise NotSignedIn()
        return checkout.checkout_return(db, actor, invoice_id, session_id)


PROFILE_FIELDS = ("billing_name", "line1", "line2", "city", "state", "postal_code", "country")


class PortalProfileState(AppState):
    """Portal → Profile: billing details (copied to Stripe) and email preferences."""

    loaded: bool = False
    values: dict[str, str] = {}
    email_receipts: bool = True
    email_reminders: bool = True
    stripe_synced: str = ""
    stripe_error: str = ""
    errors: dict[str, str] = {}
    saving: bool = False

    def _show(self, found) -> None:  # type: ignore[no-untyped-def]
        v = found.values
        self.values = {
            **{name: getattr(v, name) for name in PROFILE_FIELDS},
            "tax_id_type": v.tax_id_type,
            "tax_id": v.tax_id,
        }
        self.email_receipts, self.email_reminders = v.email_receipts, v.email_reminders
        self.stripe_synced, self.stripe_error = found.stripe_synced, found.stripe_error
        self.loaded = True

    @rx.event
    def load(self):
        self.errors, self.saving = {}, False
        try:
            with self._unit() as (db, actor):
                self._show(profile_svc.get_profile(db, actor))
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_email_receipts(self, on: bool):
        self.email_receipts = bool(on)

    @rx.event
    def set_email_reminders(self, on: bool):
        self.email_reminders = bool(on)

    @rx.event
    async def save(self, form: dict):  # type: ignore[type-arg]
        """Saved, then sent to Stripe off the event loop (the service commits first)."""
        if self.saving:
            return
        self.saving, self.errors = True, {}
        yield
        data = profile_svc.ProfileInput(
            **{name: str(form.get(name, "")) for name in PROFILE_FIELDS},
            tax_id_type=str(form.get("tax_id_type", "")),
            tax_id=str(form.get("tax_id", "")),
            email_receipts=self.email_receipts,
            email_reminders=self.email_reminders,
        )
        done = await self._off_loop(lambda db, actor: profile_svc.save_profile(db, actor, data))
        self.saving = False
        if done.denied:
            yield self._denied(done.error)  # type: ignore[arg-type]
            return
        if isinstance(done.error, ValidationError):
            self.errors = {done.field or "form": done.message}
            return
        if not done.ok:
            yield rx.toast.error(done.message)
            return
        self._show(done.value)
        if self.stripe_error:
            yield rx.toast.warning("Saved. Stripe didn't take the update yet: " + self.stripe_error)
        else:
            yield rx.toast.success("Billing details saved.")
