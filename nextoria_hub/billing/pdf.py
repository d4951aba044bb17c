"""PDF invoices and receipts (fpdf2, pure Python), cached on disk by invoice revision.

The PDF of an invoice depends only on what it prints, so its file is named by a hash of
that (``revision``): the first download after a change renders it (tens of milliseconds),
every later one, the email attachment and the CLI read the same file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from fpdf import FPDF
from PIL import Image
from sqlmodel import Session, col, select

from nextoria_hub.accounts.branding import get_branding, logo_png
from nextoria_hub.billing.invoices import display_status, get_invoice_view
from nextoria_hub.billing.locales import workspace_locale
from nextoria_hub.billing.money import format_money
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NotFound
from nextoria_hub.models import Client, Invoice, InvoiceLine, Payment, Workspace
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

_FONTS = Path(__file__).parent / "fonts"
# Payment rows that are money received (not a failed attempt, not a debit still in flight).
_NOT_RECEIVED = ("failed", "processing")
PRODUCT_ACCENT = "#4f46e5"


@dataclass(frozen=True)
class PdfLine:
    description: str
    quantity: str
    unit: str
    amount: str


@dataclass(frozen=True)
class PdfDocument:
    """Everything a PDF prints, already formatted: its hash is the cache key."""

    kind: str  # invoice | receipt
    title: str
    workspace_name: str
    number: str
    client_name: str
    client_email: str
    status: str
    dates: tuple[tuple[str, str], ...]
    lines: tuple[PdfLine, ...]
    totals: tuple[tuple[str, str], ...]
    notes: str
    filename: str
    # The workspace's brand (Settings → Branding): accent "#rrggbb" and logo PNG, or the product's.
    accent: str = PRODUCT_ACCENT
    logo: bytes = b""

    def revision(self) -> str:
        printed = {**self.__dict__, "logo": hashlib.sha256(self.logo).hexdigest()}
        raw = json.dumps(printed, default=lambda o: o.__dict__, sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _day(value: date, locale: str) -> str:
    return format_date(value, format="medium", locale=locale)


def received_payments(db: Session, invoice: Invoice) -> list[Payment]:
    return list(
        db.exec(
            select(Payment)
            .where(
                Payment.invoice_id == invoice.id,
                Payment.workspace_id == invoice.workspace_id,
                Payment.kind == "payment",
                col(Payment.status).not_in(_NOT_RECEIVED),
            )
            .order_by(col(Payment.created_at), col(Payment.id))
        )
    )


def _brand(db: Session, workspace_id: int) -> dict[str, Any]:
    brand = get_branding(db, workspace_id)
    logo = logo_png(db, workspace_id) if brand.has_logo else None
    return {"accent": brand.accent or PRODUCT_ACCENT, "logo": logo or b""}


def invoice_document(
    db: Session, invoice: Invoice, *, receipt: bool = False, payment_id: int | None = None
) -> PdfDocument:
    """The printed content of an invoice, or of the receipt of one payment (``payment_id``;
    by default its last): each part of an invoice paid in parts has its own receipt."""
    brand = _brand(db, invoice.workspace_id)
    workspace = db.get(Workspace, invoice.workspace_id)
    client = db.get(Client, invoice.client_id)
    assert workspace is not None and client is not None
    locale = workspace_locale(db, invoice.workspace_id)
    cur = invoice.currency

    def money(amount: int) -> str:
        return format_money(amount, cur, locale)

    lines = db.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id)
        .order_by(col(InvoiceLine.position), col(InvoiceLine.id))
    ).all()
    printed = tuple(
        PdfLine(line.description, line.quantity, money(line.unit_amount), money(line.amount))
        for line in lines
    )
    if receipt:
        payments = received_payments(db, invoice)
        if not payments:
            raise NotFound(f"Invoice {invoice.number} has no payment to give a receipt for.")
        chosen = [p for p in payments if payment_id is None or p.id == payment_id]
        if not chosen:
            raise NotFound(f"Invoice {invoice.number} has no such payment.")
        paid = chosen[-1]
        balance = invoice.amount_due if paid.balance_after is None else paid.balance_after
        nth = payments.index(paid) + 1
        method = paid.method_detail or paid.method_type or paid.source
        return PdfDocument(
            kind="receipt",
            title="Receipt",
            workspace_name=workspace.name,
            number=invoice.number,
            client_name=client.name,
            client_email=client.billing_email,
            status="Paid",
            dates=(
                ("Paid on", _day(paid.created_at.date(), locale)),
                ("Invoice date", _day(invoice.issue_date, locale)),
            ),
            lines=printed,
            totals=(
                ("Invoice total", money(invoice.total)),
                (f"Amount paid ({method})" if method else "Amount paid", money(paid.amount)),
                ("Balance", money(balance)),
            ),
            notes=f"Payment reference: {paid.payment_intent_id or paid.id}",
            filename=f"Receipt-{invoice.number}"
            + (f"-{nth}" if len(payments) > 1 else "")
            + ".pdf",
            **brand,
        )
    totals = [("Subtotal", money(invoice.subtotal))]
    if invoice.tax_total:
        totals.append(("Tax", money(invoice.tax_total)))
    totals.append(("Total", money(invoice.total)))
    if invoice.amount_paid:
        totals.append(("Paid", money(invoice.amount_paid)))
    totals.append(("Amount due", money(invoice.amount_due)))
    return PdfDocument(
        kind="invoice",
        title="Invoice",
        workspace_name=workspace.name,
        number=invoice.number,
        client_name=client.name,
        client_email=client.billing_email,
        status=display_status(invoice, utcnow().date()),
        dates=(
            ("Issued", _day(invoice.issue_date, locale)),
            ("Due", _day(invoice.due_date, locale)),
        ),
        lines=printed,
        totals=tuple(totals),
        notes=invoice.notes,
        filename=f"Invoice-{invoice.number}.pdf",
        **brand,
    )


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _logo(pdf: FPDF, doc: PdfDocument, x: float, y: float) -> float:
    """The workspace's logo (at most 12 mm high, 40 mm wide), else a mark in its accent
    with its initial; returns the width used."""
    if doc.logo:
        with Image.open(io.BytesIO(doc.logo)) as image:
            width, height = image.size
        h = min(12.0, 40.0 * height / width)
        w = h * width / height
        pdf.image(io.BytesIO(doc.logo), x=x, y=y, w=w, h=h)
        return w
    pdf.set_fill_color(*_rgb(doc.accent))
    pdf.rect(x, y, 12, 12, style="F", round_corners=True, corner_radius=2.5)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_xy(x, y + 1.5)
    pdf.cell(12, 9, (doc.workspace_name[:1] or "N").upper(), align="C")
    pdf.set_text_color(17, 24, 39)
    return 12.0


def render_pdf(doc: PdfDocument) -> bytes:
    """Lay out one A4 page (more if the lines need them)."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{doc.title} {doc.number}")
    pdf.set_author(doc.workspace_name)
    pdf.set_creator("Nextoria Hub")
    pdf.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    used = _logo(pdf, doc, pdf.l_margin, 14)
    pdf.set_xy(pdf.l_margin + used + 4, 15)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(width / 2 - used, 10, doc.workspace_name)
    pdf.set_xy(pdf.l_margin, 15)
    pdf.set_font("DejaVu", "B", 20)
    pdf.set_text_color(*_rgb(doc.accent))
    pdf.cell(width, 10, doc.title.upper(), align="R")
    pdf.set_text_color(17, 24, 39)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(pdf.l_margin, 26)
    pdf.cell(width, 6, f"{doc.title} {doc.number} · {doc.status}", align="R")
    pdf.set_fill_color(*_rgb(doc.accent))  # the brand's rule under the header
    pdf.rect(pdf.l_margin, 34, width, 0.8, style="F")
    pdf.ln(14)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(width / 2, 6, "Billed to")
    pdf.ln(6)
    pdf.set_font("DejaVu", "", 10)
    top = pdf.get_y()
    pdf.multi_cell(width / 2, 5, f"{doc.client_name}\n{doc.client_email}", align="L")
    pdf.set_xy(pdf.l_margin + width / 2, top)
    for label, value in doc.dates:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.cell(width / 4, 5, label, align="R")
        pdf.cell(width / 4, 5, value, align="R")
        pdf.ln(5)
    pdf.ln(8)
    cols = (width * 0.52, width * 0.12, width * 0.18, width * 0.18)
    pdf.set_fill_color(243, 244, 246)
    pdf.set_font("DejaVu", "B", 9)
    for head, w, align in zip(
        ("Description", "Qty", "Unit price", "Amount"), cols, "LRRR", strict=True
    ):
        pdf.cell(w, 8, head, align=align, fill=True)
    pdf.ln(8)
    pdf.set_font("DejaVu", "", 9)
    for line in doc.lines:
        y = pdf.get_y()
        pdf.multi_cell(cols[0], 6, line.description, align="L")
        end = pdf.get_y()
        pdf.set_xy(pdf.l_margin + cols[0], y)
        pdf.cell(cols[1], 6, line.quantity, align="R")
        pdf.cell(cols[2], 6, line.unit, align="R")
        pdf.cell(cols[3], 6, line.amount, align="R")
        pdf.set_y(max(end, y + 6))
        pdf.set_draw_color(229, 231, 235)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(4)
    for index, (label, value) in enumerate(doc.totals):
        last = index == len(doc.totals) - 1
        pdf.set_font("DejaVu", "B" if last else "", 11 if last else 10)
        pdf.set_x(pdf.l_margin + width * 0.5)
        pdf.cell(width * 0.3, 7, label, align="R")
        pdf.cell(width * 0.2, 7, value, align="R")
        pdf.ln(7)
    if doc.notes:
        pdf.ln(6)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(width, 5, doc.notes, align="L")
    return bytes(pdf.output())


