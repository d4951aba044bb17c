"""The hosted pages a person (or Playwright) fills in: Checkout and the 3D Secure step.

Plain HTML with inline CSS and no scripts; forms post back to the server, which answers
with the page again (showing the error) or a 303 redirect.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .api import Ctx
from .errors import StripeError
from .ids import new_id
from .resources.checkout import expire_if_due, finish_authentication, pay
from .resources.payment_intents import authenticate
from .resources.payment_methods import new_card_pm
from .resources.setup_intents import authenticate_si
from .sandbox import Sandbox
from .store import Scope, private

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "inr": "₹"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f6f8fa;margin:0;
color:#1a1f36}
main{max-width:440px;margin:40px auto;background:#fff;border-radius:8px;padding:28px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:18px;margin:0 0 4px}.amount{font-size:30px;font-weight:600;margin:8px 0 18px}
label{display:block;font-size:13px;margin:12px 0 4px;color:#3c4257}
input{width:100%;box-sizing:border-box;padding:10px;border:1px solid #cfd7df;border-radius:6px;
font-size:15px}.row{display:flex;gap:12px}.row>div{flex:1}
button{width:100%;margin-top:20px;padding:12px;border:0;border-radius:6px;background:#635bff;
color:#fff;font-size:16px;cursor:pointer}button.secondary{background:#8792a2}
.error{background:#fde8e8;color:#a41c1c;padding:10px;border-radius:6px;margin:12px 0}
.items{font-size:14px;color:#4f566b;margin:0;padding:0;list-style:none}
.items li{display:flex;justify-content:space-between;padding:3px 0}
.note{font-size:12px;color:#697386;margin-top:18px}a{color:#635bff}
"""


def format_amount(amount: int | None, currency: str | None) -> str:
    """``$12.34``-style display; zero-decimal currencies have no cents."""
    if amount is None or not currency:
        return ""
    cur = currency.lower()
    value = f"{amount:,}" if cur in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = SYMBOLS.get(cur)
    return f"{symbol}{value}" if symbol else f"{value} {cur.upper()}"


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def _sb(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _session(request: Request) -> tuple[Ctx, dict[str, Any]] | None:
    sb = _sb(request)
    found = sb.store.locate(request.path_params["session"])
    if found is None or found[1].get("object") != "checkout.session":
        return None
    scope, session = found
    ctx = Ctx(sb, scope, str(request.base_url).rstrip("/"), new_id("req", 14))
    with sb.store.lock:
        return ctx, expire_if_due(ctx, session)


def _business(ctx: Ctx) -> str:
    return str(ctx.sb.store.accounts[ctx.scope.account]["name"])


def _closed(ctx: Ctx, session: dict[str, Any]) -> HTMLResponse | None:
    if session["status"] == "expired":
        return page(
            "Session expired",
            "<h1>This checkout session has expired.</h1>"
            f"<p>{html.escape(_business(ctx))} can send you a new payment link.</p>",
        )
    if session["status"] == "complete":
        return page(
            "Session complete",
            "<h1>This checkout session is already complete.</h1>"
            "<p>Thank you, your payment was received. Nothing more to do.</p>"
            if session["mode"] == "payment"
            else "<h1>This checkout session is already complete.</h1><p>Your card is saved.</p>",
        )
    return None


def _form(
    ctx: Ctx, session: dict[str, Any], error: str | None = None, values: dict | None = None
) -> HTMLResponse:
    values = values or {}
    esc = html.escape
    setup = session["mode"] == "setup"
    items = "".join(
        f"<li><span>{esc(str(i.get('description') or 'Item'))} × {i['quantity']}</span>"
        f"<span>{esc(format_amount(i['amount_total'], i['currency']))}</span></li>"
        for i in private(session).get("line_items", [])
    )
    amount = format_amount(session.get("amount_total"), session.get("currency"))
    heading = "Save a card for future payments" if setup else f"Pay {esc(_business(ctx))}"
    err = f"<div class='error' role='alert'>{esc(error)}</div>" if error else ""
    cancel = session.get("cancel_url")
    cancel_link = (
        f"<p class='note'><a href='{esc(cancel)}'>Cancel</a> and go back</p>" if cancel else ""
    )
    mode_note = (
        ""
        if session["livemode"]
        else "<p class='note'>Test mode: use a Stripe test card such as 4242 4242 4242 4242.</p>"
    )

    def field(label: str, name: str, auto: str, placeholder: str = "") -> str:
        return (
            f"<label for='{name}'>{label}</label><input id='{name}' name='{name}' "
            f"autocomplete='{auto}' placeholder='{placeholder}' "
            f"value='{esc(values.get(name, ''))}'>"
        )

    body = (
        f"<p class='business'>{esc(_business(ctx))}</p><h1>{heading}</h1>"
        + ("" if setup else f"<div class='amount' data-testid='amount'>{esc(amount)}</div>")
        + (f"<ul class='items'>{items}</ul>" if items else "")
        + err
        + f"<form method='post' action='/c/pay/{esc(session['id'])}'>"
        + field("Email", "email", "email", "you@example.com")
        + field("Card number", "cardnumber", "cc-number", "1234 1234 1234 1234")
        + "<div class='row'><div>"
        + field("Expiry (MM / YY)", "expiry", "cc-exp", "MM / YY")
        + "</div><div>"
        + field("CVC", "cvc", "cc-csc", "CVC")
        + "</div></div>"
        + field("Name on card", "name", "cc-name")
        + f"<button type='submit'>{'Save card' if setup else 'Pay'}</button></form>"
        + cancel_link
        + mode_note
    )
    return page(f"{_business(ctx)} – Checkout", body)


def _parse_expiry(raw: str) -> tuple[int, int]:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) not in (4, 6):
        raise StripeError(
            402,
            "card_error",
            "Your card's expiration date is incomplete.",
            code="incomplete_expiry",
        )
    month, year = int(digits[:2]), int(digits[2:])
    return month, year


