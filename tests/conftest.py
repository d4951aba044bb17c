"""Shared fixtures: one migrated database per test session (SQLite, or PostgreSQL for CI).

Set ``NEXTORIA_TEST_DATABASE_URL=postgresql+psycopg://…`` to run the suite on PostgreSQL.
Every test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import text
from sqlmodel import Session, SQLModel

import nextoria_hub.models  # noqa: F401  (registers tables)
from nextoria_hub.db import engine_for, get_engine, upgrade_database
from nextoria_hub.settings import get_settings
from stripe_sandbox.testing import SandboxServer
from tests.resend_capture import ResendCapture


def _reset_caches() -> None:
    get_settings.cache_clear()
    engine_for.cache_clear()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nextoria-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> str:
    return os.environ.get("NEXTORIA_TEST_DATABASE_URL") or f"sqlite:///{data_dir / 'test.db'}"


@pytest.fixture(scope="session", autouse=True)
def _configured(data_dir: Path, database_url: str) -> Iterator[None]:
    """Point settings at the test database and apply the migrations once."""
    saved = {
        k: os.environ.get(k) for k in ("NEXTORIA_DATA_DIR", "NEXTORIA_DATABASE_URL", "NEXTORIA_ENV")
    }
    os.environ["NEXTORIA_DATA_DIR"] = str(data_dir)
    os.environ["NEXTORIA_DATABASE_URL"] = database_url
    os.environ["NEXTORIA_ENV"] = "test"
    _reset_caches()
    upgrade_database()
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reset_caches()


def truncate_all() -> None:
    engine = get_engine()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(scope="session")
def stripe_sandbox(_configured: None) -> Iterator[SandboxServer]:
    """The local Stripe, reached over HTTP; the app's settings point at it. Bank debits (and
    refunds of the refund-fail card) stay pending until a test settles them with the control."""
    with SandboxServer(
        retry_initial_delay=0.05, retry_max_delay=0.5, bank_settle_seconds=3600
    ) as server:
        os.environ["NEXTORIA_STRIPE_API_BASE"] = server.base_url
        get_settings.cache_clear()
        yield server
        os.environ.pop("NEXTORIA_STRIPE_API_BASE", None)
        get_settings.cache_clear()


@pytest.fixture
def stripe_account(stripe_sandbox: SandboxServer) -> dict[str, Any]:
    """A new sandbox account: ``{"account_id", "test": {...keys}, "live": {...keys}}``."""
    return stripe_sandbox.create_account(f"Agency {secrets.token_hex(3)}")


@pytest.fixture
def db() -> Iterator[Session]:
    """A session on empty tables; the test commits or flushes as the code under test does."""
    truncate_all()
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
        session.rollback()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, one per test run (sync Playwright allows one)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


RESEND_TEST_KEY = "re_test_0123456789abcdef"


@pytest.fixture(scope="session")
def _resend_server() -> Iterator[ResendCapture]:
    with ResendCapture() as capture:
        yield capture


@pytest.fixture
def resend_capture(
    _resend_server: ResendCapture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ResendCapture]:
    """The local Resend, with ``RESEND_API_KEY`` set and ``RESEND_API_URL`` pointing at it."""
    _resend_server.reset()
    monkeypatch.setenv("RESEND_API_KEY", RESEND_TEST_KEY)
    monkeypatch.setenv("RESEND_API_URL", _resend_server.base_url)
    get_settings.cache_clear()
    yield _resend_server
    monkeypatch.undo()
    get_settings.cache_clear()
    _resend_server.reset()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: sync Playwright holds an event loop, and the app server lives on."""
    items.sort(
        key=lambda item: "browser" in getattr(item, "fixturenames", ()) or "/e2e/" in str(item.path)
    )
