"""Builds the Reflex app: pages, the HTTP routes in front of it, the theme, the job scheduler."""

from __future__ import annotations

from pathlib import Path

import reflex as rx
from reflex.config import get_config
from starlette.routing import Mount
from starlette.types import ASGIApp

from nextoria_hub.api import session_cookie
from nextoria_hub.api.body_deadline import BodyDeadline
from nextoria_hub.api.moved import MovedAddressMiddleware
from nextoria_hub.api.page_paths import DirectoryPages
from nextoria_hub.api.routes import build_api
from nextoria_hub.api.security_headers import SecurityHeadersMiddleware
from nextoria_hub.jobs import scheduler_lifespan
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import origin_allowed
from nextoria_hub.ui.pages import (
    auth,
    branding_page,
    client_detail,
    clients,
    emails,
    finance,
    integrations,
    invoices,
    payments,
    portal,
    team,
    workspace,
)
from nextoria_hub.ui.states.branding import BrandingState
from nextoria_hub.ui.states.client_detail import ClientDetailState, PaymentMethodsState
from nextoria_hub.ui.states.clients import ClientsState
from nextoria_hub.ui.states.drafts import DraftEditState
from nextoria_hub.ui.states.emails import EmailsState
from nextoria_hub.ui.states.finance import AuditState, FinanceState
from nextoria_hub.ui.states.integrations import IntegrationsState
from nextoria_hub.ui.states.invoices import InvoiceDetailState, InvoiceEditorState, InvoicesState
from nextoria_hub.ui.states.login import InviteState, LoginState, WelcomeState
from nextoria_hub.ui.states.payments import DashboardState, PaymentsState
from nextoria_hub.ui.states.portal import PortalInvoiceState, PortalProfileState, PortalState
from nextoria_hub.ui.states.session import AppState, HomeState
from nextoria_hub.ui.states.team import TeamState
from nextoria_hub.ui.states.workspace import WorkspaceState
from nextoria_hub.workers import worker_lifespan


def _frontend_dir() -> Path:
    """Where the production build's pages are served from (their inline scripts get hashes)."""
    from reflex.constants import Dirs
    from reflex.utils.prerequisites import get_web_dir

    return (get_web_dir() / Dirs.STATIC / get_config().frontend_path.strip("/")).resolve()


def _with_api(reflex_asgi: ASGIApp) -> ASGIApp:
    """Put our routes in front of Reflex's, limit websocket origins to our domains, and add
    the security headers to every response (pages included)."""
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = lambda origin, _environ=None: origin_allowed(origin)
        sio = app.sio
        session_cookie.bind(
            lambda sid: (
                sio.get_environ(sid, app.event_namespace.namespace)  # type: ignore[union-attr]
                if app.event_namespace
                else None
            )
        )
    api = build_api()
    # The session cookie leaves the event socket's headers before Reflex copies them to state.
    api.routes.append(Mount("/", app=session_cookie.HandshakeCookie(reflex_asgi)))
    pages = DirectoryPages(BodyDeadline(api), _frontend_dir)
    return SecurityHeadersMiddleware(MovedAddressMiddleware(pages), _frontend_dir)


# Refuse to start in production without master keys (elsewhere one is generated once).
get_settings().master_keys()

app = rx.App(
    api_transformer=_with_api,
    toaster=rx.toast.provider(position="bottom-right", close_button=True),
    # Class-styled pieces (the portal's cards), bundled into the one global stylesheet.
    stylesheets=["/portal.css"],
)
# The scheduled jobs run in this process unless NEXTORIA_SCHEDULER=off (set it on web workers
# when several serve, and run one `nextoria scheduler` process instead).
app.register_lifespan_task(scheduler_lifespan)
# Inbox workers apply Stripe's webhooks in this process unless NEXTORIA_WORKERS=0 (set it on
# web workers when `nextoria worker` processes run).
app.register_lifespan_task(worker_lifespan)

_PAGES = [
    ("/", auth.index, "Nextoria Hub", HomeState.go_home),
    ("/login", auth.login, "Sign in", LoginState.load_login),
    ("/welcome", auth.welcome, "Welcome", WelcomeState.redeem),
    ("/invite", auth.invite, "Join workspace", InviteState.load_invite),
    ("/dashboard", payments.dashboard, "Dashboard", [AppState.guard("staff"), DashboardState.load]),
    ("/clients", clients.clients_page, "Clients", [AppState.guard("staff"), ClientsState.load]),
    (
        "/clients/[client_id]",
        client_detail.client_detail_page,
        "Client",
        [AppState.guard("staff"), ClientDetailState.load],
    ),
    (
        "/invoices",
        invoices.invoices_page,
        "Invoices",
        [AppState.guard("staff"), InvoicesState.load],
    ),
    (
        "/invoices/new",
        invoices.new_invoice_page,
        "New invoice",
        [AppState.guard("staff"), InvoiceEditorState.load],
    ),
    (
        "/invoices/[invoice_id]",
        invoices.invoice_detail_page,
        "Invoice",
        [AppState.guard("staff"), InvoiceDetailState.load, DraftEditState.load],
    ),
    (
        "/payments",
        payments.payments_page,
        "Payments",
        [AppState.guard("staff"), PaymentsState.load],
    ),
    ("/emails", emails.emails, "Emails", [AppState.guard("admin"), EmailsState.load]),
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
        "/settings/workspace",
        workspace.workspace_page,
        "Workspace",
        [AppState.guard("admin"), WorkspaceState.load],
    ),
    (
        "/settings/audit",
        finance.audit_page,
        "Audit log",
        [AppState.guard("admin"), AuditState.load],
    ),
    (
        "/settings/branding",
        branding_page.branding_page,
        "Branding",
        [AppState.guard("admin"), BrandingState.load],
    ),
    # The portal home checks access in its own loader: one event, one delta (docs/performance.md).
    ("/portal", portal.portal_invoices, "Invoices", [PortalState.load]),
    (
        "/portal/invoices/[invoice_id]",
        portal.portal_invoice,
        "Invoice",
        [AppState.guard("client"), PortalInvoiceState.load],
    ),
    (
        "/portal/invoices/[invoice_id]/return",
        portal.portal_return,
        "Payment",
        [AppState.guard("client"), PortalInvoiceState.watch_return],
    ),
    (
        "/portal/payment-methods",
        portal.portal_payment_methods,
        "Payment methods",
        [AppState.guard("client"), PaymentMethodsState.load],
    ),
    (
        "/portal/profile",
        portal.portal_profile,
        "Profile",
        [AppState.guard("client"), PortalProfileState.load],
    ),
]

for route, component, title, on_load in _PAGES:
    app.add_page(component, route=route, title=f"{title} · Nextoria Hub", on_load=on_load)

__all__ = ["app"]
