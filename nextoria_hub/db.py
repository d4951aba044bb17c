"""Database engine, transactional session scope, and the Alembic upgrade helper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, event
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, create_engine

from nextoria_hub.settings import PROJECT_ROOT, get_settings


@lru_cache
def engine_for(url: str) -> Engine:
    """One engine per URL; SQLite gets WAL and a busy timeout so web and jobs can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def get_engine() -> Engine:
    return engine_for(get_settings().effective_database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any exception."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def rows_changed(db: Session, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in this unit of work; how many rows it changed.

    The compare-and-set test of a claim: of two callers racing on one row, one sees 1.
    """
    return cast(CursorResult[Any], db.execute(statement)).rowcount


def alembic_config():
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", get_settings().effective_database_url)
    return cfg


def upgrade_database() -> None:
    """Apply every Alembic migration to the configured database."""
    from alembic import command

    command.upgrade(alembic_config(), "head")
