"""Connect OAuth for Standard accounts: the authorize page, ``/oauth/token``, ``/oauth/deauthorize``.

Stripe serves these at connect.stripe.com; the sandbox serves them on its own address (point
stripe-python's ``connect`` base there). Shapes follow Stripe's OAuth reference: the token
answer carries ``stripe_user_id``, ``livemode``, ``scope`` (and the connected account's
keys, which a platform should not keep); errors are ``{"error", "error_description"}``.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .errors import StripeError
from .events import emit
from .forms import parse_params
from .hosted import page
from .sandbox import Sandbox
from .store import Scope

CODE_TTL = 300  # Stripe's authorization codes expire after five minutes and work once
SCOPES = ("read_write", "read_only")
_TOKEN_PARAMS = {"grant_type", "code", "refresh_token", "scope", "assert_capabilities"}
_DEAUTH_PARAMS = {"client_id", "stripe_user_id"}

_codes: dict[str, dict[str, Any]] = {}
_codes_lock = threading.Lock()


def _sb(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def platform_by_client_id(sb: Sandbox, client_id: str | None) -> dict[str, Any] | None:
    for acct in sb.store.accounts.values():
        if client_id and acct.get("client_id") == client_id:
            return acct
    return None


def _with_query(url: str, query: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _authorize_params(request: Request, form: dict[str, Any]) -> dict[str, str]:
    keys = ("client_id", "response_type", "scope", "state", "redirect_uri")
    src = {**dict(request.query_params), **form}
    return {k: str(src[k]) for k in keys if src.get(k) is not None}


async def authorize_page(request: Request) -> Response:
    """Stripe's consent page: pick an account (or create one), then approve or deny."""
    sb = _sb(request)
    q = _authorize_params(request, {})
    platform = platform_by_client_id(sb, q.get("client_id"))
    if platform is None:
        return page(
            "Error", "<h1>Invalid client_id</h1><p class='error'>No such platform.</p>", 400
        )
    if q.get("response_type", "code") != "code" or q.get("scope", "read_write") not in SCOPES:
        return page("Error", "<h1>Invalid request</h1>", 400)
    options = "".join(
        f"<label><input type='radio' name='account' value='{html.escape(a['id'])}'> "
        f"{html.escape(a['name'])} ({html.escape(a['id'])})</label><br>"
        for a in sb.store.accounts.values()
        if not a.get("client_id")
    )
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{html.escape(v)}'>" for k, v in q.items()
    )
    body = (
        f"<h1>Connect to {html.escape(platform['name'])}</h1>"
        f"<form method='post'>{hidden}{options}"
        "<label><input type='radio' name='account' value='new' checked> Create a new account: "
        "<input name='new_name' placeholder='Business name' aria-label='Business name'></label>"
        "<button name='action' value='approve'>Connect my Stripe account</button>"
        "<button class='secondary' name='action' value='deny'>Deny</button></form>"
    )
    return page("Connect with Stripe", body)


async def authorize_submit(request: Request) -> Response:
    sb = _sb(request)
    form = parse_params((await request.body()).decode())
    q = _authorize_params(request, form)
    platform = platform_by_client_id(sb, q.get("client_id"))
    redirect = q.get("redirect_uri", "")
    if platform is None or not redirect.startswith(("http://", "https://")):
        return page("Error", "<h1>Invalid request</h1>", 400)
    state = {"state": q["state"]} if "state" in q else {}
    if form.get("action") != "approve":
        error = {"error": "access_denied", "error_description": "The user denied your request"}
        return RedirectResponse(_with_query(redirect, {**error, **state}), status_code=303)
    choice = str(form.get("account") or "new")
    if choice == "new":
        name = str(form.get("new_name") or "").strip() or "New Standard account"
        acct_id = sb.create_account(name)["account_id"]
    elif choice in sb.store.accounts and not sb.store.accounts[choice].get("client_id"):
        acct_id = choice
    else:
        return page("Error", "<h1>No such account</h1>", 400)
    code = f"ac_{secrets.token_urlsafe(24)}"
    with _codes_lock:
        _codes[code] = {
            "platform": platform["id"],
            "account": acct_id,
            "scope": q.get("scope", "read_write"),
            "created": time.time(),
        }
    answer = {"code": code, "scope": q.get("scope", "read_write"), **state}
    return RedirectResponse(_with_query(redirect, answer), status_code=303)


