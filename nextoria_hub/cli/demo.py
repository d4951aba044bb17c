from __future__ import annotations

import shlex

import typer
from rich.console import Console
from rich.table import Table

from nextoria_hub.cli.common import unit_of_work
from nextoria_hub.demo import DEMO_LOGINS, DEMO_SLUG, connect_demo_stripe, seed_demo
from nextoria_hub.demo_platform import demo_platform
from nextoria_hub.payments.stripe_connect import CONNECT_WEBHOOK_PATH
from nextoria_hub.settings import get_settings

app = typer.Typer(help="The demo workspace.", no_args_is_help=True)


@app.command("seed")
def seed(
    stripe_sandbox: str = typer.Option(
        "", help="Base URL of a running stripe_sandbox to connect the demo workspace to."
    ),
) -> None:
    """Create the demo workspace and logins if they are missing, then print them."""
    with unit_of_work() as db:
        workspace = seed_demo(db)
        stripe_note = connect_demo_stripe(db, workspace, stripe_sandbox) if stripe_sandbox else ""
    settings = get_settings()
    console = Console()
    console.print(f"\n[bold]Nextoria Hub[/bold]  sign up a new agency at {settings.apex_url()}")
    console.print(f"Demo workspace: {settings.workspace_url(DEMO_SLUG)}  (sign in at /login)\n")
    table = Table("role", "email", "password")
    for login in DEMO_LOGINS:
        table.add_row(login.role, login.email, login.password)
    console.print(table)
    if stripe_note:
        console.print(
            f"Stripe: {stripe_note}. Pay with card 4242 4242 4242 4242, any future expiry, any CVC."
        )


@app.command("platform-env")
def platform_env(
    stripe_sandbox: str = typer.Option(
        ..., help="Base URL of the running stripe_sandbox that plays the Connect platform."
    ),
) -> None:
    """Print `export` lines that configure a sandbox Connect platform (for `eval` in a shell).

    `make run` uses it so the demo offers "Connect with Stripe". The lines hold a sandbox
    secret key: evaluate them, do not save them.
    """
    settings = get_settings()
    platform = demo_platform(stripe_sandbox, settings.apex_url(CONNECT_WEBHOOK_PATH))
    for name, value in platform.env(stripe_sandbox).items():
        typer.echo(f"export {name}={shlex.quote(value)}")
