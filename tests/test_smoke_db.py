from sqlmodel import select

from nextoria_hub.models import Workspace
from tests.factories import make_workspace


def test_migrations_create_tables_and_workspace_round_trips(db) -> None:
    created = make_workspace(db, "acme", "Acme")
    found = db.exec(select(Workspace).where(Workspace.slug == "acme")).one()
    assert found.id == created.workspace.id
    assert found.created_at.tzinfo is not None
