"""Fuzzing the webhook route: random bodies, signatures, content types, hosts, sizes and
methods never get a 5xx, and without a valid signature they change nothing.

The precise rule for what a rejected post leaves behind: a wrong method (405), a host that
names no workspace (404) or a body over 1 MiB (413) leave no row at all; a post to a
workspace without a ``Stripe-Signature`` of Stripe's shape (a ``t`` within the 300 s
tolerance and a 64-hex ``v1``) is junk: 400, counted in memory only, no row (so junk can
neither grow the table nor reset the "last signature failure" figure); a post with such a
header that fails the check (400) leaves exactly one ``webhook_delivery`` row, outcome
``bad_signature``, without event id or body (the health panel counts them). A validly
signed body, however malformed, is answered below 500 with one delivery row, and the
worker that applies it records it as applied or failed, never crashes.
Driven in-process through ASGI (fast), plus a few raw requests over real HTTP.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from nextoria_hub.api.routes import build_api, junk_posts
from nextoria_hub.models import (
    AuditEntry,
    CheckoutSession,
    InboxEvent,
    Invoice,
    InvoiceActivity,
    OutboxEmail,
    Payment,
    StripeEvent,
    WebhookDelivery,
)
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.webhook_handlers import handled_types
from nextoria_hub.payments.webhooks import MAX_BODY_BYTES
from nextoria_hub.tenancy import slug_from_host
from stripe_sandbox.testing import SandboxServer
from tests.faults.conftest import asgi_client
from tests.inbox import drain_inbox
from tests.payments.conftest import Shop, make_shop, sign

SLUG = "fuzz"
WHSEC = "whsec_fuzz_" + "0123456789abcdef" * 2
FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---- what the hub holds, before and after --------------------------------------------------


def _state(db: Session) -> tuple[Any, ...]:
    """Everything a webhook could change, short of the delivery log."""
    db.expire_all()
    counts = tuple(
        db.exec(select(func.count()).select_from(model)).one()
        for model in (Payment, StripeEvent, OutboxEmail, InvoiceActivity, AuditEntry)
    )
    invoices = db.exec(
        select(Invoice.id, Invoice.status, Invoice.amount_paid, Invoice.amount_refunded)
    ).all()
    sessions = db.exec(select(CheckoutSession.id, CheckoutSession.status)).all()
    return counts, sorted(invoices), sorted(sessions)


def _delivery_rows(db: Session, after_id: int = 0) -> list[WebhookDelivery]:
    db.expire_all()
    query = select(WebhookDelivery).where(WebhookDelivery.id > after_id)  # type: ignore[operator]
    return list(db.exec(query.order_by(WebhookDelivery.id)))  # type: ignore[arg-type]


def _last_row(db: Session) -> int:
    return int(db.exec(select(func.coalesce(func.max(WebhookDelivery.id), 0))).one())


@pytest.fixture
def fuzz_shop(db: Session, stripe_sandbox: SandboxServer, stripe_account: dict) -> Shop:
    """A connected workspace with a known test-mode webhook secret and two open invoices."""
    shop = make_shop(db, stripe_sandbox, stripe_account, 3000, SLUG, register=False)
    conn.set_webhook_secret(db, shop.admin, "test", WHSEC)
    db.commit()
    shop.invoice()
    shop.invoice()
    return shop


# ---- strategies ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
OBJECT_KEYS = [
    "id", "object", "metadata", "latest_charge", "payment_intent", "mode", "payment_status",
    "amount", "amount_received", "amount_total", "amount_refunded", "currency", "status",
    "setup_intent", "last_payment_error", "customer", "subscription", "amount_paid",
]  # fmt: skip


def event_like(invoice_ids: list[int], workspace_id: int) -> st.SearchStrategy[dict[str, Any]]:
    refs = st.sampled_from([str(i) for i in invoice_ids] + ["", "abc", "999999", "-1", "1e3"])
    metadata = st.fixed_dictionaries(
        {},
        optional={
            "nextoria_invoice_id": refs | json_values,
            "nextoria_workspace_id": st.sampled_from([str(workspace_id), "0", "x"]) | json_values,
            "nextoria_mode": st.sampled_from(["test", "live", ""]) | json_values,
            "nextoria_source": st.sampled_from(["checkout", "autopay", "stripe_invoice", ""]),
            "nextoria_purpose": st.sampled_from(["autopay_setup", ""]) | json_values,
        },
    )
    obj = st.dictionaries(
        st.sampled_from(OBJECT_KEYS), json_values | st.sampled_from(["pi_x", "ch_x", "paid"])
    ).flatmap(lambda d: st.one_of(st.just(d), metadata.map(lambda m: {**d, "metadata": m})))
    types = st.sampled_from([*handled_types(), "charge.succeeded", "unknown.event"])
    return st.fixed_dictionaries(
        {
            "id": st.one_of(st.text(max_size=20).map(lambda s: "evt_" + s), json_values),
            "type": types | json_values,
            "data": st.one_of(st.fixed_dictionaries({"object": obj}), json_values),
        },
        optional={
            "livemode": st.just(False) | json_values,
            "created": st.integers() | json_values,
            "object": st.just("event"),
        },
    )


def about_our_invoices(invoice_ids: list[int], workspace_id: int) -> st.SearchStrategy[bytes]:
    """Test-mode events of the handled types naming our invoices, their objects random: the
    handlers' own paths, fed what no Stripe would send."""
    metadata = st.fixed_dictionaries(
        {
            "nextoria_invoice_id": st.sampled_from([str(i) for i in invoice_ids]),
            "nextoria_workspace_id": st.just(str(workspace_id)),
        },
        optional={
            "nextoria_mode": st.just("test"),
            "nextoria_source": st.sampled_from(["checkout", "autopay", "stripe_invoice"]),
            "nextoria_purpose": st.just("autopay_setup"),
        },
    )
    values = json_values | st.sampled_from(["pi_x", "ch_x", "cs_x", "seti_x", "paid", "setup"])
    obj = st.tuples(st.dictionaries(st.sampled_from(OBJECT_KEYS), values), metadata).map(
        lambda t: {**t[0], "metadata": t[1]}
    )
    event = st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=12).map(lambda s: "evt_" + s)
            | st.text(min_size=250, max_size=300),
            "type": st.sampled_from(handled_types()) | st.text(min_size=119, max_size=130),
            "livemode": st.just(False),
            "data": st.fixed_dictionaries({"object": obj}),
        }
    )
    return event.map(lambda e: json.dumps(e).encode())


