"""Every Reflex event handler, fired across workspaces, as the backend would run it.

The world of tests/test_isolation.py (workspaces acme = A and globex = B, one of
everything each; B in EUR with Stripe keys) plus a B retainer and a B saved card. Each
handler runs for A's admin, member and client twice: on A's subdomain with B's ids in
the page URL, the arguments and the vars a browser can set; and on B's subdomain with
A's session cookie. What would reach the browser (state delta, toasts, redirects) must
hold nothing of B, A's cookie must resolve to nobody on B, and B's rows must be exactly
as before. ``test_every_handler_is_swept`` fails when a new handler is not in CASES.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from nextoria_hub.accounts.sessions import create_sign_in_link, start_session
from nextoria_hub.accounts.team import invite
from nextoria_hub.models import Retainer, SavedPaymentMethod, User
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.factories import PASSWORD, invite_token_for
from tests.sweeps.harness import Outcome, all_handlers, fire
from tests.test_isolation import World, snapshot_of, world  # noqa: F401  (fixture)

A_HOST, B_HOST = "acme.localhost:3000", "globex.localhost:3000"
# Anything of B: its name and slug are in every B name, email and Stripe id; only B uses EUR.
B_MARKERS = re.compile(r"globex|€", re.IGNORECASE)


@dataclass
class Sweep:
    """The world, plus what the cases point at that the service matrix doesn't build."""

    w: World
    a_tokens: dict[str, str]  # role → a live session of A's admin, member, client
    a_link: str  # an unused sign-in link of A's admin
    a_invite: str  # a pending invitation token of A
    b_retainer: int
    b_card: int

    @property
    def b(self):  # type: ignore[no-untyped-def]
        return self.w.b_books


@pytest.fixture
def sweep(db: Session, world: World, stripe_sandbox: SandboxServer) -> Sweep:  # noqa: F811
    w = world
    tokens = {
        "admin": start_session(db, w.a.admin),
        "member": start_session(db, w.a.member),
        "client": start_session(db, w.a_books.portal),
    }
    a_link = create_sign_in_link(db, w.a.admin)
    invite(db, Actor.of(w.a.admin), email="later@acme.test", role="member")
    db.commit()
    a_invite = invite_token_for(db, "later@acme.test")
    client = w.b_books.client
    retainer = Retainer(
        workspace_id=w.b.id,
        client_id=client.id,  # type: ignore[arg-type]
        start_date=date(2026, 1, 1),
        currency="eur",
        lines_json='[{"description": "Globex care", "quantity": "1", "unit_price": "500"}]',
    )
    card = SavedPaymentMethod(
        workspace_id=w.b.id,
        client_id=client.id,  # type: ignore[arg-type]
        mode="test",
        payment_method_id="pm_globex_card",
        customer_id="cus_globex",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2034,
    )
    db.add(retainer)
    db.add(card)
    db.commit()
    return Sweep(w, tokens, a_link, a_invite, retainer.id, card.id)  # type: ignore[arg-type]


Fn = Callable[[Sweep], Any]


def _none(_s: Sweep) -> Any:
    return {}


@dataclass(frozen=True)
class Case:
    """Where a handler lives and what an attacker hands it (functions of the Sweep).

    ``params`` are the page's route params and query; ``prep`` the vars of the handler's
    state a browser could have set first (setvar, or an earlier handler). ``on_b`` and
    ``args_on_b`` replace ``params`` and ``args`` on B's subdomain where B's own token or
    password would be a real credential there (A's are tried instead).
    """

    route: str
    params: Fn = _none
    args: Fn = lambda _s: ()
    prep: Fn = _none
    on_b: Fn | None = None
    args_on_b: Fn | None = None


def _client(s: Sweep) -> dict[str, str]:
    return {"client_id": str(s.b.client.id)}


def _invoice(s: Sweep) -> dict[str, str]:
    return {"invoice_id": str(s.b.open.id)}


