"""Connect Onboarding for new accounts: ``POST /v1/accounts``, ``POST /v1/account_links`` and
the hosted onboarding page an account link opens.

As in Stripe (Accounts v1 on this API version): the platform creates the account with
``type=standard`` or the matching ``controller`` properties (never both); the account is
connected to the platform at once but cannot take charges until its details are submitted.
An account link is single-use and expires after 300 seconds; opening a used or expired link
sends the browser to ``refresh_url``. ``account_update`` links are refused for accounts with
the full Stripe Dashboard. Submitting the form makes the account ready and emits
``account.updated`` (which reaches the platform's Connect endpoints), then the browser goes
to ``return_url``; leaving without submitting changes nothing.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .api import Ctx, Params, route
from .errors import StripeError, invalid
from .events import emit
from .forms import parse_params
from .hosted import page
from .resources.account import account_object
from .sandbox import Sandbox
from .store import Scope

LINK_TTL = 300  # Stripe: an account link expires a few minutes after it is created
# What Stripe asks of a new US account before it may take charges (Standard, Stripe collects).
NEW_ACCOUNT_DUE = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
# Controller properties of a Standard account (Stripe's mapping of the legacy type).
STANDARD_CONTROLLER = {
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "full"},
}
TEST_ROUTING, TEST_ACCOUNT = "110000000", "000123456789"  # Stripe's US test bank account

_links: dict[str, dict[str, Any]] = {}
_links_lock = threading.Lock()


def _controller(p: Params) -> dict[str, Any]:
    """The account's controller: from ``type`` or ``controller``; Stripe refuses both."""
    kind = p.str("type")
    given = p.data.get("controller")
    if kind and given is not None:
        raise invalid(
            "You cannot specify both `type` and `controller` when creating an account.",
            param="controller",
        )
    if kind:
        if kind != "standard":
            raise invalid(
                f"The sandbox emulates Standard accounts only, not type={kind}.", param="type"
            )
        return {**STANDARD_CONTROLLER, "type": "account"}
    if given is None:
        return {**STANDARD_CONTROLLER, "type": "account"}  # Stripe's default is Standard too
    c = p.sub("controller")
    dashboard = c.sub("stripe_dashboard").str("type", default="full")
    collection = c.str("requirement_collection", default="stripe")
    losses = c.sub("losses").str("payments", default="stripe")
    payer = c.sub("fees").str("payer", default="account")
    if collection == "application" and dashboard != "none":
        raise invalid(
            "`controller[requirement_collection]=application` requires "
            "`controller[stripe_dashboard][type]=none`.",
            param="controller[requirement_collection]",
        )
    if (dashboard, collection, losses, payer) != ("full", "stripe", "stripe", "account"):
        raise invalid(
            "The sandbox emulates accounts with the full Stripe Dashboard only "
            "(controller[stripe_dashboard][type]=full, fees paid by the account, losses by "
            "Stripe, requirements collected by Stripe).",
            param="controller",
        )
    return {
        "fees": {"payer": payer},
        "losses": {"payments": losses},
        "requirement_collection": collection,
        "stripe_dashboard": {"type": dashboard},
        "type": "application",
    }


@route("POST", "/v1/accounts", "account")
def create_account(ctx: Ctx, p: Params) -> dict[str, Any]:
    """A new account connected to the calling platform, not yet able to take charges."""
    platform = ctx.sb.store.accounts[ctx.scope.account]
    if not platform.get("client_id"):
        raise StripeError(
            400,
            "invalid_request_error",
            "You can only create new accounts if you've signed up for Connect, which you can "
            "learn how to do at https://stripe.com/docs/connect.",
        )
    if ctx.key.get("account") != ctx.scope.account:
        raise invalid("A connected account cannot create accounts.")
    controller = _controller(p)
    name = p.sub("business_profile").str("name") or ""
    acct_id = ctx.sb.create_account(name)["account_id"]
    acct = ctx.sb.store.accounts[acct_id]
    acct.update(
        charges_enabled=False,
        details_submitted=False,
        payouts_enabled=False,
        currently_due=list(NEW_ACCOUNT_DUE),
        email=p.str("email"),
        country=p.str("country", default="US"),
        controller=controller,
        metadata=p.metadata(),
        applications={ctx.scope.account: {"scope": "read_write", "created_by_platform": True}},
    )
    ctx.sb.store.save_account(acct)
    return _object(acct)


def _object(acct: dict[str, Any]) -> dict[str, Any]:
    return account_object(acct)