def bodies(invoice_ids: list[int], workspace_id: int) -> st.SearchStrategy[bytes]:
    deep = st.sampled_from([100, 999, 1_000, 5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n)
    sizes = st.sampled_from(
        [MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES]
    )
    huge = sizes.map(lambda n: b"x" * n)
    padded = st.tuples(event_like(invoice_ids, workspace_id), sizes).map(
        lambda t: _padded(t[0], t[1])
    )
    return st.one_of(
        st.just(b""),
        st.binary(max_size=2048),
        json_values.map(lambda v: json.dumps(v).encode()),
        event_like(invoice_ids, workspace_id).map(lambda v: json.dumps(v).encode()),
        st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
        deep,
        huge,
        padded,
    )


def _padded(event: dict[str, Any], size: int) -> bytes:
    raw = json.dumps({**event, "padding": ""}).encode()
    return json.dumps({**event, "padding": "p" * max(0, size - len(raw))}).encode()


WEIRD_HOSTS = [
    f"{SLUG}.localhost:3000",
    f"{SLUG.upper()}.LOCALHOST",
    f"{SLUG}.localhost.",
    f"{SLUG}.localhost:notaport",
    "nobody.localhost:3000",
    "localhost:3000",
    "localhost",
    "",
    "[::1]:3000",
    f"a.{SLUG}.localhost",
    f"{SLUG}.example.com",
    f"{SLUG}@evil.localhost",
    "127.0.0.1:3000",
    "xn--bcher-kva.localhost",
    "bücher.localhost",
    "x" * 10_000 + ".localhost",
    f"{'a' * 300}.localhost",
    f" {SLUG}.localhost ",
]
hosts = st.one_of(
    st.sampled_from(WEIRD_HOSTS),
    st.just(f"{SLUG}.localhost:3000"),
    st.text(max_size=60),
)
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "ünïcode/ẞ",
    "",
]
UNSIGNED = ["missing", "garbage", "wrong_secret", "expired", "other_body", "random_v1", "v0_only"]
# Shaped like Stripe's header (fresh t, a v1): a failure worth a row; the other kinds are junk.
WELL_FORMED = {"wrong_secret", "other_body", "random_v1"}


