"""``nextoria reconcile``: compare Stripe's ledger with ours and show what disagrees."""

from __future__ import annotations

import typer

from nextoria_hub.cli.common import print_json, unit_of_work


def reconcile(
    report: bool = typer.Option(
        False, "--report", help="Check the ledger now and list every open flag."
    ),
    workspace: str = typer.Option(None, "--workspace", help="Only this workspace (slug)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run reconciliation: close sessions still to expire, settle late Checkout payments and
    flag double charges, charges with no payment and payments with no charge."""
    from nextoria_hub.accounts.workspaces import get_workspace_by_slug
    from nextoria_hub.payments import reconciliation as rec

    workspace_id = None
    if workspace:
        with unit_of_work() as db:
            workspace_id = get_workspace_by_slug(db, workspace).id
    if report:
        rec.reconcile_ledger(workspace_id)
        counts: dict[str, int] = {}
    else:
        counts = rec.reconcile_all()
    with unit_of_work() as db:
        flags = [f.as_dict() for f in rec.open_flags(db, workspace_id)]
    if as_json:
        print_json({"flags": flags, **counts} if counts else {"flags": flags})
        return
    if counts:
        typer.echo(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    if not flags:
        typer.echo("no flags: Stripe's ledger and the hub agree")
        return
    for f in flags:
        invoice = f" {f['invoice']}" if f["invoice"] else ""
        typer.echo(f"{f['workspace']}{invoice} [{f['mode']}] {f['kind']}: {f['detail']}")