def _platform_key(request: Request) -> dict[str, Any]:
    sb = _sb(request)
    record = sb.authenticate(request.headers.get("authorization"))
    if record["kind"] != "secret":
        raise StripeError(401, "invalid_request_error", "Use your platform's secret key.")
    return record


async def token(request: Request) -> Response:
    """Exchange an authorization code (once, within five minutes) for the connection."""
    sb = _sb(request)
    try:
        record = _platform_key(request)
    except StripeError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    params = parse_params((await request.body()).decode())
    unknown = sorted(set(params) - _TOKEN_PARAMS)
    if unknown:
        return _oauth_error(400, "invalid_request", f"Received unknown parameter: {unknown[0]}")
    if params.get("grant_type") != "authorization_code":
        return _oauth_error(400, "unsupported_grant_type", "Only authorization_code is emulated.")
    code = str(params.get("code") or "")
    with _codes_lock:
        grant = _codes.pop(code, None)
    fresh = grant is not None and time.time() - grant["created"] <= CODE_TTL
    if grant is None or not fresh or grant["platform"] != record["account"]:
        return _oauth_error(400, "invalid_grant", f"Authorization code does not exist: {code}")
    live = bool(record["livemode"])
    account = grant["account"]
    with sb.store.lock:
        acct = sb.store.accounts[account]
        acct.setdefault("applications", {})[record["account"]] = {"scope": grant["scope"]}
        sb.store.save_account(acct)
    mode = "live" if live else "test"
    keys = sb.account_keys(account)[mode]
    emit(sb, Scope(account, live), "account.application.authorized", _application(sb, record))
    return JSONResponse(
        {
            "access_token": keys.get("secret_key"),
            "livemode": live,
            "refresh_token": f"rt_{secrets.token_urlsafe(24)}",
            "token_type": "bearer",
            "stripe_publishable_key": keys.get("publishable_key"),
            "stripe_user_id": account,
            "scope": grant["scope"],
        }
    )


def _application(sb: Sandbox, record: dict[str, Any]) -> dict[str, Any]:
    platform = sb.store.accounts[record["account"]]
    return {"id": platform["client_id"], "object": "application", "name": platform["name"]}


def disconnect(sb: Sandbox, platform_id: str, account: str, livemode: bool) -> bool:
    """Remove the link and tell the platform's Connect endpoints (both sides can do this)."""
    with sb.store.lock:
        acct = sb.store.accounts.get(account)
        apps = (acct or {}).get("applications") or {}
        if acct is None or platform_id not in apps:
            return False
        del apps[platform_id]
        sb.store.save_account(acct)
    application = _application(sb, {"account": platform_id})
    emit(
        sb,
        Scope(account, livemode),
        "account.application.deauthorized",
        application,
        platforms=[platform_id],
    )
    return True


async def deauthorize(request: Request) -> Response:
    sb = _sb(request)
    try:
        record = _platform_key(request)
    except StripeError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    params = parse_params((await request.body()).decode())
    unknown = sorted(set(params) - _DEAUTH_PARAMS)
    if unknown:
        return _oauth_error(400, "invalid_request", f"Received unknown parameter: {unknown[0]}")
    platform = sb.store.accounts[record["account"]]
    if not platform.get("client_id") or params.get("client_id") != platform["client_id"]:
        return _oauth_error(
            400, "invalid_client", f"No such application: {params.get('client_id')}"
        )
    account = str(params.get("stripe_user_id") or "")
    if not disconnect(sb, record["account"], account, bool(record["livemode"])):
        return _oauth_error(
            400, "invalid_client", f"Stripe account {account} is not connected to your platform"
        )
    return JSONResponse({"stripe_user_id": account})


async def account_deauthorize(request: Request) -> Response:
    """Control: the connected account removes the platform from its own Dashboard."""
    sb = _sb(request)
    import json

    body = json.loads((await request.body()) or b"{}")
    account = request.path_params["account"]
    platform = str(body.get("platform") or "")
    if not disconnect(sb, platform, account, bool(body.get("livemode", False))):
        return JSONResponse({"error": {"message": "not connected"}}, status_code=404)
    return JSONResponse({"ok": True})


def routes() -> list[Route]:
    return [
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/authorize", authorize_submit, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/deauthorize", deauthorize, methods=["POST"]),
    ]


def control_routes() -> list[Route]:
    return [
        Route("/_sandbox/accounts/{account}/deauthorize", account_deauthorize, methods=["POST"]),
    ]