def _header_bytes(value: str) -> bytes:
    return value.replace("\r", "").replace("\n", "").replace("\x00", "").encode("utf-8", "replace")


def _signature(kind: str, body: bytes, data: st.DataObject | None = None) -> str | None:
    """A ``Stripe-Signature`` of the given kind; random parts drawn from ``data`` if given."""

    def pick(strategy: st.SearchStrategy[Any], fixed: Any) -> Any:
        return data.draw(strategy) if data is not None else fixed

    now = int(time.time())
    if kind == "missing":
        return None
    if kind == "garbage":
        return str(pick(st.text(max_size=200), "not a signature"))
    if kind == "wrong_secret":
        return sign(body, "whsec_" + secrets.token_hex(16))
    if kind == "expired":
        return sign(body, WHSEC, now - pick(st.integers(301, 10**9), 301))
    if kind == "other_body":
        other = pick(st.binary(max_size=64), b"{}")
        return sign(other if other != body else other + b" ", WHSEC)
    if kind == "random_v1":
        return f"t={now},v1={secrets.token_hex(32)}"
    if kind == "v0_only":  # the right MAC under a scheme Stripe does not verify
        return sign(body, WHSEC).replace("v1=", "v0=")
    raise ValueError(f"unknown signature kind {kind}")


def _headers(
    host: str, content_type: str | None, signature: str | None
) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", _header_bytes(host))]
    if content_type is not None:
        headers.append((b"content-type", _header_bytes(content_type)))
    if signature is not None:
        headers.append((b"stripe-signature", _header_bytes(signature)))
    return headers


def _known(host: str) -> bool:
    """Whether the route will find the workspace (Starlette decodes headers as latin-1)."""
    return slug_from_host(_header_bytes(host).decode("latin-1")) == SLUG


# ---- the fuzz tests ------------------------------------------------------------------------


def test_unsigned_posts_never_5xx_and_change_nothing(fuzz_shop: Shop) -> None:
    db = fuzz_shop.db
    ids = [i.id for i in db.exec(select(Invoice))]
    before = _state(db)
    seen: set[int] = set()
    home = f"{SLUG}.localhost:3000"
    small = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    fixed = [  # (method, host, body, signature kind): one of each answer, whatever is drawn
        ("POST", home, small, "missing"),
        ("POST", home, small, "expired"),
        ("POST", home, small, "random_v1"),
        ("POST", "nobody.localhost:3000", small, "garbage"),
        ("POST", "x" * 10_000 + ".localhost", small, "random_v1"),
        ("POST", home, b"x" * (MAX_BODY_BYTES + 1), "wrong_secret"),
        ("PUT", home, small, "other_body"),
    ]

    with asgi_client(build_api()) as request:

        def post_unsigned(
            method: str,
            host: str,
            body: bytes,
            content_type: str | None,
            signature: str | None,
            kind: str,
        ) -> None:
            last = _last_row(db)
            junk_before = junk_posts[fuzz_shop.tenant.id]
            resp = request(
                method,
                "/api/webhooks/stripe",
                content=body,
                headers=_headers(host, content_type, signature),
            )
            seen.add(resp.status_code)
            new_rows = _delivery_rows(db, last)
            if method != "POST":
                expected = 405
            elif not _known(host):
                expected = 404
            elif len(body) > MAX_BODY_BYTES:
                expected = 413
            else:
                expected = 400
            assert resp.status_code == expected, resp.text[:200]
            if expected == 400 and kind in WELL_FORMED:
                (row,) = new_rows
                assert (row.outcome, row.event_id, row.body) == ("bad_signature", "", "")
                assert row.workspace_id == fuzz_shop.tenant.id
            else:
                assert new_rows == []
            junk = expected == 400 and kind not in WELL_FORMED
            assert junk_posts[fuzz_shop.tenant.id] == junk_before + junk
            assert _state(db) == before

        for method, host, body, kind in fixed:
            signature = _signature(kind, body)
            post_unsigned(method, host, body, "application/json", signature, kind)

        @FUZZ
        @given(
            data=st.data(),
            body=bodies(ids, fuzz_shop.tenant.id),  # type: ignore[arg-type]
            host=hosts,
            content_type=st.sampled_from(CONTENT_TYPES),
            method=st.sampled_from(["POST"] * 6 + ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]),
            kind=st.sampled_from(UNSIGNED),
        )
        def check(
            data: st.DataObject,
            body: bytes,
            host: str,
            content_type: str | None,
            method: str,
            kind: str,
        ) -> None:
            signature = _signature(kind, body, data)
            post_unsigned(method, host, body, content_type, signature, kind)

        check()
    assert seen == {400, 404, 405, 413}, seen


