from __future__ import annotations

import typer

from nextoria_hub.accounts.workspaces import create_workspace, list_workspaces
from nextoria_hub.cli.common import print_json, unit_of_work
from nextoria_hub.settings import get_settings

app = typer.Typer(help="Workspaces (one per agency).", no_args_is_help=True)


@app.command("create")
def create(
    slug: str = typer.Option(..., help="Workspace address: <slug>.<base domain>."),
    name: str = typer.Option(..., help="Agency name."),
    admin_email: str = typer.Option(..., help="Email of the first admin."),
    admin_password: str = typer.Option(..., help="Password of the first admin (12+ characters)."),
    admin_name: str = typer.Option("", help="Name of the first admin (default: from the email)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a workspace and its first admin."""
    with unit_of_work() as db:
        created = create_workspace(
            db,
            slug=slug,
            name=name,
            admin_name=admin_name or admin_email.split("@")[0],
            admin_email=admin_email,
            admin_password=admin_password,
        )
        ws, admin = created.workspace, created.admin
    url = get_settings().workspace_url(ws.slug)
    if as_json:
        print_json(
            {
                "id": ws.id,
                "slug": ws.slug,
                "name": ws.name,
                "url": url,
                "admin": {"id": admin.id, "email": admin.email},
            }
        )
    else:
        typer.echo(f"created workspace {ws.slug} ({ws.name}) at {url}")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every workspace."""
    settings = get_settings()
    with unit_of_work() as db:
        rows = [
            {
                "id": w.id,
                "slug": w.slug,
                "name": w.name,
                "url": settings.workspace_url(w.slug),
                "created_at": w.created_at.isoformat(),
            }
            for w in list_workspaces(db)
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['slug']:<24} {row['name']:<32} {row['url']}")
    if not rows:
        typer.echo("no workspaces yet")
