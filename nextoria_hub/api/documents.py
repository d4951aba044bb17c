"""``GET /api/invoices/{id}/invoice.pdf`` and ``…/receipt.pdf``: PDFs for the signed-in user.

The host picks the workspace and the session cookie the user, exactly as the pages resolve
them (``tenancy.resolve_actor``); ``billing.pdf.invoice_pdf`` then applies the invoice
pages' own access rule. Whatever is refused (no session, another workspace's invoice,
another client's, a draft for a client) answers 404, so ids reveal nothing.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nextoria_hub.api.session_cookie import request_token
from nextoria_hub.billing.exports import (
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    invoice_rows,
    payment_rows,
    to_csv,
)
from nextoria_hub.billing.pdf import invoice_pdf
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.tenancy import resolve_actor


def _pdf_for(
    host: str, token: str, invoice_id: int, receipt: bool, payment_id: int | None = None
) -> tuple[str, bytes] | None:
    with session_scope() as db:
        _workspace, actor = resolve_actor(db, host, token)
        if actor is None:
            return None
        try:
            return invoice_pdf(db, actor, invoice_id, receipt=receipt, payment_id=payment_id)
        except (NotFound, AccessDenied):
            return None


async def invoice_document(request: Request) -> Response:
    raw_id = request.path_params["invoice_id"]
    kind = request.path_params["kind"]
    if kind not in ("invoice", "receipt") or not raw_id.isdigit() or len(raw_id) > 18:
        return JSONResponse({"error": "not found"}, 404)
    raw_payment = request.query_params.get("payment", "")  # one part's receipt
    if raw_payment and (not raw_payment.isdigit() or len(raw_payment) > 18):
        return JSONResponse({"error": "not found"}, 404)
    found = await run_in_threadpool(
        _pdf_for,
        request.headers.get("host", ""),
        request_token(request.headers.get("cookie", "")),
        int(raw_id),
        kind == "receipt",
        int(raw_payment) if raw_payment else None,
    )
    if found is None:
        return JSONResponse({"error": "not found"}, 404)
    filename, data = found
    disposition = "inline" if request.query_params.get("inline") == "1" else "attachment"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def _export_for(host: str, token: str, kind: str, params: dict[str, str]) -> str | None:
    """The CSV of the Invoices or Payments page with its filters, for staff; else None."""
    with session_scope() as db:
        _workspace, actor = resolve_actor(db, host, token)
        if actor is None or not actor.is_staff:
            return None
        client = params.get("client", "")
        client_id = int(client) if client.isdigit() and len(client) < 19 else None
        status = params.get("status", "")
        status = "" if status == "all" else status
        try:
            if kind == "invoices":
                rows = invoice_rows(
                    db,
                    actor,
                    utcnow().date(),
                    status=status or None,
                    client_id=client_id,
                    search=params.get("search", "")[:200],
                )
                return to_csv(INVOICE_COLUMNS, rows)
            mode = params.get("mode", "")
            rows = payment_rows(
                db,
                actor,
                client_id=client_id,
                status=status or None,
                mode=None if mode in ("", "all") else mode,
            )
            return to_csv(PAYMENT_COLUMNS, rows)
        except ValidationError:
            return None


async def export_csv(request: Request) -> Response:
    """``GET /api/exports/invoices.csv`` or ``payments.csv``, with the pages' filters."""
    kind = request.path_params["kind"]
    if kind not in ("invoices", "payments"):
        return JSONResponse({"error": "not found"}, 404)
    data = await run_in_threadpool(
        _export_for,
        request.headers.get("host", ""),
        request_token(request.headers.get("cookie", "")),
        kind,
        dict(request.query_params),
    )
    if data is None:
        return JSONResponse({"error": "not found"}, 404)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{kind}-{utcnow().date()}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
