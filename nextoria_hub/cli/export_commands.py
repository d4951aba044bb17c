"""``nextoria export invoices|payments``: the same rows the pages' export buttons give."""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

from nextoria_hub.accounts.workspaces import get_workspace_by_slug
from nextoria_hub.billing.exports import (
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    invoice_rows,
    parse_since,
    payment_rows,
    to_csv,
    to_json,
)
from nextoria_hub.cli.billing_commands import _operator
from nextoria_hub.cli.common import unit_of_work
from nextoria_hub.clock import utcnow
from nextoria_hub.models.ids import require_id

app = typer.Typer(help="Export a workspace's invoices or payments.", no_args_is_help=True)


class Format(StrEnum):
    csv = "csv"
    json = "json"


_WORKSPACE = typer.Option(..., help="Workspace slug.")
_SINCE = typer.Option(None, help="Only from this day on, YYYY-MM-DD.")
_FORMAT = typer.Option(Format.csv, "--format", help="csv or json.")


@app.command("invoices")
def export_invoices(
    workspace: str = _WORKSPACE, since: str = _SINCE, fmt: Format = _FORMAT
) -> None:
    """Every invoice (issued on or after --since), newest first."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        rows = invoice_rows(
            db,
            _operator(require_id(ws)),
            utcnow().date(),
            since=parse_since(since),
        )
    sys.stdout.write(to_csv(INVOICE_COLUMNS, rows) if fmt == Format.csv else to_json(rows))


@app.command("payments")
def export_payments(
    workspace: str = _WORKSPACE, since: str = _SINCE, fmt: Format = _FORMAT
) -> None:
    """Every payment and failed attempt (from --since on), newest first."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        rows = payment_rows(db, _operator(require_id(ws)), since=parse_since(since))
    sys.stdout.write(to_csv(PAYMENT_COLUMNS, rows) if fmt == Format.csv else to_json(rows))