def test_signed_malformed_bodies_never_5xx(fuzz_shop: Shop) -> None:
    db = fuzz_shop.db
    ids = [i.id for i in db.exec(select(Invoice))]
    ws = fuzz_shop.tenant.id
    outcomes: set[str] = set()

    def event(type_: str, obj: dict[str, Any], event_id: str = "evt_fixed") -> bytes:
        return json.dumps({"id": event_id, "type": type_, "data": {"object": obj}}).encode()

    ours = {"nextoria_invoice_id": str(ids[0]), "nextoria_workspace_id": str(ws)}
    fixed = [  # the shapes the fuzzer found, kept as cases
        b"[" * 5_000 + b"]" * 5_000,  # RecursionError while parsing: was a 500
        b"\x80",  # not UTF-8: cannot have been signed by Stripe
        event("payment_intent.succeeded", {"metadata": ours}, "evt_noid"),  # no id: was a 500
        event("payment_intent.payment_failed", {"metadata": ours, "amount": "zz"}, "evt_amt"),
        event("checkout.session.completed", {"metadata": "text"}, "evt_meta"),  # was a 500
        event("charge.refunded", {"id": "ch_1"}, "e" * 256),  # an id longer than Stripe's
        event("invoice.paid", {"id": "in_1"}, "evt_\x00"),  # NUL: PostgreSQL text refuses it
        event("charge.refunded", {"metadata": {"nextoria_invoice_id": "\x00"}}, "evt_nul"),
        # a PaymentIntent Stripe never created: asked of Stripe, unmatched, nothing settled
        event("payment_intent.succeeded", {"id": "pi_fuzz", "amount": 1, "metadata": ours}),
        event(  # a decline needs no confirmation: applied as a failed attempt
            "payment_intent.payment_failed",
            {"id": "pi_fuzz_declined", "amount": 1, "currency": "usd", "metadata": ours},
            "evt_declined",
        ),
    ]

    with asgi_client(build_api()) as request:

        def post_signed(body: bytes, content_type: str | None) -> None:
            last, before = _last_row(db), _state(db)
            resp = request(
                "POST",
                "/api/webhooks/stripe",
                content=body,
                headers=_headers(f"{SLUG}.localhost:3000", content_type, sign(body, WHSEC)),
            )
            assert resp.status_code < 500, resp.text[:300]
            new_rows = _delivery_rows(db, last)
            if len(body) > MAX_BODY_BYTES:
                assert resp.status_code == 413 and new_rows == []
                return
            (row,) = new_rows
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:  # Stripe signs UTF-8 JSON: anything else is unverifiable
                assert (resp.status_code, row.outcome) == (400, "bad_signature")
            else:
                assert row.outcome != "bad_signature"
            outcome = resp.json()["outcome"]
            outcomes.add(outcome)
            if resp.status_code == 400:  # refused as a whole: nothing of it was kept
                assert outcome in ("ignored", "bad_signature"), outcome
                assert row.outcome == outcome
                assert _state(db) == before
            drain_inbox()  # a worker applies or fails what was queued, never crashes

        for body in fixed:
            post_signed(body, "application/json")

        @FUZZ
        @given(
            body=st.booleans().flatmap(
                lambda ours: about_our_invoices(ids, ws) if ours else bodies(ids, ws)  # type: ignore[arg-type]
            ),
            content_type=st.sampled_from(CONTENT_TYPES),
        )
        def check(body: bytes, content_type: str | None) -> None:
            post_signed(body, content_type)

        check()
    assert {"ignored", "received", "bad_signature"} <= outcomes, outcomes
    db.expire_all()
    applied = {(r.status, r.result) for r in db.exec(select(InboxEvent))}
    assert {("failed", "error"), ("applied", "applied"), ("applied", "unmatched")} <= applied, (
        applied
    )
    assert {status for status, _ in applied} <= {"applied", "failed"}
    # the forged pi_fuzz was asked of Stripe and settled nothing
    assert not db.exec(select(Payment).where(Payment.status == "succeeded")).all()


