"""Exports and the aged-receivables report: CSV escaping, the pages' filters, test payments
left out of a live workspace's reports, aging buckets per client and currency, the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.exports import (
    INVOICE_COLUMNS,
    aged_receivables,
    aging_bucket,
    cell,
    invoice_rows,
    payment_rows,
    to_csv,
)
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.cli import app
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import AccessDenied
from nextoria_hub.models import Client, Invoice, Payment
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, quick_portal_user

TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946", "'+44 20 7946"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Initech", "Initech"),
        ("12.50", "12.50"),
        ("", ""),
        (None, ""),
    ],
)
def test_cells_that_look_like_formulas_are_escaped(raw, shown) -> None:
    assert cell(raw) == shown


def _client(db: Session, actor: Actor, name: str, currency: str = "usd") -> Client:
    c = create_client(
        db,
        actor,
        name=name,
        billing_email=f"ap-{re.sub(r'[^a-z]', '', name.lower())}@x.test",
        currency=currency,
    )
    db.commit()
    return c


def _open(db: Session, actor: Actor, client: Client, unit: str, due: date) -> Invoice:
    invoice = inv.create_invoice(
        db, actor, client_id=client.id, lines=[LineInput("Work", "1", unit)]
    )  # type: ignore[arg-type]
    inv.send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
    invoice.due_date = due
    db.add(invoice)
    db.commit()
    return invoice


def test_invoice_csv_uses_the_filters_and_neutralises_formulas(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    evil = _client(db, admin, '=HYPERLINK("http://evil.test","x")', "jpy")
    kuwait = _client(db, admin, "Gulf Trading", "kwd")
    a = _open(db, admin, evil, "120000", TODAY + timedelta(days=5))
    _open(db, admin, kuwait, "1.25", TODAY - timedelta(days=3))
    inv.mark_paid_manually(db, admin, a.id, "cash")  # type: ignore[arg-type]
    db.commit()

    rows = list(
        csv.DictReader(io.StringIO(to_csv(INVOICE_COLUMNS, invoice_rows(db, admin, TODAY))))
    )
    assert [r["number"] for r in rows] == ["INV-0002", "INV-0001"]
    assert rows[1]["client"].startswith("'=HYPERLINK")
    assert (rows[1]["currency"], rows[1]["total"], rows[1]["status"]) == ("JPY", "120000", "Paid")
    assert (rows[0]["total"], rows[0]["amount_due"], rows[0]["status"]) == (
        "1.250",
        "1.250",
        "Overdue",
    )
    paid = invoice_rows(db, admin, TODAY, status="paid")
    assert [r["number"] for r in paid] == ["INV-0001"]
    assert [r["number"] for r in invoice_rows(db, admin, TODAY, search="gulf")] == ["INV-0002"]
    assert [r["number"] for r in invoice_rows(db, admin, TODAY, client_id=kuwait.id)] == [
        "INV-0002"
    ]
    assert invoice_rows(db, admin, TODAY, since=utcnow().date() + timedelta(days=1)) == []


def _payment(db: Session, invoice: Invoice, mode: str, amount: int, status: str = "succeeded"):
    db.add(
        Payment(
            workspace_id=invoice.workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            client_id=invoice.client_id,
            status=status,
            kind="payment" if status != "failed" else "attempt-1",
            source="checkout",
            mode=mode,
            amount=amount,
            currency=invoice.currency,
            payment_intent_id=f"pi_{mode}_{amount}",
        )
    )
    db.commit()


def test_test_payments_stay_out_of_a_live_workspaces_export(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    client = _client(db, admin, "Initech")
    invoice = _open(db, admin, client, "10.00", TODAY)
    _payment(db, invoice, "test", 500)
    _payment(db, invoice, "live", 700)
    assert len(payment_rows(db, admin)) == 2  # a test-mode workspace sees its test payments
    finance = get_finance(db, acme.id)
    finance.stripe_mode = "live"
    db.add(finance)
    db.commit()
    rows = payment_rows(db, admin)
    assert [(r["mode"], r["amount"], r["invoice"]) for r in rows] == [("live", "7.00", "INV-0001")]
    assert [r["amount"] for r in payment_rows(db, admin, mode="test")] == ["5.00"]


def test_aging_buckets_edges() -> None:
    cases = {0: "current", -5: "current", 1: "1_30", 30: "1_30", 31: "31_60", 60: "31_60"}
    cases |= {61: "61_90", 90: "61_90", 91: "over_90", 400: "over_90"}
    for overdue, bucket in cases.items():
        assert aging_bucket(TODAY - timedelta(days=overdue), TODAY) == bucket, overdue


def test_aged_receivables_per_client_and_currency_with_totals(
    db: Session, admin: Actor, acme: Tenant, globex: Tenant
) -> None:
    initech = _client(db, admin, "Initech")
    hooli = _client(db, admin, "Hooli")
    yen = _client(db, admin, "Tokyo KK", "jpy")
    _open(db, admin, initech, "100.00", TODAY + timedelta(days=10))  # current
    _open(db, admin, initech, "50.00", TODAY - timedelta(days=45))  # 31–60
    _open(db, admin, hooli, "20.00", TODAY - timedelta(days=100))  # 90+
    _open(db, admin, yen, "5000", TODAY - timedelta(days=1))  # 1–30
    paid = _open(db, admin, hooli, "999.00", TODAY - timedelta(days=70))
    inv.mark_paid_manually(db, admin, paid.id, "cash")  # type: ignore[arg-type]
    void = _open(db, admin, hooli, "888.00", TODAY - timedelta(days=70))
    inv.void_invoice(db, admin, void.id, "no")  # type: ignore[arg-type]
    other = Actor.of(globex.admin)
    theirs = _client(db, other, "Elsewhere")
    _open(db, other, theirs, "777.00", TODAY - timedelta(days=70))

    table = [(r.currency, r.client, r.buckets, r.total) for r in aged_receivables(db, admin, TODAY)]
    zero = dict.fromkeys(["current", "1_30", "31_60", "61_90", "over_90"], 0)
    assert table == [
        ("jpy", "Tokyo KK", zero | {"1_30": 5000}, 5000),
        ("jpy", "Total", zero | {"1_30": 5000}, 5000),
        ("usd", "Hooli", zero | {"over_90": 2000}, 2000),
        ("usd", "Initech", zero | {"current": 10000, "31_60": 5000}, 15000),
        ("usd", "Total", zero | {"current": 10000, "31_60": 5000, "over_90": 2000}, 17000),
    ]


def test_reports_are_for_staff_only(db: Session, admin: Actor, acme: Tenant) -> None:
    client = _client(db, admin, "Initech")
    portal = Actor.of(quick_portal_user(db, client, "pay@initech.test"))
    for call in (
        lambda: invoice_rows(db, portal, TODAY),
        lambda: payment_rows(db, portal),
        lambda: aged_receivables(db, portal, TODAY),
    ):
        with pytest.raises(AccessDenied):
            call()


def test_cli_exports_csv_and_json(db: Session, admin: Actor, acme: Tenant) -> None:
    client = _client(db, admin, "@Initech")
    invoice = _open(db, admin, client, "10.00", TODAY)
    _payment(db, invoice, "test", 1000)
    runner = CliRunner()
    result = runner.invoke(app, ["export", "invoices", "--workspace", "acme"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["number"], r["client"], r["total"]) for r in rows] == [
        ("INV-0001", "'@Initech", "10.00")
    ]
    result = runner.invoke(
        app,
        ["export", "payments", "--workspace", "acme", "--format", "json", "--since", "2000-01-01"],
    )
    assert result.exit_code == 0, result.output
    [payment] = json.loads(result.stdout)
    assert (payment["invoice"], payment["amount"], payment["client"]) == (
        "INV-0001",
        "10.00",
        "@Initech",
    )
    future = (utcnow().date() + timedelta(days=2)).isoformat()
    result = runner.invoke(app, ["export", "payments", "--workspace", "acme", "--since", future])
    assert result.stdout.splitlines()[1:] == []
    result = runner.invoke(app, ["export", "invoices", "--workspace", "acme", "--since", "May 1"])
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output


def test_export_route_is_for_staff_of_this_workspace_with_the_filters(
    db: Session, admin: Actor, acme: Tenant, globex: Tenant
) -> None:
    from starlette.testclient import TestClient

    from nextoria_hub.accounts.sessions import start_session
    from nextoria_hub.api.routes import build_api
    from nextoria_hub.api.session_cookie import SESSION_COOKIE

    initech = _client(db, admin, "+Initech")
    hooli = _client(db, admin, "Hooli")
    _open(db, admin, initech, "10.00", TODAY)
    _open(db, admin, hooli, "20.00", TODAY)
    portal = quick_portal_user(db, initech, "pay@initech.test")
    tokens = {
        who: start_session(db, user)
        for who, user in (
            ("admin", acme.admin),
            ("member", acme.member),
            ("client", portal),
            ("globex", globex.admin),
        )
    }
    db.commit()

    def get(who: str, path: str, host: str = "acme.localhost:3000"):
        with TestClient(build_api(), base_url=f"http://{host}") as web:
            if who:
                web.cookies.set(SESSION_COOKIE, tokens[who])
            return web.get(path)

    answer = get("member", "/api/exports/invoices.csv?status=all&search=hoo")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["number"], r["client"]) for r in rows] == [("INV-0002", "Hooli")]
    answer = get("admin", f"/api/exports/invoices.csv?client={initech.id}")
    assert [r["client"] for r in csv.DictReader(io.StringIO(answer.text))] == ["'+Initech"]
    answer = get("admin", "/api/exports/payments.csv?status=all&mode=all&client=all")
    assert answer.status_code == 200 and answer.text.startswith("created_at,")
    for who, host, path in [
        ("client", "acme.localhost:3000", "/api/exports/invoices.csv"),
        ("", "acme.localhost:3000", "/api/exports/invoices.csv"),
        ("globex", "acme.localhost:3000", "/api/exports/invoices.csv"),
        ("admin", "globex.localhost:3000", "/api/exports/payments.csv"),
        ("admin", "acme.localhost:3000", "/api/exports/clients.csv"),
        ("admin", "acme.localhost:3000", "/api/exports/invoices.csv?status=bogus"),
    ]:
        assert get(who, path, host).status_code == 404, (who, host, path)