def _b_fee(s: Sweep) -> int:
    """B's late fee (on B's open invoice), built by the world."""
    from sqlmodel import select

    from nextoria_hub.db import get_engine
    from nextoria_hub.models import LateFee

    with Session(get_engine()) as db:
        fee = db.exec(select(LateFee).where(LateFee.workspace_id == s.w.b.id)).one()
        return fee.id  # type: ignore[return-value]


LINE = {"description": "Hijack", "quantity": "1", "unit_price": "10.00", "tax_rate": ""}
CLIENT_PAGE, INVOICE_PAGE = "/clients/[client_id]", "/invoices/[invoice_id]"
PORTAL_INVOICE = "/portal/invoices/[invoice_id]"

CASES: dict[str, Case] = {
    # the base state and the apex
    "AppState.guard": Case("/dashboard", args=lambda s: ("staff",)),
    "AppState.sign_out": Case("/dashboard"),
    "HomeState.go_home": Case("/"),
    "SignupState.set_agency_name": Case("/", args=lambda s: ("Initech",)),
    "SignupState.set_slug": Case("/", args=lambda s: ("initech",)),
    "SignupState.submit": Case(
        "/",
        args=lambda s: (
            {
                "name": "Initech",
                "admin_name": "M",
                "email": "m@initech.test",
                "password": PASSWORD,
            },
        ),
        prep=lambda s: {"slug": "initech"},
    ),
    # signing in: B's credentials and links on A, A's on B
    "LoginState.load_login": Case("/login"),
    "LoginState.submit": Case(
        "/login",
        args=lambda s: ({"email": s.w.b.admin.email, "password": PASSWORD},),
        args_on_b=lambda s: ({"email": s.w.a.admin.email, "password": PASSWORD},),
    ),
    "WelcomeState.redeem": Case(
        "/welcome", params=lambda s: {"token": s.w.b_link}, on_b=lambda s: {"token": s.a_link}
    ),
    "InviteState.load_invite": Case(
        "/invite", params=lambda s: {"token": s.w.b_invite}, on_b=lambda s: {"token": s.a_invite}
    ),
    "InviteState.accept": Case(
        "/invite",
        params=lambda s: {"token": s.w.b_invite},
        on_b=lambda s: {"token": s.a_invite},
        args=lambda s: ({"name": "Mallory", "password": PASSWORD},),
    ),
    # staff pages
    "DashboardState.load": Case("/dashboard"),
    "ClientsState.load": Case("/clients"),
    "ClientsState.set_search": Case("/clients", args=lambda s: ("Buyer",)),
    "ClientsState.set_show_archived": Case("/clients", args=lambda s: (True,)),
    "ClientsState.open_new": Case("/clients"),
    "ClientsState.open_edit": Case(
        "/clients",
        args=lambda s: (
            {
                "id": str(s.b.client.id),
                "name": "x",
                "email": "x@acme.test",
                "contact": "",
                "currency_code": "usd",
            },
        ),
    ),
    "ClientsState.set_dialog_open": Case("/clients", args=lambda s: (True,)),
    "ClientsState.set_form_field": Case("/clients", args=lambda s: ("name", "Hijacked")),
    "ClientsState.save": Case(
        "/clients",
        prep=lambda s: {
            "editing_id": str(s.b.client.id),
            "form": {"name": "Hijacked", "billing_email": "h@acme.test", "currency": "usd"},
        },
    ),
    "ClientsState.archive": Case("/clients", args=lambda s: (str(s.b.client.id), True)),
    "ClientsState.open_invite": Case("/clients", args=lambda s: (str(s.b.client.id),)),
    "ClientsState.close_invite": Case("/clients", args=lambda s: (False,)),
    "ClientsState.send_invite": Case(
        "/clients",
        args=lambda s: ({"email": "mallory@acme.test", "name": "Mallory"},),
        prep=lambda s: {"invite_for": str(s.b.client.id)},
    ),
    "ClientDetailState.load": Case(CLIENT_PAGE, params=_client),
    "ClientDetailState.set_tab": Case(CLIENT_PAGE, params=_client, args=lambda s: ("billing",)),
    "ClientDetailState.enable_autopay": Case(CLIENT_PAGE, params=_client),
    "ClientDetailState.disable_autopay": Case(CLIENT_PAGE, params=_client),
    "ClientDetailState.set_retainer_open": Case(
        CLIENT_PAGE, params=_client, args=lambda s: (True,)
    ),
    "ClientDetailState.set_r_line": Case(
        CLIENT_PAGE, params=_client, args=lambda s: (0, "description", "Hijack")
    ),
    "ClientDetailState.add_r_line": Case(CLIENT_PAGE, params=_client),
    "ClientDetailState.set_r_field": Case(CLIENT_PAGE, params=_client, args=lambda s: ("day", "2")),
    "ClientDetailState.create_retainer": Case(
        CLIENT_PAGE,
        params=_client,
        prep=lambda s: {"r_lines": [LINE], "r_start": "2026-12-01", "r_day": "1"},
    ),
    "ClientDetailState.end_retainer": Case(
        CLIENT_PAGE, params=_client, args=lambda s: (str(s.b_retainer),)
    ),
    "InvoicesState.load": Case("/invoices"),
    "InvoicesState.set_search": Case("/invoices", args=lambda s: ("Buyer",)),
    "InvoicesState.set_status_filter": Case("/invoices", args=lambda s: ("paid",)),
    "InvoiceEditorState.load": Case(
        "/invoices/new", params=lambda s: {"client": str(s.b.client.id)}
    ),
    "InvoiceEditorState.set_client": Case("/invoices/new", args=lambda s: (str(s.b.client.id),)),
    "InvoiceEditorState.set_currency": Case("/invoices/new", args=lambda s: ("usd",)),
    "InvoiceEditorState.set_issue_date": Case("/invoices/new", args=lambda s: ("2026-11-01",)),
    "InvoiceEditorState.set_due_date": Case("/invoices/new", args=lambda s: ("2026-12-01",)),
    "InvoiceEditorState.set_notes": Case("/invoices/new", args=lambda s: ("Hijack",)),
    "InvoiceEditorState.set_line": Case(
        "/invoices/new", args=lambda s: (0, "description", "Hijack")
    ),
    "InvoiceEditorState.add_line": Case("/invoices/new"),
    "InvoiceEditorState.remove_line": Case("/invoices/new", args=lambda s: (0,)),
    "InvoiceEditorState.save": Case(
        "/invoices/new",
        prep=lambda s: {"client_id": str(s.b.client.id), "currency": "usd", "lines": [LINE]},
    ),
    "InvoiceDetailState.load": Case(INVOICE_PAGE, params=_invoice),
    "InvoiceDetailState.send": Case(
        INVOICE_PAGE, params=lambda s: {"invoice_id": str(s.b.draft.id)}
    ),
    "InvoiceDetailState.void": Case(INVOICE_PAGE, params=_invoice),
    "InvoiceDetailState.set_manual_open": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: (True,)
    ),
    "InvoiceDetailState.mark_paid": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: ({"note": "Cash"},)
    ),
    "InvoiceDetailState.refund_overpayment": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: ("1",)
    ),
    "PaymentsState.load": Case("/payments"),
    "PaymentsState.set_client_filter": Case("/payments", args=lambda s: (str(s.b.client.id),)),
    "PaymentsState.set_status_filter": Case("/payments", args=lambda s: ("succeeded",)),
    "PaymentsState.set_mode_filter": Case("/payments", args=lambda s: ("test",)),
    "EmailsState.load": Case("/emails"),
    "TeamState.load": Case("/settings/team"),
    "TeamState.set_invite_open": Case("/settings/team", args=lambda s: (True,)),
    "TeamState.send_invite": Case(
        "/settings/team",
        args=lambda s: ({"email": "mallory@acme.test", "role": "admin", "name": "Mallory"},),
    ),
    "TeamState.change_role": Case("/settings/team", args=lambda s: (str(s.w.b.member.id), "admin")),
    "TeamState.remove": Case("/settings/team", args=lambda s: (str(s.w.b.member.id),)),
    "TeamState.remove_contact": Case(
        "/settings/team", args=lambda s: (str(s.w.b_books.portal.id),)
    ),
    "IntegrationsState.load": Case("/settings/integrations"),
    "IntegrationsState.set_form_mode": Case("/settings/integrations", args=lambda s: ("live",)),
    "IntegrationsState.save_keys": Case(
        "/settings/integrations",
        args=lambda s: (
            {"publishable_key": "pk_test_" + "x" * 24, "secret_key": "sk_test_" + "x" * 24},
        ),
    ),
    "IntegrationsState.save_webhook_secret": Case(
        "/settings/integrations", args=lambda s: ({"signing_secret": "whsec_" + "x" * 24},)
    ),
    "IntegrationsState.register_webhook": Case("/settings/integrations"),
    "IntegrationsState.use_mode": Case("/settings/integrations", args=lambda s: ("test",)),
    "IntegrationsState.disconnect": Case("/settings/integrations"),
    "IntegrationsState.check": Case("/settings/integrations"),
    "IntegrationsState.connect_with_stripe": Case("/settings/integrations"),
    "IntegrationsState.create_stripe_account": Case("/settings/integrations"),
    "IntegrationsState.toggle_not_applied": Case("/settings/integrations"),
    "WorkspaceState.load": Case("/settings/workspace"),
    "WorkspaceState.set_new_slug": Case("/settings/workspace", args=lambda s: ("moved-away",)),
    "WorkspaceState.change": Case("/settings/workspace", prep=lambda s: {"new_slug": "moved-away"}),
    "FinanceState.load": Case("/settings/finance"),
    "FinanceState.set_currency": Case("/settings/finance", args=lambda s: ("usd",)),
    "FinanceState.toggle_method": Case("/settings/finance", args=lambda s: ("sepa_debit", True)),
    "FinanceState.set_receipts": Case("/settings/finance", args=lambda s: (False,)),
    "FinanceState.set_method_source": Case("/settings/finance", args=lambda s: ("dashboard",)),
    "FinanceState.set_retry_day": Case("/settings/finance", args=lambda s: (0, "2")),
    "FinanceState.add_retry": Case("/settings/finance"),
    "FinanceState.remove_retry": Case("/settings/finance", args=lambda s: (0,)),
    "FinanceState.set_notice_days": Case("/settings/finance", args=lambda s: ("5",)),
    "FinanceState.set_partial": Case("/settings/finance", args=lambda s: (True,)),
    "FinanceState.set_partial_minimum": Case("/settings/finance", args=lambda s: ("5",)),
    "FinanceState.save": Case("/settings/finance"),
    # the invoice page's payment terms card (ui/states/payment_terms.py)
    "PaymentTermsState.load": Case(INVOICE_PAGE, params=_invoice),
    "PaymentTermsState.set_allow_partial": Case(INVOICE_PAGE, args=lambda s: (True,)),
    "PaymentTermsState.set_minimum": Case(INVOICE_PAGE, args=lambda s: ("1",)),
    "PaymentTermsState.set_deposit_kind": Case(INVOICE_PAGE, args=lambda s: ("percent",)),
    "PaymentTermsState.set_deposit": Case(INVOICE_PAGE, args=lambda s: ("90",)),
    "PaymentTermsState.save_terms": Case(
        INVOICE_PAGE,
        params=lambda s: {"invoice_id": str(s.b.draft.id)},
        prep=lambda s: {"allow_partial": True, "deposit_kind": "percent", "deposit": "90"},
    ),
    # billing documents and reports (ui/states/billing_extras.py)
    "AgingState.load": Case("/dashboard"),
    "RemindersState.load": Case("/settings/finance"),
    "RemindersState.set_enabled": Case("/settings/finance", args=lambda s: (True,)),
    "RemindersState.set_on_due_date": Case("/settings/finance", args=lambda s: (False,)),
    "RemindersState.set_fee_kind": Case("/settings/finance", args=lambda s: ("percent",)),
    "RemindersState.set_fee_monthly": Case("/settings/finance", args=lambda s: (True,)),
    "RemindersState.save": Case(
        "/settings/finance",
        args=lambda s: (
            {
                "days_before": "1",
                "days_after": "1",
                "repeat_every": "1",
                "max_after": "1",
                "fee_percent": "2",
                "fee_fixed": "",
                "fee_after": "5",
                "fee_max": "1",
            },
        ),
        prep=lambda s: {"fee_kind": "percent", "enabled": True},
    ),
    "RemindersState.add_fee_currency": Case("/settings/finance", args=lambda s: ("eur",)),
    "LateFeesState.load": Case(INVOICE_PAGE, params=_invoice),
    # revising invoices (ui/states/drafts.py) and the workspace locale (ui/states/locale.py)
    "DraftEditState.load": Case(INVOICE_PAGE, params=lambda s: {**_invoice(s), "edit": "1"}),
    "DraftEditState.start_edit": Case(
        INVOICE_PAGE, params=lambda s: {"invoice_id": str(s.b.draft.id)}
    ),
    "DraftEditState.cancel_edit": Case(INVOICE_PAGE, params=_invoice),
    "DraftEditState.set_client": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: (str(s.b.client.id),)
    ),
    "DraftEditState.set_currency": Case(INVOICE_PAGE, params=_invoice, args=lambda s: ("usd",)),
    "DraftEditState.set_issue_date": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: ("2026-11-01",)
    ),
    "DraftEditState.set_due_date": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: ("2026-12-01",)
    ),
    "DraftEditState.set_notes": Case(INVOICE_PAGE, params=_invoice, args=lambda s: ("Hijack",)),
    "DraftEditState.set_line": Case(
        INVOICE_PAGE, params=_invoice, args=lambda s: (0, "description", "Hijack")
    ),
    "DraftEditState.add_line": Case(INVOICE_PAGE, params=_invoice),
    "DraftEditState.remove_line": Case(INVOICE_PAGE, params=_invoice, args=lambda s: (0,)),
    "DraftEditState.save_edit": Case(
        INVOICE_PAGE,
        params=lambda s: {"invoice_id": str(s.b.draft.id)},
        prep=lambda s: {
            "client_id": str(s.b.client.id),
            "currency": "usd",
            "issue_date": "2026-11-01",
            "due_date": "2026-12-01",
            "lines": [LINE],
        },
    ),
    "DraftEditState.void_and_duplicate": Case(INVOICE_PAGE, params=_invoice),
    "LocaleState.load": Case("/settings/workspace"),
    "LocaleState.choose_locale": Case("/settings/workspace", args=lambda s: ("de_DE",)),
    "ClientRemindersState.load": Case(CLIENT_PAGE, params=_client),
    "ClientRemindersState.set_reminders": Case(
        CLIENT_PAGE, params=_client, args=lambda s: (False,)
    ),
    "LateFeesState.waive": Case(INVOICE_PAGE, params=_invoice, args=lambda s: (str(_b_fee(s)),)),
    "AuditState.load": Case("/settings/audit"),
    # the Client Portal
    "PortalState.load": Case("/portal"),
    "PortalState.show_history": Case("/portal"),
    "PortalState.filter_history": Case(
        "/portal", args=lambda s: ({"search": s.b.open.number, "status": "open", "year": ""},)
    ),
    "PortalState.to_page": Case("/portal", args=lambda s: (2,)),
    "PortalState.to_payments_page": Case("/portal", args=lambda s: (2,)),
    "PortalState.pay": Case("/portal", args=lambda s: (str(s.b.open.id),)),
    "PortalProfileState.load": Case("/portal/profile"),
    "BrandingState.load": Case("/settings/branding"),
    "BrandingState.upload_logo": Case("/settings/branding", args=lambda s: ([],)),
    "BrandingState.drop_logo": Case("/settings/branding"),
    "BrandingState.save_accent": Case(
        "/settings/branding", args=lambda s: ({"accent": "#000000"},)
    ),
    "PortalProfileState.set_email_receipts": Case("/portal/profile", args=lambda s: (False,)),
    "PortalProfileState.set_email_reminders": Case("/portal/profile", args=lambda s: (False,)),
    "PortalProfileState.save": Case(
        "/portal/profile",
        args=lambda s: (
            {"billing_name": "Mallory", "line1": "1 Evil Way", "city": "X", "country": "US"},
        ),
    ),
    "PortalInvoiceState.load": Case(PORTAL_INVOICE, params=_invoice),
    "PortalInvoiceState.pay_now": Case(PORTAL_INVOICE, params=_invoice),
    "PortalInvoiceState.set_pay_choice": Case(PORTAL_INVOICE, args=lambda s: ("other",)),
    "PortalInvoiceState.set_pay_amount": Case(PORTAL_INVOICE, args=lambda s: ("1.00",)),
    "PaymentMethodsState.load": Case(
        "/portal/payment-methods", params=lambda s: {"session_id": s.b.checkout}
    ),
    "PaymentMethodsState.save_card": Case("/portal/payment-methods"),
    "PaymentMethodsState.remove": Case("/portal/payment-methods", args=lambda s: (str(s.b_card),)),
}

