from __future__ import annotations

import typer
from cryptography.fernet import Fernet

from nextoria_hub.db import session_scope
from nextoria_hub.secret_rotation import rotate_secrets

app = typer.Typer(help="Master keys and the secrets sealed with them.", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret under the newest key in NEXTORIA_SECRET_KEYS.

    Safe to interrupt and run again. Afterwards the older keys can be dropped.
    """
    with session_scope() as db:
        counts = rotate_secrets(db)
    typer.echo(
        f"re-encrypted {counts.resealed} secrets; {counts.already_current} were already under the newest key"
    )


@app.command("generate-key")
def generate_key() -> None:
    """Print a new master key to put first in NEXTORIA_SECRET_KEYS."""
    typer.echo(Fernet.generate_key().decode())
