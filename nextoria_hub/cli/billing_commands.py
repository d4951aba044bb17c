"""``nextoria client …`` and ``nextoria invoice …``: the same services the pages use."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from sqlmodel import Session, select

from nextoria_hub.accounts.workspaces import get_workspace_by_slug
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.drafts import void_and_duplicate
from nextoria_hub.billing.invoices import LineInput, create_invoice, invoice_json, send_invoice
from nextoria_hub.billing.payment_terms import TermsInput, set_payment_terms
from nextoria_hub.billing.pdf import cached_pdf, invoice_by_number
from nextoria_hub.cli.common import print_json, unit_of_work
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Client, Invoice, Role
from nextoria_hub.tenancy import Actor

client_app = typer.Typer(help="The clients a workspace bills.", no_args_is_help=True)
invoice_app = typer.Typer(help="A workspace's invoices.", no_args_is_help=True)


def _operator(workspace_id: int) -> Actor:
    return Actor(
        workspace_id=workspace_id, user_id=None, role=Role.admin, email="cli", name="Command line"
    )


@client_app.command("create")
def client_create(
    workspace: str = typer.Option(..., help="Workspace slug."),
    name: str = typer.Option(..., help="The client's name."),
    email: str = typer.Option(..., help="Billing email."),
    currency: str = typer.Option(None, help="ISO currency; defaults to the workspace's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a client; prints its id."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        client = create_client(
            db,
            _operator(ws.id),
            name=name,
            billing_email=email,
            currency=currency,  # type: ignore[arg-type]
        )
        data = {
            "id": client.id,
            "name": client.name,
            "email": client.billing_email,
            "currency": client.currency,
        }
    if as_json:
        print_json(data)
    else:
        typer.echo(str(data["id"]))


def parse_line(raw: str) -> LineInput:
    """``DESCRIPTION:QTY:UNIT_PRICE``, split on the last two colons."""
    parts = raw.rsplit(":", 2)
    if len(parts) != 3 or not parts[0].strip():
        raise ValidationError(
            f'“{raw}” is not a line: use DESCRIPTION:QTY:UNIT_PRICE, e.g. "Design:2:450.00".',
            "line",
        )
    return LineInput(description=parts[0], quantity=parts[1], unit_price=parts[2])


def _client_by_email(db: Session, workspace_id: int, email: str) -> Client:
    found = db.exec(
        select(Client)
        .where(Client.workspace_id == workspace_id, Client.billing_email == email.strip().lower())
        .order_by(Client.archived_at.is_not(None), Client.id)  # type: ignore[union-attr]
    ).first()
    if found is None:
        raise NotFound(f"No client with billing email {email.strip()}.")
    return found


def _parse_due(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"“{raw}” is not a date: use YYYY-MM-DD.", "due_date") from None


@invoice_app.command("create")
def invoice_create(
    workspace: str = typer.Option(..., help="Workspace slug."),
    client_email: str = typer.Option(..., help="The client's billing email."),
    line: list[str] = typer.Option(..., help='"DESCRIPTION:QTY:UNIT_PRICE"; repeat for more.'),
    currency: str = typer.Option(None, help="ISO currency; defaults to the client's."),
    due: str = typer.Option(None, help="Due date, YYYY-MM-DD."),
    send: bool = typer.Option(False, "--send", help="Send it to the client at once."),
    partial: bool = typer.Option(
        None, "--partial/--no-partial", help="Allow paying in parts (default: Finance's)."
    ),
    minimum: str = typer.Option("", help="The least one part may be, e.g. 100.00."),
    deposit: str = typer.Option(
        "", help='A deposit due on issue: "30%" of the total, or a fixed amount like 500.00.'
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an invoice (a draft unless --send); prints its id and number."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        actor = _operator(ws.id)  # type: ignore[arg-type]
        lines = [parse_line(raw) for raw in line]
        client = _client_by_email(db, ws.id, client_email)  # type: ignore[arg-type]
        invoice = create_invoice(
            db,
            actor,
            client_id=client.id,  # type: ignore[arg-type]
            lines=lines,
            currency=currency,
            due_date=_parse_due(due),
        )
        if partial is not None or minimum or deposit:
            kind = "" if not deposit else "percent" if deposit.strip().endswith("%") else "fixed"
            set_payment_terms(
                db,
                actor,
                invoice.id,  # type: ignore[arg-type]
                TermsInput(
                    allow_partial=invoice.allow_partial if partial is None else partial,
                    minimum=minimum,
                    deposit_kind=kind,
                    deposit=deposit.strip().rstrip("%"),
                ),
            )
        if send:
            send_invoice(db, actor, invoice.id)  # type: ignore[arg-type]
        data = _summary(invoice_json(db, invoice))
    if as_json:
        print_json(data)
    else:
        typer.echo(f"{data['id']} {data['number']}")


def _summary(full: dict, with_payments: bool = False) -> dict:
    keys = ["id", "number", "status", "amount_due", "currency"]
    if with_payments:
        keys += ["total", "amount_paid", "deposit_amount", "due_date", "client", "payments"]
    return {k: full[k] for k in keys}


@invoice_app.command("show")
def invoice_show(
    workspace: str = typer.Option(..., help="Workspace slug."),
    number: str = typer.Option(..., help="Invoice number, e.g. INV-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show an invoice and its payments."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        invoice = db.exec(
            select(Invoice).where(
                Invoice.workspace_id == ws.id, Invoice.number == number.strip().upper()
            )
        ).first()
        if invoice is None:
            raise NotFound(f"No invoice {number.strip()} in {ws.slug}.")
        data = _summary(invoice_json(db, invoice, with_payments=True), with_payments=True)
    if as_json:
        print_json(data)
        return
    typer.echo(
        f"{data['number']} ({data['client']['name']}): {data['status']}, "
        f"{data['amount_due']} {data['currency'].upper()} due {data['due_date']}"
    )
    for p in data["payments"]:
        typer.echo(f"  {p['status']} {p['amount']} {p['currency'].upper()} {p['method']}")


@invoice_app.command("pdf")
def invoice_pdf_command(
    workspace: str = typer.Option(..., help="Workspace slug."),
    number: str = typer.Option(..., help="Invoice number, e.g. INV-0001."),
    out: Path = typer.Option(..., "--out", help="The file to write."),
    receipt: bool = typer.Option(False, "--receipt", help="The receipt of its last payment."),
) -> None:
    """Write an invoice's PDF (the same file the pages download), or its last receipt."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        invoice = invoice_by_number(db, ws.id, number)  # type: ignore[arg-type]
        _filename, data = cached_pdf(db, invoice, receipt=receipt)
    out.write_bytes(data)
    typer.echo(f"{out} ({len(data)} bytes)")


@invoice_app.command("void-and-duplicate")
def invoice_void_and_duplicate(
    workspace: str = typer.Option(..., help="Workspace slug."),
    number: str = typer.Option(..., help="The sent invoice, e.g. INV-0003."),
    reason: str = typer.Option("", help="Why (on the voided invoice's timeline)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Void a sent, unpaid invoice and copy it into a new draft; prints the draft."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        original = invoice_by_number(db, ws.id, number)  # type: ignore[arg-type]
        draft = void_and_duplicate(db, _operator(ws.id), original.id, reason)  # type: ignore[arg-type]
        data = {**_summary(invoice_json(db, draft)), "duplicated_from": original.number}
    if as_json:
        print_json(data)
    else:
        typer.echo(f"{data['id']} {data['number']} (draft, replaces {original.number})")