# Handlers swept elsewhere, with why.
NOT_HERE = {
    "IntegrationsState.refresh_readiness": "a background task started by load (which the "
    "sweep tries); it refreshes only the workspace load resolved for the caller",
    "IntegrationsState.refresh_readiness_now": "a background task started by load on the "
    "return from Stripe's onboarding; the same refresh as refresh_readiness, of the workspace "
    "load resolved for the caller",
    "InvoiceDetailState.follow": "a background task started by load; what it polls is "
    "invoice_version_for, refused across workspaces in tests/payments/test_day_one.py",
    "PortalInvoiceState.follow": "a background task started by load; what it polls is "
    "invoice_version_for, refused across workspaces in tests/payments/test_day_one.py",
    "PortalInvoiceState.watch_return": "a background task (needs the live backend): "
    "tests/e2e/test_isolation_sweep.py opens its page, /portal/invoices/[id]/return, across "
    "workspaces",
}
# Reflex's built-in setter: it sets a var of the caller's own state, which is what
# ``Case.prep`` plants (B's ids in editing_id, invite_for, client_id, ...) before a handler.
BUILTIN = "setvar"


def _path(route: str, params: dict[str, str]) -> str:
    path, query = route, []
    for key, value in params.items():
        if f"[{key}]" in path:
            path = path.replace(f"[{key}]", value)
        else:
            query.append(f"{key}={value}")
    return path + (f"?{'&'.join(query)}" if query else "")


