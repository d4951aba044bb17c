"""Builds the Reflex app: pages, the HTTP routes in front of it, the theme, the job scheduler."""

from __future__ import annotations

import reflex as rx
from starlette.routing import Mount
from starlette.types import ASGIApp

from nextoria_hub.api.routes import build_api
from nextoria_hub.jobs import scheduler_lifespan
from nextoria_hub.tenancy import origin_allowed
from nextoria_hub.ui.pages import auth, finance, integrations, portal, staff, team
from nextoria_hub.ui.states.emails import EmailsState
from nextoria_hub.ui.states.finance import AuditState, FinanceState
from nextoria_hub.ui.states.integrations import IntegrationsState
from nextoria_hub.ui.states.login import InviteState, LoginState, WelcomeState
from nextoria_hub.ui.states.session import AppState, HomeState
from nextoria_hub.ui.states.team import TeamState


def _with_api(reflex_asgi: ASGIApp) -> ASGIApp:
    """Put our routes in front of Reflex's and limit websocket origins to our domains."""
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = lambda origin, _environ=None: origin_allowed(origin)
    api = build_api()
    api.routes.append(Mount("/", app=reflex_asgi))
    return api


app = rx.App(api_transformer=_with_api, toaster=rx.toast.provider(position="top-right"))
# The scheduled jobs run in this process unless NEXTORIA_SCHEDULER=off (set it on web workers
# when several serve, and run one `nextoria scheduler` process instead).
app.register_lifespan_task(scheduler_lifespan)

_PAGES = [
    ("/", auth.index, "Nextoria Hub", HomeState.go_home),
    ("/login", auth.login, "Sign in", LoginState.load_login),
    ("/welcome", auth.welcome, "Welcome", WelcomeState.redeem),
    ("/invite", auth.invite, "Join workspace", InviteState.load_invite),
    ("/dashboard", staff.dashboard, "Dashboard", AppState.guard("staff")),
    ("/clients", staff.clients, "Clients", AppState.guard("staff")),
    ("/invoices", staff.invoices, "Invoices", AppState.guard("staff")),
    ("/payments", staff.payments, "Payments", AppState.guard("staff")),
    ("/emails", staff.emails, "Emails", [AppState.guard("admin"), EmailsState.load]),
    ("/settings/team", team.team_page, "Team", [AppState.guard("staff"), TeamState.load]),
    (
        "/settings/integrations",
        integrations.integrations_page,
        "Stripe",
        [AppState.guard("staff"), IntegrationsState.load],
    ),
    (
        "/settings/finance",
        finance.finance_page,
        "Finance",
        [AppState.guard("admin"), FinanceState.load],
    ),
    (
        "/settings/audit",
        finance.audit_page,
        "Audit log",
        [AppState.guard("admin"), AuditState.load],
    ),
    ("/portal", portal.portal_invoices, "Invoices", AppState.guard("client")),
    (
        "/portal/payment-methods",
        portal.portal_payment_methods,
        "Payment methods",
        AppState.guard("client"),
    ),
]

for route, component, title, on_load in _PAGES:
    app.add_page(component, route=route, title=f"{title} · Nextoria Hub", on_load=on_load)

__all__ = ["app"]
