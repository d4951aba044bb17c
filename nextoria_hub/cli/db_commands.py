from __future__ import annotations

import typer

from nextoria_hub.db import upgrade_database

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every Alembic migration to the configured database."""
    upgrade_database()
    typer.echo("database is up to date")
