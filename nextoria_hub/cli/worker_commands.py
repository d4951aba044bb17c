"""``nextoria worker`` and ``nextoria webhooks …``: the webhook inbox, applied and replayed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import typer

from nextoria_hub.cli.common import print_json

webhooks_app = typer.Typer(help="Stripe webhooks received by the hub.", no_args_is_help=True)


def worker(
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=32, help="Worker threads."),
) -> None:
    """Apply queued Stripe events until Ctrl-C or SIGTERM (run as many as you like)."""
    from nextoria_hub.workers import run_forever

    logging.getLogger("nextoria_hub").setLevel(logging.INFO)
    typer.echo(f"worker running with {concurrency} thread(s); Ctrl-C stops it", err=True)
    run_forever(concurrency)
    typer.echo("worker stopped", err=True)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter("use a date like 2026-12-01", param_hint="--since") from None


@webhooks_app.command("replay")
def replay_command(
    workspace: str = typer.Option(None, help="Only this workspace (slug)."),
    failed: bool = typer.Option(False, "--failed", help="Only events that failed for good."),
    since: str = typer.Option(None, help="Only events received on or after this date."),
    event: str = typer.Option(None, help="Only this event (evt_…)."),
    from_stripe: bool = typer.Option(
        True,
        "--from-stripe/--no-from-stripe",
        help="Also ask Stripe's Events API (last 30 days) for events that never arrived.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Queue recorded events again for the workers; also fetch events that never arrived."""
    from nextoria_hub.accounts.workspaces import get_workspace_by_slug
    from nextoria_hub.cli.common import unit_of_work
    from nextoria_hub.payments.inbox_recovery import fetch_missed_events, replay

    workspace_id = None
    if workspace:
        with unit_of_work() as db:
            workspace_id = get_workspace_by_slug(db, workspace).id
    queued = replay(
        workspace_id=workspace_id, failed_only=failed, since=_since(since), event_id=event
    )
    fetched = fetch_missed_events(workspace_id) if from_stripe and not event else None
    result = {"replayed": queued, "fetched": fetched.queued if fetched else 0}
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"queued {result['replayed']} recorded event(s) again"
        + (f", {result['fetched']} missed event(s) from Stripe" if fetched else "")
    )