def _success_url(session: dict[str, Any]) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])


async def checkout_page(request: Request) -> Response:
    found = _session(request)
    if found is None:
        return page("Not found", "<h1>This checkout session does not exist.</h1>", 404)
    ctx, session = found
    return _closed(ctx, session) or _form(ctx, session)


async def checkout_submit(request: Request) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}

    def work() -> Response:
        found = _session(request)
        if found is None:
            return page("Not found", "<h1>This checkout session does not exist.</h1>", 404)
        ctx, session = found
        with ctx.sb.store.lock:
            closed = _closed(ctx, session)
            if closed is not None:
                return closed
            if private(session).get("awaiting_auth"):
                return RedirectResponse(f"/c/pay/{session['id']}/authenticate", 303)
            number = values.get("cardnumber", "").replace(" ", "").replace("-", "")
            try:
                if not number:
                    raise StripeError(
                        402,
                        "card_error",
                        "Your card number is incomplete.",
                        code="incomplete_number",
                    )
                month, year = _parse_expiry(values.get("expiry", ""))
                if not values.get("cvc", "").strip().isdigit():
                    raise StripeError(
                        402,
                        "card_error",
                        "Your card's security code is incomplete.",
                        code="incomplete_cvc",
                    )
                pm = new_card_pm(
                    ctx,
                    number,
                    month,
                    year,
                    name=values.get("name") or None,
                    email=values.get("email") or None,
                )
                if values.get("email") and not session.get("customer_email"):
                    session["customer_email"] = values["email"]
                outcome = pay(ctx, session, pm, values.get("name") or None)
            except StripeError as exc:
                return _form(ctx, session, exc.message, values)
            if outcome == "action":
                private(session)["awaiting_auth"] = True
                ctx.save(session)
                return RedirectResponse(f"/c/pay/{session['id']}/authenticate", 303)
            return RedirectResponse(_success_url(session), 303)

    return await run_in_threadpool(work)


def _auth_page(action: str, business: str, amount: str) -> HTMLResponse:
    esc = html.escape
    body = (
        f"<p class='business'>{esc(business)}</p><h1>Authenticate this payment</h1>"
        f"<p>Your bank asks you to confirm {esc(amount) or 'this card'}. "
        "This is a test-mode 3D Secure page.</p>"
        f"<form method='post' action='{esc(action)}'>"
        "<button type='submit' name='outcome' value='complete'>Complete authentication</button>"
        "<button type='submit' name='outcome' value='fail' class='secondary'>"
        "Fail authentication</button>"
        "</form>"
    )
    return page("Authentication", body)


