"""The hosted pages a person (or Playwright) fills in: Checkout, 3D Secure and iDEAL's bank.

Checkout offers the session's ``payment_method_types`` that fit its currency: a card form,
and one form per bank method (ACH Direct Debit, SEPA Direct Debit, iDEAL).

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

from .api import Ctx, Params
from .errors import StripeError
from .ids import new_id
from .resources.checkout import expire_if_due, finish_authentication, offered_methods, pay
from .resources.payment_intents import authenticate
from .resources.payment_methods import new_bank_pm, new_card_pm
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


BANK_TITLES = {
    "us_bank_account": "US bank account (ACH Direct Debit)",
    "sepa_debit": "SEPA Direct Debit",
    "ideal": "iDEAL",
}
BANK_BUTTONS = {
    "us_bank_account": "US bank account",
    "sepa_debit": "SEPA Direct Debit",
    "ideal": "iDEAL",
}


def _bank_forms(ctx: Ctx, session: dict[str, Any], values: dict[str, str]) -> str:
    """One form per bank method the session offers (labels differ, so each is addressable)."""
    esc = html.escape
    setup = session["mode"] == "setup"
    business = esc(_business(ctx))
    out = []

    def field(label: str, name: str, auto: str = "off", placeholder: str = "") -> str:
        return (
            f"<label for='{name}'>{label}</label><input id='{name}' name='{name}' "
            f"autocomplete='{auto}' placeholder='{placeholder}' "
            f"value='{esc(values.get(name, ''))}'>"
        )

    for method in offered_methods(session):
        if method not in BANK_TITLES:
            continue
        verb = "Save" if setup else "Pay with"
        fields = ""
        mandate = ""
        if method == "us_bank_account":
            fields = (
                field("Account holder name", "ach_name", "name")
                + field("Routing number", "routing_number", placeholder="110000000")
                + field("Account number", "account_number", placeholder="000123456789")
            )
            mandate = (
                f"By continuing you authorise {business} to debit this account through ACH "
                "for this payment and, if you save it, for future payments."
            )
        elif method == "sepa_debit":
            fields = field("Name on the account", "sepa_name", "name") + field(
                "IBAN", "iban", placeholder="DE89 3704 0044 0532 0130 00"
            )
            mandate = (
                f"By providing your IBAN you authorise {business} and Stripe to send "
                "instructions to your bank to debit your account (SEPA Direct Debit mandate)."
            )
        elif method == "ideal":
            options = "".join(
                f"<option value='{b}'>{b.replace('_', ' ').title()}</option>"
                for b in ("ing", "abn_amro", "rabobank", "sns_bank", "asn_bank", "knab")
            )
            fields = f"<label for='ideal_bank'>Bank</label><select id='ideal_bank' name='ideal_bank'>{options}</select>"
            mandate = "You will be sent to your bank to authorise this payment."
        out.append(
            f"<form method='post' action='/c/pay/{esc(session['id'])}' "
            f"data-testid='method-{method}'><h2>{esc(BANK_TITLES[method])}</h2>"
            f"<input type='hidden' name='method' value='{method}'>"
            + fields
            + f"<p class='note'>{mandate}</p>"
            + f"<button type='submit'>{verb} {esc(BANK_BUTTONS[method])}</button></form>"
        )
    return "".join(out)


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

    methods = offered_methods(session)
    card_form = (
        f"<form method='post' action='/c/pay/{esc(session['id'])}' data-testid='method-card'>"
        + field("Email", "email", "email", "you@example.com")
        + field("Card number", "cardnumber", "cc-number", "1234 1234 1234 1234")
        + "<div class='row'><div>"
        + field("Expiry (MM / YY)", "expiry", "cc-exp", "MM / YY")
        + "</div><div>"
        + field("CVC", "cvc", "cc-csc", "CVC")
        + "</div></div>"
        + field("Name on card", "name", "cc-name")
        + f"<button type='submit'>{'Save card' if setup else 'Pay'}</button></form>"
        + "<p class='note' data-testid='wallets'>Apple Pay and Google Pay are cards: pay with "
        "the card in your wallet here.</p>"
        if "card" in methods
        else ""
    )
    body = (
        f"<p class='business'>{esc(_business(ctx))}</p><h1>{heading}</h1>"
        + ("" if setup else f"<div class='amount' data-testid='amount'>{esc(amount)}</div>")
        + (f"<ul class='items'>{items}</ul>" if items else "")
        + err
        + card_form
        + _bank_forms(ctx, session, values)
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


def _bank_submit(
    ctx: Ctx,
    session: dict[str, Any],
    method: str,
    values: dict[str, str],
    acceptance: dict[str, Any],
) -> Response:
    """Pay or set up with a bank method from its form (the mandate accepted online)."""
    details: dict[str, Any] = {}
    name = None
    if method == "us_bank_account":
        name = values.get("ach_name") or None
        details = {
            "routing_number": values.get("routing_number", "").strip(),
            "account_number": values.get("account_number", "").strip(),
        }
    elif method == "sepa_debit":
        name = values.get("sepa_name") or None
        details = {"iban": values.get("iban", "")}
    elif method == "ideal":
        details = {"bank": values.get("ideal_bank")} if values.get("ideal_bank") else {}
    acceptance = {**acceptance, "accepted_at": ctx.now}
    try:
        if method not in BANK_TITLES:
            raise StripeError(400, "invalid_request_error", f"Unknown payment method {method}.")
        if method in {"us_bank_account", "sepa_debit"} and not name:
            raise StripeError(400, "invalid_request_error", "Enter the account holder's name.")
        billing = {"name": name, "email": session.get("customer_email")}
        pm = new_bank_pm(ctx, method, Params(details, method), billing)
        outcome = pay(ctx, session, pm, name, acceptance)
    except StripeError as exc:
        return _form(ctx, session, exc.message, values)
    if outcome == "action":
        private(session)["awaiting_auth"] = method
        ctx.save(session)
        return RedirectResponse(f"/c/pay/{session['id']}/authenticate", 303)
    return RedirectResponse(_success_url(session), 303)


async def checkout_submit(request: Request) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    acceptance = {
        "accepted_at": None,
        "type": "online",
        "offline": None,
        "online": {
            "ip_address": request.client.host if request.client else "127.0.0.1",
            "user_agent": request.headers.get("user-agent", ""),
        },
    }

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
            method = values.get("method", "card")
            if method != "card":
                return _bank_submit(ctx, session, method, values, acceptance)
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


def _auth_page(action: str, business: str, amount: str, kind: str = "card") -> HTMLResponse:
    esc = html.escape
    if kind == "ideal":
        body = (
            f"<p class='business'>{esc(business)}</p><h1>iDEAL test bank</h1>"
            f"<p>Authorise {esc(amount) or 'this payment'} to {esc(business)}. "
            "This is a test-mode iDEAL page.</p>"
            f"<form method='post' action='{esc(action)}'>"
            "<button type='submit' name='outcome' value='complete'>Authorize test payment</button>"
            "<button type='submit' name='outcome' value='fail' class='secondary'>"
            "Fail test payment</button>"
            "</form>"
        )
        return page("iDEAL", body)
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
    kind = str(private(session).get("awaiting_auth"))
    return _auth_page(f"/c/pay/{session['id']}/authenticate", _business(ctx), amount, kind)


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
    pending = ctx.sb.store.get(ctx.scope, private(intent).get("pending_pm", "")) or {}
    kind = str(pending.get("type", "card"))
    return _auth_page(f"/_sandbox/authenticate/{intent['id']}", _business(ctx), amount, kind)


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
