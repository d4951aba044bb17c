"""What every benchmark gets: a fresh, migrated database of one backend and a work folder."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

ADMIN_PG_URL = os.environ.get(
    "NEXTORIA_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class BenchContext:
    backend: str
    database_url: str
    work_dir: Path
    quick: bool

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a child process (app server, scheduler) on this database."""
        return {
            **os.environ,
            "NEXTORIA_DATA_DIR": str(self.work_dir),
            "NEXTORIA_DATABASE_URL": self.database_url,
            "NEXTORIA_ENV": "test",
            "NEXTORIA_SCHEDULER": "off",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def configure_here(self) -> None:
        """Point this process's settings at the benchmark database."""
        from nextoria_hub.db import engine_for
        from nextoria_hub.settings import get_settings

        os.environ.update(
            NEXTORIA_DATA_DIR=str(self.work_dir),
            NEXTORIA_DATABASE_URL=self.database_url,
            NEXTORIA_ENV="test",
            NEXTORIA_SCHEDULER="off",
        )
        get_settings.cache_clear()
        engine_for.cache_clear()


@contextmanager
def fresh_database(backend: str, work_dir: Path) -> Iterator[str]:
    """A new empty database with the migrations applied; dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        path = work_dir / f"bench-{secrets.token_hex(4)}.db"
        url = f"sqlite:///{path}"
        _migrate(url, work_dir)
        yield url
        return
    name = f"nextoria_bench_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_PG_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        _migrate(url, work_dir)
        yield url
    finally:
        from nextoria_hub.db import engine_for

        engine_for.cache_clear()  # close nothing explicitly; drop with FORCE ends sessions
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str, work_dir: Path) -> None:
    env = {**os.environ, "NEXTORIA_DATABASE_URL": url, "NEXTORIA_DATA_DIR": str(work_dir)}
    subprocess.run(
        [str(Path(sys.executable).parent / "nextoria"), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