@route("POST", "/v1/account_links", "account")
def create_account_link(ctx: Ctx, p: Params) -> dict[str, Any]:
    account = p.str("account", required=True) or ""
    kind = p.str("type", required=True)
    if not ctx.sb.is_connected(ctx.scope.account, account):
        raise StripeError(
            400,
            "invalid_request_error",
            f"The account '{account}' does not exist or is not connected to your platform.",
            param="account",
            code="account_invalid",
        )
    acct = ctx.sb.store.accounts[account]
    dashboard = ((acct.get("controller") or STANDARD_CONTROLLER)["stripe_dashboard"])["type"]
    if kind == "account_update" and dashboard != "none":
        raise invalid(
            "You cannot create `account_update` type Account Links for accounts that have "
            "access to a Stripe-hosted Dashboard.",
            param="type",
        )
    for name in ("refresh_url", "return_url"):
        url = p.str(name, required=True) or ""
        if not url.startswith(("http://", "https://")):
            raise invalid(f"Not a valid URL: {name}", param=name, code="url_invalid")
    now = ctx.now
    token = secrets.token_urlsafe(18)
    with _links_lock:
        _links[token] = {
            "account": account,
            "platform": ctx.scope.account,
            "livemode": ctx.livemode,
            "refresh_url": p.str("refresh_url"),
            "return_url": p.str("return_url"),
            "expires_at": now + LINK_TTL,
            "visited": False,
            "form": "",
        }
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + LINK_TTL,
        "url": f"{ctx.base_url}/setup/c/{account}/{token}",
    }


def _sb(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _form(link: dict[str, Any], acct: dict[str, Any], error: str = "") -> str:
    def field(name: str, label: str, value: str = "", hint: str = "") -> str:
        return (
            f"<label for='{name}'>{html.escape(label)}</label>"
            f"<input id='{name}' name='{name}' value='{html.escape(value)}' "
            f"placeholder='{html.escape(hint)}'>"
        )

    error_html = f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else ""
    return (
        "<h1>Set up your Stripe account</h1>"
        f"<p>{html.escape(acct['id'])} · {'live' if link['livemode'] else 'test'} mode</p>"
        f"{error_html}<form method='post'>"
        f"<input type='hidden' name='form' value='{html.escape(link['form'])}'>"
        + field("business_name", "Business name", acct.get("name") or "")
        + field("business_url", "Business website", "", "https://example.com")
        + field("first_name", "Representative first name")
        + field("last_name", "Representative last name")
        + field("routing_number", "Routing number", "", TEST_ROUTING)
        + field("account_number", "Account number", "", TEST_ACCOUNT)
        + "<button name='action' value='submit'>Agree and submit</button>"
        "<button class='secondary' name='action' value='leave'>Save and return later</button>"
        "</form><p style='font-size:12px'>By submitting you agree to the Stripe Services "
        "Agreement (sandbox).</p>"
    )


def _claim(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    token = request.path_params["token"]
    with _links_lock:
        link = _links.get(token)
    if link is None or link["account"] != request.path_params["account"]:
        return None, page("Error", "<h1>This link is not valid</h1>", 404)
    return link, None


async def onboarding_page(request: Request) -> Response:
    """Opening the link: once, before it expires; otherwise off to ``refresh_url``."""
    link, error = _claim(request)
    if link is None:
        return error  # type: ignore[return-value]
    with _links_lock:
        stale = link["visited"] or time.time() > link["expires_at"]
        link["visited"] = True
        if not stale:
            link["form"] = secrets.token_urlsafe(12)
    if stale:
        return RedirectResponse(link["refresh_url"], status_code=303)
    acct = _sb(request).store.accounts[link["account"]]
    return page("Set up your Stripe account", _form(link, acct))


async def onboarding_submit(request: Request) -> Response:
    sb = _sb(request)
    link, error = _claim(request)
    if link is None:
        return error  # type: ignore[return-value]
    form = parse_params((await request.body()).decode())
    if not link["form"] or form.get("form") != link["form"]:
        return RedirectResponse(link["refresh_url"], status_code=303)
    if form.get("action") != "submit":
        link["form"] = ""
        return RedirectResponse(link["return_url"], status_code=303)
    values = {k: str(form.get(k) or "").strip() for k in _FIELDS}
    acct = sb.store.accounts[link["account"]]
    missing = [label for k, label in _FIELDS.items() if not values[k]]
    problem = f"Required: {', '.join(missing)}." if missing else ""
    if not problem and (values["routing_number"], values["account_number"]) != (
        TEST_ROUTING,
        TEST_ACCOUNT,
    ):
        problem = f"Use the test bank account {TEST_ROUTING} / {TEST_ACCOUNT}."
    if problem:
        return page("Set up your Stripe account", _form(link, acct, problem), 400)
    link["form"] = ""
    scope = Scope(link["account"], link["livemode"])
    with sb.store.lock:
        before = _object(acct)
        acct.update(
            name=values["business_name"],
            url=values["business_url"],
            charges_enabled=True,
            details_submitted=True,
            payouts_enabled=True,
            currently_due=[],
        )
        sb.store.save_account(acct)
        after = _object(acct)
    previous = {
        "charges_enabled": before["charges_enabled"],
        "details_submitted": before["details_submitted"],
        "payouts_enabled": before["payouts_enabled"],
        "requirements": {"currently_due": before["requirements"]["currently_due"]},
    }
    emit(sb, scope, "account.updated", after, previous=previous)
    return RedirectResponse(link["return_url"], status_code=303)


_FIELDS = {
    "business_name": "Business name",
    "business_url": "Business website",
    "first_name": "Representative first name",
    "last_name": "Representative last name",
    "routing_number": "Routing number",
    "account_number": "Account number",
}


def routes() -> list[Route]:
    return [
        Route("/setup/c/{account}/{token}", onboarding_page, methods=["GET"]),
        Route("/setup/c/{account}/{token}", onboarding_submit, methods=["POST"]),
    ]
