"""The ``nextoria`` command line, run against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select
from typer.testing import CliRunner

from nextoria_hub.accounts.passwords import verify_password
from nextoria_hub.cli import app
from nextoria_hub.db import engine_for, get_engine
from nextoria_hub.demo import DEMO_LOGINS, DEMO_SLUG
from nextoria_hub.models import Role, User, Workspace
from nextoria_hub.settings import get_settings
from tests.factories import PASSWORD, quick_workspace

runner = CliRunner()


def nextoria(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def _snapshot() -> tuple[list[tuple], list[tuple]]:
    """Every workspace and user, read through a fresh session."""
    with Session(get_engine()) as s:
        workspaces = [(w.id, w.slug, w.name) for w in s.exec(select(Workspace))]
        users = [(u.id, u.workspace_id, u.email, u.role) for u in s.exec(select(User))]
    return sorted(workspaces), sorted(users)


def _create_args(slug: str = "acme", password: str = PASSWORD, **extra: str) -> list[str]:
    args = ["workspace", "create", "--slug", slug, "--name", "Acme Creative"]
    args += ["--admin-email", f"ada@{slug}.test", "--admin-password", password]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def test_workspace_create_json(db: Session) -> None:
    result = nextoria(*_create_args(), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"id", "slug", "name", "url", "admin"}
    assert (data["slug"], data["name"], data["url"]) == (
        "acme",
        "Acme Creative",
        "http://acme.localhost:3000/",
    )
    assert data["admin"]["email"] == "ada@acme.test"
    with Session(get_engine()) as s:
        ws = s.exec(select(Workspace).where(Workspace.slug == "acme")).one()
        admin = s.get(User, data["admin"]["id"])
    assert ws.id == data["id"]
    assert admin is not None and admin.workspace_id == ws.id and admin.role == Role.admin
    assert admin.name == "ada"  # from the email when --admin-name is not given
    assert verify_password(admin.password_hash, PASSWORD)


def test_workspace_create_and_list_plain_text(db: Session) -> None:
    assert nextoria("workspace", "list").stdout.strip() == "no workspaces yet"
    result = nextoria(*_create_args(admin_name="Ada Admin"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "created workspace acme (Acme Creative) at http://acme.localhost:3000/"
    )
    listing = nextoria("workspace", "list")
    assert listing.exit_code == 0
    assert listing.stdout.split() == ["acme", "Acme", "Creative", "http://acme.localhost:3000/"]
    assert _snapshot()[1][0][2:] == ("ada@acme.test", "admin")


def test_workspace_list_json(db: Session) -> None:
    assert json.loads(nextoria("workspace", "list", "--json").stdout) == []
    quick_workspace(db, "globex", "Globex")
    quick_workspace(db, "acme", "Acme")
    result = nextoria("workspace", "list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["slug"], r["name"], r["url"]) for r in rows] == [
        ("acme", "Acme", "http://acme.localhost:3000/"),
        ("globex", "Globex", "http://globex.localhost:3000/"),
    ]
    assert all({"id", "created_at"} <= set(r) for r in rows)


@pytest.mark.parametrize("role", ["admin", "member", "client"])
def test_user_create(db: Session, role: str) -> None:
    ws = quick_workspace(db, "acme").workspace
    result = nextoria(
        "user", "create", "--workspace", "acme", "--email", "New@Agency.com",
        "--role", role, "--password", PASSWORD, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["email"], data["role"], data["workspace"]) == ("new@agency.com", role, "acme")
    assert (data["id"], ws.id, "new@agency.com", role) in _snapshot()[1]


def test_db_upgrade_is_idempotent(db: Session) -> None:
    for _ in range(2):
        result = nextoria("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "database is up to date" in result.stdout


def test_db_upgrade_creates_the_schema_on_a_fresh_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("NEXTORIA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = nextoria("db", "upgrade")
        assert result.exit_code == 0, result.output
        tables = set(inspect(engine_for(url)).get_table_names())
        assert {"workspace", "user", "user_session", "outbox_email", "alembic_version"} <= tables
        assert nextoria("workspace", "list", "--json").stdout.strip() == "[]"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        engine_for(url).dispose()


def test_demo_seed_is_idempotent(db: Session) -> None:
    first = nextoria("demo", "seed")
    assert first.exit_code == 0, first.output
    after_first = _snapshot()
    second = nextoria("demo", "seed")
    assert second.exit_code == 0, second.output
    assert _snapshot() == after_first
    workspaces, users = after_first
    assert [w[1] for w in workspaces] == [DEMO_SLUG]
    assert sorted((u[2], u[3]) for u in users) == sorted((d.email, d.role) for d in DEMO_LOGINS)
    for login in DEMO_LOGINS:
        assert login.email in second.stdout
    assert "http://acme.localhost:3000/" in second.stdout


BAD_WORKSPACES = [
    (_create_args(slug="www"), "reserved"),
    (_create_args(slug="Bad_Slug"), "lowercase letters"),
    (_create_args(slug="ab"), "3 to 40"),
    (_create_args(slug="taken"), "taken"),
    (_create_args(password="short"), "at least 12"),
    (_create_args(password="passwordpassword"), "too common"),
    (_create_args(slug="fresh", admin_email="not-an-email"), "valid email"),
]
BAD_USERS = [
    (["--workspace", "nobody", "--role", "member"], "No workspace called"),
    (["--workspace", "taken", "--role", "owner"], "Role must be"),
    (["--workspace", "taken", "--role", "member", "--password", "short"], "at least 12"),
    (["--workspace", "taken", "--role", "member", "--email", "admin@taken.test"], "already"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    [*BAD_WORKSPACES, *[(["user", "create", *a], m) for a, m in BAD_USERS]],
)
def test_bad_input_is_a_one_line_error(db: Session, args: list[str], message: str) -> None:
    quick_workspace(db, "taken", "Taken")
    if args[:2] == ["user", "create"]:  # defaults for the options a case does not set
        defaults = {"--email": "new@agency.com", "--password": PASSWORD}
        args = args + [x for k, v in defaults.items() if k not in args for x in (k, v)]
    before = _snapshot()
    result = nextoria(*args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert result.stdout == ""
    assert _snapshot() == before


def test_missing_option_is_a_usage_error(db: Session) -> None:
    result = nextoria("workspace", "create", "--slug", "acme")
    assert result.exit_code != 0
    assert _snapshot() == ([], [])