async def checkout_auth_page(request: Request) -> Response:
    found = _session(request)
    if found is None:
        return page("Not found", "<h1>This checkout session does not exist.</h1>", 404)
    ctx, session = found
    closed = _closed(ctx, session)
    if closed is not None:
        return closed
    if not private(session).get("awaiting_auth"):
        return RedirectResponse(f"/c/pay/{session['id']}", 303)
    amount = format_amount(session.get("amount_total"), session.get("currency"))
    return _auth_page(f"/c/pay/{session['id']}/authenticate", _business(ctx), amount)


async def checkout_auth_submit(request: Request) -> Response:
    form = await request.form()
    ok = form.get("outcome") == "complete"

    def work() -> Response:
        found = _session(request)
        if found is None:
            return page("Not found", "<h1>This checkout session does not exist.</h1>", 404)
        ctx, session = found
        with ctx.sb.store.lock:
            closed = _closed(ctx, session)
            if closed is not None:
                return closed
            if not private(session).pop("awaiting_auth", False):
                return RedirectResponse(f"/c/pay/{session['id']}", 303)
            ctx.save(session)
            message = finish_authentication(ctx, session, ok)
            if message is None:
                return RedirectResponse(_success_url(session), 303)
            return _form(ctx, session, message)

    return await run_in_threadpool(work)


def _intent(request: Request) -> tuple[Ctx, dict[str, Any]] | None:
    sb = _sb(request)
    found = sb.store.locate(request.path_params["intent"])
    if found is None or found[1].get("object") not in {"payment_intent", "setup_intent"}:
        return None
    scope: Scope = found[0]
    return Ctx(sb, scope, str(request.base_url).rstrip("/"), new_id("req", 14)), found[1]


async def intent_auth_page(request: Request) -> Response:
    found = _intent(request)
    if found is None:
        return page("Not found", "<h1>No such payment.</h1>", 404)
    ctx, intent = found
    if intent["status"] != "requires_action":
        return page("Nothing to do", "<h1>This payment does not need authentication.</h1>")
    amount = format_amount(intent.get("amount"), intent.get("currency"))
    return _auth_page(f"/_sandbox/authenticate/{intent['id']}", _business(ctx), amount)


async def intent_auth_submit(request: Request) -> Response:
    form = await request.form()
    ok = form.get("outcome") == "complete"

    def work() -> Response:
        found = _intent(request)
        if found is None:
            return page("Not found", "<h1>No such payment.</h1>", 404)
        ctx, intent = found
        with ctx.sb.store.lock:
            if intent["status"] != "requires_action":
                return page("Nothing to do", "<h1>This payment does not need authentication.</h1>")
            return_url = (
                (intent.get("next_action") or {}).get("redirect_to_url", {}).get("return_url")
            )
            if intent["object"] == "payment_intent":
                authenticate(ctx, intent, ok)
                query = {
                    "payment_intent": intent["id"],
                    "payment_intent_client_secret": intent["client_secret"],
                }
            else:
                authenticate_si(ctx, intent, ok)
                query = {
                    "setup_intent": intent["id"],
                    "setup_intent_client_secret": intent["client_secret"],
                }
        if return_url:
            sep = "&" if "?" in return_url else "?"
            return RedirectResponse(f"{return_url}{sep}{urlencode(query)}", 303)
        return page("Done", f"<h1>Authentication {'completed' if ok else 'failed'}.</h1>")

    return await run_in_threadpool(work)


def routes() -> list[Route]:
    return [
        Route("/c/pay/{session}", checkout_page, methods=["GET"]),
        Route("/c/pay/{session}", checkout_submit, methods=["POST"]),
        Route("/c/pay/{session}/authenticate", checkout_auth_page, methods=["GET"]),
        Route("/c/pay/{session}/authenticate", checkout_auth_submit, methods=["POST"]),
        Route("/_sandbox/authenticate/{intent}", intent_auth_page, methods=["GET"]),
        Route("/_sandbox/authenticate/{intent}", intent_auth_submit, methods=["POST"]),
    ]