def test_every_handler_is_swept() -> None:
    handlers = set(all_handlers())
    covered = set(CASES) | set(NOT_HERE) | {h for h in handlers if h.endswith(f".{BUILTIN}")}
    missing, stale = sorted(handlers - covered), sorted(covered - handlers)
    assert not missing, (
        f"handlers the sweep does not try across workspaces, add to CASES: {missing}"
    )
    assert not stale, f"CASES name handlers that no longer exist: {stale}"


def _run(s: Sweep, key: str, role: str, on_b_host: bool) -> Outcome:
    case = CASES[key]
    params = (case.on_b if (on_b_host and case.on_b) else case.params)(s)
    token = s.a_tokens[role]
    if key == "AppState.sign_out":  # ends the session it is given: give it a spare one
        user = {"admin": s.w.a.admin, "member": s.w.a.member, "client": s.w.a_books.portal}[role]
        with Session(_engine(), expire_on_commit=False) as db:
            token = start_session(db, db.get(User, user.id))  # type: ignore[arg-type]
            db.commit()
    return fire(
        key,
        host=B_HOST if on_b_host else A_HOST,
        route=case.route,
        path=_path(case.route, params),
        params=params,
        token=token,
        args=(case.args_on_b if (on_b_host and case.args_on_b) else case.args)(s),
        prep=case.prep(s),
    )