def _cache_path(workspace_id: int, invoice_id: int, doc: PdfDocument) -> Path:
    return (
        get_settings().data_dir
        / "pdf"
        / str(workspace_id)
        / f"{doc.kind}-{invoice_id}-{doc.revision()}.pdf"
    )


def cached_pdf(
    db: Session, invoice: Invoice, *, receipt: bool = False, payment_id: int | None = None
) -> tuple[str, bytes]:
    """(filename, bytes): from the cache when this revision was rendered before."""
    doc = invoice_document(db, invoice, receipt=receipt, payment_id=payment_id)
    path = _cache_path(invoice.workspace_id, invoice.id, doc)  # type: ignore[arg-type]
    if path.exists():
        return doc.filename, path.read_bytes()
    data = render_pdf(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pdf.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)  # two renders of one revision write the same bytes
    return doc.filename, data


def invoice_pdf(
    db: Session,
    actor: Actor,
    invoice_id: int,
    *,
    receipt: bool = False,
    payment_id: int | None = None,
) -> tuple[str, bytes]:
    """The PDF the actor may download: staff any invoice of the workspace, a client their own.

    Access is ``get_invoice_view``'s, the same check the invoice pages make.
    """
    view = get_invoice_view(db, actor, invoice_id)
    return cached_pdf(db, view.invoice, receipt=receipt, payment_id=payment_id)


