"""Tenancy in one place: rows are checked against a workspace only by ``nextoria_hub.ownership``."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlmodel import Session

from nextoria_hub.models import Client, Workspace
from nextoria_hub.models.ids import require_id
from nextoria_hub.ownership import belongs_to, get_owned
from nextoria_hub.tenancy import Actor
from tests.factories import quick_workspace

PACKAGE = Path(__file__).resolve().parents[1] / "nextoria_hub"


def _in_a_query(side: ast.expr) -> bool:
    """``Model.x`` or ``col(...)``: SQL built for select()/update(), not a check in Python."""
    if isinstance(side, ast.Call):
        return True
    return (
        isinstance(side, ast.Attribute)
        and isinstance(side.value, ast.Name)
        and side.value.id[:1].isupper()
    )


def _hand_written_workspace_checks(tree: ast.AST) -> list[int]:
    """Lines where a row's ``workspace_id`` is compared with ``!=`` in Python."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(
            isinstance(op, ast.NotEq) for op in node.ops
        ):
            continue
        sides = [node.left, *node.comparators]
        if any(_in_a_query(s) for s in sides):
            continue
        if any(isinstance(s, ast.Attribute) and s.attr == "workspace_id" for s in sides):
            found.append(node.lineno)
    return found


def test_no_service_compares_workspace_ids_by_hand() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui" or rel.name == "ownership.py":
            continue
        lines = _hand_written_workspace_checks(ast.parse(path.read_text(), str(path)))
        offenders += [f"{rel}:{n}" for n in lines]
    assert not offenders, f"use get_owned()/belongs_to() instead: {offenders}"


def test_the_check_finds_a_hand_written_comparison() -> None:
    sample = "if row is None or row.workspace_id != actor.workspace_id:\n    pass\n"
    assert _hand_written_workspace_checks(ast.parse(sample)) == [1]
    query = "select(Client).where(Client.workspace_id != ws, col(Invoice.workspace_id) != 1)\n"
    assert _hand_written_workspace_checks(ast.parse(query)) == []


def _client_of(db: Session, workspace: Workspace) -> Client:
    client = Client(
        workspace_id=require_id(workspace),
        name="Globex",
        billing_email="ap@globex.test",
        currency="USD",
    )
    db.add(client)
    db.commit()
    return client


def test_get_owned_returns_a_row_only_to_its_own_workspace(db: Session) -> None:
    a, b = quick_workspace(db, "own-a").workspace, quick_workspace(db, "own-b").workspace
    client = _client_of(db, b)
    client_id, a_id, b_id = require_id(client), require_id(a), require_id(b)
    assert get_owned(db, Client, client_id, b_id) is client
    assert get_owned(db, Client, client_id, Actor.system(b, name="job")) is client
    assert get_owned(db, Client, client_id, a_id) is None
    assert get_owned(db, Client, client_id, Actor.system(a, name="job")) is None
    assert get_owned(db, Client, None, b_id) is None
    assert get_owned(db, Client, 10**9, b_id) is None
    assert belongs_to(client, b_id) and not belongs_to(client, a_id)


def test_system_actor_acts_for_its_workspace_as_admin_without_a_user(db: Session) -> None:
    ws = quick_workspace(db, "own-sys").workspace
    actor = Actor.system(ws, name="Command line", label="cli")
    assert (actor.workspace_id, actor.user_id, actor.is_admin) == (ws.id, None, True)
    assert (actor.email, actor.name) == ("cli", "Command line")
