"""`nextoria autopay status|run-now`: the operator's view of the Autopay queue, and a run now."""

from __future__ import annotations

import typer

from nextoria_hub.accounts.workspaces import get_workspace_by_slug
from nextoria_hub.cli.common import print_json, unit_of_work
from nextoria_hub.clock import utcnow
from nextoria_hub.models.ids import require_id
from nextoria_hub.payments.autopay import charge_due_invoices
from nextoria_hub.payments.autopay.operations import autopay_workspaces, next_run, queue_status

app = typer.Typer(help="Autopay: the charge queue, and a run now.", no_args_is_help=True)

WORKSPACE_HELP = "Workspace slug (default: every workspace with Autopay clients)."


def _workspace_ids(workspace: str | None) -> list[int]:
    with unit_of_work() as db:
        if workspace:
            return [require_id(get_workspace_by_slug(db, workspace))]
        return autopay_workspaces(db)


@app.command("status")
def status_command(
    workspace: str | None = typer.Option(None, help=WORKSPACE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Invoices due now, work items queued and claimed, attempts in flight, retrying and
    failed; the next scheduled run."""
    now = utcnow()
    ids = _workspace_ids(workspace)
    with unit_of_work() as db:
        rows = [queue_status(db, workspace_id, now) for workspace_id in ids]
        when = next_run(db)
    if as_json:
        print_json(
            {
                "at": now.isoformat(),
                "next_run": when.isoformat() if when else None,
                "workspaces": [row.as_dict() for row in rows],
            }
        )
        return
    typer.echo(f"next run: {when.isoformat() if when else 'not scheduled'}")
    if not rows:
        typer.echo("no workspace has Autopay clients")
    for row in rows:
        typer.echo(
            f"{row.workspace} ({row.mode}): due {row.due}, queued {row.queued}, "
            f"claimed {row.claimed}, in flight {row.in_flight}, "
            f"retrying {row.retrying}, failed {row.failed}"
        )


@app.command("run-now")
def run_now_command(
    workspace: str | None = typer.Option(None, help=WORKSPACE_HELP),
) -> None:
    """Charge the due invoices now, in this process; safe beside a running scheduler."""
    ids = _workspace_ids(workspace) if workspace else None
    counts = charge_due_invoices(utcnow(), workspace_ids=ids)
    typer.echo(
        f"charged {counts.charged}, failed {counts.failed}, unknown {counts.unknown}, "
        f"resolved {counts.resolved}, skipped {counts.skipped}, "
        f"workspaces failed {counts.workspaces_failed}"
    )
    if counts.workspaces_failed:
        raise typer.Exit(1)