# ---- a few over real HTTP ------------------------------------------------------------------


@pytest.fixture
def http_port() -> Iterator[int]:
    """``build_api()`` under uvicorn in a thread, for requests no client library would send."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_api(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield int(sock.getsockname()[1])
    server.should_exit = True
    thread.join(5)


def _raw(port: int, request: bytes, chunks: list[bytes] | None = None) -> int:
    """Send a hand-written HTTP/1.1 request; the status code (0 if the server hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(request)
        for chunk in chunks or []:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered early and closed
                break
        reply = b""
        while b"\r\n" not in reply:
            part = s.recv(4096)
            if not part:
                return 0
            reply += part
    return int(reply.split(b" ", 2)[1])


def test_raw_http_requests_never_5xx(fuzz_shop: Shop, http_port: int) -> None:
    db = fuzz_shop.db
    before, last = _state(db), _last_row(db)
    host = f"{SLUG}.localhost:{http_port}".encode()
    path = b"POST /api/webhooks/stripe HTTP/1.1\r\n"
    # declares two MiB, sends a little: refused from the header alone
    lying = path + b"Host: " + host + b"\r\nContent-Length: 2097152\r\n\r\n{}"
    assert _raw(http_port, lying) == 413
    # chunked, no length, over the cap: refused while streaming
    chunk = b"x" * 65536
    chunked = path + b"Host: " + host + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 20 + [b"0\r\n\r\n"]
    assert _raw(http_port, chunked, body) == 413
    # no Host at all (HTTP/1.0), and a Host of raw non-ASCII bytes
    assert (
        _raw(http_port, b"POST /api/webhooks/stripe HTTP/1.0\r\nContent-Length: 0\r\n\r\n") == 404
    )
    idn = path + "Host: bücher.localhost\r\n".encode() + b"Content-Length: 0\r\n\r\n"
    assert _raw(http_port, idn) in (400, 404)
    # a real client with junk for a signature: refused, nothing stored
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    url = f"http://127.0.0.1:{http_port}/api/webhooks/stripe"
    for junk in ("t=1,v1=00", f"t={int(time.time())},v1=00", "v1=" + "0" * 64, ""):
        resp = httpx.post(
            url,
            content=body,
            headers={"host": host.decode(), "stripe-signature": junk},
            trust_env=False,
            timeout=15,
        )
        assert resp.status_code == 400
    assert _delivery_rows(db, last) == []
    # Stripe's shape with the wrong secret (a rotated secret not re-entered): one row
    resp = httpx.post(
        url,
        content=body,
        headers={"host": host.decode(), "stripe-signature": _signature("wrong_secret", body)},  # type: ignore[dict-item]
        trust_env=False,
        timeout=15,
    )
    assert resp.status_code == 400
    assert [r.outcome for r in _delivery_rows(db, last)] == ["bad_signature"]
    assert _state(db) == before


def test_junk_does_not_move_the_signature_failure_figure(fuzz_shop: Shop) -> None:
    """Operators alert on the last signature failure: only Stripe-shaped posts may set it."""
    from nextoria_hub.webhooks_health import webhook_health

    db, ws = fuzz_shop.db, fuzz_shop.tenant.id
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    home = f"{SLUG}.localhost:3000"
    with asgi_client(build_api()) as request:
        failed = request(
            "POST",
            "/api/webhooks/stripe",
            content=body,
            headers=_headers(home, "application/json", _signature("wrong_secret", body)),
        )
        assert failed.status_code == 400
        db.expire_all()
        health = webhook_health(db, ws)
        assert health.signature_failures >= 1 and health.last_signature_failure
        junk_before = junk_posts[ws]
        for kind in ("missing", "garbage", "expired", "v0_only"):
            resp = request(
                "POST",
                "/api/webhooks/stripe",
                content=body,
                headers=_headers(home, "text/plain", _signature(kind, body)),
            )
            assert resp.status_code == 400
        db.expire_all()
        assert webhook_health(db, ws) == health
        assert junk_posts[ws] == junk_before + 4
