"""Issue 19's brand outside the portal: the workspace's logo and accent in the PDF invoices
and receipts and in the HTML emails (read back from the PDF and from what Resend received)."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session

from nextoria_hub.accounts import branding
from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.billing.pdf import PRODUCT_ACCENT, invoice_pdf
from nextoria_hub.models import Invoice
from nextoria_hub.notifications.delivery import deliver_pending
from nextoria_hub.notifications.outbox import DEFAULT_BRAND
from nextoria_hub.tenancy import Actor
from tests.factories import Tenant
from tests.resend_capture import ResendCapture

ACCENT = "#1f6feb"


def _logo(colour: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 100), colour).save(out, format="PNG")
    return out.getvalue()


def _brand(db: Session, admin: Actor) -> None:
    branding.set_logo(db, admin, _logo())
    branding.set_accent(db, admin, ACCENT)
    db.commit()


def _sent_invoice(db: Session, admin: Actor) -> Invoice:
    client = create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    invoice = inv.create_invoice(
        db,
        admin,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Brand strategy workshop", "2", "600.00")],
    )
    inv.send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    return invoice


def _images(data: bytes) -> list[Image.Image]:
    return [img.image for page in PdfReader(io.BytesIO(data)).pages for img in page.images]


def _fill_colours(data: bytes) -> set[tuple[float, float, float]]:
    """Every ``r g b rg`` (fill colour) in the PDF's page content, rounded to 2 decimals."""
    found = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        content = page.get_contents().get_data().decode("latin-1")  # type: ignore[union-attr]
        for r, g, b in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", content):
            found.add((round(float(r), 2), round(float(g), 2), round(float(b), 2)))
    return found


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(round(int(hex_colour[i : i + 2], 16) / 255, 2) for i in (1, 3, 5))  # type: ignore[return-value]


def test_unbranded_pdf_has_the_products_mark_and_no_image(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    invoice = _sent_invoice(db, admin)
    _, data = invoice_pdf(db, admin, invoice.id)  # type: ignore[arg-type]
    assert _images(data) == []
    assert _rgb(PRODUCT_ACCENT) in _fill_colours(data)


def test_invoice_and_receipt_pdfs_carry_the_workspace_logo_and_accent(
    db: Session, admin: Actor, acme: Tenant
) -> None:
    invoice = _sent_invoice(db, admin)
    _, before = invoice_pdf(db, admin, invoice.id)  # type: ignore[arg-type]
    _brand(db, admin)
    _, invoice_data = invoice_pdf(db, admin, invoice.id)  # type: ignore[arg-type]
    assert invoice_data != before  # a new brand is a new revision, not the cached file
    inv.mark_paid_manually(db, admin, invoice.id, "cheque")  # type: ignore[arg-type]
    db.commit()
    _, receipt_data = invoice_pdf(db, admin, invoice.id, receipt=True)  # type: ignore[arg-type]
    for data in (invoice_data, receipt_data):
        [logo] = _images(data)
        assert logo.size == (300, 100)
        assert logo.convert("RGB").getpixel((150, 50)) == (200, 30, 90)
        colours = _fill_colours(data)
        assert _rgb(ACCENT) in colours and _rgb(PRODUCT_ACCENT) not in colours


def test_emails_carry_the_logo_and_accent_and_the_attached_pdf_the_logo(
    db: Session, admin: Actor, acme: Tenant, resend_capture: ResendCapture
) -> None:
    _brand(db, admin)
    version = branding.get_branding(db, acme.id).version
    _sent_invoice(db, admin)
    deliver_pending()
    [sent] = [r for r in resend_capture.requests if r.body["to"] == ["ap@initech.test"]]
    html = sent.body["html"]
    logo = re.search(r'<img src="([^"]+)"', html)
    assert logo is not None
    assert logo.group(1).startswith("http") and "//acme." in logo.group(1)
    assert logo.group(1).endswith(f"/api/branding/logo.png?v={version}")
    assert f"background:{ACCENT}" in html  # the button
    assert DEFAULT_BRAND["brand_accent"] not in html
    [attachment] = sent.body["attachments"]
    assert len(_images(base64.b64decode(attachment["content"]))) == 1


def test_emails_of_an_unbranded_workspace_keep_the_products_look(
    db: Session, admin: Actor, acme: Tenant, resend_capture: ResendCapture
) -> None:
    _sent_invoice(db, admin)
    deliver_pending()
    [sent] = [r for r in resend_capture.requests if r.body["to"] == ["ap@initech.test"]]
    assert "<img" not in sent.body["html"]
    assert f"background:{DEFAULT_BRAND['brand_accent']}" in sent.body["html"]