def invoice_by_number(db: Session, workspace_id: int, number: str) -> Invoice:
    invoice = db.exec(
        select(Invoice).where(
            Invoice.workspace_id == workspace_id, Invoice.number == number.strip().upper()
        )
    ).first()
    if invoice is None:
        raise NotFound(f"No invoice {number.strip()}.")
    return invoice


# Emails that carry a PDF, and which one. The outbox keeps only the template's context
# (with the invoice number): the file is read from the cache when the email is delivered.
ATTACHED_TO = {"invoice_sent": False, "payment_receipt": True}


def email_attachment(workspace_id: int | None, kind: str, context: str) -> tuple[str, bytes] | None:
    """(filename, bytes) to attach to an outbox email of ``kind``, or None."""
    from nextoria_hub.db import session_scope

    if kind not in ATTACHED_TO or workspace_id is None or not context:
        return None
    data = json.loads(context)
    number = data.get("number")
    if not number:
        return None
    raw_payment = data.get("payment_id")
    payment_id = int(raw_payment) if isinstance(raw_payment, int) else None
    with session_scope() as db:
        try:
            invoice = invoice_by_number(db, workspace_id, str(number))
            return cached_pdf(db, invoice, receipt=ATTACHED_TO[kind], payment_id=payment_id)
        except NotFound:
            return None
