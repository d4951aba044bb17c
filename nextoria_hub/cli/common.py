"""What every CLI command shares: one-line errors, JSON output, a unit of work."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlmodel import Session

from nextoria_hub.db import session_scope
from nextoria_hub.errors import NextoriaError


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A DB session whose NextoriaError becomes ``error: …`` on stderr and exit code 1."""
    try:
        with session_scope() as db:
            yield db
    except NextoriaError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
