"""PDF invoices and receipts: content read back from the PDF in 2/0/3-decimal currencies,
the revision cache, the download route's access rule, the CLI, and the email attachment."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import Session
from starlette.testclient import TestClient
from typer.testing import CliRunner

from nextoria_hub.accounts.sessions import start_session
from nextoria_hub.api.routes import build_api
from nextoria_hub.api.session_cookie import SESSION_COOKIE
from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.billing.pdf import cached_pdf, invoice_pdf
from nextoria_hub.cli import app
from nextoria_hub.errors import NotFound
from nextoria_hub.models import Client, Invoice
from nextoria_hub.notifications.delivery import deliver_pending
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant, quick_portal_user
from tests.resend_capture import ResendCapture


def text_of(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _client(db: Session, actor: Actor, name: str, currency: str) -> Client:
    client = create_client(
        db, actor, name=name, billing_email=f"ap@{name.lower()}.test", currency=currency
    )
    db.commit()
    return client


def _invoice(
    db: Session, actor: Actor, client: Client, unit: str, *, tax: str = "", send: bool = True
) -> Invoice:
    invoice = inv.create_invoice(
        db,
        actor,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Brand strategy workshop", "2", unit, tax)],
    )
    if send:
        inv.send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
    db.commit()
    return invoice


@pytest.mark.parametrize(
    ("currency", "unit", "tax", "expected"),
    [
        ("usd", "617.25", "20", ["$1,234.50", "$246.90", "$1,481.40"]),
        ("jpy", "60000", "", ["¥120,000"]),
        ("kwd", "0.625", "", ["KWD1.250"]),
    ],
)
def test_invoice_pdf_prints_number_client_and_totals_in_its_currency(
    db: Session, admin: Actor, acme: Tenant, currency, unit, tax, expected
) -> None:
    client = _client(db, admin, "Initech", currency)
    invoice = _invoice(db, admin, client, unit, tax=tax)
    filename, data = invoice_pdf(db, admin, invoice.id)  # type: ignore[arg-type]
    text = text_of(data)
    assert filename == "Invoice-INV-0001.pdf"
    for needle in ["INV-0001", "Initech", "ap@initech.test", "Acme", "Brand strategy workshop"]:
        assert needle in text
    for amount in expected:
        assert amount in text
    if currency == "jpy":
        assert "120,000.00" not in text and "¥120,000." not in text
    if currency == "kwd":
        assert "KWD1.25\n" not in text


def test_receipt_is_of_the_last_payment_and_refused_without_one(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    client = _client(db, admin, "Initech", "eur")
    invoice = _invoice(db, admin, client, "50.00")
    with pytest.raises(NotFound):
        invoice_pdf(db, admin, invoice.id, receipt=True)  # type: ignore[arg-type]
    inv.mark_paid_manually(db, admin, invoice.id, "bank transfer")  # type: ignore[arg-type]
    db.commit()
    filename, data = invoice_pdf(db, admin, invoice.id, receipt=True)  # type: ignore[arg-type]
    text = text_of(data)
    assert filename == "Receipt-INV-0001.pdf"
    assert "RECEIPT" in text and "INV-0001" in text and "Initech" in text
    assert "€100.00" in text and "€0.00" in text  # paid in full, nothing left


def test_the_cache_follows_the_invoice_revision(db: Session, admin: Actor, acme: Tenant) -> None:
    client = _client(db, admin, "Initech", "usd")
    invoice = _invoice(db, admin, client, "10.00")
    cache = get_settings().data_dir / "pdf" / str(acme.id)
    shutil.rmtree(cache, ignore_errors=True)  # earlier tests reuse these ids
    _name, first = cached_pdf(db, invoice)
    files = sorted(cache.glob(f"invoice-{invoice.id}-*.pdf"))
    assert len(files) == 1 and files[0].read_bytes() == first
    assert cached_pdf(db, invoice)[1] == first  # same revision: the same file
    inv.void_invoice(db, admin, invoice.id, "sent by mistake")  # type: ignore[arg-type]
    db.commit()
    _name, after = cached_pdf(db, invoice)
    assert "Void" in text_of(after)
    assert len(sorted(cache.glob(f"invoice-{invoice.id}-*.pdf"))) == 2


def _get(token: str, host: str, path: str):
    with TestClient(build_api(), base_url=f"http://{host}") as web:
        if token:
            web.cookies.set(SESSION_COOKIE, token)
        return web.get(path)


def test_download_route_checks_workspace_role_and_client(
    db: Session, admin: Actor, acme: Tenant, globex: Tenant
) -> None:
    ours = _client(db, admin, "Initech", "usd")
    other = _client(db, admin, "Hooli", "usd")
    invoice = _invoice(db, admin, ours, "10.00")
    theirs = _invoice(db, admin, other, "10.00")
    draft = _invoice(db, admin, ours, "10.00", send=False)
    portal = quick_portal_user(db, ours, "pay@initech.test", "Pay")
    tokens = {
        "admin": start_session(db, acme.admin),
        "member": start_session(db, acme.member),
        "client": start_session(db, portal),
        "globex": start_session(db, globex.admin),
    }
    db.commit()
    host = "acme.localhost:3000"
    path = f"/api/invoices/{invoice.id}/invoice.pdf"
    for who in ("admin", "member", "client"):
        answer = _get(tokens[who], host, path)
        assert answer.status_code == 200, who
        assert answer.headers["content-type"] == "application/pdf"
        assert 'filename="Invoice-INV-0001.pdf"' in answer.headers["content-disposition"]
        assert "INV-0001" in text_of(answer.content)
    refused = [
        ("client", host, f"/api/invoices/{theirs.id}/invoice.pdf"),  # another client's
        ("client", host, f"/api/invoices/{draft.id}/invoice.pdf"),  # a draft
        ("client", host, f"/api/invoices/{invoice.id}/receipt.pdf"),  # nothing paid yet
        ("", host, path),  # not signed in
        ("globex", host, path),  # a session of another workspace on this host
        ("globex", "globex.localhost:3000", path),  # another workspace's invoice id
        ("admin", "globex.localhost:3000", path),  # a token used on another host
        ("admin", host, "/api/invoices/999999/invoice.pdf"),
        ("admin", host, f"/api/invoices/{invoice.id}/other.pdf"),
    ]
    for who, at, url in refused:
        answer = _get(tokens.get(who, ""), at, url)
        assert answer.status_code == 404, (who, at, url)
        assert b"INV-" not in answer.content


_PDF_ARGS = ["invoice", "pdf", "--workspace", "acme", "--number", "INV-0001", "--out"]


def test_cli_writes_the_same_pdf(db: Session, admin: Actor, acme: Tenant, tmp_path: Path) -> None:
    client = _client(db, admin, "Initech", "jpy")
    invoice = _invoice(db, admin, client, "5000")
    out = tmp_path / "inv.pdf"
    result = CliRunner().invoke(
        app,
        ["invoice", "pdf", "--workspace", "acme", "--number", "inv-0001", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == cached_pdf(db, invoice)[1]
    assert "¥10,000" in text_of(out.read_bytes())
    result = CliRunner().invoke(
        app,
        [*_PDF_ARGS, str(out), "--receipt"],
    )
    assert result.exit_code == 1
    assert "no payment" in result.output
    inv.mark_paid_manually(db, admin, invoice.id, "cash")  # type: ignore[arg-type]
    db.commit()
    result = CliRunner().invoke(
        app,
        [*_PDF_ARGS, str(out), "--receipt"],
    )
    assert result.exit_code == 0, result.output
    assert "RECEIPT" in text_of(out.read_bytes())


def test_invoice_sent_email_carries_the_pdf(
    db: Session, admin: Actor, acme: Tenant, resend_capture: ResendCapture
) -> None:
    client = _client(db, admin, "Initech", "kwd")
    _invoice(db, admin, client, "1.5")
    deliver_pending()
    sent = [r for r in resend_capture.requests if r.body["to"] == ["ap@initech.test"]]
    assert len(sent) == 1
    [attachment] = sent[0].body["attachments"]
    assert attachment["filename"] == "Invoice-INV-0001.pdf"
    text = text_of(base64.b64decode(attachment["content"]))
    assert "KWD3.000" in text and "Initech" in text


def test_receipt_email_carries_the_receipt_of_the_last_payment(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    import json

    from nextoria_hub.billing.pdf import email_attachment

    client = _client(db, admin, "Initech", "usd")
    invoice = _invoice(db, admin, client, "20.00")
    context = json.dumps({"number": invoice.number, "amount": "$40.00"})
    assert email_attachment(acme.id, "payment_receipt", context) is None  # nothing paid yet
    inv.mark_paid_manually(db, admin, invoice.id, "cheque")  # type: ignore[arg-type]
    db.commit()
    got = email_attachment(acme.id, "payment_receipt", context)
    assert got is not None and got[0] == "Receipt-INV-0001.pdf"
    assert "RECEIPT" in text_of(got[1]) and "$40.00" in text_of(got[1])
    assert email_attachment(acme.id, "team_invite", context) is None
    assert email_attachment(None, "invoice_sent", context) is None


def test_each_part_has_its_own_receipt(db: Session, admin: Actor, acme: Tenant) -> None:
    """An invoice paid in parts: ``receipt.pdf?payment=ID`` prints that payment and the
    balance it left; a payment of another invoice answers 404."""
    from nextoria_hub.payments.settlement import settle_payment

    client = _client(db, admin, "Initech", "usd")
    invoice = _invoice(db, admin, client, "500.00")  # 1,000.00
    other = _invoice(db, admin, client, "10.00")
    ids = []
    for pi, amount in (("manual_part_1", 30000), ("manual_part_2", 70000)):
        settle_payment(
            db,
            workspace_id=invoice.workspace_id,
            invoice_id=invoice.id,  # type: ignore[arg-type]
            mode="manual",
            payment_intent={"id": pi, "amount": amount, "currency": "usd"},
            source="manual",
            note="Bank transfer",
        )
        db.commit()
        ids.append(max(p.id for p in inv.get_invoice_view(db, admin, invoice.id).payments))  # type: ignore[arg-type,type-var]
    token = start_session(db, acme.admin)
    db.commit()
    host = "acme.localhost:3000"
    first = _get(token, host, f"/api/invoices/{invoice.id}/receipt.pdf?payment={ids[0]}")
    assert first.status_code == 200
    assert 'filename="Receipt-INV-0001-1.pdf"' in first.headers["content-disposition"]
    text = text_of(first.content)
    assert "$300.00" in text and "$700.00" in text  # paid, and the balance it left
    last = text_of(_get(token, host, f"/api/invoices/{invoice.id}/receipt.pdf").content)
    assert "$700.00" in last and "$0.00" in last
    for bad in (f"{other.id}/receipt.pdf?payment={ids[0]}", f"{invoice.id}/receipt.pdf?payment=x"):
        assert _get(token, host, f"/api/invoices/{bad}").status_code == 404
