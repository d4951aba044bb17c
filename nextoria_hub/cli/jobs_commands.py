"""``nextoria email …`` and ``nextoria scheduler``: the jobs, run by hand or in the foreground."""

from __future__ import annotations

import logging

import typer

from nextoria_hub.cli.common import print_json
from nextoria_hub.jobs import JOBS

_JOB_NAMES = ", ".join(spec.id for spec in JOBS)

email_app = typer.Typer(help="Outgoing email.", no_args_is_help=True)


@email_app.command("deliver")
def deliver(
    limit: int = typer.Option(50, min=1, help="At most this many emails."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Run one delivery pass over the outbox now."""
    from nextoria_hub.notifications.delivery import deliver_pending

    counts = deliver_pending(limit)
    if as_json:
        print_json(counts.as_dict())
        return
    typer.echo(
        f"sent {counts.sent}, retrying {counts.retrying}, failed {counts.failed}, "
        f"logged {counts.logged} (claimed {counts.claimed}, released {counts.released})"
    )


def scheduler(
    run_now: list[str] = typer.Option(
        [],
        "--run-now",
        metavar="JOB",
        help="Also run this job once right at start, then on its schedule (repeatable), e.g. "
        "--run-now autopay_charge after an outage. Jobs: " + _JOB_NAMES + ".",
    ),
) -> None:
    """Run the scheduled jobs in the foreground until Ctrl-C or SIGTERM (one per deployment)."""
    from nextoria_hub.jobs import run_forever

    unknown = sorted(set(run_now) - {spec.id for spec in JOBS})
    if unknown:
        raise typer.BadParameter(f"no such job: {', '.join(unknown)}", param_hint="--run-now")
    for name in ("nextoria_hub", "apscheduler"):
        logging.getLogger(name).setLevel(logging.INFO)
    typer.echo("scheduler running; Ctrl-C stops it", err=True)
    run_forever(run_now=tuple(run_now))
    typer.echo("scheduler stopped", err=True)
