"""Assembles the ``nextoria`` command groups."""

from __future__ import annotations

import logging

import typer

from nextoria_hub.cli import (
    autopay_commands,
    billing_commands,
    db_commands,
    demo,
    export_commands,
    jobs_commands,
    reconcile_commands,
    secrets_commands,
    stripe_commands,
    users,
    worker_commands,
    workspaces,
)

app = typer.Typer(
    help="Nextoria Hub: payments and client portal for agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(workspaces.app, name="workspace")
app.add_typer(users.app, name="user")
app.add_typer(demo.app, name="demo")
app.add_typer(stripe_commands.app, name="stripe")
app.add_typer(secrets_commands.app, name="secrets")
app.add_typer(jobs_commands.email_app, name="email")
app.command("scheduler")(jobs_commands.scheduler)
app.command("worker")(worker_commands.worker)
app.add_typer(worker_commands.webhooks_app, name="webhooks")
app.command("reconcile")(reconcile_commands.reconcile)
app.add_typer(billing_commands.client_app, name="client")
app.add_typer(billing_commands.invoice_app, name="invoice")
app.add_typer(export_commands.app, name="export")
app.add_typer(autopay_commands.app, name="autopay")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