def _engine():  # type: ignore[no-untyped-def]
    from nextoria_hub.db import get_engine

    return get_engine()


def test_no_handler_reaches_another_workspace(sweep: Sweep) -> None:
    before = snapshot_of(sweep.w.b.id)
    leaks: list[str] = []
    errors: list[str] = []
    identities: list[str] = []
    runs = 0
    for key in CASES:
        for role in ("admin", "member", "client"):
            for on_b_host in (False, True):
                outcome = _run(sweep, key, role, on_b_host)
                runs += 1
                where = f"{key} as A's {role} on {'B' if on_b_host else 'A'}'s host"
                hit = B_MARKERS.search(outcome.visible_text())
                if hit:
                    text = outcome.visible_text()
                    leaks.append(f"{where}: …{text[max(0, hit.start() - 60) : hit.end() + 60]}…")
                if outcome.error:
                    errors.append(f"{where}: {outcome.error}")
                if on_b_host and outcome.role:
                    identities.append(f"{where}: signed in as {outcome.role}")
    assert runs == len(CASES) * 6
    assert not leaks, "B's data reached A's browser:\n" + "\n".join(leaks)
    assert not identities, "A's cookie was accepted on B:\n" + "\n".join(identities)
    assert not errors, "handlers failed (the browser gets a generic error):\n" + "\n".join(errors)
    after = snapshot_of(sweep.w.b.id)
    # The one thing B keeps of an attack on its host: the failed sign-ins, to throttle them.
    failures = after.pop("login_failure")
    assert failures[: len(before["login_failure"])] == before.pop("login_failure")
    assert {row[2] for row in failures} <= {sweep.w.a.admin.email}
    changed = [table for table in before if before[table] != after.get(table)]
    assert not changed, f"B's rows changed in: {changed}"


