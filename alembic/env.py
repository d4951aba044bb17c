"""Alembic environment: the app's database URL (NEXTORIA_DATABASE_URL or the SQLite default)."""

from logging.config import fileConfig

from sqlmodel import SQLModel

import nextoria_hub.models  # noqa: F401  (registers every table)
from alembic import context
from nextoria_hub.db import engine_for
from nextoria_hub.settings import get_settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("quiet"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """APScheduler creates and owns its job table (``nextoria_hub.jobs``): autogenerate skips it."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with engine_for(_url()).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=_include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
