from __future__ import annotations

import typer

from nextoria_hub.accounts.users import create_user
from nextoria_hub.accounts.workspaces import get_workspace_by_slug
from nextoria_hub.cli.common import print_json, unit_of_work
from nextoria_hub.models.ids import require_id

app = typer.Typer(help="People who sign in to a workspace.", no_args_is_help=True)


@app.command("create")
def create(
    workspace: str = typer.Option(..., help="Workspace slug."),
    email: str = typer.Option(...),
    role: str = typer.Option(..., help="admin, member or client."),
    password: str = typer.Option(..., help="12+ characters."),
    name: str = typer.Option("", help="Display name (default: from the email)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a user with a password to a workspace."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        user = create_user(
            db,
            workspace_id=require_id(ws),
            email=email,
            name=name,
            role=role,
            password=password,
        )
    if as_json:
        print_json({"id": user.id, "email": user.email, "role": user.role, "workspace": ws.slug})
    else:
        typer.echo(f"created {user.role} {user.email} in {ws.slug}")