def test_a_client_gets_no_staff_view_of_their_own_invoice(sweep: Sweep) -> None:
    """/invoices/[id] is the staff page (timeline, payment details): its loader sends a
    client to the portal's view of the invoice and puts nothing of it in their state."""
    own = sweep.w.a_books.open  # an invoice of the client the portal login belongs to
    params = {"invoice_id": str(own.id)}
    path = _path(INVOICE_PAGE, params)

    def load(role: str) -> Outcome:
        return fire(
            "InvoiceDetailState.load",
            host=A_HOST,
            route=INVOICE_PAGE,
            path=path,
            params=params,
            token=sweep.a_tokens[role],
        )

    staff = load("admin")
    shown = next(v for k, v in staff.delta.items() if k.endswith("invoice_detail_state"))
    assert shown["found_rx_state_"] is True and shown["activity_rx_state_"]  # the staff see it

    client = load("client")
    assert not client.error
    assert any(f"/portal/invoices/{own.id}" in event for event in client.events)
    state = next((v for k, v in client.delta.items() if k.endswith("invoice_detail_state")), {})
    assert not state.get("found_rx_state_")
    assert not state.get("activity_rx_state_") and not state.get("payments_rx_state_")
    assert own.number not in client.visible_text()

    for action in ("send", "void"):  # nor can they act through its handlers
        acted = fire(
            f"InvoiceDetailState.{action}",
            host=A_HOST,
            route=INVOICE_PAGE,
            path=path,
            params=params,
            token=sweep.a_tokens["client"],
        )
        assert "You don't have access" in "\n".join(acted.events), acted.events
